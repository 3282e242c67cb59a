"""The fleet soak (issue 17): 500 vehicles at 1 Hz for one simulated hour through a real Mosquitto into
the central collector (``python -m central run``), nothing lost, broker and collector CPU and memory.

The vehicles are :mod:`bench.fleet` record streams (real records, topics, payloads and publisher session
semantics; five publisher processes of 100 MQTT clients each). The first minute runs at the fleet's real
rate (1 Hz per vehicle: about 510 records and 80 retained stop predictions a second in all): the collector's and
the broker's CPU over that minute are the figures for a real fleet. The rest of the hour is compressed
(``WARP`` data seconds per wall second, as far as this machine keeps up: ``warp_achieved``), which is
allowed because every record carries its data time and nothing central depends on arrival time; its
CPU is reported per data second beside the real-rate figure. Lost records are counted by id: every id a
vehicle sent (and the broker acknowledged) against the ids in the store.

``RETTID_BENCH_FLEET_DB=postgresql`` runs the same soak into PostgreSQL (a local server started here).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench.registry import Metric, at_most, benchmark

VEHICLES = 500
SECONDS = 3600
REAL_S = 60
WARP = float(os.environ.get("RETTID_BENCH_FLEET_WARP", "6"))


@benchmark("fleet_500")
def bench_fleet_500() -> list[Metric]:
    from bench.fleet import FleetPlan, run_soak
    from transit.localbroker import LocalBroker

    plan = FleetPlan(vehicles=VEHICLES, seconds=SECONDS, real_s=REAL_S, warp=WARP)
    backend = os.environ.get("RETTID_BENCH_FLEET_DB", "sqlite")
    work = Path(tempfile.mkdtemp(prefix="rettid-bench-fleet-", dir=os.environ.get("RETTID_BENCH_DIR")))
    try:
        with LocalBroker(work / "broker") as broker:
            if backend == "postgresql":
                from transit.localpostgres import LocalPostgres

                with LocalPostgres() as pg:
                    res = run_soak(plan, broker, work, db_url=pg.url, db_password_file=pg.password_file)
            else:
                res = run_soak(plan, broker, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lost = res.lost + max(0, res.sent_records - res.stored - res.lost)
    extra: dict[str, object] = {
        "store": backend, "vehicles": VEHICLES, "data_s": SECONDS, "records_sent": res.sent_records,
        "messages_sent": res.sent_messages, "records_stored": res.stored, "unexpected_ids": res.unexpected,
        "real_rate_window_s": round(res.real_window_s, 1),
        "records_per_s_at_1hz": round(res.sent_records / SECONDS, 1),
        "messages_per_s_at_1hz": round(res.sent_messages / SECONDS, 1),
        "collector_cpu_fraction_compressed": round(res.collector_cpu_fraction_warp, 3),
        "collector_cpu_s_per_data_s": round(res.collector_cpu_s_per_data_s, 4),
        "warp_target": WARP, "warp_achieved": round(res.warp_achieved, 2),
        "compressed_window_s": round(res.warp_window_s, 1),
        "broker_cpu_fraction_1hz": round(res.broker_cpu_fraction_real, 4),
        "broker_cpu_fraction_compressed": round(res.broker_cpu_fraction_warp, 3),
        "collector_rss_mb": res.collector_rss_mb, "broker_rss_mb": res.broker_rss_mb,
        "drain_after_last_publish_s": round(res.drain_s, 2), "publisher_cpu_s": round(res.publisher_cpu_s, 1),
        "collector": res.collector_counters,
    }
    return [at_most("fleet_500_lost_records", lost, 0, "records", **extra),
            at_most("fleet_500_collector_cpu_fraction", round(res.collector_cpu_fraction_real, 4), 0.5, "cpu_s/s",
                    **extra)]
