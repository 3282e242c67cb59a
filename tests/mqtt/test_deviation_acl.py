"""Only the right sender: on a real Mosquitto with TLS client certificates and the shipped ACL, the control
room's identity publishes, lists and withdraws deviations (``python -m central deviation``); a vehicle's or
a display's certificate is refused, and what they tried never reaches a display; a unit reports a
deviation of its own vehicle only."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from station.predictions import PredictionSubscriber
from tests.mqtt.conftest import Collector, Mosquitto
from transit.config import MqttConfig, TlsConfig
from transit.deviations import DeviationStore, TripCancellation, deviation_topic, encode_deviation
from transit.messages import deliveries_for_record
from transit.records import DeviationReport, TripRef

pytestmark = pytest.mark.broker
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)


def _cli(broker: Mosquitto, ca: Path, cn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central", "deviation", *args, "--broker", broker.url,
                           "--ca", str(ca / "ca.crt"), "--cert", str(ca / f"{cn}.crt"), "--key", str(ca / f"{cn}.key"),
                           "--client-id", cn], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _client(broker: Mosquitto, ca: Path, cn: str) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=cn, protocol=mqtt.MQTTv5)
    c.tls_set(ca_certs=str(ca / "ca.crt"), certfile=str(ca / f"{cn}.crt"), keyfile=str(ca / f"{cn}.key"))
    acks: dict[int, object] = {}
    c.on_publish = lambda _c, _u, mid, rc, _p: acks.__setitem__(mid, rc)
    c.user_data_set(acks)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def _publish_rc(c: mqtt.Client, topic: str, payload: bytes) -> object:
    info = c.publish(topic, payload, qos=1, retain=True)
    info.wait_for_publish(5)
    acks = c.user_data_get()
    deadline = time.monotonic() + 5
    while info.mid not in acks and time.monotonic() < deadline:
        time.sleep(0.02)
    return acks[info.mid]


def _display(broker: Mosquitto, ca: Path) -> PredictionSubscriber:
    cfg = MqttConfig(url=broker.url, client_id="display-hillerod",
                     tls=TlsConfig(ca=ca / "ca.crt", cert=ca / "display-hillerod.crt", key=ca / "display-hillerod.key"))
    sub = PredictionSubscriber(cfg, ["hilleroed"], deviations=DeviationStore(prefix="rettid/v1"))
    sub.start()
    assert sub.connected.wait(10)
    return sub


def test_control_room_publishes_lists_withdraws_and_a_vehicle_cannot(tls_broker: Mosquitto, test_ca: Path) -> None:
    until = (NOW + timedelta(hours=2)).isoformat()
    r = _cli(tls_broker, test_ca, "controlroom", "publish", "cancel", "--trip", "920R_MT_0_0745", "--oday",
             NOW.date().isoformat(), "--id", "vp-1", "--text", "Aflyst: signalfejl", "--until", until)
    assert r.returncode == 0, r.stderr
    assert "published cancel vp-1" in r.stdout
    display = _display(tls_broker, test_ca)
    try:
        deadline = time.monotonic() + 5
        while not display.deviations(datetime.now(UTC)) and time.monotonic() < deadline:
            time.sleep(0.05)
        devs = display.deviations(datetime.now(UTC))
        assert [(d.id, d.kind, d.text) for d in devs] == [("vp-1", "cancel", "Aflyst: signalfejl")]
        # a vehicle's certificate: refused by the broker (PUBACK "Not authorized"), on the CLI too
        forged = TripCancellation(id="forged", oper="lokaltog", tst=NOW, valid_from=NOW,
                                  valid_to=NOW + timedelta(hours=1), trip_id="920R_MT_0_0715", oday=str(NOW.date()))
        veh = _client(tls_broker, test_ca, "veh-lokaltog-2051")
        rc = _publish_rc(veh, deviation_topic("rettid/v1", "lokaltog", "forged"), encode_deviation(forged))
        assert getattr(rc, "is_failure", False) and "authori" in str(rc).lower()
        veh.loop_stop()
        veh.disconnect()
        r = _cli(tls_broker, test_ca, "veh-lokaltog-2051", "publish", "message", "--stop", "hilleroed", "--text",
                 "falsk", "--id", "forged2", "--until", until)
        assert r.returncode == 1 and "refused" in r.stderr, (r.stdout, r.stderr)
        time.sleep(0.5)
        assert [d.id for d in display.deviations(datetime.now(UTC))] == ["vp-1"]  # nothing forged arrived
        # list, then withdraw: the display drops it, the broker forgets it
        r = _cli(tls_broker, test_ca, "controlroom", "list")
        assert r.returncode == 0 and "vp-1" in r.stdout and "forged" not in r.stdout, r.stdout
        r = _cli(tls_broker, test_ca, "controlroom", "withdraw", "vp-1")
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 5
        while display.deviations(datetime.now(UTC)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert display.deviations(datetime.now(UTC)) == []
        r = _cli(tls_broker, test_ca, "controlroom", "list")
        assert "no deviations" in r.stdout
    finally:
        display.stop()


def test_a_unit_reports_deviations_of_its_own_vehicle_only(tls_broker: Mosquitto, test_ca: Path) -> None:
    central = Collector(tls_broker.port, "rettid/v1/record/deviation/#", client_id="central",
                        tls=(test_ca / "ca.crt", test_ca / "central.crt", test_ca / "central.key"))
    try:
        trip = TripRef("920R_MT_0_0715", str(NOW.date()), "920R", 0, "07:15")
        own = DeviationReport.make(NOW, veh="2051", oper="lokaltog", trip=trip, what="cancelled", reason="defekt")
        other = DeviationReport.make(NOW, veh="2052", oper="lokaltog", trip=trip, what="cancelled")
        veh = _client(tls_broker, test_ca, "veh-lokaltog-2051")
        (d_own,) = deliveries_for_record(own, mode="train")
        (d_other,) = deliveries_for_record(other, mode="train")
        assert d_own.topic.startswith("rettid/v1/record/deviation/train/lokaltog/2051/")
        assert not getattr(_publish_rc(veh, d_own.topic, d_own.payload), "is_failure", True)
        assert getattr(_publish_rc(veh, d_other.topic, d_other.payload), "is_failure", False)
        assert central.wait_for_ids({own.id}, 5) == set()
        time.sleep(0.3)
        assert central.ids() == [own.id]
        veh.loop_stop()
        veh.disconnect()
    finally:
        central.close()


def test_a_unit_reads_every_operators_deviations_for_its_connections(tls_broker: Mosquitto, test_ca: Path,
                                                                      tmp_path: Path) -> None:
    """A Lokaltog train's unit, with its own certificate and the shipped ACL, gets Movia's cancellation of a
    330R bus (the connection at Hillerød) as well as its own operator's deviations."""
    import threading

    from onboard.records.outbox import Outbox
    from onboard.records.publisher import MqttSettings, Publisher

    until = NOW + timedelta(hours=2)
    bus = TripCancellation(id="m-330", oper="movia", tst=NOW, valid_from=NOW, valid_to=until,
                           trip_id="330R_MT_0_0705", oday=str(NOW.date()))
    own = TripCancellation(id="l-920", oper="lokaltog", tst=NOW, valid_from=NOW, valid_to=until,
                           trip_id="920R_MT_0_0745", oday=str(NOW.date()))
    room = _client(tls_broker, test_ca, "controlroom")
    for d in (bus, own):
        assert not getattr(_publish_rc(room, deviation_topic("rettid/v1", d.oper, d.id), encode_deviation(d)),
                           "is_failure", True)
    got: list[str] = []
    lock = threading.Lock()

    def on_deviation(topic: str, payload: bytes, expiry: float | None) -> None:
        with lock:
            got.append(topic)

    cn = "veh-lokaltog-2051"
    settings = MqttSettings(url=f"mqtts://127.0.0.1:{tls_broker.port}", client_id=cn, ca=str(test_ca / "ca.crt"),
                            cert=str(test_ca / f"{cn}.crt"), key=str(test_ca / f"{cn}.key"))
    pub = Publisher(Outbox(tmp_path / "outbox.sqlite"), settings, oper="lokaltog", veh="2051",
                    on_deviation=on_deviation)
    pub.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if len(got) >= 2:
                    break
            time.sleep(0.05)
        time.sleep(0.3)
        with lock:
            assert sorted(got) == [deviation_topic("rettid/v1", "lokaltog", "l-920"),
                                   deviation_topic("rettid/v1", "movia", "m-330")]
    finally:
        pub.stop()
        room.loop_stop()
        room.disconnect()
