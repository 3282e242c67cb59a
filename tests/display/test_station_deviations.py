"""station.deviations on the sample timetable: a cancellation from/to a stop is placed on the trip's own stop
order (platforms and parent stations alike); the stop's notices reach its message line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from station.departures import build_board, scheduled_for
from station.deviations import RowDeviations, stop_messages
from transit.deviations import DeviationStore, Notice, TripCancellation, deviation_topic, encode_deviation
from transit.timetable import Timetable

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 07:30 in Copenhagen


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")


def _cancel(**kw) -> TripCancellation:
    return TripCancellation(id="c", oper="lokaltog", tst=NOW, valid_from=NOW, valid_to=NOW + timedelta(hours=3),
                            trip_id="920R_MT_0_0745", oday="2026-11-23", **kw)


@pytest.mark.parametrize("kw, cancelled", [({}, True), ({"from_stop": "frederiksvaerk"}, False),
                                           ({"to_stop": "hilleroed"}, True), ({"to_stop": "goerloese"}, True),
                                           ({"from_stop": "overdrevsvejen"}, False)])
def test_section_cancellations_on_the_trips_own_stop_order(tt: Timetable, kw, cancelled) -> None:
    sched = scheduled_for(tt, ["hilleroed"], NOW, timedelta(hours=1))
    b = build_board(sched, [], NOW, deviations=RowDeviations(tt, [_cancel(**kw)]))
    row = next(r for r in b.rows if r.trip_id == "920R_MT_0_0745")
    assert row.cancelled is cancelled and (row.text == "Aflyst") is cancelled
    assert all(not r.cancelled for r in b.rows if r.trip_id != "920R_MT_0_0745")


def test_stop_messages_match_platforms_and_parent_station(tt: Timetable) -> None:
    store = DeviationStore(prefix="rettid/v1")
    n = Notice(id="n", oper="lokaltog", tst=NOW, valid_from=NOW, valid_to=NOW + timedelta(hours=1),
               stops=("hilleroed",), text="Elevatoren er ude af drift")
    store.handle(deviation_topic("rettid/v1", "lokaltog", "n"), encode_deviation(n), NOW)
    assert [m.text for m in stop_messages(store, tt, ["hilleroed_8"], [], NOW)] == ["Elevatoren er ude af drift"]
    assert stop_messages(store, tt, ["frederiksvaerk"], ["950R"], NOW) == []
