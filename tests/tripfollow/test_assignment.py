"""Trip assignment: configured trips, assignment messages, and auto-detection that says "no trip" when
it is not sure (sample feed, hand-made drives along its shapes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from onboard.service.bootstrap import wire
from onboard.tripfollow import Core, CoreConfig, FollowConfig, build_plan
from onboard.tripfollow.pipeline import Pipeline
from tests.tripfollow.drive import Drive, events, inputs, run
from transit.messages import Assignment
from transit.timetable import Timetable

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(ROOT / "data" / "gtfs" / "lokaltog-sample")


def auto_core(tt: Timetable) -> Pipeline:
    return wire(Core(CoreConfig("veh1", "lokaltog", "train", FollowConfig.for_mode("train"), vp_interval_s=0),
                     timetable=tt))


def test_auto_detects_the_trip_from_position_and_time(tt: Timetable) -> None:
    plan = build_plan(tt, "920R_MT_0_0715", DAY)
    st2 = plan.served[1]
    d = Drive(t=plan.first_departure - 30).stand(30).drive_to(st2.chainage_m, vmax=25).stand(30, doors=(2, 20))
    d.drive_to(st2.chainage_m + 2500, vmax=25)
    core = auto_core(tt)
    recs = run(core, inputs(d, shape=plan.shape), finish=False)
    assert core.core.follower is not None and core.core.follower.plan.ref.trip_id == "920R_MT_0_0715"
    # nothing was recorded against the trip before it was certain
    assert all(r.trip_id in (None, "920R_MT_0_0715") for r in recs)


def test_auto_says_no_trip_when_nothing_fits(tt: Timetable) -> None:
    plan = build_plan(tt, "920R_MT_0_0715", DAY)
    # the same path three hours after any 920R trip of the morning could be there: no fitting schedule
    d = Drive(t=datetime(2026, 11, 23, 2, 10, tzinfo=UTC).timestamp()).stand(20).drive_to(3000, vmax=25)
    core = auto_core(tt)
    recs = run(core, inputs(d, shape=plan.shape))
    assert core.core.follower is None
    assert all(r.trip_id is None for r in recs)
    assert not events(recs, "ars", "pas", "punctuality")


def test_standing_vehicle_is_not_assigned(tt: Timetable) -> None:
    plan = build_plan(tt, "920R_MT_0_0715", DAY)
    d = Drive(t=plan.first_departure - 600).stand(600)
    core = auto_core(tt)
    recs = run(core, inputs(d, shape=plan.shape))
    assert core.core.follower is None and not events(recs, "ars")


def test_assignment_message_replaces_the_trips(tt: Timetable) -> None:
    core = auto_core(tt)
    plan = build_plan(tt, "920R_MT_0_0715", DAY)
    t = datetime.fromtimestamp(plan.first_departure - 60, UTC)
    core.on_assignment(Assignment(id="a1", tst=t, oper="lokaltog", veh="veh1", oday=DAY.isoformat(), action="assign",
                                trips=("920R_MT_0_0715",)))
    d = Drive(t=plan.first_departure - 60).stand(60, doors=(5, 40))
    recs = run(core, inputs(d, shape=plan.shape), finish=False)
    assert core.core.follower is not None and core.core.follower.plan.ref.trip_id == "920R_MT_0_0715"
    assert events(recs, "ars")[0].stop_id == plan.served[0].stop_id
    out = core.on_assignment(Assignment(id="a2", tst=t, oper="lokaltog", veh="veh1", oday=DAY.isoformat(),
                                     action="release"))
    assert core.core.follower is None
    assert any(r.event == "eta" and r.clear for r in out)
