"""Publisher + outbox against a real Mosquitto: delivery, order, outage, status/last will."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from onboard.outbox import Outbox
from onboard.publisher import Backoff, MqttSettings, Publisher
from tests.mqtt.conftest import Collector, Mosquitto
from tests.mqtt.records import trip_records
from transit.messages import DEFAULT_PREFIX, deliveries_for_record

pytestmark = pytest.mark.broker


def _first_arrival_order_ok(collector: Collector, sent_order: dict[str, int]) -> list[str]:
    """Per topic, records must first arrive in the order they were produced (duplicates allowed)."""
    seen: set[str] = set()
    last: dict[str, int] = defaultdict(lambda: -1)
    problems = []
    with collector.lock:
        msgs = list(collector.messages)
    for topic, payload, _ in msgs:
        if not payload:
            continue
        rid = json.loads(payload).get("id")
        if rid is None or rid in seen or rid not in sent_order:
            continue
        seen.add(rid)
        if sent_order[rid] < last[topic]:
            problems.append(f"{topic}: {rid} after a later record")
        last[topic] = sent_order[rid]
    return problems


def _enqueue(outbox: Outbox, records: list[dict]) -> None:
    deliveries = [d for r in records for d in deliveries_for_record(r, mode="bus")]
    outbox.put(deliveries)


def test_publishes_everything_once_in_order(broker: Mosquitto, tmp_path: Path) -> None:
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/+/+/+/lokaltog/2051/#")
    recs = [r for r in trip_records(600) if r["event"] != "eta"]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher(outbox, MqttSettings(url=broker.url), oper="lokaltog", veh="2051", window=50)
    _enqueue(outbox, recs)
    pub.start()
    try:
        assert pub.wait_drained(30), f"{len(outbox)} left"
        missing = col.wait_for_ids({r["id"] for r in recs}, 10)
        assert not missing
        assert _first_arrival_order_ok(col, {r["id"]: i for i, r in enumerate(recs)}) == []
        assert pub.counters.acked == len(recs)
        assert pub.counters.max_inflight_seen <= 50
        assert len(outbox) == 0
    finally:
        pub.stop()
        col.close()
        outbox.close()


def _outage(broker: Mosquitto, tmp_path: Path, outage_s: float) -> None:
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/#", client_id="central-outage")
    recs = [r for r in trip_records(900) if r["event"] != "eta"]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher(outbox, MqttSettings(url=broker.url), oper="lokaltog", veh="2051", window=20,
                    backoff=Backoff(0.2, 2.0))
    pub.start()
    chunks = [recs[i:i + 50] for i in range(0, len(recs), 50)]
    try:
        half = len(chunks) // 2
        for ch in chunks[:half]:
            _enqueue(outbox, ch)
            pub.notify()
            time.sleep(0.02)
        broker.stop()
        t_end = time.monotonic() + outage_s
        rest = chunks[half:]
        # keep producing during the outage, like a bus driving through a tunnel
        per_tick = max(1, len(rest) // 10)
        while rest:
            for ch in rest[:per_tick]:
                _enqueue(outbox, ch)
            rest = rest[per_tick:]
            pub.notify()
            time.sleep(outage_s / 12)
        time.sleep(max(0.0, t_end - time.monotonic()))
        assert not pub.connected
        assert len(outbox) > 0
        broker.start()
        assert pub.wait_drained(60), f"{len(outbox)} still in the outbox"
        missing = col.wait_for_ids({r["id"] for r in recs}, 30)
        assert not missing, f"{len(missing)} records never arrived"
        assert _first_arrival_order_ok(col, {r["id"]: i for i, r in enumerate(recs)}) == []
        assert pub.counters.disconnects >= 1 and pub.counters.connects >= 2
    finally:
        pub.stop()
        col.close()
        outbox.close()


def test_broker_outage_short(broker: Mosquitto, tmp_path: Path) -> None:
    _outage(broker, tmp_path, 3.0)


@pytest.mark.slow
def test_broker_outage_60s(broker: Mosquitto, tmp_path: Path) -> None:
    _outage(broker, tmp_path, 60.0)
