"""MQTT/outbox benchmarks: durable outbox writes and draining a 100,000-record backlog to a local
Mosquitto at QoS 1 (issue 7)."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.registry import Metric, at_least, benchmark
from onboard.records.outbox import Outbox
from onboard.records.publisher import MqttSettings, Publisher
from transit.messages import Delivery, deliveries_for_record
from transit.records import Arrival, Departure, Position, Record, TripRef

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _records(n: int) -> list[Record]:
    """Onboard records of realistic size: mostly 1 Hz positions, a stop event pair every 60 s."""
    out: list[Record] = []
    ref = TripRef("920R-0655", "2026-11-23", "920R", 0, "06:55")
    i = 0
    while len(out) < n:
        t = T0 + timedelta(seconds=i)
        out.append(Position.make(t, veh="2051", oper="lokaltog", trip=ref, stop_id=f"S{i // 60:03d}", seq=i // 60,
                                 loc="GPS", spd=12.5, odo=i * 12.5, drst=0, lat=55.93 + i * 1e-5,
                                 lon=12.31 + i * 1e-5, hdg=87.0, dl=42.0))
        if i % 60 == 59:
            for kind in (Arrival, Departure):
                out.append(kind.make(t, veh="2051", oper="lokaltog", trip=ref, stop_id=f"S{i // 60:03d}",
                                     seq=i // 60, loc="GPS", odo=i * 12.5, drst=0, dl=42.0))
        i += 1
    return out[:n]


def _deliveries(n: int) -> list[Delivery]:
    return [d for r in _records(n) for d in deliveries_for_record(r, mode="train")]


@benchmark("outbox")
def bench_outbox() -> list[Metric]:
    n, batch = 50_000, 500
    ds = _deliveries(n)
    with tempfile.TemporaryDirectory(dir=os.environ.get("RETTID_BENCH_DIR")) as tmp:
        ob = Outbox(Path(tmp) / "outbox.sqlite")  # WAL + synchronous=FULL: each commit fsynced
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            ob.put(ds[i:i + batch])
        dt = time.perf_counter() - t0
        # single-record commits, as a live unit does between bursts: one fsync each
        single = 300
        t1 = time.perf_counter()
        for d in ds[:single]:
            ob.put([d])
        dt1 = time.perf_counter() - t1
        ob.close()
    return [at_least("outbox_durable_msgs_per_s", round(n / dt), 2000, "msgs/s", batch=batch, messages=n,
                     synchronous="FULL", single_commit_msgs_per_s=round(single / dt1))]


@benchmark("mqtt_drain")
def bench_mqtt_drain() -> list[Metric]:
    from transit.localbroker import LocalBroker, find_mosquitto

    if find_mosquitto() is None:
        raise RuntimeError("mosquitto is not installed (make sysdeps)")
    n = 100_000
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        ob = Outbox(Path(tmp) / "outbox.sqlite")
        ds = _deliveries(n)
        for i in range(0, n, 1000):
            ob.put(ds[i:i + 1000])
        pub = Publisher(ob, MqttSettings(url=broker.url), oper="lokaltog", veh="2051", mode="train", window=100)
        t0 = time.perf_counter()
        pub.start()
        drained = pub.wait_drained(600)
        dt = time.perf_counter() - t0
        pub.stop()
        left = len(ob)
        ob.close()
    rate = round((n - left) / dt)
    return [at_least("mqtt_drain_msgs_per_s", rate if drained else 0, 2000, "msgs/s", messages=n, qos=1,
                     window=100, acked=pub.counters.acked, seconds=round(dt, 2))]
