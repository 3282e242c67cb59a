"""TLS with client certificates and the shipped ACL (systemd/mosquitto/aclfile) on a real Mosquitto:
a unit writes only under its own vehicle, a display only reads; hostile payloads on subscribed topics are
rejected with a counter and nothing crashes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from onboard.records.outbox import Outbox
from onboard.records.publisher import MqttSettings, Publisher
from station.predictions import PredictionSubscriber
from tests.mqtt.conftest import Collector, Mosquitto
from tests.mqtt.records import trip_records
from transit.config import MqttConfig, TlsConfig
from transit.messages import (
    DEFAULT_PREFIX,
    Assignment,
    StopPrediction,
    assignment_topic,
    deliveries_for_record,
    encode_assignment,
    encode_prediction,
    prediction_topic,
)

pytestmark = pytest.mark.broker


def certs(ca: Path, cn: str) -> tuple[Path, Path, Path]:
    return ca / "ca.crt", ca / f"{cn}.crt", ca / f"{cn}.key"


def tls_settings(broker: Mosquitto, ca: Path, cn: str) -> MqttSettings:
    c, cert, key = certs(ca, cn)
    return MqttSettings(url=broker.url, ca=str(c), cert=str(cert), key=str(key), client_id=cn)


def raw_client(broker: Mosquitto, ca: Path, cn: str) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"raw-{cn}",
                    protocol=mqtt.MQTTv5)
    cafile, cert, key = certs(ca, cn)
    c.tls_set(ca_certs=str(cafile), certfile=str(cert), keyfile=str(key))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def publish_wait(c: mqtt.Client, topic: str, payload: bytes, retain: bool = False,
                 props: Any = None) -> Any:
    info = c.publish(topic, payload, qos=1, retain=retain, properties=props)
    info.wait_for_publish(5)
    return info


def test_vehicle_cannot_write_other_vehicle_and_display_cannot_write(tls_broker: Mosquitto,
                                                                     test_ca: Path, tmp_path: Path) -> None:
    central = Collector(tls_broker.port, f"{DEFAULT_PREFIX}/#", client_id="central",
                        tls=certs(test_ca, "central"))
    # 2051's own records: delivered
    own = [r for r in trip_records(60) if r.event in ("arr", "dep", "punctuality")]
    ob_a = Outbox(tmp_path / "a.sqlite")
    ob_a.put([x for r in own for x in deliveries_for_record(r)])
    # the same unit forging records of vehicle 2052: refused by the broker
    forged = [msgspec.structs.replace(r, veh="2052", id="forged-" + r.id) for r in own]
    ob_a.put([x for r in forged for x in deliveries_for_record(r)])
    pub = Publisher(ob_a, tls_settings(tls_broker, test_ca, "veh-lokaltog-2051"), oper="lokaltog", veh="2051")
    pub.start()
    display = raw_client(tls_broker, test_ca, "display-hillerod")
    try:
        assert pub.wait_drained(20)
        assert not central.wait_for_ids({r.id for r in own}, 10)
        assert pub.counters.refused == len(forged)  # PUBACK "Not authorized" -> dead letters
        assert ob_a.dead_count() == len(forged)
        # the display publishes a fake prediction and a fake record: the broker drops both
        for topic in (prediction_topic(DEFAULT_PREFIX, "S001", "lokaltog", "2051"),
                      f"{DEFAULT_PREFIX}/record/punctuality/bus/lokaltog/2051/920R/0/06:55/S000"):
            info = publish_wait(display, topic, json.dumps({"v": 1, "id": "display-forgery"}).encode())
            assert info.is_published()
        time.sleep(1.0)
        ids = set(central.ids())
        assert not any(i.startswith("forged-") for i in ids)
        assert "display-forgery" not in ids
        with central.lock:
            assert all("/2052/" not in t for t, _, _ in central.messages)
        # online status of 2051 is retained for the central system
        with central.lock:
            status = [json.loads(p) for t, p, _ in central.messages if "/status/conn/" in t]
        assert status and status[0]["state"] == "online" and status[0]["veh"] == "2051"
    finally:
        pub.stop()
        display.loop_stop()
        display.disconnect()
        central.close()
        ob_a.close()


def _pred(stop: str, veh: str, tst: datetime) -> StopPrediction:
    return StopPrediction(stop_id=stop, trip_id="920R-0655", route="920R", headsign="Hundested", direction=0,
                          oday="2026-11-23", start="06:55", veh=veh, oper="lokaltog", seq=3,
                          sched_arr=tst + timedelta(minutes=5), sched_dep=tst + timedelta(minutes=5),
                          eta_arr=tst + timedelta(minutes=6), eta_dep=tst + timedelta(minutes=6),
                          tst=tst, status="SCHEDULED", platform="1", occu=None, loc="GPS")


def test_hostile_payloads_rejected_with_counters(tls_broker: Mosquitto, test_ca: Path,
                                                 tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # the display's own clock is what judges staleness
    cafile, cert, key = certs(test_ca, "display-hillerod")
    cfg = MqttConfig(url=tls_broker.url, client_id="display-hillerod",
                     tls=TlsConfig(ca=cafile, cert=cert, key=key))
    sub = PredictionSubscriber(cfg, ["S001"])
    sub.start()
    assert sub.connected.wait(10)
    time.sleep(0.3)  # subscription in place
    veh = raw_client(tls_broker, test_ca, "veh-lokaltog-2052")  # a compromised unit, own topic only
    topic = prediction_topic(DEFAULT_PREFIX, "S001", "lokaltog", "2052")
    valid = _pred("S001", "2052", now)
    hostile = [b"\x00\xff", b"{" * 60_000, b"[" * 3000, b'{"v": 1}', b"null",
               encode_prediction(_pred("S001", "2051", now)),  # claims to be another vehicle
               encode_prediction(_pred("S999", "2052", now)),  # another stop than its topic
               json.dumps({**json.loads(encode_prediction(valid)), "seq": "1; DROP TABLE"}).encode(),
               encode_prediction(_pred("S001", "2052", now + timedelta(hours=3)))]  # from the future
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 120
    try:
        for p in hostile:
            publish_wait(veh, topic, p, retain=True, props=props)
        publish_wait(veh, topic, encode_prediction(valid), retain=True, props=props)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not sub.predictions("S001"):
            time.sleep(0.05)
        assert sub.predictions("S001") == [valid]
        c = sub.store.counters
        # the 60 kB one is over the broker's message_size_limit and never reaches the display
        assert c.rejected >= len(hostile) - 1, c
        assert c.reasons.get("payload", 0) >= 4 and c.reasons.get("topic_mismatch") == 2
        assert c.reasons.get("future") == 1
        # clearing the retained prediction removes it from the display
        publish_wait(veh, topic, b"", retain=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sub.predictions("S001"):
            time.sleep(0.05)
        assert sub.predictions("S001") == []
    finally:
        veh.loop_stop()
        veh.disconnect()
        sub.stop()


def test_hostile_assignments_rejected_with_counters(tls_broker: Mosquitto, test_ca: Path,
                                                    tmp_path: Path) -> None:
    got: list[Assignment] = []
    ob = Outbox(tmp_path / "o.sqlite")
    pub = Publisher(ob, tls_settings(tls_broker, test_ca, "veh-lokaltog-2051"), oper="lokaltog", veh="2051",
                    on_assignment=got.append)
    pub.start()
    central = raw_client(tls_broker, test_ca, "central")
    try:
        deadline = time.monotonic() + 10
        while not pub.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        topic = assignment_topic(DEFAULT_PREFIX, "bus", "lokaltog", "2051")
        good = Assignment(id="a1", tst=datetime(2026, 11, 23, 5, tzinfo=UTC), oper="lokaltog", veh="2051",
                          oday="2026-11-23", action="assign", block="B7", trips=("920R-0655",))
        bad = [b"", b"garbage", b"[" * 4000, encode_assignment(msgspec.structs.replace(good, veh="2052")),
               json.dumps({**json.loads(encode_assignment(good)), "trips": {"a": 1}}).encode()]
        for p in bad:
            publish_wait(central, topic, p)
        publish_wait(central, topic, encode_assignment(good))
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [good]
        assert pub.counters.assignments_rejected == len(bad)
        assert pub.connected  # still running
    finally:
        central.loop_stop()
        central.disconnect()
        pub.stop()
        ob.close()
