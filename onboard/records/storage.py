"""Storing records when the disk may be full: nothing that matters is lost, the service keeps running.

A unit's SD card fills up (a log gone wild, a week without a broker, a small card). Before this module
the punctuality log's ``ENOSPC`` ended the service, the records of that moment were lost everywhere and
later ones were never retried. Now :class:`RecordStore` is the one place the service hands records to,
and it writes them in the order that makes them durable — the punctuality log (fsync'd), the optional
events file, then the SQLite outbox in one group commit — and when a write fails for lack of space:

- the records are **held in memory**, in order, and retried with exponential backoff (0.5 s .. 30 s);
  each stage is done once per record (a record already in the punctuality log is not written twice);
- a **reserve** file (:class:`SpaceReserve`, created at start) is deleted, so the records that matter
  find room at once; it is created again when there is twice its size free;
- **positions are thinned first**: while storage is full, position samples (``vp``) are held at one per
  60 s of data time and predictions (``eta``, replaced every 30 s anyway) are not held; the outbox's
  stored positions are thinned to one per 300 s to free pages for records;
- a failed append is **cut back** to where it started, so a full disk never leaves half a line;
- the trip state that goes with the records (``meta``: the checkpoint, ``onboard.service.checkpoint``)
  is committed with them, never ahead of them: while records are held, the newest state waits with them
  and is stored with the last of them;
- log lines are rate-limited (:class:`transit.ratelimit.RateLimitedLog`) and :meth:`RecordStore.state`
  feeds the health report (``storage.full``, ``held``), which the service also publishes as a retained
  message without the outbox (``Publisher.publish_volatile``) when the outbox itself cannot store it.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transit.errors import OutboxError
from transit.ratelimit import RateLimitedLog
from transit.records import Encoded

log = logging.getLogger(__name__)

RESERVE_FILE = "reserve.bin"
#: position samples kept while storage is full: one per this many seconds of data time
HELD_VP_EVERY_S = 60.0
#: records held in memory at most (position samples are dropped first beyond it; records never)
MAX_HELD = 200_000
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0


def append_all(fd: int, data: bytes) -> None:
    """Append ``data`` to an ``O_APPEND`` descriptor and fsync; on any error the file is cut back to its
    size before the call (a full disk must not leave half a record to glue the next one onto)."""
    start = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except OSError:
        try:
            os.ftruncate(fd, start)
        except OSError as exc2:  # the torn tail is then repaired at the next open
            log.debug("cannot cut back a failed append: %s", exc2)
        raise


def is_no_space(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT/EFBIG from the OS, or SQLite's "database or disk is full" (SQLITE_FULL)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return True
        if "disk is full" in str(seen) or "No space left" in str(seen):
            return True
        seen = seen.__cause__
    return False


class SpaceReserve:
    """A file of ``size`` bytes that is deleted when the disk is full, so records find room at once.

    The space is allocated for real (``posix_fallocate``), so a filesystem cannot promise it and fail
    later. On a small filesystem the reserve is at most 10 % of it."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.released = 0  # how often it was given up

    def _target(self) -> int:
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return self.size
        return min(self.size, st.f_blocks * st.f_frsize // 10)

    def ensure(self) -> bool:
        """Create the reserve if it is missing and twice its size is free; True when it is in place."""
        if self.size <= 0:
            return False
        if self.path.exists():
            return True
        want = self._target()
        try:
            st = os.statvfs(self.path.parent)
            if st.f_bavail * st.f_frsize < 2 * want:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, want)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.debug("cannot create the space reserve: %s", exc)
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> int:
        """Delete the reserve; returns the bytes freed."""
        try:
            n = self.path.stat().st_size
            self.path.unlink()
        except OSError:
            return 0
        self.released += 1
        log.warning("storage full: released the %d-byte space reserve %s for records", n, self.path)
        return n

    @property
    def bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


@dataclass
class _Held:
    rec: Encoded  # the record and its bytes, encoded once
    logged: bool  # in the punctuality log (or not a punctuality record)
    copied: bool  # in the events file (or there is none)


class RecordStore:
    """The service's one door for records: punctuality log, events file, outbox — or held until there
    is space. ``plog`` has ``append_line(bytes)``; ``sink`` has ``write(records)`` (the outbox's group
    commit of encoded records) and an ``outbox`` with ``thin_positions(step_s)``; ``events`` is an
    ``O_APPEND`` descriptor or an object with ``append_line(bytes)`` (``transit.jsonl.RotatingAppendFile``).
    Every stage writes the bytes the record was encoded to once."""

    def __init__(self, plog: Any, sink: Any, *, events_fd: Any = None,
                 reserve: SpaceReserve | None = None, clock: Callable[[], float] = time.monotonic,
                 max_held: int = MAX_HELD) -> None:
        self.plog = plog
        self.sink = sink
        self.events_fd = events_fd
        self.reserve = reserve
        self.clock = clock
        self.max_held = max_held
        self.full = False
        self.held: deque[_Held] = deque()
        self.counters: dict[str, int] = {"write_failures": 0, "vp_dropped": 0, "eta_dropped": 0,
                                         "stored_after_full": 0, "full_episodes": 0}
        self._last_vp_t: dict[str, float] = {}
        self._backoff = BACKOFF_MIN_S
        self._next_try = 0.0
        self._ratelog = RateLimitedLog(log, 60.0, clock=clock)
        self._meta: dict[str, str] | None = None  # state not yet stored (goes with the next records)
        if reserve is not None:
            reserve.ensure()

    # ------------------------------------------------------------------------------------ writing
    def write(self, recs: list[Encoded], meta: dict[str, str] | None = None, *, logged: bool = False) -> None:
        """Store ``recs`` now, or hold them (in order, behind anything already held); ``meta`` (the state
        after them) is stored in the same transaction as the last of them. ``logged``: the records are
        in the punctuality log already (found there after a restart), only the outbox lacks them."""
        if meta is not None:
            self._meta = meta
        if not recs:
            if self._meta is not None and not self.held:
                try:
                    self.sink.write([], meta=self._meta)
                    self._meta = None
                except (OSError, OutboxError) as exc:
                    self._ratelog.warn("meta", "storage: cannot store the trip state (%s); kept for the next "
                                       "write", exc)
            return
        items = [_Held(r, logged or r.record.event != "punctuality", logged or self.events_fd is None)
                 for r in recs]
        if self.full:  # positions first: while space is short they are thinned before they are stored
            items = self._thin(items)
        if self.held:
            self._hold(items)
            self.retry()
            return
        try:
            self._store(items)
        except (OSError, OutboxError) as exc:
            self._failed(exc, items)

    def retry(self, force: bool = False) -> bool:
        """Called every turn of the service loop: store what is held when its retry is due, and once
        nothing is held, put the space reserve back (then storage is no longer full). True when
        nothing is held."""
        if not self.full and not self.held:
            return True
        now = self.clock()
        if not force and now < self._next_try:
            return not self.held
        if self.held:
            n0 = len(self.held)
            try:
                while self.held:
                    chunk = [self.held[i] for i in range(min(500, len(self.held)))]
                    self._store(chunk, last=len(chunk) == len(self.held))
                    for _ in chunk:
                        self.held.popleft()
                    self.counters["stored_after_full"] += len(chunk)
            except (OSError, OutboxError) as exc:
                self.counters["write_failures"] += 1
                self._free_space()
                self._later(now)
                self._ratelog.warn("retry", "storage still failing (%s): %d record(s) held, next try in "
                                   "%.1f s", exc, len(self.held), self._backoff)
                return False
            log.warning("storage: %d held record(s) stored", n0)
        if self.reserve is None or self.reserve.size <= 0 or self.reserve.ensure():
            self._recovered()
        else:  # records fit again, but the reserve does not: still short of space
            self._later(now)
        return True

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"full": self.full, "held": len(self.held),
                               "reserve_bytes": self.reserve.bytes if self.reserve is not None else 0}
        out.update({k: v for k, v in self.counters.items() if v})
        return out

    # ------------------------------------------------------------------------------------ internals
    def _store(self, items: list[_Held], last: bool = True) -> None:
        """Every stage for ``items``; with ``last`` the pending state goes into the same commit."""
        for it in items:
            if not it.logged:
                self.plog.append_line(it.rec.line)
                it.logged = True
        pending = [it for it in items if not it.copied]
        if pending:
            assert self.events_fd is not None
            data = b"".join(it.rec.line for it in pending)
            if isinstance(self.events_fd, int):
                append_all(self.events_fd, data)
            else:  # a rotating file (transit.jsonl.RotatingAppendFile): same cut-back on failure
                self.events_fd.append_line(data)
            for it in pending:
                it.copied = True
        meta = self._meta if last else None
        self.sink.write([it.rec for it in items], meta=meta)
        if meta is not None:
            self._meta = None

    def _failed(self, exc: BaseException, items: list[_Held]) -> None:
        self.counters["write_failures"] += 1
        if not self.full:
            items = self._thin(items)  # (already thinned by write() while full)
            self.full = True
            self.counters["full_episodes"] += 1
            log.error("storage: cannot store %d record(s) (%s); holding them in memory and retrying",
                      len(items), exc)
        else:
            self._ratelog.warn("failed", "storage: cannot store records (%s)", exc)
        self._hold(items)
        self._free_space()
        self._later(self.clock())

    def _free_space(self) -> None:
        if self.reserve is not None and self.reserve.path.exists():
            self.reserve.release()
        outbox = getattr(self.sink, "outbox", None)
        if outbox is not None and hasattr(outbox, "thin_positions"):
            try:
                outbox.thin_positions(300)
            except OutboxError as exc:
                log.debug("cannot thin positions: %s", exc)

    def _later(self, now: float) -> None:
        self._next_try = now + self._backoff
        self._backoff = min(BACKOFF_MAX_S, self._backoff * 2)

    def _thin(self, items: list[_Held]) -> list[_Held]:
        """While full: no predictions, one position sample per :data:`HELD_VP_EVERY_S` of data time."""
        out = []
        for it in items:
            ev = it.rec.record.event
            if ev == "eta":
                self.counters["eta_dropped"] += 1
                continue
            if ev == "vp":
                key = it.rec.record.veh
                t = _epoch(it.rec.record.tst)
                last = self._last_vp_t.get(key)
                if t is not None and last is not None and 0 <= t - last < HELD_VP_EVERY_S:
                    self.counters["vp_dropped"] += 1
                    continue
                if t is not None:
                    self._last_vp_t[key] = t
            out.append(it)
        return out

    def _hold(self, items: list[_Held]) -> None:
        self.held.extend(items)
        if len(self.held) > self.max_held:
            keep = deque(it for it in self.held if it.rec.record.event not in ("vp", "eta"))
            self.counters["vp_dropped"] += len(self.held) - len(keep)
            self.held = keep
            if len(self.held) > self.max_held:
                self._ratelog.warn("over", "storage: %d records held in memory (bound %d); none dropped",
                                   len(self.held), self.max_held)

    def _recovered(self) -> None:
        if self.full:
            log.warning("storage available again (%d record(s) stored after it was full)",
                        self.counters["stored_after_full"])
        self.full = False
        self._backoff = BACKOFF_MIN_S
        self._next_try = 0.0
        self._last_vp_t.clear()
        if self.reserve is not None:
            self.reserve.ensure()


def _epoch(tst: object) -> float | None:
    from transit.timeutil import parse_iso

    if not isinstance(tst, str):
        return None
    try:
        return parse_iso(tst).timestamp()
    except ValueError:
        return None


__all__ = ["RESERVE_FILE", "RecordStore", "SpaceReserve", "append_all", "is_no_space"]
