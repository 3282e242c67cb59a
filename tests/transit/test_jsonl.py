"""transit.jsonl: every good record kept, every bad line counted and logged, never an exception."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.jsonl import JsonlCounts, parse_jsonl, read_jsonl


def test_bad_lines_are_counted_logged_and_the_good_ones_kept(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "events.jsonl"
    f.write_bytes(b'{"event": "arr", "n": 1}\n'
                  b'not json\n'
                  b'\n'
                  b'[1, 2]\n'
                  b'{"event": "dep", "x": NaN}\n'
                  b'\xff\xfe binary\n'
                  b'{"event": "dep", "n": 2}\n'
                  b'{"event": "dep", "n": 3, "torn')  # power cut in the middle of the last line
    counts = JsonlCounts()
    with caplog.at_level(logging.WARNING, logger="transit.jsonl"):
        recs = list(read_jsonl(f, counts))
    assert [r["n"] for r in recs] == [1, 2]
    assert counts.records == 2 and counts.bad_json == 4 and counts.not_object == 1 and counts.lines == 7
    assert f"{f} line 2 skipped: not JSON" in caplog.text
    assert "line 4 skipped: a JSON list" in caplog.text
    assert f"{f}: 5 bad line(s) skipped" in caplog.text


def test_placeholders_keep_positions_aligned() -> None:
    lines = ['{"a": 1}', "garbage", '"text"', "", '{"a": 2}']
    assert list(parse_jsonl(lines, placeholders=True)) == [{"a": 1}, {}, {}, {}, {"a": 2}]


def test_several_files_share_one_count(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"i": 1}\nx\n', encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"i": 2}\n', encoding="utf-8")
    counts = JsonlCounts()
    assert [r["i"] for r in read_jsonl([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], counts)] == [1, 2]
    assert counts.bad == 1 and counts.records == 2


def test_deep_nesting_is_a_bad_line_not_a_crash() -> None:
    counts = JsonlCounts()
    assert list(parse_jsonl(["[" * 100_000, '{"ok": true}'], counts=counts)) == [{"ok": True}]
    assert counts.bad_json == 1


records = st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8) | st.booleans(), max_size=4)
junk = st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(records.map(lambda r: ("good", r)), junk.map(lambda s: ("junk", s))), max_size=30))
def test_good_lines_are_never_lost(items: list[tuple[str, object]]) -> None:
    lines = [json.dumps(v) if kind == "good" else str(v) for kind, v in items]
    expected = []
    for line in lines:  # a junk line may happen to be a JSON object: then it is a good line
        try:
            obj = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(obj, dict):
            expected.append(obj)
    counts = JsonlCounts()
    assert list(parse_jsonl(lines, counts=counts)) == expected
    assert counts.records == len(expected)
    assert counts.records + counts.bad == sum(1 for line in lines if line.strip())


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    from transit.errors import ConfigError

    with pytest.raises(ConfigError, match="missing.jsonl: cannot read"):
        list(read_jsonl(tmp_path / "missing.jsonl"))
