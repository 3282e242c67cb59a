"""The collector stores the control room's cancellations (the retained deviation topic) as ``deviation``
records, so the month's report counts a trip the control room cancelled and no vehicle ran as
*cancelled* by the operator file's policy, not as *missing* (issue 16, follow-up of issue 15)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from central.reports.month import build_month
from central.store import RecordStore
from tests.central.feed import write_feed, write_operator
from tests.central.test_collector import Running, msgs, publisher, send, wait_for
from tests.central.test_month import DAY, ORIGIN, basic_records
from tests.mqtt.conftest import Mosquitto
from transit.config import MqttConfig
from transit.deviations import Notice, TrackChange, TripCancellation, deviation_topic, encode_deviation
from transit.operator import load_operator
from transit.records import decode_record
from transit.timetable import Timetable

pytestmark = pytest.mark.broker


def _dev_msgs(*devs) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    return [(deviation_topic("rettid/v1", d.oper, d.id), encode_deviation(d)) for d in devs]


def test_a_trip_the_control_room_cancelled_counts_as_cancelled(broker: Mosquitto, store: RecordStore,
                                                               tmp_path: Path) -> None:
    from central.config import CollectorConfig

    feed = write_feed(tmp_path)
    op = load_operator(write_operator(tmp_path, feed))
    tt = Timetable.load(feed)
    t0 = ORIGIN + timedelta(hours=5)
    recs = [decode_record(json.dumps(r)) for r in basic_records()]
    cancel = TripCancellation(id="cr-r2", oper="lokaltog", tst=t0, valid_from=t0, valid_to=t0 + timedelta(hours=6),
                              trip_id="R2", oday=DAY.isoformat(), route="920R", text="R2 er aflyst: signalfejl")
    others = [TrackChange(id="cr-t", oper="lokaltog", tst=t0, valid_from=t0, valid_to=t0 + timedelta(hours=6),
                          trip_id="R1", oday=DAY.isoformat(), stop_id="HIL", platform="2"),
              Notice(id="cr-n", oper="lokaltog", tst=t0, valid_from=t0, valid_to=t0 + timedelta(hours=6),
                     routes=("920R",), text="Husk billetten")]
    run = Running(CollectorConfig(mqtt=MqttConfig(url=broker.url, client_id="central-test")), store)
    pub = publisher(broker.port)
    try:
        send(pub, msgs(recs))
        send(pub, _dev_msgs(cancel, *others))
        send(pub, _dev_msgs(cancel))  # a retained deviation comes again at every reconnect: stored once
        send(pub, [(deviation_topic("rettid/v1", "lokaltog", "cr-bad"), b'{"v":1,"kind":"cancel"}'),
                   (deviation_topic("rettid/v1", "lokaltog", "cr-gone"), b"")])  # malformed; a withdrawal
        assert wait_for(lambda: run.col.counters.acked >= len(recs) + 6)
    finally:
        pub.disconnect()
        pub.loop_stop()
        run.close()
    c = run.col.counters
    assert c.deviations == 2 and c.rejected == 1
    stored = [d for d in store.records(DAY, DAY, ["deviation"])]
    assert len(stored) == 1
    (d,) = stored
    assert (d["veh"], d["source"], d["what"], d["trip_id"], d["oday"]) == ("controlroom", "controlroom", "cancelled",
                                                                            "R2", DAY.isoformat())
    assert d["reason"] == "R2 er aflyst: signalfejl"
    assert not [r for r in store.trip_runs(DAY, DAY) if r.veh == "controlroom"]  # the control room ran nothing
    [s] = build_month(store, tt, op, "2026-11").straekninger
    # R2's Hillerød registration had no record at all: missing without the control room's word, cancelled with it
    assert s.total.n == {"punctual": 1, "late": 4, "not_observed": 1, "missing": 0, "cancelled": 2}
