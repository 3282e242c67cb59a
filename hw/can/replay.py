"""A python-can bus that replays a candump ``-l`` log, optionally paced at the recorded rate.

Each line is parsed by python-can's own candump reader (``can.io.CanutilsLogReader``), one line at a
time: python-can's whole-file reader stops at the first malformed line, and a log from the field can
have a torn last line or noise in the middle. Bad lines are counted, logged once per interval and
skipped. Error frames (``2000xxxx#...``) keep their error class, which python-can's reader drops
unless the bus-error bit is set.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import can
from can.io.canutils import CanutilsLogReader

from transit.errors import DeviceError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

#: A jump in a log's receive times larger than this (or backwards) is a discontinuity for pacing: a
#: bad timestamp or a log stitched from two days, not half a day to wait for. A real pause (an hour
#: with the ignition off) is still waited for.
MAX_JUMP_S = 12 * 3600.0

CAN_ERR_FLAG = 0x20000000


def parse_candump_line(line: str) -> can.Message | None:
    """One candump ``-l`` line → message; None for a blank or comment line; ValueError if malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split()
    if len(parts) >= 3 and "#" in parts[2]:
        ident, _, payload = parts[2].partition("#")
        if len(ident) == 8 and int(ident, 16) & CAN_ERR_FLAG:
            if not parts[0].startswith("(") or not parts[0].endswith(")"):
                raise ValueError(f"bad timestamp {parts[0]!r}")
            return can.Message(timestamp=float(parts[0][1:-1]), is_error_frame=True,
                               arbitration_id=int(ident, 16) & 0x1FFFFFFF,
                               data=bytes.fromhex(payload[:16]), channel=parts[1])
    try:
        msgs = list(CanutilsLogReader(io.StringIO(text)))
    except (ValueError, IndexError) as exc:
        raise ValueError(str(exc) or "malformed line") from None
    if len(msgs) != 1:
        raise ValueError("malformed line")
    return msgs[0]


class ReplayBus(can.BusABC):
    """Frames from a candump log. ``speed`` 1.0 replays in recorded time, 0 as fast as possible.

    ``exhausted`` turns true after the last frame; ``recv`` then returns None.
    """

    def __init__(self, channel: Any = None, *, file: str | Path, speed: float = 1.0,
                 log_interval_s: float = 10.0, can_filters: Any = None, **kwargs: Any) -> None:
        self.path = Path(file)
        try:
            self._fh = self.path.open("r", encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DeviceError(f"cannot open CAN log {self.path}: {exc.strerror or exc}") from None
        self.speed = speed
        self.exhausted = False
        self.bad_lines = 0
        self.lines = 0
        self._rlog = RateLimitedLog(log, log_interval_s)
        self._frames = self._iter_frames()
        self._pending: can.Message | None = None
        self._ahead: list[can.Message] = []  # at most one frame read ahead (time-jump check)
        self._t0_data: float | None = None
        self._last_ts = 0.0
        self._t0_mono = 0.0
        self.channel_info = f"replay {self.path}"
        super().__init__(channel=channel or str(self.path), can_filters=can_filters, **kwargs)

    def _iter_frames(self) -> Iterator[can.Message]:
        last_t = 0.0
        for line in self._fh:
            self.lines += 1
            try:
                msg = parse_candump_line(line)
            except ValueError as exc:
                self.bad_lines += 1
                self._rlog.warn("bad_line", "%s:%d: bad candump line (%s); skipped", self.path, self.lines,
                                exc, t=last_t)
                continue
            if msg is not None:
                last_t = msg.timestamp
                yield msg

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
        self._fh.close()
        super().shutdown()
