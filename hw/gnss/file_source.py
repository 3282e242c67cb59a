"""Replay a recorded NMEA file (``gnss.nmea`` from ``sim_bus record``, gpsd's test logs, field logs).

Lines starting with ``#`` are comments (gpsd's log headers) and skipped. With ``speed > 0`` the fixes are
released paced by their own GNSS times (``speed`` × real time); with 0, as fast as they decode.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import BinaryIO

from hw.gnss.config import GnssConfig
from hw.gnss.fix import Fix
from hw.gnss.source import GnssSource
from hw.gnss.stream import NmeaStream
from transit.errors import DeviceError

log = logging.getLogger(__name__)


class FileSource(GnssSource):
    """NMEA file replay; :attr:`finished` is True once the file is exhausted and every fix returned."""

    def __init__(self, config: GnssConfig) -> None:
        self.config = config
        self.stream = NmeaStream(config.nmea)
        self._chunk = max(4096, 4 * config.nmea.max_line)
        self._line_start = True
        try:
            self._fh: BinaryIO | None = open(config.path, "rb")  # closed in close()
        except OSError as exc:
            raise DeviceError(f"cannot open NMEA file {config.path}: {exc.strerror or exc}") from exc
        self._pending: deque[Fix] = deque()
        self._eof = False
        self.comment_lines = 0
        self.bytes_read = 0
        self._t0: tuple[float, float] | None = None  # (first fix epoch s, monotonic at its release)

    @property
    def finished(self) -> bool:
        return self._eof and not self._pending

    def _fill(self) -> None:
        """Decode lines until at least one fix is pending or the file ends."""
        fh = self._fh
        while not self._pending and fh is not None and not self._eof:
            # bounded: a file without line ends (a raw dump at the wrong baud rate) is read in pieces
            # the NMEA stream drops as over-long, not as one line the size of the file
            line = fh.readline(self._chunk)
            if not line:
                self._eof = True
                self._pending.extend(self.stream.flush())
                break
            self.bytes_read += len(line)
            if self._line_start and line.startswith(b"#"):
                self.comment_lines += 1
                self._line_start = line.endswith(b"\n")
                while not self._line_start:  # the rest of a long comment
                    more = fh.readline(self._chunk)
                    self.bytes_read += len(more)
                    self._line_start = not more or more.endswith(b"\n")
                continue
            self._line_start = line.endswith(b"\n")
            self._pending.extend(self.stream.feed(line))

    def read(self, timeout: float | None = None) -> list[Fix]:
        out: list[Fix] = []
        deadline = time.monotonic() + (timeout or 0.0)
        speed = self.config.speed
        while True:
            self._fill()
            if not self._pending:
                return out
            if speed <= 0:
                out.extend(self._pending)
                self._pending.clear()
                return out
            fix = self._pending[0]
            t = fix.time.timestamp()
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = (t, now)
            due = self._t0[1] + (t - self._t0[0]) / speed
            if due > now:
                if out or due > deadline:
                    if not out:
                        time.sleep(max(0.0, deadline - now))
                    return out
                time.sleep(due - now)
            out.append(self._pending.popleft())

    def close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()
        self._eof = True
        self._pending.clear()

    def stats(self) -> dict[str, int]:
        d = self.stream.stats.as_dict()
        d.update(bytes_read=self.bytes_read, comment_lines=self.comment_lines)
        return d
