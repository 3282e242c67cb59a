"""The collector against a real Mosquitto: each record once, acknowledged only after commit, only a
vehicle's own records, survives SIGKILL; TLS with its own read-only certificate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.collector import Collector, subscriptions
from central.config import CollectorConfig
from central.gtfsrt import LiveFeed
from central.store import RecordStore, open_store
from tests.central.records import as_dict, punct, vp
from tests.conftest import REPO
from tests.mqtt.conftest import Mosquitto
from transit.config import MqttConfig, TlsConfig
from transit.messages import deliveries_for_record

pytestmark = pytest.mark.broker


def publisher(port: int, *, tls: tuple[Path, Path, Path] | None = None, client_id: str = "pub") -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if tls:
        c.tls_set(ca_certs=str(tls[0]), certfile=str(tls[1]), keyfile=str(tls[2]))
    c.max_inflight_messages_set(500)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def send(c: mqtt.Client, items: list[tuple[str, bytes]]) -> None:
    infos = [c.publish(t, p, qos=1) for t, p in items]
    for i in infos:
        i.wait_for_publish(30)


def msgs(recs: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(d.topic, d.payload) for r in recs for d in deliveries_for_record(r, mode="train")]


def wait_for(pred: Any, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


class Running:
    def __init__(self, cfg: CollectorConfig, store: RecordStore, live: LiveFeed | None = None) -> None:
        self.col = Collector(cfg, store, live=live)
        self.stop = threading.Event()
        self.col.start()
        assert self.col.wait_ready(10)
        self.thread = threading.Thread(target=self.col.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def running(broker: Mosquitto, store: RecordStore) -> Iterator[Running]:
    r = Running(CollectorConfig(mqtt=MqttConfig(url=broker.url, client_id="central-test")), store)
    yield r
    r.close()


def test_each_record_once_and_bad_ones_kept_aside(broker: Mosquitto, store: RecordStore,
                                                  running: Running) -> None:
    good = [vp(i) for i in range(200)] + [punct("hilleroed", 30.0), punct("hundested", 400.0)]
    pub = publisher(broker.port)
    try:
        send(pub, msgs(good))
        send(pub, msgs(good[:50]))  # a restarted unit re-emits what it had not seen acknowledged
        forged = vp(999, veh="2052")  # a record of 2052 on 2051's topic
        topic_2051 = deliveries_for_record(vp(0), mode="train")[0].topic
        bad_punct = as_dict(punct("hilleroed", 10.0))
        bad_punct["trip_id"] = None  # valid JSON for the schema, but a registration without its trip
        send(pub, [(topic_2051, deliveries_for_record(forged, mode="train")[0].payload),
                   (topic_2051, b"{not json"),
                   (topic_2051, b'{"v":1,"event":"vp"}'),
                   (deliveries_for_record(punct("x", 1.0), mode="train")[0].topic,
                    json.dumps({"v": 1, **bad_punct}).encode())])
        # acknowledged = committed: the collector's thread is done with the store (one connection)
        assert wait_for(lambda: running.col.counters.acked >= len(good) + 50 + 4)
    finally:
        pub.disconnect()
        pub.loop_stop()
    c = running.col.counters
    assert store.count() == len(good) and set(store.ids()) == {r.id for r in good}
    assert (c.stored, c.duplicates, c.mismatched, c.rejected) == (len(good), 50, 1, 3)
    reasons = [r.reason for r in store.rejected()]
    assert len(reasons) == 4 and any("vehicle mismatch" in r for r in reasons)
    assert any("'trip_id' is missing" in r for r in reasons)


def test_shared_subscription_splits_the_stream(broker: Mosquitto, tmp_path: Path) -> None:
    """Two collectors in one share group on one store: together they store everything once."""
    stores = [open_store(f"sqlite:///{tmp_path}/shared.sqlite") for _ in range(2)]
    runs = [Running(CollectorConfig(mqtt=MqttConfig(url=broker.url, client_id=f"central-{i}"),
                                    share_group="central"), s) for i, s in enumerate(stores)]
    recs = [vp(i) for i in range(400)]
    pub = publisher(broker.port)
    try:
        send(pub, msgs(recs))
        assert wait_for(lambda: stores[0].count() == len(recs))
    finally:
        pub.disconnect()
        pub.loop_stop()
        for r in runs:
            r.close()
    assert set(stores[0].ids()) == {r.id for r in recs}
    assert all(r.col.counters.received > 0 for r in runs), [r.col.counters.received for r in runs]
    assert sum(r.col.counters.received for r in runs) == len(recs)
    for s in stores:
        s.close()
    assert subscriptions("rettid/v1", "g", True) == ["$share/g/rettid/v1/journey/#", "$share/g/rettid/v1/record/#",
                                                      "rettid/v1/deviation/+/+",
                                                      "rettid/v1/stop/+/eta/+/+"]


def _collector_proc(broker: Mosquitto, db: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "central", "run", "--broker", broker.url, "--db", db,
                             "--client-id", "central-kill", *extra], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_loses_nothing(broker: Mosquitto, tmp_path: Path) -> None:
    """The collector is killed -9 twice while units publish: every record ends up stored exactly once."""
    db = f"sqlite:///{tmp_path}/central.sqlite"
    recs = [vp(i, veh=str(2051 + i % 4)) for i in range(6000)]
    items = msgs(recs)
    proc = _collector_proc(broker, db)
    pub = publisher(broker.port)
    try:
        with open_store(db) as s:  # the store exists once the collector has started
            assert wait_for(lambda: s.count() >= 0 and proc.poll() is None)
        time.sleep(1.5)  # subscribed (persistent session from here on)
        for k in range(3):
            send(pub, items[k * 2000:(k + 1) * 2000])
            if k < 2:
                time.sleep(0.3)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                proc = _collector_proc(broker, db)
        with open_store(db) as s:
            assert wait_for(lambda: s.count() == len(recs), 60), s.count()
            assert set(s.ids()) == {r.id for r in recs}
    finally:
        pub.disconnect()
        pub.loop_stop()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""


def test_tls_collector_reads_but_cannot_write(tls_broker: Mosquitto, test_ca: Path, tmp_path: Path) -> None:
    tls = TlsConfig(ca=test_ca / "ca.crt", cert=test_ca / "central-collector.crt",
                    key=test_ca / "central-collector.key")
    store = open_store(f"sqlite:///{tmp_path}/c.sqlite")
    run = Running(CollectorConfig(mqtt=MqttConfig(url=tls_broker.url, client_id="central-collector", tls=tls)),
                  store)
    unit = publisher(tls_broker.port, tls=(test_ca / "ca.crt", test_ca / "veh-lokaltog-2051.crt",
                                           test_ca / "veh-lokaltog-2051.key"), client_id="rettid-lokaltog-2051")
    try:
        recs = [vp(i) for i in range(20)]
        send(unit, msgs(recs))
        assert wait_for(lambda: store.count() == 20)
        # the collector's certificate may not publish anything (a forged record, a command)
        c = run.col._client
        codes: list[Any] = []
        c.on_publish = lambda client, userdata, mid, rc, props: codes.append(rc)
        for topic in ("rettid/v1/record/vp/train/lokaltog/2051/x", "rettid/v1/cmd/assign/train/lokaltog/2051"):
            c.publish(topic, b"{}", qos=1).wait_for_publish(5)
        assert wait_for(lambda: len(codes) == 2, 5)
        assert all(rc.is_failure and "authori" in str(rc).lower() for rc in codes), codes
        time.sleep(0.3)
        assert store.count() == 20
    finally:
        unit.disconnect()
        unit.loop_stop()
        run.close()
        store.close()


def test_bad_database_url_is_one_line(broker: Mosquitto) -> None:
    r = subprocess.run([sys.executable, "-m", "central", "run", "--broker", broker.url, "--db",
                        "postgresql://u:secret@127.0.0.1:1/db"], cwd=REPO, capture_output=True, text=True,
                       timeout=30, env=dict(os.environ, RETTID_DB_URL=""))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "must not contain a password" in r.stderr
