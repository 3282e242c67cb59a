"""Issue 17: the outbox with the broker unreachable, at 2 million rows.

``outbox_budget`` fills an outbox to 2 M rows of realistic size (1 Hz positions, a stop event pair and a
punctuality record a minute; no broker) with a disk budget that thinning reaches there, then runs it as a
unit does — one ``put()`` a second (1–3 messages, each its own fsync'd commit: ``group_s=0``, the worst
case) and the service loop's ``maintain()`` between — while thinning runs. Measured: the slowest ``put()``
and ``maintain()``, the peak of database + WAL + shared-memory files against the budget, the health
query, and the time to open the full file.

Reference, in the same run on the same rows: main's code before issue 17 (schema 0, no kept counters),
reproduced here statement for statement — the ``put()`` that crosses the high-water mark runs its
single ``DELETE ... NOT IN (SELECT MIN(seq) ... GROUP BY tst_ms / 10000)`` under the lock, and health
runs ``SELECT MIN(tst_ms) FROM outbox``. Ratios are reference / new.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from bench.bench_mqtt import T0, _deliveries
from bench.registry import Metric, at_most, benchmark
from onboard.records.outbox import DEFAULT_BUDGET_BYTES, THIN_CHUNK, Outbox
from transit.messages import Delivery
from transit.timeutil import to_epoch_ms

ROWS = 2_000_000
FILL_BATCH = 5000
TIMED_PUTS = 1500  # 25 minutes of a unit's life at one put a second


class _Clock:
    """The service loop's monotonic clock, one second per simulated put."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _templates() -> tuple[Delivery, list[Delivery]]:
    """A real position delivery and the records of one stop (arr, dep, punctuality-sized)."""
    ds = _deliveries(120)
    vp = next(d for d in ds if d.kind == "vp")
    recs = [d for d in ds if d.kind != "vp"][:2]
    return vp, recs


def _stream(start: int, n: int) -> Iterator[Delivery]:
    """``n`` messages from second ``start`` on: a position each second, a stop's records each minute."""
    vp, recs = _templates()
    i = start
    made = 0
    while made < n:
        t = T0 + timedelta(seconds=i)
        yield Delivery(vp.topic, vp.payload, 1, False, None, "vp", f"v{i:015x}", t)
        made += 1
        if i % 60 == 59:
            for k, r in enumerate(recs):
                yield Delivery(r.topic, r.payload, 1, False, None, "record", f"r{i:014x}{k}", t)
                made += 1
        i += 1


def _disk(path: Path) -> int:
    total = 0
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total


def _bytes_per_row(tmp: Path) -> int:
    """Bytes one message takes in the file, measured on 50,000 of the stream's messages."""
    ob = Outbox(tmp / "probe.sqlite", synchronous="NORMAL")
    batch: list[Delivery] = []
    for d in _stream(0, 50_000):
        batch.append(d)
        if len(batch) == FILL_BATCH:
            ob.put(batch)
            batch = []
    ob.put(batch)
    used = ob.stats()["used_mb"] * (1 << 20)
    ob.close()
    for p in tmp.glob("probe.sqlite*"):
        p.unlink()
    return int(used / 50_000) + 1


def _run_new(tmp: Path, budget: int) -> dict[str, float]:
    path = tmp / "outbox.sqlite"
    clock = _Clock()
    ob = Outbox(path, budget_bytes=budget, clock=clock)
    peak = 0
    src = _stream(0, 2 * ROWS)
    batch: list[Delivery] = []
    t_fill = time.perf_counter()
    for d in src:  # the outage's first days: filled in large commits (not timed)
        batch.append(d)
        if len(batch) == FILL_BATCH:
            ob.put(batch)
            batch = []
            if ob.thinning:
                break
            peak = max(peak, _disk(path))
    ob.put(batch)
    fill_s = time.perf_counter() - t_fill
    rows_at_start = len(ob)
    # the unit goes on: a put a second, the loop's upkeep between, thinning running
    put_ms: list[float] = []
    maint_ms: list[float] = []
    second = rows_at_start  # data time goes on after the filled rows
    live = _stream(second, 10 * TIMED_PUTS)
    for _ in range(TIMED_PUTS):
        ds = [next(live)]
        if ds[0].tst.second == 59:
            ds += [next(live), next(live)]
        t0 = time.perf_counter()
        ob.put(ds)
        put_ms.append((time.perf_counter() - t0) * 1000)
        clock.t += 1.0
        t0 = time.perf_counter()
        ob.maintain()
        maint_ms.append((time.perf_counter() - t0) * 1000)
        peak = max(peak, _disk(path))
    thinned = ob.counters.vp_thinned
    rows_end = len(ob)
    t0 = time.perf_counter()
    for _ in range(20):  # what the health report does every 5 s
        ob.stats()
        ob.oldest_tst_ms()
    health_ms = (time.perf_counter() - t0) * 1000 / 20
    ob.close()
    t0 = time.perf_counter()
    Outbox(path, budget_bytes=budget).close()
    open_s = time.perf_counter() - t0
    put_ms.sort()
    maint_ms.sort()
    return {"put_max_ms": put_ms[-1], "puts_over_50ms": sum(1 for x in put_ms if x > 50),
            "put_median_ms": put_ms[len(put_ms) // 2], "put_p99_ms": put_ms[int(len(put_ms) * 0.99)],
            "maintain_max_ms": maint_ms[-1], "peak_bytes": peak, "rows_at_start": rows_at_start,
            "rows_end": rows_end, "thinned": thinned, "health_ms": health_ms, "open_s": open_s, "fill_s": fill_s}


_OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
    retain INTEGER NOT NULL, expiry INTEGER, kind TEXT NOT NULL, rec_id TEXT NOT NULL, tst_ms INTEGER NOT NULL,
    coalesce_key TEXT);
CREATE INDEX IF NOT EXISTS outbox_coalesce ON outbox(coalesce_key) WHERE coalesce_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_vp ON outbox(tst_ms) WHERE kind = 'vp';
"""


def _old_put(db: sqlite3.Connection, ds: list[Delivery]) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO outbox(topic, payload, qos, retain, expiry, kind, rec_id, tst_ms, coalesce_key)"
                   " VALUES (?,?,?,?,?,?,?,?,?)",
                   [(d.topic, d.payload, d.qos, int(d.retain), d.expiry_s, d.kind, d.rec_id, to_epoch_ms(d.tst),
                     d.coalesce) for d in ds])
    db.execute("COMMIT")


def _run_old(tmp: Path, rows: int) -> dict[str, float]:
    """Main's outbox before issue 17 on the same stream: WAL, synchronous=FULL, no journal_size_limit; the
    put() that crosses its high-water mark thins with one DELETE (autocommit, the lock held)."""
    path = tmp / "old.sqlite"
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_OLD_SCHEMA)
    peak = 0
    batch: list[Delivery] = []
    for d in _stream(0, rows):
        batch.append(d)
        if len(batch) == FILL_BATCH:
            _old_put(db, batch)
            batch = []
            peak = max(peak, _disk(path))
    if batch:
        _old_put(db, batch)
    t0 = time.perf_counter()
    health = db.execute("SELECT MIN(tst_ms) FROM outbox").fetchone()  # the old health query
    health_ms = (time.perf_counter() - t0) * 1000
    assert health is not None
    # the put that crosses the high-water mark: its rows, then the old _enforce_bound's first step
    t0 = time.perf_counter()
    _old_put(db, list(_stream(rows, 1)))
    count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]  # the old open/len path
    cur = db.execute("DELETE FROM outbox WHERE kind = 'vp' AND seq NOT IN "
                     "(SELECT MIN(seq) FROM outbox WHERE kind = 'vp' GROUP BY tst_ms / ?)", (10_000,))
    put_ms = (time.perf_counter() - t0) * 1000
    peak = max(peak, _disk(path))
    wal = path.with_name(path.name + "-wal").stat().st_size
    deleted = cur.rowcount
    db.close()
    # the upgrade: this software opens the file main left behind (its WAL included) and migrates it
    t0 = time.perf_counter()
    ob = Outbox(path, budget_bytes=DEFAULT_BUDGET_BYTES)
    migrate_s = time.perf_counter() - t0
    migrated_rows = len(ob)
    ob.close()
    return {"put_max_ms": put_ms, "peak_bytes": peak, "wal_bytes": wal, "deleted": deleted, "rows": count,
            "health_ms": health_ms, "migrate_s": migrate_s, "migrated_rows": migrated_rows}


@benchmark("outbox_budget")
def bench_outbox_budget() -> list[Metric]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("RETTID_BENCH_DIR")) as tmpdir:
        tmp = Path(tmpdir)
        bpr = _bytes_per_row(tmp)
        # the budget at which thinning starts with 2 M rows stored (high water 0.9 of the file's share)
        from onboard.records.outbox import HIGH_WATER, budget_file_bytes

        # (just below 2 M rows, so the timed puts find it running at 2 M)
        budget = int(ROWS * bpr * 0.98 / HIGH_WATER) + (8 << 20) + (64 << 10)
        budget = ((budget >> 20) + 1) << 20
        db_share, wal_limit = budget_file_bytes(budget)
        new = _run_new(tmp, budget)
        for p in tmp.glob("outbox.sqlite*"):
            p.unlink()
        old = _run_old(tmp, int(new["rows_at_start"]))
    budget_mb = budget / (1 << 20)
    peak_mb = new["peak_bytes"] / (1 << 20)
    common = {"rows": int(new["rows_at_start"]), "bytes_per_row": bpr, "budget_mb": round(budget_mb),
              "timed_puts": TIMED_PUTS, "thin_chunk_rows": THIN_CHUNK, "synchronous": "FULL"}
    return [
        at_most("outbox_put_max_ms_at_2m_rows", round(new["put_max_ms"], 1), 50, "ms",
                put_median_ms=round(new["put_median_ms"], 2), put_p99_ms=round(new["put_p99_ms"], 2),
                puts_over_50ms=int(new["puts_over_50ms"]), maintain_max_ms=round(new["maintain_max_ms"], 1),
                positions_thinned=int(new["thinned"]), rows_after=int(new["rows_end"]),
                reference="main before issue 17: one DELETE in the put() at the high-water mark",
                reference_put_ms=round(old["put_max_ms"], 1), reference_deleted=int(old["deleted"]),
                ratio=round(old["put_max_ms"] / max(new["put_max_ms"], 1e-3), 1), **common),
        at_most("outbox_disk_peak_mb_at_2m_rows", round(peak_mb, 1), round(1.2 * budget_mb, 1), "MB",
                ratio_to_budget=round(peak_mb / budget_mb, 3), wal_limit_mb=round(wal_limit / (1 << 20), 1),
                db_share_mb=round(db_share / (1 << 20), 1),
                reference_peak_mb=round(old["peak_bytes"] / (1 << 20), 1),
                reference_wal_mb=round(old["wal_bytes"] / (1 << 20), 1),
                open_full_s=round(new["open_s"], 2), migrate_old_file_s=round(old["migrate_s"], 2),
                migrated_rows=int(old["migrated_rows"]), fill_s=round(new["fill_s"], 1), **common),
        at_most("outbox_health_ms_at_2m_rows", round(new["health_ms"], 2), 5, "ms",
                reference="SELECT MIN(tst_ms) FROM outbox (main's health query)",
                reference_ms=round(old["health_ms"], 1),
                ratio=round(old["health_ms"] / max(new["health_ms"], 1e-3)), **common),
    ]
