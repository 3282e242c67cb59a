"""A python-can bus that replays a CAN log, optionally paced at the recorded rate.

The file is opened by extension (:mod:`hw.can.logfile`): python-can's readers for ``.asc``, ``.blf``,
``.trc``, ``.csv`` ... and rettid's tolerant candump reader for ``-l`` logs, each also ``.gz``. A
candump line is parsed by python-can's own candump reader (``can.io.CanutilsLogReader``), one line at a
time: python-can's whole-file reader stops at the first malformed line, and a log from the field can
have a torn last line or noise in the middle. Bad lines are counted, logged once per interval and
skipped. Error frames (``2000xxxx#...``) keep their error class, which python-can's reader drops
unless the bus-error bit is set.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import can

from hw.can.logfile import CAN_ERR_FLAG, CanLogFile, parse_candump_line
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

__all__ = ["CAN_ERR_FLAG", "MAX_JUMP_S", "ReplayBus", "parse_candump_line"]

#: A jump in a log's receive times larger than this (or backwards) is a discontinuity for pacing: a
#: bad timestamp or a log stitched from two days, not half a day to wait for. A real pause (an hour
#: with the ignition off) is still waited for.
MAX_JUMP_S = 12 * 3600.0

class ReplayBus(can.BusABC):
    """Frames from a CAN log (any format :mod:`hw.can.logfile` reads). ``speed`` 1.0 replays in
    recorded time, 0 as fast as possible.

    ``exhausted`` turns true after the last frame; ``recv`` then returns None. ``position()`` is the
    fraction of the file read (progress bars).
    """

    def __init__(self, channel: Any = None, *, file: str | Path, speed: float = 1.0,
                 log_interval_s: float = 10.0, can_filters: Any = None, **kwargs: Any) -> None:
        self.path = Path(file)
        self._log = CanLogFile(self.path, log_interval_s=log_interval_s)
        self.speed = speed
        self.exhausted = False
        self._rlog = RateLimitedLog(log, log_interval_s)
        self._frames = iter(self._log)
        self._pending: can.Message | None = None
        self._ahead: list[can.Message] = []  # at most one frame read ahead (time-jump check)
        self._t0_data: float | None = None
        self._last_ts = 0.0
        self._t0_mono = 0.0
        self.channel_info = f"replay {self.path}"
        super().__init__(channel=channel or str(self.path), can_filters=can_filters, **kwargs)

    @property
    def bad_lines(self) -> int:
        return self._log.bad_lines

    @property
    def lines(self) -> int:
        return self._log.lines

    def position(self) -> float:
        return self._log.position()

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        if self._pending is None:
            self._pending = self._next_frame()
            if self._pending is None:
                self.exhausted = True
                return None, False
        msg = self._pending
        if self.speed > 0:
            now = time.monotonic()
            ts = msg.timestamp
            if self._t0_data is None:
                self._t0_data, self._t0_mono, self._last_ts = ts, now, ts
            elif not self._plausible(ts):
                # A time jump (backwards, non-finite, beyond MAX_JUMP_S ahead). If the frame after it is
                # back on the old timeline, this one is an outlier: hand it over at once and keep pacing.
                # Otherwise the log really jumps (stitched from two days): pace from here on. Either way
                # nothing waits for hours and no good frame behind it is held back.
                nxt = self._peek_frame()
                outlier = nxt is not None and self._plausible(nxt.timestamp)
                self._rlog.warn("time_jump", "%s: CAN log time jumps to %r%s", self.path, ts,
                                "; handed over unpaced" if outlier else "; pacing restarts there",
                                t=ts if math.isfinite(ts) else None)
                if outlier or not math.isfinite(ts):
                    self._pending = None
                    return msg, False
                self._t0_data, self._t0_mono, self._last_ts = ts, now, ts
            self._last_ts = max(self._last_ts, ts)
            wait = self._t0_mono + (ts - self._t0_data) / self.speed - now
            if wait > 0:
                if timeout is not None and wait > timeout:
                    time.sleep(timeout)
                    return None, False
                time.sleep(wait)
        self._pending = None
        return msg, False

    def _next_frame(self) -> can.Message | None:
        return self._ahead.pop(0) if self._ahead else next(self._frames, None)

    def _peek_frame(self) -> can.Message | None:
        if not self._ahead:
            nxt = next(self._frames, None)
            if nxt is None:
                return None
            self._ahead.append(nxt)
        return self._ahead[0]

    def _plausible(self, ts: float) -> bool:
        return math.isfinite(ts) and -1.0 <= ts - self._last_ts <= MAX_JUMP_S  # 1 s: multi-channel jitter

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        raise can.CanOperationError("a replayed log is read-only")

    def shutdown(self) -> None:
        self._log.close()
        super().shutdown()
