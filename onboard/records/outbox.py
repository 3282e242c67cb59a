"""Store-and-forward outbox: every message is committed to SQLite before it is published and deleted only
when the broker acknowledges it (QoS 1 PUBACK).

Durability. The database runs in WAL mode with ``synchronous=FULL``: each commit appends to the WAL and
fsyncs it before ``commit()`` returns, so a committed batch survives kill -9 *and* power loss. With
``synchronous=NORMAL`` WAL commits survive a process crash (the data is in the OS page cache) but the
newest transactions can be lost on power loss — not acceptable for punctuality and count records, so
NORMAL is only offered for tests/benchmarks that compare. The cost of one fsync per commit is amortised by
group commits: :meth:`Outbox.put` writes a whole batch in one transaction, and with ``group_s > 0`` position
samples wait up to that long in memory to share the next commit (a power cut can cost those seconds of
positions, never a record: any other kind commits at once, together with the positions waiting before it).

Order. ``seq`` is ``INTEGER PRIMARY KEY AUTOINCREMENT``: strictly increasing and never reused, even after
the table was emptied, so after a restart the publisher resumes with the lowest unacknowledged ``seq``.

Disk budget. The outbox holds a configured number of bytes on disk (``budget_bytes``, default
:data:`DEFAULT_BUDGET_BYTES`: a week of 1 Hz positions plus margin, docs/scaling.md). Of it the WAL may take
``journal_size_limit`` (it is truncated back to that after a checkpoint); the database file the rest.
When the pages in use pass :data:`HIGH_WATER` of the file's share, positions (``kind == 'vp'``) are
thinned, **oldest first**: a pass walks the stored positions in data-time order through the partial index
``outbox_vp`` and keeps the first sample of every 10 s bucket, deleting the others, until the pages in use
are below :data:`LOW_WATER`; when a pass reaches the newest position and more room is needed, the next pass
starts from the oldest again with 30 s, then 60 s, then 300 s buckets (the last step continues with the
positions stored since). So a week offline leaves the oldest part of the track coarse and the newest at
full rate. Each step examines at most :data:`THIN_CHUNK` rows — inside the transaction of the next
:meth:`put` or in :meth:`maintain` — so no single statement ever holds the lock for long (the former
single ``DELETE`` of 1.18 M rows blocked a ``put()`` for 5.1 s). Only when positions are as coarse as they
get and the budget is reached are new positions refused beyond one per 300 s (counted). Records (stop
events, punctuality, passenger counts, deviations) are never thinned nor refused: past the budget they
are still stored, with a rate-limited error, because losing a punctuality record costs more than disk
space.

WAL. One transaction is small (a batch or a chunk), SQLite's auto-checkpoint is a back-stop and
:meth:`maintain` checkpoints (PASSIVE) every :data:`CHECKPOINT_S` when something was written and after every
fourth thinning step, so the WAL restarts from its beginning and ``journal_size_limit`` truncates it: it
no longer grows to hundreds of MB.

Space. New files use ``auto_vacuum=INCREMENTAL``: freed pages stay in the file for reuse (no write
amplification from moving pages around) unless the file is larger than its share of the budget (a lowered
budget, an old file) — then :meth:`maintain` returns them in small steps (``incremental_vacuum``). A file
of schema 0 (before this) is migrated in place at open (counters table; no index rebuilt); it becomes
incremental by one ``VACUUM`` only when it holds less than :data:`VACUUM_MAX_BYTES` (a drained outbox:
rewriting it is then quick, needs little space and cannot stall a unit with a full backlog).

Health. Depth and depth per kind come from the ``counts`` table, kept by triggers in the same
transactions as the rows themselves, so health never scans the table (:meth:`Outbox.stats`).

Predictions (``kind == 'eta'``) are coalesced: a new message for the same topic replaces the unsent older
one, since only the latest estimate matters.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transit.errors import OutboxError
from transit.messages import Delivery
from transit.ratelimit import RateLimitedLog
from transit.timeutil import to_epoch_ms

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite"
#: ``PRAGMA user_version`` of the file layout written here; files of version 0 are migrated at open
SCHEMA_VERSION = 2
#: thinning steps: one position sample kept per this many seconds of data time, coarser pass by pass
THIN_STEPS_S = (10, 30, 60, 300)
#: rows examined per thinning step (one short transaction: a few ms at 2 M rows, 8 ms median put there)
THIN_CHUNK = 250
#: start thinning at this share of the database file's budget, stop below LOW_WATER
HIGH_WATER = 0.9
LOW_WATER = 0.8
#: the thinning state is forgotten once the outbox has drained below this share (the next outage
#: starts again at 10 s buckets from the oldest position)
RESET_WATER = 0.5
#: bytes one stored 1 Hz position takes in the file (row, partial index, page fill), measured with the
#: bench's records (bench/bench_mqtt.py): 473 bytes; rounded up
BYTES_PER_VP_ROW = 480
#: one week of positions at 1 Hz, 5 % for stop events, counts and punctuality records, 25 % margin
DEFAULT_BUDGET_BYTES = ((7 * 86400 * BYTES_PER_VP_ROW * 105 // 100 * 125 // 100) // (1 << 20) + 1) << 20
#: the smallest budget that is accepted (WAL limit, one thinning transaction, a few thousand records)
MIN_BUDGET_BYTES = 4 << 20
#: seconds between thinning steps of their own from :meth:`Outbox.maintain` (each put() does one too)
THIN_INTERVAL_S = 0.25
#: seconds between WAL checkpoints from :meth:`Outbox.maintain` (when something was written)
CHECKPOINT_S = 2.0
#: a schema-0 file is rewritten (VACUUM, to become incremental) only below this much data
VACUUM_MAX_BYTES = 8 << 20
#: pages returned per :meth:`Outbox.maintain` call when the file is above its share of the budget
VACUUM_STEP_PAGES = 256
#: position samples waiting for a group commit at most (beyond: committed at once)
MAX_PENDING = 1000
#: kinds that may wait ``group_s`` in memory for the next commit (a power cut may cost them)
DEFERRABLE_KINDS = frozenset({"vp"})

_TABLES = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    expiry INTEGER,
    kind TEXT NOT NULL,
    rec_id TEXT NOT NULL,
    tst_ms INTEGER NOT NULL,
    coalesce_key TEXT
);
CREATE INDEX IF NOT EXISTS outbox_coalesce ON outbox(coalesce_key) WHERE coalesce_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_vp ON outbox(tst_ms) WHERE kind = 'vp';
CREATE TABLE IF NOT EXISTS dead (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    rec_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Kept counters: rows per kind, updated by triggers in the transaction that inserts or deletes the row,
# so they always equal COUNT(*) (a crash rolls both back together) and health reads them in O(1).
_COUNTS = (
    "CREATE TABLE counts (kind TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TRIGGER outbox_counts_ins AFTER INSERT ON outbox BEGIN"
    " INSERT INTO counts(kind, n) VALUES (NEW.kind, 1) ON CONFLICT(kind) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER outbox_counts_del AFTER DELETE ON outbox BEGIN"
    " UPDATE counts SET n = n - 1 WHERE kind = OLD.kind; END",
)


@dataclass(frozen=True)
class OutboxRow:
    """A stored message waiting for its PUBACK."""

    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry_s: int | None
    kind: str
    rec_id: str
    tst_ms: int = 0  # data time of the record (ms since the epoch)


@dataclass
class OutboxCounters:
    stored: int = 0
    acked: int = 0
    coalesced: int = 0
    vp_thinned: int = 0
    vp_refused: int = 0
    over_bound: int = 0
    dead: int = 0
    thin_steps: int = 0  # thinning transactions (each at most THIN_CHUNK rows examined)
    checkpoints: int = 0
    group_commits: int = 0  # commits that carried positions held for ``group_s``
    pages_returned: int = 0  # pages given back to the file system (incremental vacuum)


@dataclass
class _Thinning:
    """Where the oldest-first thinning pass stands (kept while the outbox is under pressure)."""

    active: bool = False
    step: int = 0  # index into THIN_STEPS_S
    after_tst: int = -1  # cursor: last (tst_ms, seq) examined in this pass
    after_seq: int = -1
    kept_bucket: int | None = None  # bucket of the last kept sample in this pass


def budget_file_bytes(budget_bytes: int) -> tuple[int, int]:
    """Split a disk budget into (database file share, WAL ``journal_size_limit``)."""
    wal = max(256 << 10, min(8 << 20, budget_bytes // 16))
    shm = 64 << 10  # the shared-memory index of a WAL of that size
    return budget_bytes - wal - shm, wal


class Outbox:
    """SQLite outbox shared by the producer (service core, replay) and the publisher thread."""

    def __init__(self, path: str | Path, *, budget_bytes: int = DEFAULT_BUDGET_BYTES, max_rows: int | None = None,
                 group_s: float = 0.0, synchronous: str = "FULL", recover_corrupt: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise OutboxError(f"synchronous must be FULL, EXTRA or NORMAL, not {synchronous!r}")
        if budget_bytes < MIN_BUDGET_BYTES:
            raise OutboxError(f"outbox budget of {budget_bytes} bytes is below the minimum of "
                              f"{MIN_BUDGET_BYTES >> 20} MB")
        self.path = Path(path)
        self.budget_bytes = budget_bytes
        self.db_budget_bytes, self.wal_limit_bytes = budget_file_bytes(budget_bytes)
        #: an optional bound on rows as well (tests, small units); None: bytes only
        self.max_rows = max_rows
        self.group_s = group_s
        self.counters = OutboxCounters()
        self._clock = clock
        self._ratelog = RateLimitedLog(log, 60.0, clock=clock)
        self._lock = threading.Lock()
        self._thin = _Thinning()
        self._vp_refusing = False
        self._over_budget = False
        self._pending: list[Delivery] = []
        self._pending_meta: dict[str, str] = {}  # meta put with the pending positions
        self._pending_since = 0.0
        self._dirty = False  # committed since the last checkpoint
        self._next_checkpoint = 0.0
        self._thin_steps_at_checkpoint = 0
        self._next_thin = 0.0
        self._refuse_bucket: int | None = None
        self._thin_saved: tuple[int, int, int | None, int] | None = None
        self._vacuum_pending = False
        self._kinds: dict[str, int] = {}
        #: where a corrupt outbox found at start-up was moved (kept for forensics); health reports it
        self.quarantined: Path | None = None
        #: messages copied out of that corrupt file into the new one
        self.salvaged = 0
        #: the schema version the file had when it was opened (0: written before the counts table)
        self.migrated_from: int | None = None
        try:
            self._open(synchronous)
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc) or not recover_corrupt:
                raise OutboxError(f"{self.path}: cannot open outbox: {exc}") from exc
            db = getattr(self, "_db", None)
            if db is not None:
                db.close()
            self.quarantined = _move_aside(self.path)
            log.error("%s is corrupt (%s): moved to %s for forensics; starting a new outbox", self.path, exc,
                      self.quarantined)
            try:
                self._open(synchronous)
            except (sqlite3.Error, OSError) as exc2:
                raise OutboxError(f"{self.path}: cannot open a new outbox: {exc2}") from exc2
            self.salvaged = self._salvage(self.quarantined)
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"{self.path}: cannot open outbox: {exc}") from exc
        with self._lock:
            self._check_pressure()

    def _open(self, synchronous: str) -> None:
        """Open (or create) the database and check it: a corrupt file raises ``sqlite3.DatabaseError``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        # One connection guarded by a lock: the publisher thread and the producer share it.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        if new_file:  # must precede the first write (journal_mode=WAL writes the header)
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"{self.path}: cannot enable WAL mode (got {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute(f"PRAGMA journal_size_limit={self.wal_limit_bytes}")
        # back-stop for owners that never call maintain(): SQLite's own checkpoint inside a commit once the
        # WAL holds its share of the budget (maintain() checkpoints long before, between puts)
        self._db.execute(f"PRAGMA wal_autocheckpoint={max(100, self.wal_limit_bytes // 4096)}")
        # a torn or overwritten file shows here, or at the first query; quick_check reads every page
        # once (start-up only)
        check = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if str(check).lower() != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed (quick_check: {check})")
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise OutboxError(f"{self.path}: outbox schema {version} is newer than this software's "
                              f"({SCHEMA_VERSION}); refusing to touch it")
        existed = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone() is not None
        self._db.executescript(_TABLES)
        if version < SCHEMA_VERSION:
            self._migrate(version, existed)
        self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._vacuum_pending = int(self._db.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2
        self._kinds = {str(k): int(n) for k, n in self._db.execute("SELECT kind, n FROM counts WHERE n != 0")}
        self._count = sum(self._kinds.values())
        last = self._db.execute("SELECT tst_ms FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
        newest_vp = self._db.execute("SELECT MAX(tst_ms) FROM outbox WHERE kind = 'vp'").fetchone()[0]
        #: data time of the newest stored message: the publisher's notion of "now" (no wall clock)
        self.newest_tst_ms = max(int(last[0]) if last else 0, int(newest_vp or 0))

    def _migrate(self, version: int, existed: bool) -> None:
        """Bring a file of an older layout to :data:`SCHEMA_VERSION` in one transaction (a crash leaves the
        old layout, migrated again at the next start). Counting the rows once is the only scan; the
        position index the thinning walks existed already in version 0."""
        t0 = time.monotonic()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in ("DROP TRIGGER IF EXISTS outbox_counts_ins", "DROP TRIGGER IF EXISTS outbox_counts_del",
                         "DROP TABLE IF EXISTS counts", *_COUNTS):
                self._db.execute(stmt)
            self._db.execute("INSERT INTO counts(kind, n) SELECT kind, COUNT(*) FROM outbox GROUP BY kind")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()
            raise
        if not existed:
            return
        self.migrated_from = version
        n = self._db.execute("SELECT COALESCE(SUM(n), 0) FROM counts").fetchone()[0]
        log.info("outbox %s migrated from schema %d to %d (%d message(s), %.1f s)", self.path, version,
                 SCHEMA_VERSION, n, time.monotonic() - t0)

    def _salvage(self, old: Path) -> int:
        """Copy the messages still readable from a corrupt outbox into the new one (in ``seq`` order;
        reading stops at the first damaged page). Records that matter are never dropped on purpose."""
        rows: list[tuple[object, ...]] = []
        try:
            src = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
        except sqlite3.Error:
            return 0
        try:
            cur = src.execute("SELECT topic, payload, qos, retain, expiry, kind, rec_id, tst_ms, coalesce_key "
                              "FROM outbox ORDER BY seq")
            while True:
                batch = cur.fetchmany(1000)
                if not batch:
                    break
                rows.extend(batch)
        except sqlite3.Error as exc:
            log.warning("salvaging %s stopped after %d message(s): %s", old, len(rows), exc)
        finally:
            src.close()
        if not rows:
            return 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO outbox(topic, payload, qos, retain, expiry, kind, rec_id, tst_ms, coalesce_key)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                log.error("cannot copy %d salvaged message(s) from %s: %s (they stay there)", len(rows), old, exc)
                return 0
            self._reload_counts()
            self.newest_tst_ms = max([self.newest_tst_ms] + [int(str(r[7])) for r in rows])
        log.warning("salvaged %d message(s) from the corrupt outbox %s", len(rows), old)
        return len(rows)

    @classmethod
    def in_state_dir(cls, state_dir: str | Path, **kw: Any) -> Outbox:
        """The unit's outbox file ``<state_dir>/outbox.sqlite``."""
        return cls(Path(state_dir) / OUTBOX_FILE, **kw)

    # ------------------------------------------------------------------------------------ writing
    def put(self, deliveries: Sequence[Delivery], *, meta: dict[str, str] | None = None) -> int:
        """Store a batch in one transaction (group commit) and return how many of its messages were
        accepted (stored, or waiting for the group commit; refused positions are not counted).

        ``meta`` is written in the same transaction, so progress markers (e.g. how many lines of an
        events file are stored) can never disagree with the stored rows after a crash. With ``group_s``
        set, a batch of positions only may wait in memory (in order) for the next commit, and the ``meta``
        that goes with it waits with it (the trip state after those positions is never stored ahead of
        them, nor lost apart from them); anything else commits at once, with what waits before it.
        """
        if not deliveries and not meta:
            return 0
        with self._lock:
            if (self.group_s > 0 and deliveries and all(d.kind in DEFERRABLE_KINDS for d in deliveries)
                    and len(self._pending) + len(deliveries) < MAX_PENDING):
                if not self._pending:
                    self._pending_since = self._clock()
                self._pending.extend(deliveries)
                if meta:
                    self._pending_meta.update(meta)
                if self._clock() - self._pending_since < self.group_s:
                    return len(deliveries)
                return self._commit([], None, mine=len(deliveries))
            return self._commit(list(deliveries), meta, mine=len(deliveries))

    def _commit(self, deliveries: list[Delivery], meta: dict[str, str] | None, *, mine: int) -> int:
        """Write what is pending and ``deliveries`` in one transaction, with one thinning step when the
        outbox is under pressure (lock held). Returns how many of the last ``mine`` were stored."""
        grouped = len(self._pending)
        batch = self._pending + deliveries if grouped else deliveries
        first_mine = len(batch) - mine
        refuse_vp = self._vp_refusing
        last_bucket = self._refuse_bucket
        stored = stored_mine = coalesced = refused = 0
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for i, d in enumerate(batch):
                tst_ms = to_epoch_ms(d.tst)
                if d.kind == "vp" and refuse_vp:
                    # at the budget with positions as coarse as they get: one per coarsest step still
                    # goes in (a few hundred a day), so the track does not end at the budget
                    bucket = tst_ms // (THIN_STEPS_S[-1] * 1000)
                    if bucket == last_bucket:
                        refused += 1
                        continue
                    last_bucket = bucket
                if d.coalesce is not None:
                    cur = self._db.execute("DELETE FROM outbox WHERE coalesce_key = ?", (d.coalesce,))
                    coalesced += cur.rowcount
                self._db.execute(
                    "INSERT INTO outbox(topic, payload, qos, retain, expiry, kind, rec_id, tst_ms,"
                    " coalesce_key) VALUES (?,?,?,?,?,?,?,?,?)",
                    (d.topic, d.payload, d.qos, int(d.retain), d.expiry_s, d.kind, d.rec_id, tst_ms,
                     d.coalesce))
                stored += 1
                if i >= first_mine:
                    stored_mine += 1
            for k, v in ({**self._pending_meta, **meta} if meta else self._pending_meta).items():
                self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, v))
            thinned = self._thin_step_in_tx() if self._thin.active else None
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._thin_rolled_back()
            raise OutboxError(f"{self.path}: cannot store {len(batch)} message(s): {exc}") from exc
        self._pending = []
        self._pending_meta = {}
        self._refuse_bucket = last_bucket
        self._dirty = True
        if thinned is not None:
            self._after_thin(thinned)
        self._reload_counts()
        if batch:
            self.newest_tst_ms = max(self.newest_tst_ms, max(to_epoch_ms(d.tst) for d in batch))
        self.counters.stored += stored
        self.counters.coalesced += coalesced
        if grouped:
            self.counters.group_commits += 1
        if refused:
            self.counters.vp_refused += refused
            self._ratelog.warn("vp_refused", "outbox at its disk budget of %d MB with positions thinned to one "
                               "per %d s: refused %d position sample(s) (one per %d s still stored); "
                               "records are still stored", self.budget_bytes >> 20, THIN_STEPS_S[-1], refused,
                               THIN_STEPS_S[-1])
        p = self._check_pressure()
        if p >= 1.0 and any(d.kind not in DEFERRABLE_KINDS for d in batch):
            self.counters.over_bound += 1
            self._ratelog.warn("over_bound", "outbox holds %d message(s), %.0f %% of its %d MB budget; "
                               "records are kept anyway", self._count, 100 * p, self.budget_bytes >> 20)
        return stored_mine

    def flush(self) -> int:
        """Commit positions waiting for a group commit; returns how many were stored."""
        with self._lock:
            if not self._pending:
                return 0
            return self._commit([], None, mine=len(self._pending))

    @property
    def pending(self) -> int:
        """Position samples waiting in memory for the next group commit."""
        return len(self._pending)

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _reload_counts(self) -> None:
        self._kinds = {str(k): int(n) for k, n in self._db.execute("SELECT kind, n FROM counts WHERE n != 0")}
        self._count = sum(self._kinds.values())

    # ------------------------------------------------------------------------------------ budget
    def _used_bytes(self) -> int:
        """Bytes of the database file in use (pages not on the free list): O(1), from the header."""
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * self._page_size

    def _pressure(self) -> float:
        """How full the outbox is: the larger of bytes in use over the file's share of the budget and
        rows over ``max_rows``."""
        p = self._used_bytes() / self.db_budget_bytes
        if self.max_rows:
            p = max(p, self._count / self.max_rows)
        return p

    def _check_pressure(self) -> float:
        """Start or stop thinning and refusing positions (lock held); returns the pressure."""
        p = self._pressure()
        th = self._thin
        if not th.active and p >= HIGH_WATER and self._kinds.get("vp", 0) > 0:
            th.active = True
            self._ratelog.warn("thin_start", "outbox at %.0f %% of its %d MB budget (%d messages): thinning "
                               "positions, oldest first, to one per %d s", 100 * p, self.budget_bytes >> 20,
                               self._count, THIN_STEPS_S[th.step])
        elif th.active and p < LOW_WATER:
            th.active = False
        if p < RESET_WATER and (th.step or th.after_seq >= 0):
            self._thin = _Thinning()  # drained: the next outage starts again at the finest step
        coarsest = self._thin.step == len(THIN_STEPS_S) - 1 or self._kinds.get("vp", 0) == 0
        self._vp_refusing = p >= 1.0 and coarsest
        if not self._vp_refusing:
            self._refuse_bucket = None
        self._over_budget = p >= 1.0
        return p

    def _thin_step_in_tx(self) -> int:
        """One thinning step inside the caller's transaction: examine up to :data:`THIN_CHUNK` positions
        after the cursor in data-time order, delete those in a bucket already kept. Returns how many were
        deleted. Advances the pass (coarser step) when it reaches the newest position."""
        th = self._thin
        step_ms = THIN_STEPS_S[th.step] * 1000
        rows = self._db.execute(
            "SELECT seq, tst_ms FROM outbox WHERE kind = 'vp' AND (tst_ms, seq) > (?, ?) "
            "ORDER BY tst_ms, seq LIMIT ?", (th.after_tst, th.after_seq, THIN_CHUNK)).fetchall()
        drop: list[tuple[int]] = []
        kept = th.kept_bucket
        for seq, tst in rows:
            b = int(tst) // step_ms
            if b == kept:
                drop.append((int(seq),))
            else:
                kept = b
        self._thin_saved = (th.after_tst, th.after_seq, th.kept_bucket, th.step)
        if drop:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", drop)
        if len(rows) < THIN_CHUNK:  # the pass reached the newest position
            if th.step < len(THIN_STEPS_S) - 1:
                th.step += 1
                th.after_tst = th.after_seq = -1
                th.kept_bucket = None
            else:  # the coarsest step goes on from here with what is stored later
                if rows:
                    th.after_tst, th.after_seq = int(rows[-1][1]), int(rows[-1][0])
                th.kept_bucket = kept
        else:
            th.after_tst, th.after_seq = int(rows[-1][1]), int(rows[-1][0])
            th.kept_bucket = kept
        return len(drop)

    def _thin_rolled_back(self) -> None:
        saved = self._thin_saved
        if saved is not None:
            th = self._thin
            th.after_tst, th.after_seq, th.kept_bucket, th.step = saved
            self._thin_saved = None

    def _after_thin(self, n: int) -> None:
        self._thin_saved = None
        self.counters.thin_steps += 1
        self.counters.vp_thinned += n
        if n:
            self._ratelog.warn("thinning", "outbox thinning positions (oldest first) to one per %d s: %d "
                               "removed so far, %d message(s) stored", THIN_STEPS_S[self._thin.step],
                               self.counters.vp_thinned, self._count)

    def thin_step(self, *, force: bool = False) -> int:
        """One thinning transaction of its own when the outbox is under pressure (or ``force``); returns
        how many positions it deleted."""
        with self._lock:
            if not (self._thin.active or force) or not self._kinds.get("vp", 0):
                return 0
            try:
                self._db.execute("BEGIN IMMEDIATE")
                n = self._thin_step_in_tx()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self._thin_rolled_back()
                raise OutboxError(f"{self.path}: cannot thin positions: {exc}") from exc
            self._dirty = True
            self._after_thin(n)
            self._reload_counts()
            self._check_pressure()
            return n

    def thin_positions(self, step_s: int, max_steps: int = 8) -> int:
        """Disk full: thin the stored positions, oldest first, to one per ``step_s`` of data time (or the
        next coarser step), in at most ``max_steps`` short transactions; the next call goes on where this
        one stopped. Returns how many were deleted."""
        want = next((i for i, s in enumerate(THIN_STEPS_S) if s >= step_s), len(THIN_STEPS_S) - 1)
        with self._lock:
            if self._thin.step < want:
                self._thin = _Thinning(active=self._thin.active, step=want)
        return sum(self.thin_step(force=True) for _ in range(max_steps))

    # ------------------------------------------------------------------------------------ upkeep
    def maintain(self) -> None:
        """Bounded upkeep between other work (the service calls it every loop turn): commit positions
        whose group window has passed, one thinning step, a WAL checkpoint every :data:`CHECKPOINT_S`,
        return pages above the file's share of the budget, convert an old file once it is small."""
        now = self._clock()
        if self._pending and now - self._pending_since >= self.group_s:
            try:
                self.flush()
            except OutboxError as exc:  # disk full: they wait in memory (bounded) and are retried
                self._ratelog.warn("flush", "%s", exc)
                with self._lock:
                    if len(self._pending) > MAX_PENDING:
                        drop = len(self._pending) - MAX_PENDING
                        del self._pending[:drop]
                        self.counters.vp_refused += drop
        if self._thin.active and now >= self._next_thin:
            self._next_thin = now + THIN_INTERVAL_S
            self.thin_step()
        with self._lock:
            if self._dirty and (now >= self._next_checkpoint
                                or self.counters.thin_steps - self._thin_steps_at_checkpoint >= 4):
                self._thin_steps_at_checkpoint = self.counters.thin_steps
                self._next_checkpoint = now + CHECKPOINT_S
                self._checkpoint("PASSIVE")
            self._return_space()

    def _checkpoint(self, mode: str) -> None:
        try:
            self._db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:
            self._ratelog.warn("checkpoint", "outbox checkpoint failed: %s", exc)
            return
        self._dirty = False
        self.counters.checkpoints += 1

    def _return_space(self) -> None:
        """Give free pages back when the file is larger than its share of the budget (lock held)."""
        try:
            if self._vacuum_pending:
                if self._used_bytes() <= VACUUM_MAX_BYTES:
                    t0 = time.monotonic()
                    before = self._file_bytes()
                    self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    self._db.execute("VACUUM")
                    self._vacuum_pending = False
                    log.info("outbox %s rewritten with incremental auto-vacuum (%.1f MB -> %.1f MB, %.2f s)",
                             self.path, before / 1e6, self._file_bytes() / 1e6, time.monotonic() - t0)
                return
            pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
            if pages * self._page_size <= self.db_budget_bytes:
                return
            free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
            if free:
                n = min(free, VACUUM_STEP_PAGES)
                self._db.execute(f"PRAGMA incremental_vacuum({n})").fetchall()
                self.counters.pages_returned += n
                self._dirty = True
        except sqlite3.Error as exc:
            self._ratelog.warn("vacuum", "outbox space not returned: %s", exc)

    def _file_bytes(self) -> int:
        return int(self._db.execute("PRAGMA page_count").fetchone()[0]) * self._page_size

    def disk_bytes(self) -> dict[str, int]:
        """Bytes on disk now: the database file, its WAL and shared-memory index."""
        out = {}
        for name, p in (("db", self.path), ("wal", self.path.with_name(self.path.name + "-wal")),
                        ("shm", self.path.with_name(self.path.name + "-shm"))):
            try:
                out[name] = p.stat().st_size
            except OSError:
                out[name] = 0
        return out

    # ------------------------------------------------------------------------------------ reading
    def fetch(self, after_seq: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` rows with ``seq > after_seq`` in order."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT seq, topic, payload, qos, retain, expiry, kind, rec_id, tst_ms FROM outbox "
                    "WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot read: {exc}") from exc
        return [OutboxRow(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5], r[6], r[7], r[8]) for r in rows]

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete acknowledged rows (one transaction); returns how many existed."""
        batch = [(s,) for s in seqs]
        if not batch:
            return 0
        with self._lock:
            before = self._count
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", batch)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot delete acknowledged rows: {exc}") from exc
            self._dirty = True
            self._reload_counts()
            n = before - self._count
            self.counters.acked += n
            self._check_pressure()
            return n

    def dead_letter(self, seq: int, reason: str) -> None:
        """Move a message the broker refused for good (e.g. not authorised) out of the queue, keeping it
        on disk for an operator instead of retrying it forever or dropping it."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute(
                    "INSERT OR REPLACE INTO dead(seq, topic, payload, rec_id, reason) "
                    "SELECT seq, topic, payload, rec_id, ? FROM outbox WHERE seq = ?", (reason, seq))
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot move row {seq} to dead letters: {exc}") from exc
            self._dirty = True
            self._reload_counts()
            if cur.rowcount:
                self.counters.dead += 1

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def __len__(self) -> int:
        """Messages committed and waiting for their PUBACK (kept counter: no scan)."""
        return self._count

    def count_kind(self, kind: str) -> int:
        """Committed messages of one kind (kept counter: no scan)."""
        return self._kinds.get(kind, 0)

    def dead_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0])

    def oldest_tst_ms(self) -> int | None:
        """Data time of the message at the head of the queue (lowest ``seq``): one B-tree descent."""
        with self._lock:
            row = self._db.execute("SELECT tst_ms FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    @property
    def thinning(self) -> bool:
        """Positions are being thinned (the outbox is above its high-water mark)."""
        return self._thin.active

    @property
    def at_budget(self) -> bool:
        """The outbox has reached its disk budget (positions refused or records over it)."""
        return self._over_budget

    def stats(self) -> dict[str, Any]:
        """What health reports about the outbox, all O(1): kept counters, page counts from the file
        header, file sizes."""
        with self._lock:
            used = self._used_bytes()
        disk = self.disk_bytes()
        out: dict[str, Any] = {
            "depth": self._count, "by_kind": dict(sorted(self._kinds.items())), "pending": len(self._pending),
            "budget_mb": round(self.budget_bytes / (1 << 20), 1), "used_mb": round(used / (1 << 20), 1),
            "disk_mb": round(sum(disk.values()) / (1 << 20), 1), "wal_mb": round(disk["wal"] / (1 << 20), 1),
            "thinning": self._thin.active, "at_budget": self._over_budget,
        }
        if self._thin.active or self._thin.step:
            out["thin_step_s"] = THIN_STEPS_S[self._thin.step]
        c = self.counters
        out.update({k: v for k, v in (("vp_thinned", c.vp_thinned), ("vp_refused", c.vp_refused),
                                      ("over_budget", c.over_bound)) if v})
        return out

    def close(self) -> None:
        """Commit waiting positions, checkpoint and truncate the WAL, close."""
        try:
            self.flush()
        except OutboxError as exc:
            log.error("closing outbox %s: %d position sample(s) waiting could not be stored: %s", self.path,
                      len(self._pending), exc)
        with self._lock:
            try:
                self._checkpoint("TRUNCATE")
                self._db.close()
            except sqlite3.Error as exc:  # closing must not hide the caller's own error
                log.warning("closing outbox %s: %s", self.path, exc)


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """SQLITE_CORRUPT / SQLITE_NOTADB (a damaged or overwritten file), not a locked, read-only or full
    disk: only a corrupt file is moved aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _move_aside(path: Path) -> Path:
    """Rename a corrupt outbox (and its WAL and shared-memory files) to ``outbox.corrupt-N.sqlite``."""
    n = 1
    while True:
        dest = path.with_name(f"{path.stem}.corrupt-{n}{path.suffix}")
        if not dest.exists():
            break
        n += 1
    os.replace(path, dest)
    for ext in ("-wal", "-shm"):
        side = path.with_name(path.name + ext)
        if side.exists():
            os.replace(side, dest.with_name(dest.name + ext))
    return dest
