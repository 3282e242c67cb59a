"""Log a recurring input problem once per interval of *data* time, with a count of what was skipped.

The interval is measured on the frames' own timestamps, so the decoding core stays free of clocks and
a replay logs exactly what the live run logged.
"""

from __future__ import annotations

import logging


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval_s: float = 10.0) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, t: float, msg: str, *args: object) -> None:
        """Log ``msg`` unless ``key`` was logged less than ``interval_s`` ago (in data time ``t``)."""
        last = self._last.get(key)
        if last is not None and 0.0 <= t - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        n = self._suppressed.pop(key, 0)
        self._last[key] = t
        if n:
            self.logger.warning(msg + " (%d more since last report)", *args, n)
        else:
            self.logger.warning(msg, *args)
