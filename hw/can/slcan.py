"""SLCAN (Lawicel) USB adapters read in chunks, with J1939 identifier filtering before parsing.

Hand-written on top of python-can's ``slcanBus`` because python-can 4.6 reads SLCAN one byte per call
(a select and a read per byte): at 1,500 frames/s that alone costs ~0.2 CPU seconds per second, a
Raspberry Pi core's worth. This bus reads what the port has in one call, drops extended frames whose
identifier no acceptance filter passes before anything is built for them (what SocketCAN's kernel
filters do for a CAN HAT), and parses the extended data frames it keeps directly; every other line
(standard, remote and FD frames, command replies) goes through python-can's own parser. Imported only
when the ``slcan`` backend is chosen (it imports pyserial through python-can).
"""

from __future__ import annotations

import logging
import os
import re
import select
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import can
from can.exceptions import error_check
from can.interfaces.slcan import slcanBus

from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

_LINE = re.compile(rb"[^\r\a]*[\r\a]")
_ID_CACHE = 8192  # identifiers remembered (a real bus has a few dozen; line noise must not grow it)
#: when a chunk was there, wait this long before the next read: one wake-up per batch of frames
#: instead of one per frame (frames are stamped when read, so up to this late; J1939 sends CCVS1 every
#: 100 ms, DC1/DC2 on change within 100 ms). Each wake-up costs far more than a frame on a busy core:
#: 10 ms -> 20 ms took the reader from ~0.017 to ~0.012 CPU s/s at 1,500 frames/s (30 % needed)
DEFAULT_BATCH_S = 0.02
#: the longest line an adapter sends is an FD extended frame with 64 data bytes and a timestamp
#: (``D`` + 8 + 1 + 128 + 4 + CR = 143 bytes); bytes without a CR beyond this are line noise and
#: are dropped, so a floating RX line or a wrong baud rate cannot grow the buffer without bound
MAX_LINE = 256


def _masks(filters: list[dict[str, Any]] | None) -> list[tuple[int, int]]:
    """(value, mask) pairs of the extended-frame acceptance filters (python-can ``can_filters``)."""
    return [(int(f["can_id"]) & int(f["can_mask"]), int(f["can_mask"]))
            for f in filters or () if f.get("extended", True)]


class ChunkedSlcanBus(slcanBus):
    """python-can's SLCAN bus with chunked reads and early J1939 filtering.

    ``can_filters`` are the usual python-can filters (the reader passes the DBC's needed PGNs, see
    :func:`hw.can.backends.j1939_filters`); an extended data frame no filter passes is dropped and
    counted in :attr:`filtered`. ``batch_s``: pause after a chunk so the next one gathers several
    frames (0: read as soon as data is there). ``stamp``: the receive time given to frames (python-can
    uses the wall clock; a unit without RTC re-stamps them anyway).
    """

    def __init__(self, channel: str, *, batch_s: float = DEFAULT_BATCH_S,
                 stamp: Callable[[], float] = time.time, **kwargs: Any) -> None:
        self.filtered = 0
        self.overlong = 0  # bytes dropped because no CR came within MAX_LINE
        self._noise_log = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._batch_s = batch_s
        self._stamp = stamp
        self._lines: deque[bytes] = deque()
        self._wanted: dict[bytes, bool] = {}
        self._had_data = False
        self._value_masks = _masks(kwargs.get("can_filters"))
        super().__init__(channel, **kwargs)

    # python-can calls this when filters change (also from BusABC.__init__)
    def _apply_filters(self, filters: Any) -> None:
        self._value_masks = _masks(filters)
        self._wanted = {}

    def _want(self, ident: bytes) -> bool:
        w = self._wanted.get(ident)
        if w is None:
            try:
                cid = int(ident, 16)
            except ValueError:
                return True  # python-can's parser reports it
            w = any(cid & m == v for v, m in self._value_masks)
            if len(self._wanted) >= _ID_CACHE:
                self._wanted.clear()
            self._wanted[ident] = w
        return w

    def _fill(self, timeout: float | None) -> bool:
        """Read what the port has (waiting up to ``timeout`` for the first byte); complete lines that
        pass the filters go to the line queue. True when lines were queued."""
        port = self.serialPortOrig
        deadline = None if timeout is None else time.monotonic() + timeout
        got = False
        with error_check("Could not read from serial device"):
            fd = _fileno(port)
            readable = False  # select said so: then an empty read means the adapter is gone
            while True:
                chunk = _read_nonblocking(fd, readable) if fd is not None else port.read(port.in_waiting)
                readable = False
                if chunk:
                    got = True
                    buf = self._buffer
                    buf.extend(chunk)
                    end = max(buf.rfind(b"\r"), buf.rfind(b"\a"))
                    if end >= 0:
                        done = bytes(buf[:end + 1])
                        del buf[:end + 1]
                        kept = 0
                        masks = self._value_masks
                        for text in _LINE.findall(done):
                            # extended data frames: T/x, 8 hex digits of identifier, DLC, data
                            if masks and len(text) >= 10 and text[:1] in (b"T", b"x") \
                                    and not self._want(text[1:9]):
                                self.filtered += 1
                                continue
                            self._lines.append(text)
                            kept += 1
                        if kept:
                            self._had_data = True
                            return True
                    elif len(buf) > MAX_LINE:
                        self.overlong += len(buf)
                        self._noise_log.warn("overlong", "SLCAN: %d byte(s) without a line end dropped "
                                             "(%d so far): line noise or a wrong baud rate?", len(buf),
                                             self.overlong)
                        del buf[:]
                    continue  # a partial line or only filtered frames: look for more at once
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                if fd is None:  # loop://, socket://: nothing to select on, poll at the batch pace
                    time.sleep(min(left if left is not None else 1.0, max(self._batch_s, 0.002)))
                    continue
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    self._had_data = got  # the adapter went quiet: wait with select next time
                    continue
                readable = True
                if self._batch_s > 0:
                    time.sleep(self._batch_s)  # let a batch of frames gather

    def flush(self) -> None:
        """Drop what was read but not yet handed out, then python-can's buffer and the port's input."""
        self._lines.clear()
        super().flush()

    def _read(self, timeout: float | None) -> str | None:
        """One line as python-can's parser expects it (used by python-can for command replies)."""
        if not self._lines and not self._fill(timeout):
            return None
        return self._lines.popleft().decode("ascii", "replace")

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        if not self._lines:
            if self._had_data and self._batch_s > 0 and timeout:
                # the adapter was busy at the last read: gather the next batch without a select first
                time.sleep(min(self._batch_s, timeout))
                self._had_data = False
                if not self._fill(0.0) and not self._fill(max(timeout - self._batch_s, 0.0)):
                    return None, False
            elif not self._fill(timeout):
                return None, False
        text = self._lines.popleft()
        if text[:1] == b"T" and len(text) >= 11:
            dlc = text[9] - 48  # ASCII digit
            if 0 <= dlc <= 8 and len(text) >= 11 + 2 * dlc:
                try:
                    cid = int(text[1:9], 16)
                    data = bytearray.fromhex(text[10:10 + 2 * dlc].decode("ascii"))
                except (ValueError, UnicodeDecodeError):
                    pass  # python-can's parser below raises its own error for it
                else:
                    msg = can.Message(timestamp=self._stamp(), arbitration_id=cid, is_extended_id=True,
                                      dlc=dlc, data=data, check=False)
                    # the acceptance filters were applied to its identifier in _fill
                    return msg, bool(self._value_masks)
        # standard, remote and FD frames, replies, malformed lines: python-can's own parser
        self._queue.put_nowait(text.decode("ascii", "replace"))
        parsed, _ = super()._recv_internal(0)
        if parsed is not None:
            parsed.timestamp = self._stamp()
        return parsed, False


def _fileno(port: Any) -> int | None:
    """The descriptor of a device or pty port (pyserial opens them non-blocking); None for URLs
    without one (``loop://``, ``socket://``), which are read through pyserial."""
    try:
        fd = port.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


def _read_nonblocking(fd: int, readable: bool) -> bytes:
    """What the port has, in one system call (pyserial's ``in_waiting`` + ``read`` take three). A tty
    with VMIN 0 reads empty when there is nothing; empty after select said readable is a lost device."""
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return b""
    if not data and readable:
        raise OSError("SLCAN adapter reports readiness to read but returned no data (unplugged?)")
    return data


def open_chunked_slcan(channel: str, *, bitrate: int | None, tty_baudrate: int, sleep_after_open: float,
                       filters: list[dict[str, Any]] | None, batch_s: float = DEFAULT_BATCH_S) -> ChunkedSlcanBus:
    """Open an SLCAN adapter with the chunked reader."""
    return ChunkedSlcanBus(channel, bitrate=bitrate, tty_baudrate=tty_baudrate, sleep_after_open=sleep_after_open,
                           can_filters=filters or None, batch_s=batch_s)


__all__ = ["DEFAULT_BATCH_S", "ChunkedSlcanBus", "open_chunked_slcan"]
