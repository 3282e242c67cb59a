"""Replacement-transport trigger (onboard.passinfo.replacement): more than the operator's 60 min late, a
stop no longer called at with no trip of the line within the hour, or the day's last connection lost from
a hub, on trips of the sample feed; the flag is a typed record on the unit's record topic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from onboard.passinfo.replacement import ReplacementWatch
from tests.conftest import REPO
from transit.messages import deliveries_for_record
from transit.operator import load_operator
from transit.records import Eta, EtaStop, ReplacementNeeded, decode_record, encode
from transit.timeutil import iso_utc_ms

FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def tt():
    from transit.timetable import Timetable

    return Timetable.load(FEED)


def _eta(tt, trip: str, k: int, delay_s: float, status: dict[str, str] | None = None) -> Eta:
    """The unit's prediction after its k-th stop: ``delay_s`` late at every stop ahead."""
    sched = tt.trip_schedule(trip, DAY)
    d = timedelta(seconds=delay_s)
    stops = [EtaStop(stop_id=s.stop_id, seq=s.stop_sequence, sched_arr=iso_utc_ms(s.arrival),
                     sched_dep=iso_utc_ms(s.departure), eta_arr=iso_utc_ms(s.arrival + d),
                     eta_dep=iso_utc_ms(s.departure + d), status=(status or {}).get(s.stop_id, "SCHEDULED"))
             for s in sched[k:]]
    t = tt.trips[trip]
    return Eta.build(iso_utc_ms(sched[k].arrival + d), veh="lint41-2061", oper="lokaltog", oday=DAY.isoformat(),
                     route=tt.route_of(trip).name, dir=t.direction_id, start="07:15", trip_id=trip,
                     headsign=t.headsign, occu=None, dl=delay_s, stops=stops)


def _watch(tt) -> ReplacementWatch:
    op = load_operator(REPO / "data" / "operators" / "lokaltog.yaml")
    return ReplacementWatch.for_operator(tt, op, veh="lint41-2061", oper="lokaltog")


def test_more_than_an_hour_late_is_flagged_once(tt) -> None:
    w = _watch(tt)
    trip = "920R_MT_0_0715"
    assert w.on_eta(_eta(tt, trip, 3, 60 * 60)) == []  # exactly 60 min: not "more than"
    flags = w.on_eta(_eta(tt, trip, 3, 65 * 60))
    assert len(flags) == 1
    f = flags[0]
    assert isinstance(f, ReplacementNeeded) and f.reason == "delay" and f.threshold_min == 60
    sched = tt.trip_schedule(trip, DAY)
    assert [d.stop_id for d in f.departures] == [s.stop_id for s in sched[3:]]
    assert all(d.what == "late" and d.delay_s == 65 * 60 for d in f.departures) and f.delay_s == 65 * 60
    assert w.on_eta(_eta(tt, trip, 4, 66 * 60)) == []  # nothing new: the control room is not paged again
    # a typed record on the unit's record topic, decoded strictly like every record
    assert decode_record(encode(f)) == f
    (dl,) = deliveries_for_record(f, mode="train")
    assert dl.topic.startswith("rettid/v1/record/replacement/train/lokaltog/lint41-2061/") and dl.qos == 1


def test_cancelled_stops_flag_only_when_the_next_trip_is_over_an_hour_away(tt) -> None:
    w = _watch(tt)
    gone = {"hanehoved": "CANCELED", "melby": "CANCELED"}
    # a morning 920R turned short: the next 920R calls at Hanehoved 30 min later — no replacement owed
    assert w.on_eta(_eta(tt, "920R_MT_0_0715", 10, 0, gone)) == []
    # the last 920R of the day turned short: the next train there is the first of the morning
    last = max((t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 0),
               key=tt.trip_start_s)
    (f,) = w.on_eta(_eta(tt, last, 10, 0, gone))
    assert f.reason == "delay" and f.delay_s is not None and f.delay_s > 4 * 3600
    assert {(d.what, d.stop_id) for d in f.departures} == {("cancelled", "hanehoved"), ("cancelled", "melby")}
    assert all(d.expected is None and (d.delay_s or 0) > 4 * 3600 for d in f.departures)


def test_the_days_last_connection_from_a_hub(tt) -> None:
    w = _watch(tt)
    inbound = sorted((t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 1),
                     key=tt.trip_start_s)
    # the last train into Hillerød, 15 min late, misses the day's last 330R (both directions)
    (f,) = w.on_eta(_eta(tt, inbound[-1], 5, 15 * 60))
    assert f.reason == "last_connection" and f.transfer_min == 3
    assert {(d.route, d.headsign) for d in f.departures} == {("330R", "Fredensborg St."), ("330R", "Frederikssund St.")}
    assert all(d.stop_id == "hilleroed_8" and d.what == "last_connection" for d in f.departures)
    # an earlier train equally late misses a 330R too, but a later one still goes: nothing to flag
    assert w.on_eta(_eta(tt, inbound[-3], 5, 15 * 60)) == []
    # on time: nothing is lost
    assert _watch(tt).on_eta(_eta(tt, inbound[-1], 5, 0)) == []


def test_an_eta_for_an_unknown_trip_is_ignored(tt) -> None:
    w = _watch(tt)
    e = _eta(tt, "920R_MT_0_0715", 3, 4000)
    from msgspec.structs import replace

    assert w.on_eta(replace(e, trip_id="no-such-trip")) == []
    assert w.on_eta(replace(e, stops=[])) == []
