"""Live mode: play a simulation out in real time (times ``speed``) on the interfaces a unit really uses.

- NMEA goes to a pseudo-terminal (``os.openpty``), paced at the receiver's baud rate: each epoch's
  sentences leave as a UART would send them, so a reader sees realistic bursts and gaps. Bytes nobody
  reads are dropped (a UART has no buffer either), never blocking the simulation.
- CAN frames go to a python-can bus (``virtual``, in-process) or to a second pty speaking SLCAN, so a
  process can open it as it would a USB adapter (``interface=slcan``).
- Door-beam edges drive gpiozero ``MockFactory`` pins (in-process) or are appended to a file / FIFO.

Pacing uses the monotonic clock only; every datum carries its simulated time.
"""

from __future__ import annotations

import errno
import heapq
import logging
import os
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sim_bus.canbus import NEEDED_ORDERS, Frame
from sim_bus.engine import Simulation
from transit.errors import DeviceError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

NMEA_LATENCY_S = 0.05  # receivers start sending an epoch some tens of ms after the measurement


class CanSink(Protocol):
    def send(self, frame: Frame) -> None: ...
    def close(self) -> None: ...


class GpioSink(Protocol):
    def edge(self, t: float, pin: int, level: int) -> None: ...
    def close(self) -> None: ...


# -- NMEA on a pty -----------------------------------------------------------------------------------

class PtyWriter:
    """The master side of a pty; the slave path is what a reader (gpsd, onboard) opens."""

    def __init__(self, link: Path | None = None) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no CR/LF translation, no echo: bytes arrive as sent
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.link: Path | None = None
        self.dropped = 0
        if link is not None:
            if link.is_symlink():
                link.unlink()  # a stale link from an earlier run
            elif link.exists():
                self.close()
                raise DeviceError(f"--pty-link {link} exists and is not a symlink: not replacing it")
            link.symlink_to(self.path)
            self.link = link

    def write(self, data: bytes) -> None:
        try:
            n = os.write(self.master, data)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EIO):
                raise DeviceError(f"pty {self.path}: {exc}") from exc
            n = 0
        if n < len(data):
            self.dropped += len(data) - n

    def read_available(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EIO):
                return b""
            raise

    def close(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


# -- CAN ------------------------------------------------------------------------------------------------

class VirtualCanSink:
    """python-can's in-process ``virtual`` bus; receivers see the simulated timestamps."""

    def __init__(self, channel: str) -> None:
        import can  # imported only when this backend is chosen

        self._can = can
        self.bus = can.Bus(interface="virtual", channel=channel, preserve_timestamps=True)

    def send(self, frame: Frame) -> None:
        msg = self._can.Message(timestamp=frame.t_us / 1e6, arbitration_id=frame.can_id,
                                is_extended_id=True, data=frame.data)
        self.bus.send(msg)

    def close(self) -> None:
        self.bus.shutdown()


class SlcanPtySink:
    """A USB-CAN adapter emulated on a pty: answers SLCAN commands and forwards frames once opened.

    Hand-written because python-can has the host side of SLCAN only; the protocol is a few ASCII
    commands (``S<n>`` bitrate, ``O`` open, ``C`` close, ``V``/``N`` version/serial, ``F`` status).
    """

    def __init__(self, link: Path | None = None) -> None:
        self.pty = PtyWriter(link)
        self.path = self.pty.path
        self.is_open = False
        self._rlog = RateLimitedLog(log, 30.0, clock=time.monotonic)
        self.unknown_commands = 0
        self._buf = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="slcan-pty", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read_available()
            if not data:
                time.sleep(0.005)
                continue
            self._buf += data
            while b"\r" in self._buf:
                cmd, self._buf = self._buf.split(b"\r", 1)
                self._answer(cmd.decode("ascii", "replace"))
            if len(self._buf) > 64:  # no command is this long: line noise
                self.unknown_commands += 1
                self._rlog.warn("line_noise", "SLCAN emulation: %d bytes without CR dropped", len(self._buf))
                self._buf = b""

    def _answer(self, cmd: str) -> None:
        if not cmd:
            return
        c = cmd[0]
        if c in "OL":
            self.is_open = True
            self.pty.write(b"\r")
        elif c == "C":
            self.is_open = False
            self.pty.write(b"\r")
        elif c == "V":
            self.pty.write(b"V1013\r")
        elif c == "N":
            self.pty.write(b"NSIM1\r")
        elif c == "F":
            self.pty.write(b"F00\r")
        elif c in "SsZMm":
            self.pty.write(b"\r")
        else:
            self.unknown_commands += 1
            self._rlog.warn("unknown_command", "SLCAN emulation: unknown command %r (%d so far), answered BEL",
                            cmd[:20], self.unknown_commands)
            self.pty.write(b"\a")  # BEL: error, as adapters answer unknown commands

    def send(self, frame: Frame) -> None:
        if self.is_open:
            self.pty.write(f"T{frame.can_id:08X}{len(frame.data)}{frame.data.hex().upper()}\r".encode())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.pty.close()


# -- GPIO -----------------------------------------------------------------------------------------------

class MockPinSink:
    """Drives gpiozero ``MockFactory`` pins so gpiozero devices in this process see the beam edges."""

    def __init__(self, pins: list[int], factory: Any | None = None) -> None:
        from gpiozero import Device
        from gpiozero.pins.mock import MockFactory

        if factory is None:
            if not isinstance(Device.pin_factory, MockFactory):
                Device.pin_factory = MockFactory()
            factory = Device.pin_factory
        self.factory = factory
        self.pins = {p: factory.pin(p) for p in pins}

    def edge(self, t: float, pin: int, level: int) -> None:
        p = self.pins.get(pin)
        if p is None:
            p = self.pins[pin] = self.factory.pin(pin)
        if level:
            p.drive_high()
        else:
            p.drive_low()

    def close(self) -> None:
        pass


class FileGpioSink:
    """Appends ``t,pin,level`` lines (like ``gpio.csv``) to a file or FIFO, flushed per edge.

    A FIFO whose reader went away (the unit was killed) loses the edges until a reader opens it again, as
    a real GPIO line's edges are lost while nobody watches them; they are counted in :attr:`lost`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.f: Any = open(path, "w", encoding="ascii", buffering=1)  # noqa: SIM115 - closed in close()
        self.f.write("t,pin,level\n")
        self.lost = 0

    def edge(self, t: float, pin: int, level: int) -> None:
        line = f"{t:.3f},{pin},{level}\n"
        if self.f is None and not self._reopen():
            self.lost += 1
            return
        try:
            self.f.write(line)
        except BrokenPipeError:
            self._drop()
            self.lost += 1

    def _reopen(self) -> bool:
        """Open the FIFO again if a reader is there now (never blocks)."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.ENXIO, errno.ENOENT):  # no reader yet
                return False
            raise
        os.set_blocking(fd, True)
        self.f = open(fd, "w", encoding="ascii", buffering=1)  # noqa: SIM115 - closed in close()
        try:
            self.f.write("t,pin,level\n")
        except BrokenPipeError:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        try:
            self.f.close()
        except OSError:
            pass
        self.f = None

    def close(self) -> None:
        if self.f is not None:
            try:
                self.f.close()
            except BrokenPipeError:
                pass


# -- the player -----------------------------------------------------------------------------------------

@dataclass
class LiveStats:
    nmea_bytes: int = 0
    can_frames: int = 0
    can_needed: int = 0  # of them CCVS1, DC1, DC2, VDHR: what a unit's filters let through
    gpio_edges: int = 0
    sim_s: float = 0.0
    late_max_s: float = 0.0  # worst lag behind the schedule (wall clock)
    mono: float = 0.0  # monotonic time of the last datum sent (rates between two snapshots)

    def as_dict(self) -> dict[str, float]:
        return {"nmea_bytes": self.nmea_bytes, "can_frames": self.can_frames, "can_needed": self.can_needed,
                "gpio_edges": self.gpio_edges, "sim_s": round(self.sim_s, 3),
                "late_max_s": round(self.late_max_s, 4), "mono": self.mono}


def _events(sim: Simulation, baud: int, with_can: bool, with_gpio: bool,
            t_from: float, t_to: float) -> Iterator[tuple[float, int, Any]]:
    """(sim time, kind, payload) in time order: 0 NMEA line, 1 CAN frame, 2 GPIO edge."""

    def nmea() -> Iterator[tuple[float, int, Any]]:
        byte_s = 10.0 / baud  # 8N1: ten bit times per byte
        lines = sim.nmea.lines
        tx = float("-inf")
        for t, a, b in sim.nmea.epochs:
            tx = max(tx, t + NMEA_LATENCY_S)  # the UART may still be busy with the last epoch
            for i in range(a, b):
                data = (lines[i] + "\r\n").encode("ascii", "replace")
                tx += len(data) * byte_s
                if t_from <= t <= t_to:
                    yield tx, 0, data

    def can_() -> Iterator[tuple[float, int, Any]]:
        for fr in sim.can_frames():
            t = fr.t_us / 1e6
            if t > t_to:
                return
            if t >= t_from:
                yield t, 1, fr

    def gpio() -> Iterator[tuple[float, int, Any]]:
        for t, pin, level in sim.gpio:
            if t_from <= t <= t_to:
                yield t, 2, (t, pin, level)

    streams: list[Iterator[tuple[float, int, Any]]] = [nmea()]
    if with_can:
        streams.append(can_())
    if with_gpio:
        streams.append(gpio())
    return heapq.merge(*streams, key=lambda e: (e[0], e[1]))


def play(sim: Simulation, *, speed: float, nmea: PtyWriter | None, can_sink: CanSink | None,
         gpio_sink: GpioSink | None, start_s: float = 0.0, duration_s: float | None = None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         on_progress: Callable[[float], None] | None = None,
         stop: threading.Event | None = None, stats: LiveStats | None = None) -> LiveStats:
    """Send everything at ``t_start + (sim time - start) / speed`` on the monotonic clock; ``stats``
    (updated as it goes, e.g. for ``on_progress``) is returned."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    t_from = sim.t_start + start_s
    t_to = sim.t_end if duration_s is None else min(sim.t_end, t_from + duration_s)
    stats = stats if stats is not None else LiveStats()
    w0 = clock()
    last_progress = -1.0
    for t, kind, payload in _events(sim, sim.scenario.gnss.baud, can_sink is not None,
                                    gpio_sink is not None, t_from, t_to):
        if stop is not None and stop.is_set():
            break
        due = w0 + (t - t_from) / speed
        now = clock()
        if due > now:
            sleep(due - now)
        else:
            stats.late_max_s = max(stats.late_max_s, now - due)
        if kind == 0 and nmea is not None:
            nmea.write(payload)
            stats.nmea_bytes += len(payload)
        elif kind == 1 and can_sink is not None:
            can_sink.send(payload)
            stats.can_frames += 1
            if payload.order in NEEDED_ORDERS:
                stats.can_needed += 1
        elif kind == 2 and gpio_sink is not None:
            gpio_sink.edge(*payload)
            stats.gpio_edges += 1
        stats.sim_s = t - t_from
        stats.mono = now if due <= now else due
        if on_progress is not None and t - last_progress >= 1.0:
            last_progress = t
            on_progress(stats.sim_s)
    return stats
