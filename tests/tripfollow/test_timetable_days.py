"""Plans from a real GTFS feed: trips past midnight and on DST days keep GTFS service-day semantics,
and a drive on time against them is on time (gtfs-mini, hand-made feed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from onboard.tripfollow import build_plan
from tests.tripfollow.drive import Drive, core_for, events, inputs, run
from transit.timetable import Timetable
from transit.timeutil import gtfs_datetime, parse_iso

MINI = Path(__file__).resolve().parents[1] / "data" / "gtfs-mini"


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(MINI)


def drive_on_time(plan, t_dep: float) -> Drive:  # type: ignore[no-untyped-def]
    """Leave the first stop at ``t_dep``, reach each next stop in time, leave on schedule."""
    d = Drive(t=t_dep - 60.0)
    d.stand(60.0)
    served = plan.served
    for st in served[1:]:
        d.drive_to(st.chainage_m, vmax=25.0)
        assert d.t <= st.sched_arr, "hand-made timetable too tight for the drive"
        if st is not served[-1]:
            d.stand(st.sched_dep - d.t, doors=(2.0, 10.0))
    d.stand(5.0)
    return d


def test_trip_past_midnight_belongs_to_its_operating_day(tt: Timetable) -> None:
    plan = build_plan(tt, "TN", date(2026, 11, 23))
    assert plan.ref.oday == "2026-11-23" and plan.ref.start == "23:50"
    aal = next(s for s in plan.stops if s.stop_id == "AAL")
    assert aal.sched_arr == gtfs_datetime(date(2026, 11, 23), 24 * 3600 + 4 * 60).timestamp()
    d = drive_on_time(plan, plan.first_departure)
    recs = run(core_for([plan]), inputs(d, shape=plan.shape))
    ars = events(recs, "ars")
    assert [r.stop_id for r in ars] == ["HIL1", "AAL", "KAG", "GRA"]
    assert all(r.oday == "2026-11-23" for r in ars)
    assert ars[1].sched == "2026-11-23T23:04:00.000Z"  # 24:04 GTFS = 00:04 on the 24th, local
    assert all(r.dl <= 0 for r in ars[1:])  # the drive was on time or early


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_dst_days_use_noon_minus_twelve_hours(tt: Timetable, day: date) -> None:
    plan = build_plan(tt, "TDST", day)
    kag = next(s for s in plan.stops if s.stop_id == "KAG")
    assert kag.sched_arr == gtfs_datetime(day, 3 * 3600 + 30 * 60).timestamp()
    d = drive_on_time(plan, plan.first_departure)
    recs = run(core_for([plan]), inputs(d, shape=plan.shape))
    dep = {r.stop_id: r for r in events(recs, "dep")}
    # held until the scheduled departure: the departure delay is the fraction of a second to move off
    assert dep["KAG"].dl == pytest.approx(0.0, abs=1.0)
    assert parse_iso(dep["KAG"].sched).timestamp() == kag.sched_dep
