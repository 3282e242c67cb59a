"""One rate limiter for recurring warnings (bad input lines, damaged frames, reconnects).

A noisy input can produce thousands of identical problems per second; one log line per kind per
interval, with the number of suppressed repeats, is what an operator needs. This module never reads a
clock, so the functional core that uses it stays deterministic and a replay logs what the live run
logged. Time comes from the caller, in one of three ways:

- ``t=`` on each call: *data* time (frame receive time, fix time, edge time);
- ``clock=`` at construction: a callable the I/O edge injects (``time.monotonic``) for problems that
  come with no data time (garbage on a serial line, broker disconnects);
- neither: the limiter paces by count and logs the 1st, 10th, 100th ... occurrence of a kind.

A time going backwards (a replay restarting, a receiver resetting) logs again rather than going quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """At most one message per ``kind`` per ``interval_s``; every occurrence is counted."""

    __slots__ = ("_log", "_interval", "_clock", "_level", "_last", "_pending", "counts", "suppressed")

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0,
                 clock: Callable[[], float] | None = None, level: int = logging.WARNING) -> None:
        self._log = logger
        self._interval = interval_s
        self._clock = clock
        self._level = level
        self._last: dict[str, float] = {}
        self._pending: dict[str, int] = {}  # suppressed since the last message of the kind
        self.counts: dict[str, int] = {}  # occurrences per kind, logged or not
        self.suppressed: dict[str, int] = {}  # occurrences not logged, per kind (running total)

    def warn(self, kind: str, message: str, *args: object, t: float | None = None) -> bool:
        """Log ``message % args`` unless ``kind`` was logged too recently; True when it was logged."""
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        now = t if t is not None else (self._clock() if self._clock is not None else None)
        if now is None:
            due = _is_decade(n)
        else:
            last = self._last.get(kind)
            due = last is None or not 0.0 <= now - last < self._interval
        if not due:
            self._pending[kind] = self._pending.get(kind, 0) + 1
            self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
            return False
        if now is not None:
            self._last[kind] = now
        skipped = self._pending.pop(kind, 0)
        if skipped:
            self._log.log(self._level, message + " (%d more %s since the last report)", *args, skipped, kind)
        else:
            self._log.log(self._level, message, *args)
        return True

    def flush(self) -> None:
        """Report repeats still held back (end of a replay, service shutdown)."""
        for kind, skipped in sorted(self._pending.items()):
            self._log.log(self._level, "%d more %s not reported individually", skipped, kind)
        self._pending.clear()


def _is_decade(n: int) -> bool:
    """1, 10, 100, 1000 ...: a log-spaced pace that needs no clock."""
    while n % 10 == 0:
        n //= 10
    return n == 1
