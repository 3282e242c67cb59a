"""A unit's deviation reports count in the contract month: registrations a ``deviation`` record says were
not run (whole trip, turned short from a stop, replacement) and that have no measurement are ``cancelled``,
counted by the operator file's policy for cancelled registrations; measurements still win."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.central.records import as_dict
from tests.central.test_month import DAY, ORIGIN, basic_records, month_of
from transit.records import DeviationReport, TripRef


def report(trip: str, route: str, what: str, **kw: Any) -> dict[str, Any]:
    ref = TripRef(trip, DAY.isoformat(), route, 0, "06:00")
    return as_dict(DeviationReport.make(ORIGIN + timedelta(hours=5), veh="2051", oper="lokaltog", trip=ref, what=what,
                                        **kw))


def _kinds(tmp_path: Path, records: list[dict[str, Any]], policy: str = "late") -> dict[str, int]:
    [s] = month_of(tmp_path, records, unmeasured=policy).straekninger
    return s.total.n


def test_reported_cancellations_turn_missing_registrations_into_cancelled(tmp_path: Path) -> None:
    base = _kinds(tmp_path / "a", basic_records())
    assert base == {"punctual": 1, "late": 4, "not_observed": 1, "missing": 1, "cancelled": 1}
    # R2 (Hundested → Hillerød) had no record at Hillerød: the unit reported the trip cancelled
    recs = basic_records() + [report("R2", "920R", "cancelled", source="controlroom")]
    assert _kinds(tmp_path / "b", recs) == {"punctual": 1, "late": 4, "not_observed": 1, "missing": 0,
                                            "cancelled": 2}
    # E1 turned short from Hundested: its unobserved Hundested registration is cancelled, Frederiksværk
    # (measured, late) stays measured
    recs = basic_records() + [report("E1", "920E", "turned_short", from_stop="HUN", reason="vendt")]
    assert _kinds(tmp_path / "c", recs) == {"punctual": 1, "late": 4, "not_observed": 0, "missing": 1,
                                            "cancelled": 2}
    # a section that does not reach the registration, or a stop the trip does not call at: nothing changes
    recs = basic_records() + [report("R2", "920R", "replacement", to_stop="FRV"),
                              report("R2", "920R", "cancelled", from_stop="NOWHERE")]
    assert _kinds(tmp_path / "d", recs) == base


def test_the_policy_decides_how_cancelled_counts(tmp_path: Path) -> None:
    recs = basic_records() + [report("R2", "920R", "cancelled")]
    for policy, counted in (("late", 8), ("exclude", 5), ("punctual", 8)):
        [s] = month_of(tmp_path / policy, recs, unmeasured=policy).straekninger
        assert s.total.n["cancelled"] == 2 and s.total.counted == counted
