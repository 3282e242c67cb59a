"""The school month report on hand-made records: a run recorded twice counts once, other months and
records without a trip are left out (counted), verdicts are tallied per school and route."""

from __future__ import annotations

from pathlib import Path

from central.reports.school import build_report, read_report
from transit.records import Encoded, SchoolArrival, TripRef


def arrival(day: str, trip: str, verdict: str, route: str = "12", veh: str = "bus-1") -> SchoolArrival:
    ref = TripRef(trip, day, route, 0, "07:02")
    return SchoolArrival.make(_dt(day), veh=veh, oper="v",
                              trip=ref, stop_id="skolen", school="Skolen", bell=f"{day}T07:00:00.000Z",
                              arrival=f"{day}T06:55:00.000Z", verdict=verdict, before_bell_s=300.0,
                              window_from=f"{day}T06:50:00.000Z", window_to=f"{day}T07:00:00.000Z")


def _dt(day: str) -> float:
    from datetime import UTC, datetime
    return datetime.fromisoformat(f"{day}T06:55:00").replace(tzinfo=UTC).timestamp()


def test_counts_per_school_and_route() -> None:
    recs = [arrival("2026-11-02", "a", "in_window"), arrival("2026-11-02", "a", "in_window"),  # twice
            arrival("2026-11-03", "a", "early"), arrival("2026-11-04", "a", "late"),
            arrival("2026-11-04", "b", "in_window", route="14"), arrival("2026-12-01", "a", "late")]
    rep = build_report(recs, "2026-11")
    s12 = rep.schools[("skolen", "12")]
    assert (len(s12.runs), s12.count("early"), s12.count("in_window"), s12.count("late")) == (3, 1, 1, 1)
    assert s12.in_window_pct is not None and round(s12.in_window_pct, 1) == 33.3
    assert rep.schools[("skolen", "14")].count("in_window") == 1
    assert [r.oday for r in rep.outside] == ["2026-11-03", "2026-11-04"]
    assert rep.skipped == {"duplicate": 1}


def test_bad_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    good = Encoded.of(arrival("2026-11-05", "a", "late")).line
    p.write_bytes(b"not json\n" + good + b'{"event": "school_arrival"}\n')
    rep = read_report([p], "2026-11")
    assert len(rep.outside) == 1 and rep.skipped["bad_lines"] == 2
