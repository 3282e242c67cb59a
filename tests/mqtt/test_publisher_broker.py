"""Publisher + outbox against a real Mosquitto: delivery, order, outage, status/last will."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest
from msgspec.structs import replace

from onboard.records.outbox import Outbox
from onboard.records.publisher import Backoff, MqttSettings, Publisher
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
    recs = [r for r in trip_records(600) if r.event != "eta"]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher(outbox, MqttSettings(url=broker.url), oper="lokaltog", veh="2051", window=50)
    _enqueue(outbox, recs)
    pub.start()
    try:
        assert pub.wait_drained(30), f"{len(outbox)} left"
        missing = col.wait_for_ids({r.id for r in recs}, 10)
        assert not missing
        assert _first_arrival_order_ok(col, {r.id: i for i, r in enumerate(recs)}) == []
        assert pub.counters.acked == len(recs)
        assert pub.counters.max_inflight_seen <= 50
        assert len(outbox) == 0
    finally:
        pub.stop()
        col.close()
        outbox.close()


def _outage(broker: Mosquitto, tmp_path: Path, outage_s: float) -> None:
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/#", client_id="central-outage")
    recs = [r for r in trip_records(900) if r.event != "eta"]
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
        missing = col.wait_for_ids({r.id for r in recs}, 30)
        assert not missing, f"{len(missing)} records never arrived"
        assert _first_arrival_order_ok(col, {r.id: i for i, r in enumerate(recs)}) == []
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


def test_slow_link_window_bounds_what_is_in_flight(broker: Mosquitto, tmp_path: Path) -> None:
    """A broker that stops acknowledging (SIGSTOP) stalls the publisher at its window; the backlog stays
    on disk, not in memory, and drains when the link recovers."""
    import signal

    outbox = Outbox(tmp_path / "outbox.sqlite")
    pub = Publisher(outbox, MqttSettings(url=broker.url), oper="lokaltog", veh="2051", window=16)
    pub.start()
    assert broker.proc is not None
    try:
        deadline = time.monotonic() + 10
        while not pub.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        broker.proc.send_signal(signal.SIGSTOP)
        recs = [r for r in trip_records(3000) if r.event != "eta"]
        _enqueue(outbox, recs)
        pub.notify()
        time.sleep(1.5)
        assert pub.counters.published - pub.counters.acked <= 16
        assert pub.counters.max_inflight_seen <= 16
        assert len(outbox) >= len(recs) - 16
        broker.proc.send_signal(signal.SIGCONT)
        assert pub.wait_drained(30)
        assert pub.counters.acked == len(recs)
    finally:
        if broker.proc is not None:
            broker.proc.send_signal(signal.SIGCONT)
        pub.stop()
        outbox.close()


def test_predictions_held_back_by_an_outage_expire_by_data_time(broker: Mosquitto, tmp_path: Path) -> None:
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/stop/#", client_id="display-like")
    recs = [r for r in trip_records(400) if r.event == "vp"]  # newest data at 06:06:39
    eta = trip_records(60)[-1]  # an eta record; re-timed below, without clears
    old = replace(eta, id="old", tst="2026-11-23T06:00:10.000Z", clear=None,
                  stops=[replace(eta.stops[0], stop_id="X")])
    new = replace(eta, id="new", tst="2026-11-23T06:05:59.000Z", clear=None,
                  stops=[replace(eta.stops[0], stop_id="Y")])
    outbox = Outbox(tmp_path / "outbox.sqlite")
    _enqueue(outbox, [old, *recs[:300], new, *recs[300:]])  # all produced while the broker was away
    pub = Publisher(outbox, MqttSettings(url=broker.url), oper="lokaltog", veh="2051")
    pub.start()
    try:
        assert pub.wait_drained(20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not col.messages:
            time.sleep(0.05)
        time.sleep(0.3)
        with col.lock:
            got = {t.split("/")[3]: e for (t, p, _), e in zip(col.messages, col.expiries, strict=True)}
        # made 389 s before the newest data: not published at all (it would show a dead estimate) ...
        assert "X" not in got and pub.counters.expired == 1
        # ... made 40 s before the newest data: published with 120 - 40 s of expiry left
        assert got["Y"] == 80
    finally:
        pub.stop()
        col.close()
        outbox.close()
