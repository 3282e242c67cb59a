"""Central benchmarks (issue 15): collector ingest through a real Mosquitto into SQLite and PostgreSQL,
and the month report over a synthetic 500-vehicle month (~1.2 million registrations) from SQLite.

Ingest: the collector's persistent session is created, the collector goes away, ``N`` records are
published to the broker (which queues them for the session), then a collector starts and the time until
all are committed and acknowledged is measured — the collector's own rate, not a unit's publish window.
The publish rate into the broker is reported beside it as the reference of the same run.

Month report: the wall time of ``python -m central report punctuality --db ... --format json`` in a
child process, its own peak RSS and CPU time; the reference of the same run is a plain Python read of
the same rows from the same file (``reference_scan_s``; ``ratio_to_scan`` = report / read), so a
machine busy with other work shows in both.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.registry import Metric, at_least, at_most, benchmark

ROOT = Path(__file__).resolve().parent.parent


def _records(n: int, vehicles: int = 50) -> list[tuple[str, bytes]]:
    from transit.messages import deliveries_for_record
    from transit.records import Position, TripRef
    from transit.timeutil import from_epoch

    out: list[tuple[str, bytes]] = []
    t0 = 1795417200.0  # 2026-11-23 06:00 UTC
    for i in range(n):
        veh = str(3000 + i % vehicles)
        k = i // vehicles
        trip = TripRef(f"T{veh}-{k // 3600}", "2026-11-23", "920R", 0, "06:55")
        rec = Position.make(from_epoch(t0 + k), veh=veh, oper="lokaltog", trip=trip, stop_id="S1", seq=1,
                            loc="GPS", lat=55.93, lon=12.31, spd=12.5, hdg=87.0, odo=k * 12.5, dist=k * 12.5, dl=42.0,
                            drst=0)
        d = deliveries_for_record(rec, mode="train")[0]
        out.append((d.topic, d.payload))
    return out


def _ingest(db_url: str, store_opts: dict[str, Any], n: int) -> tuple[float, float]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from central.collector import Collector
    from central.config import CollectorConfig
    from central.store import open_store
    from transit.config import MqttConfig
    from transit.localbroker import LocalBroker

    items = _records(n)
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        store = open_store(db_url.replace("{tmp}", tmp), **store_opts)
        cfg = CollectorConfig(mqtt=MqttConfig(url=broker.url, client_id="bench-central"))
        first = Collector(cfg, store)
        first.start()
        if not first.wait_ready(10):
            raise RuntimeError("collector did not subscribe")
        first.close()  # the session (and its subscription) stays at the broker
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-pub",
                          protocol=mqtt.MQTTv5)
        pub.max_inflight_messages_set(1000)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        t0 = time.perf_counter()
        infos = [pub.publish(t, p, qos=1) for t, p in items]
        for info in infos:
            info.wait_for_publish(120)
        pub_rate = n / (time.perf_counter() - t0)
        pub.disconnect()
        pub.loop_stop()
        col = Collector(cfg, store)
        stop = threading.Event()
        t0 = time.perf_counter()
        th = threading.Thread(target=col.run, args=(stop,), daemon=True)
        th.start()
        while col.counters.stored < n and time.perf_counter() - t0 < 300:
            time.sleep(0.01)
        dt = time.perf_counter() - t0
        stop.set()
        th.join(30)
        stored = store.count()
        store.close()
        if stored != n:
            raise RuntimeError(f"stored {stored} of {n}")
        return n / dt, pub_rate


@benchmark("central_ingest_sqlite")
def bench_ingest_sqlite() -> list[Metric]:
    n = 60_000
    rate, pub = _ingest("sqlite:///{tmp}/central.sqlite", {}, n)
    return [at_least("central_ingest_sqlite_per_s", round(rate), 5000, "records/s", records=n,
                     broker_publish_per_s=round(pub), ratio_to_publish=round(rate / pub, 2),
                     synchronous="FULL", fleet_500_at_1hz_per_s=600)]


@benchmark("central_ingest_postgres")
def bench_ingest_postgres() -> list[Metric]:
    from transit.localpostgres import LocalPostgres

    n = 40_000
    with LocalPostgres() as pg:
        rate, pub = _ingest(pg.url, {"password_file": pg.password_file}, n)
    return [at_least("central_ingest_postgres_per_s", round(rate), 2000, "records/s", records=n,
                     broker_publish_per_s=round(pub), ratio_to_publish=round(rate / pub, 2))]


# ------------------------------------------------------------------------------------------ month report
LINES = 50  # 10 strækninger of 5 lines
STOPS = 6
REG_STOPS = (0, 2, 4, 5)  # registration stations (the origin's is no arrival): 3 per trip
TRIPS_PER_LINE_DAY = 268  # 50 x 268 = 13,400 trips a day: ~27 a day for each of 500 vehicles


def write_synthetic(root: Path) -> tuple[Path, Path]:
    feed = root / "feed"
    feed.mkdir(parents=True)
    (feed / "agency.txt").write_text("agency_id,agency_name,agency_url,agency_timezone\n"
                                     "B,Bench,https://example.invalid,Europe/Copenhagen\n")
    stops = ["stop_id,stop_name,stop_lat,stop_lon"]
    for ln in range(LINES):
        for s in range(STOPS):
            stops.append(f"L{ln}S{s},Line {ln} stop {s},{55.5 + ln * 0.01:.4f},{11.5 + s * 0.02:.4f}")
    (feed / "stops.txt").write_text("\n".join(stops) + "\n")
    (feed / "routes.txt").write_text("route_id,agency_id,route_short_name,route_long_name,route_type\n" + "".join(
        f"R{ln},B,{ln}R,Line {ln},2\n" for ln in range(LINES)))
    (feed / "calendar.txt").write_text("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                                       "start_date,end_date\nALL,1,1,1,1,1,1,1,20261101,20261130\n")
    trips = ["route_id,service_id,trip_id,direction_id"]
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for ln in range(LINES):
        for k in range(TRIPS_PER_LINE_DAY):
            d = k % 2
            tid = f"L{ln}T{k}"
            trips.append(f"R{ln},ALL,{tid},{d}")
            start = 5 * 3600 + (k // 2) * 540
            order = range(STOPS) if d == 0 else range(STOPS - 1, -1, -1)
            for j, s in enumerate(order):
                t = start + j * 300
                times.append(f"{tid},{t // 3600:02d}:{t % 3600 // 60:02d}:00,{t // 3600:02d}:{t % 3600 // 60:02d}:30,"
                             f"L{ln}S{s},{j + 1}")
    (feed / "trips.txt").write_text("\n".join(trips) + "\n")
    (feed / "stop_times.txt").write_text("\n".join(times) + "\n")
    regs = "".join(f'  "{ln}R": [{", ".join(f"L{ln}S{s}" for s in REG_STOPS)}]\n' for ln in range(LINES))
    straek = "".join(f'  s{g}: {{name: "Strækning {g}", lines: [{", ".join(f"{ln}R" for ln in range(g * 5, g * 5 + 5))}]}}\n'
                     for g in range(LINES // 5))
    op = root / "op.yaml"
    op.write_text(f"""operator: {{id: bench, name: Bench, authority: Movia, timezone: Europe/Copenhagen}}
feed: {feed}
punctuality: {{policy: rail, measure_on: arrival, late_threshold_s: 180, target_pct: 93.0,
  bonus_points: [[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]}}
registration_stations:
{regs}occupancy: {{rush_hours: [["07:00", "09:00"]], rush_limit_pct: 100, other_limit_pct: 90}}
vehicle_types: {{lint41: {{name: Lint, seats: 116, approved_capacity: 280, doors: 4}}}}
display: {{delay_threshold_s: 120}}
straekninger:
{straek}""", encoding="utf-8")
    return feed, op


def fill_store(db: Path, seed: int = 15) -> int:
    """A month of punctuality records for the synthetic feed: ~5 % late, 1 % not observed, 2 % never
    reported (missing); vehicles 1..500 by block."""
    from central.records import to_stored
    from central.store.sqlite import SqliteStore
    from transit.records import Punctuality
    from transit.timeutil import iso_utc_ms, service_day_origin

    rng = random.Random(seed)
    store = SqliteStore(str(db), synchronous="OFF")
    n = 0
    day = date(2026, 11, 1)
    while day.month == 11:
        origin = service_day_origin(day)
        oday = day.isoformat()
        batch = []
        for ln in range(LINES):
            for k in range(TRIPS_PER_LINE_DAY):
                d = k % 2
                tid = f"L{ln}T{k}"
                veh = str(1 + (ln * 10 + k // 27) % 500)
                start = 5 * 3600 + (k // 2) * 540
                order = list(range(STOPS)) if d == 0 else list(range(STOPS - 1, -1, -1))
                for j, s in enumerate(order):
                    if s not in REG_STOPS or j == 0:
                        continue
                    x = rng.random()
                    if x < 0.02:
                        continue
                    sched = origin + timedelta(seconds=start + j * 300)
                    env: dict[str, Any] = dict(
                        id=f"{oday}{tid}{s}", tst=iso_utc_ms(sched), veh=veh, oper="bench", oday=oday,
                        route=f"{ln}R", dir=d, start="05:00", trip_id=tid, stop_id=f"L{ln}S{s}", seq=j + 1, loc="GPS",
                        station=f"L{ln}S{s}", measured="arrival", counted=True, sched=iso_utc_ms(sched), policy="rail")
                    if x < 0.03:
                        rec = Punctuality(status="missing", reason="not observed: no position", dl=None, actual=None,
                                          late=None, **env)
                    else:
                        dl = rng.expovariate(1 / 90.0) if x > 0.08 else 180 + rng.expovariate(1 / 400.0)
                        rec = Punctuality(status="measured", dl=round(dl, 1), late=dl >= 180,
                                          actual=iso_utc_ms(sched + timedelta(seconds=dl)), **env)
                    batch.append(to_stored(rec, "bench"))
        store.put(batch)
        n += len(batch)
        day += timedelta(days=1)
    store.close()
    return n


def _scan_s(db: Path) -> float:
    """The same-run reference: reading the month's registrations (the report's columns, in its order)
    from the same SQLite file in plain Python, doing nothing with them."""
    import sqlite3

    from central.records import REG_ROW

    con = sqlite3.connect(str(db))
    t0 = time.perf_counter()
    for _row in con.execute(f"SELECT {', '.join(REG_ROW)} FROM registrations WHERE oday BETWEEN '2026-11-01' "
                            "AND '2026-11-30' ORDER BY oday"):
        pass
    dt = time.perf_counter() - t0
    con.close()
    return dt


@benchmark("central_month_report")
def bench_month_report() -> list[Metric]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("RETTID_BENCH_DIR")) as tmp:
        root = Path(tmp)
        feed, op = write_synthetic(root)
        db = root / "central.sqlite"
        n = fill_store(db)
        scan_before = _scan_s(db)
        args = ["report", "punctuality", "--db", f"sqlite:///{db}", "--month", "2026-11", "--operator", str(op),
                "--format", "json", "-o", str(root / "month.json")]
        # the report's own peak RSS and CPU time, printed by the child itself (RUSAGE_CHILDREN would mix
        # in other children)
        code = ("import resource, sys; from transit.cli import main; from central.__main__ import COMMANDS; "
                f"rc = main('python -m central', '', COMMANDS, {args!r}); "
                "u = resource.getrusage(resource.RUSAGE_SELF); "
                "print('RSS_KB', u.ru_maxrss, 'CPU_S', u.ru_utime + u.ru_stime, file=sys.stderr); sys.exit(rc)")
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        scan = min(scan_before, _scan_s(db))  # the reference before and after: the quieter one
        last = r.stderr.strip().splitlines()[-1].split()
        rss_mb, cpu_s = int(last[1]) / 1024.0, float(last[3])
        out = json.loads((root / "month.json").read_text())
        scheduled = out["total"]["scheduled"]
    extra = {"registrations_stored": n, "registrations_scheduled": scheduled, "vehicles": 500,
             "late_listed": len(out["late"]), "report_cpu_s": round(cpu_s, 2),
             "reference_scan_s": round(scan, 2), "ratio_to_scan": round(dt / scan, 1)}
    return [at_most("central_month_report_s", round(dt, 2), 30, "s", **extra),
            at_most("central_month_report_rss_mb", round(rss_mb, 1), 500, "MB", **extra)]
