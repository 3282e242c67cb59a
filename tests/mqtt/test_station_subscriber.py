"""The stop display's MQTT loop (``station.predictions.PredictionSubscriber._run``) against a real Mosquitto:
it reads what has arrived in one go after each wake-up instead of waking per packet, so it must still get
every vehicle's prediction of a burst, find a broker that comes up after the display, come back after the
broker restarts, and stop promptly."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from station.predictions import PredictionSubscriber
from tests.mqtt.conftest import Mosquitto
from transit.config import MqttConfig
from transit.messages import DEFAULT_PREFIX, StopPrediction, encode_prediction, prediction_topic

NOW = datetime.now(UTC).replace(microsecond=0)


def _pred(veh: str, minutes: int = 6, stop: str = "S001") -> StopPrediction:
    return StopPrediction(stop_id=stop, trip_id=f"920R-{veh}", route="920R", headsign="Hundested", direction=0,
                          oday="2026-11-23", start="06:55", veh=veh, oper="lokaltog", seq=3,
                          sched_arr=NOW + timedelta(minutes=5), sched_dep=NOW + timedelta(minutes=5),
                          eta_arr=NOW + timedelta(minutes=minutes), eta_dep=NOW + timedelta(minutes=minutes),
                          tst=NOW, status="SCHEDULED", platform="1", occu=None, loc="GPS")


def _publish(broker: Mosquitto, preds: list[StopPrediction]) -> None:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="vehicles")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        infos = [c.publish(prediction_topic(DEFAULT_PREFIX, p.stop_id, "lokaltog", p.veh), encode_prediction(p),
                           qos=1, retain=True) for p in preds]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        c.loop_stop()
        c.disconnect()


def _until(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _vehicles(sub: PredictionSubscriber, stops: tuple[str, ...] = ("S001",)) -> set[str]:
    return {p.veh for s in stops for p in sub.predictions(s)}


def test_a_burst_of_500_vehicles_all_arrive(broker: Mosquitto) -> None:
    stops = ("S001", "S002", "S003")  # a hub's platforms (the store keeps at most 200 vehicles a stop)
    sub = PredictionSubscriber(MqttConfig(url=broker.url, client_id="display-burst"), stops, clock=lambda: NOW)
    sub.start()
    try:
        assert sub.connected.wait(10)
        time.sleep(0.3)  # subscribed
        want = {f"{i:04d}" for i in range(500)}
        _publish(broker, [_pred(v, stop=stops[i % 3]) for i, v in enumerate(sorted(want))])
        assert _until(lambda: _vehicles(sub, stops) == want, 10), len(_vehicles(sub, stops))
        assert sub.store.counters.rejected == 0
    finally:
        sub.stop()


def test_display_before_the_broker_and_across_a_broker_restart(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")  # not started yet: the display comes up first
    sub = PredictionSubscriber(MqttConfig(url=broker.url, client_id="display-restart"), ["S001"],
                               clock=lambda: NOW)
    sub.start()
    try:
        time.sleep(1.5)
        assert not sub.connected.is_set()
        broker.start()
        assert sub.connected.wait(10), "the display did not find the broker that came up after it"
        time.sleep(0.3)
        _publish(broker, [_pred("2051")])
        assert _until(lambda: _vehicles(sub) == {"2051"}, 5)
        broker.kill()
        assert _until(lambda: not sub.connected.is_set(), 10)
        broker.start()
        assert sub.connected.wait(15), "the display did not come back after the broker restarted"
        time.sleep(0.3)
        _publish(broker, [_pred("2052", minutes=7)])
        assert _until(lambda: _vehicles(sub) >= {"2052"}, 5)
    finally:
        t0 = time.monotonic()
        sub.stop()
        assert time.monotonic() - t0 < 6.0
        assert sub._thread is None
        broker.stop()
