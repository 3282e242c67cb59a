"""Broker durability and identity with the shipped settings (systemd/mosquitto/rettid.conf) on a real
Mosquitto: no certificate can take over another client's session, and QoS 1 messages queued for an
offline consumer survive a broker SIGKILL a few seconds after the unit's outbox emptied (issue 12)."""

from __future__ import annotations

import threading
import time
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
from tests.mqtt.conftest import Collector, Mosquitto
from tests.mqtt.records import trip_records
from tests.mqtt.test_tls_acl import certs, tls_settings
from transit.messages import DEFAULT_PREFIX, deliveries_for_record

pytestmark = pytest.mark.broker


class _Client:
    """A raw MQTT 5 client with a persistent session that counts its disconnections."""

    def __init__(self, broker: Mosquitto, ca: Path, cn: str, client_id: str) -> None:
        self.disconnects = 0
        self.connected = threading.Event()
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv5)
        cafile, cert, key = certs(ca, cn)
        c.tls_set(ca_certs=str(cafile), certfile=str(cert), keyfile=str(key))
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        c.loop_start()
        self.client = c
        assert self.connected.wait(10), f"{cn} did not connect"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.connected.set()

    def _on_disconnect(self, *a: Any) -> None:
        self.disconnects += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_vehicle_certificate_cannot_take_over_the_central_session(tls_broker: Mosquitto, test_ca: Path,
                                                                    tmp_path: Path) -> None:
    """Client ids were free: a vehicle's certificate connecting with the central consumer's client id
    took over its persistent session (kicking the consumer off). Now the id is the certificate's CN."""
    central = Collector(tls_broker.port, f"{DEFAULT_PREFIX}/#", client_id="central-consumer-X",
                        tls=certs(test_ca, "central"))
    kicked = threading.Event()
    central.client.on_disconnect = lambda *a: kicked.set()
    thief = _Client(tls_broker, test_ca, "veh-lokaltog-2051", client_id="central-consumer-X")
    try:
        assert not kicked.wait(2.0), "the central consumer was disconnected: session taken over"
        # the consumer's session is intact: it still receives what units send
        recs = [r for r in trip_records(60) if r.event == "punctuality"]
        ob = Outbox(tmp_path / "o.sqlite")
        ob.put([x for r in recs for x in deliveries_for_record(r)])
        pub = Publisher(ob, tls_settings(tls_broker, test_ca, "veh-lokaltog-2052"), oper="lokaltog", veh="2052")
        recs2 = [msgspec.structs.replace(r, veh="2052") for r in recs]
        ob.put([x for r in recs2 for x in deliveries_for_record(r)])
        pub.start()
        try:
            assert pub.wait_drained(20)
            assert not central.wait_for_ids({r.id for r in recs2}, 10)
        finally:
            pub.stop()
            ob.close()
        assert not kicked.is_set()
    finally:
        thief.close()
        central.close()


def test_queued_messages_survive_a_broker_crash_after_the_outbox_emptied(broker: Mosquitto,
                                                                         tmp_path: Path) -> None:
    """The consumer is offline; the unit's outbox empties on the broker's PUBACKs; 3 s later the broker
    is SIGKILLed (no save at exit). With ``autosave_interval 30`` all 200 were lost; with the shipped
    settings every one is delivered when broker and consumer come back."""
    topic = f"{DEFAULT_PREFIX}/record/#"
    consumer = Collector(broker.port, topic, client_id="central-consumer-1")
    consumer.close()  # offline, its persistent session queues at the broker
    recs = [r for r in trip_records(200 * 60) if r.event == "punctuality"][:200]
    ob = Outbox(tmp_path / "o.sqlite")
    ob.put([x for r in recs for x in deliveries_for_record(r)])
    pub = Publisher(ob, MqttSettings(url=broker.url), oper="lokaltog", veh="2051")
    pub.start()
    try:
        assert pub.wait_drained(30) and len(ob) == 0
        time.sleep(3.0)
        broker.kill()
    finally:
        pub.stop()
        ob.close()
    broker.start()
    back = Collector(broker.port, topic, client_id="central-consumer-1")
    try:
        missing = back.wait_for_ids({r.id for r in recs}, 15)
        assert not missing, f"{len(missing)} of {len(recs)} acknowledged messages lost in the crash"
    finally:
        back.close()


def test_health_is_published_from_memory_when_the_outbox_cannot_store(broker: Mosquitto, tmp_path: Path) -> None:
    """Disk full (issue 12 item 4): the retained health message saying so cannot go through the outbox;
    ``publish_volatile`` sends it straight from memory, retained, latest per topic."""
    from transit.health import HealthInputs, build_health, health_delivery

    h = HealthInputs("unit-1", "2051", "lokaltog", clock={"synced": True},
                     storage={"full": True, "held": 12})
    payload = build_health(h)
    assert "storage full: 12 record(s) held in memory" in payload["problems"]
    t0 = trip_records(1)[0].tst
    from transit.timeutil import parse_iso

    d = health_delivery(payload, parse_iso(t0).timestamp(), prefix=DEFAULT_PREFIX, mode="train")
    ob = Outbox(tmp_path / "o.sqlite")
    pub = Publisher(ob, MqttSettings(url=broker.url), oper="lokaltog", veh="2051")
    pub.start()
    try:
        pub.publish_volatile(d)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pub.counters.published < 1:
            time.sleep(0.05)
        time.sleep(0.5)
        late = Collector(broker.port, f"{DEFAULT_PREFIX}/record/health/#", client_id="late-subscriber")
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not late.payloads():
                time.sleep(0.05)
            got = late.payloads()
            assert got and got[-1]["storage"]["full"] is True
            with late.lock:
                assert late.messages[-1][2] is True  # retained: a fleet view sees it on subscribing
        finally:
            late.close()
        assert len(ob) == 0  # never stored
    finally:
        pub.stop()
        ob.close()
