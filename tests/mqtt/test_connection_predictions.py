"""The unit's view of other vehicles' predictions (onboard.passinfo.realtime): strict, bounded, its own
vehicle ignored, stale ones dropped; and the publisher's per-stop subscription on a real Mosquitto — only
the watched stops' predictions arrive, and a new watch replaces the old one."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from onboard.passinfo.realtime import ConnectionPredictions
from onboard.records.outbox import Outbox
from onboard.records.publisher import MqttSettings, Publisher
from tests.mqtt.conftest import Mosquitto
from transit.messages import StopPrediction, encode_prediction, prediction_topic

NOW = datetime(2026, 11, 23, 9, 26, tzinfo=UTC)
P = "rettid/v1"


def pred(stop: str = "hilleroed_9", trip: str = "950R_MT_0_0945", veh: str = "2052", delay_s: float = 120,
         age_s: float = 10, status: str = "SCHEDULED") -> StopPrediction:
    dep = NOW + timedelta(minutes=9)
    eta = None if status == "NO_DATA" else dep + timedelta(seconds=delay_s)
    return StopPrediction(stop_id=stop, trip_id=trip, route="950R", headsign="Gilleleje St.", direction=0,
                          oday="2026-11-23", start="10:45", veh=veh, oper="lokaltog", seq=1, sched_arr=dep,
                          sched_dep=dep, eta_arr=eta, eta_dep=eta, tst=NOW - timedelta(seconds=age_s),
                          status=status, platform="9", occu=None, loc="GPS")  # type: ignore[arg-type]


def msg(p: StopPrediction) -> tuple[str, bytes]:
    return prediction_topic(P, p.stop_id, p.oper, p.veh), encode_prediction(p)


def test_cache_keeps_the_latest_of_other_vehicles_and_refuses_the_rest() -> None:
    c = ConnectionPredictions(prefix=P, own_veh="2051")
    c.handle(*msg(pred()), NOW)
    rt = c.get("950R_MT_0_0945", "2026-11-23", "hilleroed_9", NOW)
    assert rt is not None and rt.expected == NOW + timedelta(minutes=11) and rt.platform == "9"
    c.handle(*msg(pred(delay_s=60, age_s=30)), NOW)  # an older estimate after a newer one: ignored
    assert c.get("950R_MT_0_0945", "2026-11-23", "hilleroed_9", NOW).expected == NOW + timedelta(minutes=11)  # type: ignore[union-attr]
    assert c.get("950R_MT_0_0945", "2026-11-23", "hilleroed_9", NOW + timedelta(minutes=10)) is None  # stale
    c.handle(*msg(pred(veh="2051", trip="own")), NOW)  # our own predictions are no connection
    assert c.get("own", "2026-11-23", "hilleroed_9", NOW) is None
    c.handle(*msg(pred(trip="nodata", status="NO_DATA")), NOW)
    assert c.get("nodata", "2026-11-23", "hilleroed_9", NOW) is None  # nothing realtime: the timetable applies
    topic, body = msg(pred(trip="x"))
    c.handle(prediction_topic(P, "other_stop", "lokaltog", "2052"), body, NOW)  # topic and payload disagree
    c.handle(topic, b"{not json", NOW)
    c.handle(topic, encode_prediction(pred(trip="future", age_s=-900)), NOW)
    c.handle("rettid/v1/stop/x", body, NOW)
    assert c.counters.rejected == 4 and set(c.counters.reasons) == {"topic_mismatch", "payload", "future", "topic"}
    c.handle(*msg(pred(trip="x")), NOW)
    c.handle(topic, b"", NOW)  # withdrawn
    assert c.get("x", "2026-11-23", "hilleroed_9", NOW) is None and c.counters.withdrawn == 1
    c.prune({"somewhere_else"})
    assert len(c) == 0
    small = ConnectionPredictions(prefix=P, own_veh="2051", max_entries=10)
    for i in range(50):
        small.handle(*msg(pred(trip=f"t{i}", age_s=60 - i)), NOW)
    assert len(small) == 10 and small.get("t49", "2026-11-23", "hilleroed_9", NOW) is not None


def test_publisher_subscribes_to_the_watched_stops_only(broker: Mosquitto, tmp_path: Path) -> None:
    got: list[str] = []
    lock = threading.Lock()

    def on_prediction(topic: str, payload: bytes) -> None:
        with lock:
            got.append(topic)

    pub = Publisher(Outbox(tmp_path / "outbox.sqlite"), MqttSettings(url=broker.url), oper="lokaltog", veh="2051",
                    on_prediction=on_prediction)
    pub.watch_predictions({"hilleroed_9", "hilleroed_8"})
    pub.start()
    other = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="veh-2052", protocol=mqtt.MQTTv5)
    other.connect("127.0.0.1", broker.port)
    other.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not pub.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        for p in (pred(stop="hilleroed_9"), pred(stop="frederiksvaerk")):
            other.publish(*msg(p), qos=1, retain=True).wait_for_publish(10)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        with lock:
            assert got == [prediction_topic(P, "hilleroed_9", "lokaltog", "2052")]
            got.clear()
        pub.watch_predictions({"frederiksvaerk"})  # the next trip: its retained prediction arrives at once
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        other.publish(*msg(pred(stop="hilleroed_9", delay_s=200)), qos=1, retain=True).wait_for_publish(10)
        time.sleep(0.5)
        with lock:
            assert got == [prediction_topic(P, "frederiksvaerk", "lokaltog", "2052")]
    finally:
        other.loop_stop()
        other.disconnect()
        pub.stop()
