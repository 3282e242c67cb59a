"""Rate-limited warnings for input problems (bad checksums, garbage, reconnects).

A noisy serial line can produce thousands of bad sentences per second; one log line per kind per
interval is enough for an operator. We pace by a monotonic clock, not by GNSS data time: garbage
typically arrives exactly when there is no data time (receiver booting, wrong baud rate, unplugged
antenna), so a data-time limiter would either never log again or flood. The limiter only affects logging,
never decoded results, so the functional core stays deterministic; the clock is injectable for tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedLog:
    """At most one message per ``kind`` per ``interval_s``; suppressed messages are counted and reported."""

    __slots__ = ("_log", "_interval", "_clock", "_last", "_suppressed")

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: object) -> bool:
        """Log ``message`` unless ``kind`` was logged less than ``interval_s`` ago; True when logged."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return False
        self._last[kind] = now
        n = self._suppressed.pop(kind, 0)
        if n:
            self._log.warning(message + " (%d more %s since the last report)", *args, n, kind)
        else:
            self._log.warning(message, *args)
        return True
