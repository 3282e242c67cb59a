"""Recent running per section (``transit.sections``): what the collector learns from the units' ``dep`` and
``ars`` records, the retained message, and what a unit takes from it — hand-built records, hand-computed
medians."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from transit.records import ArrivalStopped, Departure, Pass, Record, TripRef
from transit.sections import (
    RecentSections,
    SectionLearner,
    SectionTime,
    SectionTimesMessage,
    decode_sections,
    encode_sections,
    sections_topic,
)

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TRIP_A = TripRef("920R_MT_0_0700", "2026-11-23", "920R", 0, "07:00")
TRIP_B = TripRef("920R_MT_0_0730", "2026-11-23", "920R", 0, "07:30")


def dep(s: float, stop: str, seq: int, *, veh: str = "2051", trip: TripRef = TRIP_A) -> Record:
    return Departure.make(T0 + timedelta(seconds=s), veh=veh, oper="lokaltog", trip=trip, stop_id=stop, seq=seq,
                          loc="GPS", odo=None, drst=0)


def ars(s: float, stop: str, seq: int, *, veh: str = "2051", trip: TripRef = TRIP_A, **kw: object) -> Record:
    return ArrivalStopped.make(T0 + timedelta(seconds=s), veh=veh, oper="lokaltog", trip=trip, stop_id=stop,
                               seq=seq, loc="GPS", odo=None, drst=0, **kw)


def test_sections_from_two_vehicles_are_their_median() -> None:
    lrn = SectionLearner()
    lrn.on_records([dep(0, "A", 1), ars(150, "B", 2), dep(180, "B", 2), ars(400, "C", 3)])
    lrn.on_records([dep(600, "A", 1, veh="2052", trip=TRIP_B), ars(770, "B", 2, veh="2052", trip=TRIP_B)])
    lrn.on_records([dep(900, "A", 1, veh="2053", trip=TRIP_B), ars(1060, "B", 2, veh="2053", trip=TRIP_B)])
    msg = lrn.message("lokaltog")
    assert msg is not None
    got = {(s.from_stop, s.to_stop): (s.run_s, s.n) for s in msg.sections}
    assert got == {("A", "B"): (160.0, 3), ("B", "C"): (220.0, 1)}  # median of 150, 170, 160
    assert msg.tst == "2026-11-23T07:17:40.000Z"  # the newest observation: data time, not the clock
    assert lrn.message("other") is None


def test_what_is_not_a_section_is_not_learned() -> None:
    lrn = SectionLearner()
    lrn.on_records([dep(0, "A", 1), ars(100, "B", 2, trip=TRIP_B)])  # another trip: no section
    lrn.on_records([dep(200, "B", 2), ars(200.5, "C", 3)])  # half a second: not a run
    lrn.on_records([ars(300, "C", 3)])  # no departure seen before it
    lrn.on_records([dep(400, "C", 3), ars(390 + 9000, "D", 4)])  # over two hours
    lrn.on_records([dep(9500, "D", 4), ars(9600, "C", 3)])  # backwards in the trip
    assert lrn.observations == 0 and lrn.message("lokaltog") is None
    # a re-delivered older departure (an outbox after a reconnect) does not pair with the next arrival
    lrn = SectionLearner()
    lrn.on_records([dep(600, "A", 1), ars(700, "B", 2), dep(0, "A", 1), ars(800, "C", 3)])
    msg = lrn.message("lokaltog")
    assert msg is not None and [(s.from_stop, s.to_stop, s.run_s) for s in msg.sections] == [("A", "B", 100.0)]
    lrn = SectionLearner()
    # a stop passed between them: the section spans it (only the same span uses it)
    lrn.on_records([dep(1000, "A", 1), Pass.make(T0 + timedelta(seconds=1100), veh="2051", oper="lokaltog",
                                                  trip=TRIP_A, stop_id="B", seq=2, loc="GPS", odo=None, drst=0,
                                                  skipped=True),
                    ars(1250, "C", 3)])
    msg = lrn.message("lokaltog")
    assert msg is not None and [(s.from_stop, s.to_stop, s.run_s) for s in msg.sections] == [("A", "C", 250.0)]


def test_old_runs_leave_the_window() -> None:
    lrn = SectionLearner(window_s=600.0)
    lrn.on_records([dep(0, "A", 1), ars(200, "B", 2)])
    lrn.on_records([dep(700, "A", 1, veh="2052", trip=TRIP_B), ars(860, "B", 2, veh="2052", trip=TRIP_B)])
    msg = lrn.message("lokaltog")
    assert msg is not None and [(s.run_s, s.n) for s in msg.sections] == [(160.0, 1)]  # 200 s run is 660 s old


def test_message_round_trip_and_bad_payloads() -> None:
    msg = SectionTimesMessage(oper="lokaltog", tst="2026-11-23T07:00:00.000Z", window_s=1800.0,
                              sections=[SectionTime(from_stop="A", to_stop="B", run_s=160.0, n=3,
                                                    last="2026-11-23T07:00:00.000Z")])
    assert decode_sections(encode_sections(msg)) == msg
    for bad in (b"", b"{", b'{"oper":"lokaltog"}', encode_sections(msg).replace(b"160.0", b"-1"),
                encode_sections(msg).replace(b"2026-11-23T07:00:00.000Z", b"yesterday")):
        with pytest.raises(ValueError):
            decode_sections(bad)


def test_a_unit_takes_its_operators_recent_sections_only(caplog: pytest.LogCaptureFixture) -> None:
    lrn = SectionLearner()
    lrn.on_records([dep(0, "A", 1), ars(150, "B", 2)])
    msg = lrn.message("lokaltog")
    assert msg is not None
    rs = RecentSections(prefix="rettid/v1", oper="lokaltog", max_age_s=1800.0)
    topic = sections_topic("rettid/v1", "lokaltog")
    assert topic == "rettid/v1/sections/lokaltog"
    assert rs.handle(topic, encode_sections(msg))
    t_obs = (T0 + timedelta(seconds=150)).timestamp()
    assert rs.run_s("A", "B", t_obs + 600) == 150.0
    assert rs.run_s("B", "A", t_obs + 600) is None  # the other direction is another section
    assert rs.run_s("A", "B", t_obs + 1801) is None  # too old for this unit's data time
    assert rs.run_s("A", "B", t_obs - 3600) is None  # from the unit's future: a clock is wrong somewhere
    with caplog.at_level(logging.WARNING, logger="transit.sections"):
        assert not rs.handle("rettid/v1/sections/movia", encode_sections(msg))
        assert not rs.handle(topic, b"not json")
        other = SectionTimesMessage(oper="movia", tst=msg.tst, window_s=1800.0, sections=msg.sections)
        assert not rs.handle(topic, encode_sections(other))
    assert rs.refused == 3 and rs.received == 1
    assert "refused" in caplog.text
    assert rs.run_s("A", "B", t_obs + 600) == 150.0  # the good message is kept
    assert rs.handle(topic, b"") and len(rs) == 0  # withdrawn
