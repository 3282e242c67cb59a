"""The collector publishes the operator's recent running per section (``transit.sections``) on a real
Mosquitto with TLS client certificates and the shipped ACL: learned from one vehicle's ``dep``/``ars``
records, retained, read by another vehicle; a vehicle's certificate cannot publish section times."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.config import CollectorConfig
from central.store import open_store
from tests.central.test_collector import Running, msgs, publisher, send, wait_for
from tests.mqtt.conftest import Mosquitto
from tests.transit.test_sections import ars, dep
from transit.config import MqttConfig, TlsConfig
from transit.sections import RecentSections, SectionTimesMessage, decode_sections, sections_topic

pytestmark = pytest.mark.broker
TOPIC = sections_topic("rettid/v1", "lokaltog")


def _tls(ca: Path, cn: str) -> tuple[Path, Path, Path]:
    return ca / "ca.crt", ca / f"{cn}.crt", ca / f"{cn}.key"


def test_sections_reach_another_vehicle_and_only_the_collector_writes_them(tls_broker: Mosquitto, test_ca: Path,
                                                                          tmp_path: Path) -> None:
    tls = TlsConfig(*_tls(test_ca, "central-collector"))
    store = open_store(f"sqlite:///{tmp_path}/c.sqlite")
    run = Running(CollectorConfig(mqtt=MqttConfig(url=tls_broker.url, client_id="central-collector", tls=tls),
                                  sections_s=0.2), store)
    unit = publisher(tls_broker.port, tls=_tls(test_ca, "veh-lokaltog-2051"), client_id="rettid-lokaltog-2051")
    got: list[tuple[str, bytes, bool]] = []
    lock = threading.Lock()
    other = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="rettid-lokaltog-2052",
                        protocol=mqtt.MQTTv5)
    other.tls_set(*(str(p) for p in _tls(test_ca, "veh-lokaltog-2052")))

    def on_message(_c: Any, _u: Any, m: Any) -> None:
        with lock:
            got.append((m.topic, bytes(m.payload), bool(m.retain)))

    other.on_message = on_message
    try:
        send(unit, msgs([dep(0, "A", 1), ars(150, "B", 2), dep(180, "B", 2), ars(400, "C", 3)]))
        assert wait_for(lambda: store.count() == 4)
        assert wait_for(lambda: run.col.counters.sections_published >= 1, 10)
        # a vehicle that connects later gets the retained message, and its unit takes it
        other.connect("127.0.0.1", tls_broker.port)
        other.subscribe(TOPIC, qos=1)
        other.loop_start()
        assert wait_for(lambda: any(t == TOPIC for t, _, _ in got), 10), got
        # kept by the broker: a new subscription gets it again, marked retained
        other.unsubscribe(TOPIC)
        time.sleep(0.2)
        other.subscribe(TOPIC, qos=1)
        assert wait_for(lambda: any(t == TOPIC and r for t, _, r in got), 10), got
        with lock:
            topic, payload, _ = next(x for x in got if x[0] == TOPIC and x[2])
        msg = decode_sections(payload)
        assert isinstance(msg, SectionTimesMessage) and msg.oper == "lokaltog"
        assert {(s.from_stop, s.to_stop): s.run_s for s in msg.sections} == {("A", "B"): 150.0, ("B", "C"): 220.0}
        rs = RecentSections(prefix="rettid/v1", oper="lokaltog")
        assert rs.handle(topic, payload)
        assert rs.run_s("B", "C", decode_time(msg.tst) + 60) == 220.0
        # a vehicle may not write section times (they steer every unit's predictions)
        codes: list[Any] = []
        unit.on_publish = lambda client, userdata, mid, rc, props: codes.append(rc)
        unit.publish(TOPIC, b'{"forged": true}', qos=1, retain=True).wait_for_publish(5)
        assert wait_for(lambda: len(codes) == 1, 5)
        assert codes[0].is_failure and "authori" in str(codes[0]).lower(), codes
        time.sleep(0.3)
        with lock:
            assert all(b"forged" not in p for _, p, _ in got)
    finally:
        other.loop_stop()
        other.disconnect()
        unit.disconnect()
        unit.loop_stop()
        run.close()
        store.close()


def decode_time(text: str) -> float:
    from transit.timeutil import parse_iso

    return parse_iso(text).timestamp()


def test_the_units_publisher_hands_on_its_operators_section_times(broker: Mosquitto, tmp_path: Path) -> None:
    """The onboard publisher subscribes to its operator's section times (retained: also those published
    before it connected) and to no other operator's."""
    from onboard.records.outbox import Outbox
    from onboard.records.publisher import MqttSettings, Publisher
    from transit.sections import SectionLearner, encode_sections

    lrn = SectionLearner()
    lrn.on_records([dep(0, "A", 1), ars(150, "B", 2)])
    msg = lrn.message("lokaltog")
    assert msg is not None
    body = encode_sections(msg)
    src = publisher(broker.port, client_id="collector")
    src.publish(TOPIC, body, qos=1, retain=True).wait_for_publish(5)
    src.publish(sections_topic("rettid/v1", "movia"), body, qos=1, retain=True).wait_for_publish(5)
    got: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def on_sections(topic: str, payload: bytes) -> None:
        with lock:
            got.append((topic, payload))

    pub = Publisher(Outbox(tmp_path / "outbox.sqlite"), MqttSettings(url=broker.url), oper="lokaltog", veh="2051",
                    on_sections=on_sections)
    pub.start()
    try:
        assert wait_for(lambda: len(got) >= 1, 10), got
        src.publish(TOPIC, b"", qos=1, retain=True).wait_for_publish(5)  # withdrawn
        assert wait_for(lambda: len(got) >= 2, 10), got
        time.sleep(0.3)
        with lock:
            assert got == [(TOPIC, body), (TOPIC, b"")]
    finally:
        pub.stop()
        src.disconnect()
        src.loop_stop()
