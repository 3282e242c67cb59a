"""Door-counter node on a serial port: framed count deltas (``firmware_py.uartframe``) -> crossings.

Another counting backend next to raw GPIO beams: the node runs the same door counter and sends deltas.
:class:`NodeStream` is the pure part (bytes with their receive time in, events out) and :class:`UartNode`
adds pyserial. Node time is mapped to receive time with the smallest observed (receive - node) offset,
since transmission only ever adds delay. Lost frames (gaps in ``seq``) and a silent node make the
affected door's counts ``defect``; bad bytes are dropped, counted and logged rate-limited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firmware_py.uartframe import FLAG_OVERFLOW, FLAG_STUCK, FrameDecoder
from transit.errors import DeviceError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeCount:
    t: float  # epoch s (receive clock)
    door: int
    in_adult: int
    out_adult: int
    in_bulky: int
    out_bulky: int


@dataclass(frozen=True)
class NodeStatus:
    t: float
    door: int
    stuck: bool
    overflow: bool
    beams: int  # bitmap of beams blocked now (A0, B0, A1, B1, ...)
    turnbacks: int
    inconsistent: int


@dataclass(frozen=True)
class NodeTrouble:
    t: float
    why: str  # frames_lost | node_silent | bad_bytes
    n: int = 1


NodeEvent = NodeCount | NodeStatus | NodeTrouble


class NodeStream:
    """Pure decoder state for one node."""

    def __init__(self, silent_after_s: float = 5.0) -> None:
        self.decoder = FrameDecoder()
        self.silent_after_s = silent_after_s
        self.last_seq: int | None = None
        self.offset_s: float | None = None  # receive time - node time, minimum seen
        self.last_rx: float | None = None
        self.lost = 0
        self._bad_seen = 0
        self._silent = False
        self._rlog = RateLimitedLog(log, 60.0)  # paced by receive time

    def feed(self, t_rx: float, data: bytes) -> list[NodeEvent]:
        out: list[NodeEvent] = []
        for msg in self.decoder.feed(data):
            seq, t_ms = msg[1], msg[2]
            if self.last_seq is not None:
                gap = (seq - self.last_seq - 1) & 0xFFFF
                if gap and gap < 0x8000:
                    self.lost += gap
                    out.append(NodeTrouble(t_rx, "frames_lost", gap))
                    self._rlog.warn("frames_lost", "door node: %d frame(s) lost before seq %d", gap, seq,
                                    t=t_rx)
            self.last_seq = seq
            off = t_rx - t_ms / 1000.0
            if self.offset_s is None or off < self.offset_s or off - self.offset_s > 3600:
                self.offset_s = off  # (re)start: a node reboot or a 2**32 ms wrap jumps by far more
            t = t_ms / 1000.0 + self.offset_s
            if msg[0] == "count":
                out.append(NodeCount(t, msg[3], msg[4], msg[5], msg[6], msg[7]))
            else:
                flags = msg[4]
                out.append(NodeStatus(t, msg[3], bool(flags & FLAG_STUCK), bool(flags & FLAG_OVERFLOW),
                                      flags >> 4, msg[5], msg[6]))
        bad = self.decoder.bad_crc + self.decoder.bad_payload
        if bad > self._bad_seen:
            n = bad - self._bad_seen
            self._bad_seen = bad
            out.append(NodeTrouble(t_rx, "bad_bytes", n))
            self._rlog.warn("bad_bytes", "door node: %d damaged frame(s) so far (%d bytes skipped)", bad,
                            self.decoder.skipped, t=t_rx)
        if self.decoder.frames:
            self.last_rx = t_rx if out else self.last_rx
        self._silent = False
        return out

    def check_silent(self, t_now: float) -> NodeTrouble | None:
        """A node that sends no heartbeat for ``silent_after_s`` is broken (cable, power)."""
        if self.last_rx is not None and not self._silent and t_now - self.last_rx > self.silent_after_s:
            self._silent = True
            log.warning("door node silent for %.0f s", t_now - self.last_rx)
            return NodeTrouble(t_now, "node_silent")
        return None


def apply_node_events(counter: Any, events: list[NodeEvent], doors: tuple[int, ...]) -> None:
    """Hand node events to an ``onboard.counting.passengers.PassengerCounter``."""
    for ev in events:
        if isinstance(ev, NodeCount):
            for n, direction, cls in ((ev.in_adult, "in", "adult"), (ev.out_adult, "out", "adult"),
                                      (ev.in_bulky, "in", "bulky"), (ev.out_bulky, "out", "bulky")):
                if n:
                    counter.on_crossing(ev.t, ev.door, direction, cls, n)
        elif isinstance(ev, NodeStatus):
            if ev.stuck or ev.overflow:
                counter.mark_defect(ev.door, "stuck" if ev.stuck else "overflow")
        else:
            if ev.why in ("frames_lost", "node_silent"):
                for d in doors:
                    counter.mark_defect(d, ev.why)


class UartNode:
    """pyserial reader for one node; ``clock`` gives receive times (the service's GNSS-mapped clock)."""

    def __init__(self, port: str, baud: int = 115200, clock: Callable[[], float] | None = None,
                 timeout_s: float = 0.2) -> None:
        import serial  # pyserial, only when this backend is chosen

        try:
            self.ser = serial.serial_for_url(port, baudrate=baud, timeout=timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"door node on {port}: {exc}") from exc
        import time

        self.clock = clock or time.monotonic
        self.stream = NodeStream()

    def poll(self) -> list[NodeEvent]:
        """Read what is there (waits at most the timeout) and decode it."""
        import serial

        try:
            data = self.ser.read(max(1, self.ser.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"door node read failed: {exc}") from exc
        t = self.clock()
        out = self.stream.feed(t, data) if data else []
        trouble = self.stream.check_silent(t)
        if trouble is not None:
            out.append(trouble)
        return out

    def close(self) -> None:
        self.ser.close()
