"""``validate-apc`` with a reference that names stops by ``stop_id`` (manual count sheets usually do):
it reported -100 % FAIL because the counts were keyed by ``seq`` and nothing matched."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from central.__main__ import COMMANDS
from central.validate_apc import read_counts, validate
from transit.cli import main

MONDAY = "2026-11-23"


@pytest.mark.parametrize("column", ["stop_id", "seq"])
def test_reference_by_stop_id_or_seq_matches_apc_records(column: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    recs, ref_rows = [], [f"trip_id,{column},door,in,out"]
    for seq in range(1, 150):
        for door in (1, 2):
            i, o = rng.randint(0, 15), rng.randint(0, 15)
            recs.append({"event": "apc", "oday": MONDAY, "trip_id": "T1", "seq": seq, "stop_id": f"stop_{seq}",
                         "door": door, "class": "adult", "in": i, "out": o})
            ref_rows.append(f"T1,{f'stop_{seq}' if column == 'stop_id' else seq},{door},{i},{o}")
    counts = tmp_path / "events.jsonl"
    counts.write_text("".join(json.dumps(r) + "\n" for r in recs))
    ref = tmp_path / "ref.csv"
    ref.write_text("\n".join(ref_rows) + "\n")
    assert main("central", "", COMMANDS, ["validate-apc", str(counts), str(ref)]) == 0
    out = capsys.readouterr().out
    assert "Verdict: PASS" in out and "+0.00 %" in out and "reference rows without counts: 0" in out
    res = validate(read_counts(counts, stop_key=column), read_counts(ref))
    assert res["missing_in_counts"] == 0 and res["overall"].bias_pct == 0.0
