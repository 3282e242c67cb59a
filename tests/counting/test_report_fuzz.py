"""Report readers over hostile records: a damaged record is skipped and counted, the others still make
the report; never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.reports.occupancy import build_report, render_csv, render_html, render_markdown
from central.validate_apc import read_counts
from tests.counting.test_reports import MONDAY, occ_records

values = st.one_of(st.none(), st.integers(-10**20, 10**20), st.text(max_size=12), st.booleans(),
                   st.floats(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                     st.integers(), max_size=2))
FIELDS = sorted(occ_records("910", MONDAY, "07:30", [1])[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(FIELDS), values), min_size=1, max_size=4))
def test_damaged_occupancy_records_are_skipped_and_counted(damage: list[tuple[int, str, Any]]) -> None:
    good = occ_records("920R", MONDAY, "15:00", [3, 0], trip="G")
    hit = occ_records("910", MONDAY, "07:30", [4, 8, 2, 0, 1, 0], trip="H")
    for i, key, value in damage:
        hit[i][key] = value
    skipped: dict[str, int] = {}
    rep = build_report(good + hit, skipped=skipped)
    assert [d.trip_id for d in rep.lines["920R"].rush + rep.lines["920R"].other] == ["G"]  # the good trip stays
    for render in (render_markdown, render_csv, render_html):
        assert render(rep)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(["event", "oday", "trip_id", "seq", "stop_id", "door", "in",
                                                 "out"]), values), max_size=6))
def test_apc_counts_with_damaged_rows_never_crash(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    good = {"event": "apc", "oday": MONDAY, "trip_id": "T", "seq": 1, "stop_id": "S", "door": 1, "in": 3,
            "out": 1}
    f = tmp_path / "counts.jsonl"
    f.write_text("\n".join(json.dumps(r, default=str) for r in [good, *rows, good]) + "\n", encoding="utf-8")
    counts = read_counts(f)
    key = (MONDAY, "T", "1", 1)
    assert counts[key][0] >= 6 and counts[key][1] >= 2  # both good rows counted, whatever lies between


def test_apc_csv_with_infinite_or_missing_counts_skips_the_row(tmp_path: Path) -> None:
    f = tmp_path / "reference.csv"
    f.write_text("oday,trip_id,seq,door,in,out\n"
                 f"{MONDAY},T,1,1,2,1\n"
                 f"{MONDAY},T,1,1,inf,0\n"
                 f"{MONDAY},T,1,x,1,0\n"
                 f"{MONDAY},T,1,1,1\n"
                 f"{MONDAY},T,1,1,1,1\n", encoding="utf-8")
    assert read_counts(f) == {(MONDAY, "T", "1", 1): [3, 2]}
