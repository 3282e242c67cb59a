"""Store-and-forward outbox: every message is committed to SQLite before it is published and deleted only
when the broker acknowledges it (QoS 1 PUBACK).

Durability. The database runs in WAL mode with ``synchronous=FULL``: each commit appends to the WAL and
fsyncs it before ``commit()`` returns, so a committed batch survives kill -9 *and* power loss. With
``synchronous=NORMAL`` WAL commits survive a process crash (the data is in the OS page cache) but the
newest transactions can be lost on power loss — not acceptable for punctuality and count records, so
NORMAL is only offered for tests/benchmarks that compare. The cost of one fsync per commit is amortised by
group commits: :meth:`Outbox.put` writes a whole batch in one transaction.

Order. ``seq`` is ``INTEGER PRIMARY KEY AUTOINCREMENT``: strictly increasing and never reused, even after
the table was emptied, so after a restart the publisher resumes with the lowest unacknowledged ``seq``.

Bound. ``max_rows`` (default 1.5 million: a week of 1 Hz positions is 604,800 plus stop events, counts and
punctuality records) is a soft bound. Above ``high_water`` of it the outbox thins position samples
(``kind == 'vp'``) to one per 10 s, then 30 s, 60 s, 300 s bucket of data time; at the bound new position
samples are refused (counted). Records are never dropped: past the bound they are still stored, with an
error log, because losing a punctuality record costs more than disk space.

Predictions (``kind == 'eta'``) are coalesced: a new message for the same topic replaces the unsent older
one, since only the latest estimate matters.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transit.errors import OutboxError
from transit.messages import Delivery
from transit.ratelimit import RateLimitedLog
from transit.timeutil import to_epoch_ms

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite"
THIN_STEPS_S = (10, 30, 60, 300)

_SCHEMA = """
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


class Outbox:
    """SQLite outbox shared by the producer (service core, replay) and the publisher thread."""

    def __init__(self, path: str | Path, *, max_rows: int = 1_500_000, high_water: float = 0.9,
                 synchronous: str = "FULL", recover_corrupt: bool = True) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise OutboxError(f"synchronous must be FULL, EXTRA or NORMAL, not {synchronous!r}")
        self.path = Path(path)
        self.max_rows = max_rows
        self.high_water = high_water
        self.counters = OutboxCounters()
        self._ratelog = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._lock = threading.Lock()
        #: where a corrupt outbox found at start-up was moved (kept for forensics); health reports it
        self.quarantined: Path | None = None
        #: messages copied out of that corrupt file into the new one
        self.salvaged = 0
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
        self._vp_refusing = False
        self._next_thin_at = 0

    def _open(self, synchronous: str) -> None:
        """Open (or create) the database and check it: a corrupt file raises ``sqlite3.DatabaseError``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection guarded by a lock: the publisher thread and the producer share it.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"{self.path}: cannot enable WAL mode (got {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        # a torn or overwritten file shows here, or at the first query; quick_check reads every page
        # once (start-up only; the outbox is normally small)
        check = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if str(check).lower() != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed (quick_check: {check})")
        self._db.executescript(_SCHEMA)
        self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        newest = self._db.execute("SELECT MAX(tst_ms) FROM outbox").fetchone()[0]
        #: data time of the newest stored message: the publisher's notion of "now" (no wall clock)
        self.newest_tst_ms = int(newest or 0)

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
            self._count += len(rows)
            self.newest_tst_ms = max([self.newest_tst_ms] + [int(str(r[7])) for r in rows])
        log.warning("salvaged %d message(s) from the corrupt outbox %s", len(rows), old)
        return len(rows)

    @classmethod
    def in_state_dir(cls, state_dir: str | Path, **kw: object) -> Outbox:
        """The unit's outbox file ``<state_dir>/outbox.sqlite``."""
        return cls(Path(state_dir) / OUTBOX_FILE, **kw)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------ writing
    def put(self, deliveries: Sequence[Delivery], *, meta: dict[str, str] | None = None) -> int:
        """Store a batch in one transaction (group commit) and return how many rows were stored.

        ``meta`` is written in the same transaction, so progress markers (e.g. how many lines of an
        events file are stored) can never disagree with the stored rows after a crash.
        """
        if not deliveries and not meta:
            return 0
        with self._lock:
            refuse_vp = self._vp_refusing
            stored = coalesced = refused = 0
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for d in deliveries:
                    if d.kind == "vp" and refuse_vp:
                        refused += 1
                        continue
                    if d.coalesce is not None:
                        cur = self._db.execute("DELETE FROM outbox WHERE coalesce_key = ?", (d.coalesce,))
                        coalesced += cur.rowcount
                    self._db.execute(
                        "INSERT INTO outbox(topic, payload, qos, retain, expiry, kind, rec_id, tst_ms,"
                        " coalesce_key) VALUES (?,?,?,?,?,?,?,?,?)",
                        (d.topic, d.payload, d.qos, int(d.retain), d.expiry_s, d.kind, d.rec_id,
                         to_epoch_ms(d.tst), d.coalesce))
                    stored += 1
                for k, v in (meta or {}).items():
                    self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, v))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot store {len(deliveries)} message(s): {exc}") from exc
            self._count += stored - coalesced
            if deliveries:
                self.newest_tst_ms = max(self.newest_tst_ms, max(to_epoch_ms(d.tst) for d in deliveries))
            self.counters.stored += stored
            self.counters.coalesced += coalesced
            if refused:
                self.counters.vp_refused += refused
                self._ratelog.warn("vp_refused", "outbox at its bound of %d rows: refused %d position "
                                   "sample(s); records are still stored", self.max_rows, refused)
            if self._count > max(self.max_rows * self.high_water, self._next_thin_at):
                self._enforce_bound()
            return stored

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def thin_positions(self, step_s: int) -> int:
        """Keep one stored position sample per ``step_s`` of data time (disk full: free pages for
        records); returns how many were deleted."""
        with self._lock:
            try:
                cur = self._db.execute(
                    "DELETE FROM outbox WHERE kind = 'vp' AND seq NOT IN "
                    "(SELECT MIN(seq) FROM outbox WHERE kind = 'vp' GROUP BY tst_ms / ?)", (step_s * 1000,))
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot thin positions: {exc}") from exc
            n = max(cur.rowcount, 0)
            self._count -= n
            self.counters.vp_thinned += n
            return n

    def _enforce_bound(self) -> None:
        """Thin position samples, coarser each step, until under the low-water mark (lock held)."""
        target = int(self.max_rows * self.high_water * 0.9)
        for step in THIN_STEPS_S:
            if self._count <= target:
                break
            try:
                cur = self._db.execute(
                    "DELETE FROM outbox WHERE kind = 'vp' AND seq NOT IN "
                    "(SELECT MIN(seq) FROM outbox WHERE kind = 'vp' GROUP BY tst_ms / ?)", (step * 1000,))
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot thin positions: {exc}") from exc
            if cur.rowcount > 0:
                self._count -= cur.rowcount
                self.counters.vp_thinned += cur.rowcount
                self._ratelog.warn(f"thin{step}", "outbox backlog %d rows: thinned %d position samples to "
                                   "one per %d s", self._count, cur.rowcount, step)
        self._vp_refusing = self._count >= self.max_rows
        # Thinning scans every position row: when records alone keep the count high, do not repeat
        # that scan on every put, only after another 5 % of the bound has arrived.
        self._next_thin_at = self._count + max(1, self.max_rows // 20)
        if self._count > self.max_rows:
            self.counters.over_bound += 1
            self._ratelog.warn("over_bound", "outbox holds %d rows, above its bound of %d even after "
                               "thinning positions; records are kept anyway", self._count, self.max_rows)

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
            try:
                before = self._db.total_changes
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", batch)
                self._db.execute("COMMIT")
                n = self._db.total_changes - before
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot delete acknowledged rows: {exc}") from exc
            self._count -= n
            self.counters.acked += n
            if self._count < self.max_rows * self.high_water:
                self._vp_refusing = False
                self._next_thin_at = 0
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
            if cur.rowcount:
                self._count -= 1
                self.counters.dead += 1

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def __len__(self) -> int:
        return self._count

    def count_kind(self, kind: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)).fetchone()[0])

    def dead_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            try:
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
