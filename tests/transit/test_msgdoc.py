"""docs/messages.md cannot drift from the code: its field tables are the ones generated from the Structs,
and every JSON example in it decodes with the payload's own decoder and re-encodes to the same bytes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from transit.deviations import DEVIATION_TYPES, decode_deviation, encode_deviation
from transit.messages import (
    decode_assignment,
    decode_prediction,
    encode_assignment,
    encode_prediction,
    status_payload,
)
from transit.msgdoc import BEGIN, END, replace_generated, schema_markdown
from transit.records import RECORD_TYPES, decode_record, encode
from transit.sections import decode_sections, encode_sections

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "messages.md"


def _generated_block(text: str) -> str:
    a, b = text.index(BEGIN), text.index(END)
    return text[a:b + len(END)] + "\n"


def test_the_field_tables_in_docs_messages_md_are_the_generated_ones() -> None:
    doc = _generated_block(DOC.read_text(encoding="utf-8"))
    assert doc == schema_markdown(), "docs/messages.md is stale: run python -m transit.msgdoc --write docs/messages.md"


def test_every_record_kind_and_field_is_in_the_tables() -> None:
    gen = schema_markdown()
    for tag, t in RECORD_TYPES.items():
        assert f"### `{tag}` ({t.__name__})" in gen
    for tag, t in DEVIATION_TYPES.items():
        assert f"### Deviation `{tag}` ({t.__name__})" in gen
    for key in ("`class`", "`in`", "`clear`", "`station_name`", "`residual`", "`wait_s`", "`skipped`"):
        assert f"| {key} |" in gen
    assert "|  |" not in gen  # every field has a meaning


def _examples(text: str) -> list[dict]:
    """Every JSON object in the ```json blocks (a block may hold several, one after the other)."""
    out = []
    dec = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", text, flags=re.S):
        i = 0
        while i < len(block):
            if block[i].isspace():
                i += 1
                continue
            obj, i = dec.raw_decode(block, i)
            out.append(obj)
    return out


def test_every_json_example_decodes_and_reencodes_to_its_own_bytes() -> None:
    examples = _examples(DOC.read_text(encoding="utf-8"))
    kinds = []
    for obj in examples:
        compact = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        if "event" in obj:
            body = {k: v for k, v in obj.items() if k != "v"}
            assert obj.get("v", 1) == 1 and (not obj.get("v") or next(iter(obj)) == "v")
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            rec = decode_record(raw)
            assert encode(rec) == raw, obj["event"]
            kinds.append(obj["event"])
        elif "kind" in obj:
            assert next(iter(obj)) == "v"
            assert encode_deviation(decode_deviation(compact)) == compact
            kinds.append(f"deviation:{obj['kind']}")
        elif "action" in obj:
            assert encode_assignment(decode_assignment(compact)) == compact
            kinds.append("assignment")
        elif "sections" in obj:
            assert next(iter(obj)) == "v"
            assert encode_sections(decode_sections(compact)) == compact
            kinds.append("sections")
        elif "state" in obj:
            assert status_payload(obj["state"], oper=obj["oper"], veh=obj["veh"], client_id=obj["client"]) == compact
            kinds.append("status")
        else:
            assert encode_prediction(decode_prediction(compact)) == compact
            kinds.append("prediction")
    assert sorted(set(kinds)) == sorted({"vp", "arr", "punctuality", "apc", "occupancy", "alarm", "eta",
                                         "assignment", "status", "prediction", "deviation", "sections",
                                         *(f"deviation:{k}" for k in DEVIATION_TYPES)})


def test_write_replaces_only_the_generated_block(tmp_path: Path) -> None:
    md = tmp_path / "m.md"
    md.write_text(f"# head\n\n{BEGIN}\nold table\n{END}\n\ntail\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "transit.msgdoc", "--write", str(md)], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert md.read_text(encoding="utf-8") == "# head\n\n" + schema_markdown() + "\ntail\n"
    with pytest.raises(ValueError, match="no"):
        replace_generated("no markers here", schema_markdown())
