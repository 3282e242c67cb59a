"""Clock discipline for a unit without a real-time clock: monotonic time in, UTC out — or nothing yet.

A Raspberry Pi boots with whatever time its last shutdown left (or 1970). Live CAN frames and GPIO
edges are stamped with ``time.monotonic()`` when they arrive; :class:`ClockDiscipline` maps those
stamps to UTC from *anchors*: GNSS fixes (the receiver's UTC time paired with the monotonic time the
fix arrived) or, when the kernel says NTP has synchronised the system clock, the system clock itself.
Until the first anchor, inputs are *held* (with their monotonic stamps) instead of being stamped with
a 1970 clock; the first anchor releases them with the UTC times their monotonic offsets give.

Pure: anchors and stamps are passed in, nothing here reads a clock (except the helper
:func:`system_clock_synchronised`, which only asks the kernel whether NTP is in sync).

GNSS fixes arrive some tens to hundreds of milliseconds after their epoch (the receiver computes, then
the UART sends ~2 kB). That latency is always positive, so the best offset estimate over a window is
the *largest* ``utc - mono`` seen (the fix that came through fastest): a minimum-latency filter, as
NTP implementations use for network delay.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: offsets further apart than this are a time step (receiver reset, clock set), not jitter
STEP_S = 1.0
#: anchors kept for the minimum-latency filter, in monotonic seconds
WINDOW_S = 60.0
#: a GNSS anchor younger than this (monotonic s) wins over the system clock
GNSS_PREFERRED_S = 300.0
#: the kernel's clock state when NTP has not synchronised it (adjtimex(2): TIME_ERROR)
_TIME_ERROR = 5
#: systemd-timesyncd touches this file once it has synchronised the clock
TIMESYNC_FLAG = "/run/systemd/timesync/synchronized"


def _seccomp_filtered() -> bool:
    """Whether a seccomp filter confines this process (``/proc/self/status`` ``Seccomp: 2``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Seccomp:"):
                    return line.split()[1] != "0"
    except (OSError, IndexError):
        return True  # cannot tell: assume confined
    return False


def system_clock_synchronised(flag_file: str = TIMESYNC_FLAG, *, adjtimex: bool = True,
                              chronyc: str = "chronyc") -> bool:
    """Whether NTP has synchronised the system clock, asked in the order that works under our units'
    sandbox (``SystemCallFilter=@system-service`` and ``ProtectClock=yes`` forbid ``adjtimex(2)``;
    a refused call would kill the process with SIGSYS, so it is not tried under a seccomp filter):

    1. systemd-timesyncd's flag file (it touches it once synchronised);
    2. the kernel's ``STA_UNSYNC`` state by ``adjtimex(2)`` in read-only mode (modes 0) — set by any
       NTP daemon (chrony, ntpd, timesyncd) and by the kernel itself once ``maxerror`` passes 16 s;
    3. ``chronyc -c -n tracking`` (chrony answers read-only queries over its local socket without
       privileges): synchronised unless its leap status is "Not synchronised".

    Unknown means no."""
    if os.path.exists(flag_file):
        return True
    if adjtimex and not _seccomp_filtered():
        state = _adjtimex_state()
        if state is not None:
            return 0 <= state != _TIME_ERROR
    return _chrony_synchronised(chronyc)


def _adjtimex_state() -> int | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        # struct timex is ~208 bytes on 64-bit Linux; modes (the first int) = 0 reads without setting.
        buf = ctypes.create_string_buffer(512)
        return int(libc.adjtimex(buf))
    except (OSError, AttributeError) as exc:
        log.debug("adjtimex unavailable: %s", exc)
        return None


def _chrony_synchronised(chronyc: str) -> bool:
    """chrony's own view: ``chronyc -c`` prints one CSV line whose last field is the leap status."""
    import shutil
    import subprocess

    exe = shutil.which(chronyc)
    if exe is None:
        return False
    try:
        p = subprocess.run([exe, "-c", "-n", "tracking"], capture_output=True, text=True, timeout=2.0,
                           check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("chronyc failed: %s", exc)
        return False
    fields = p.stdout.strip().split(",")
    if p.returncode != 0 or len(fields) < 10:
        log.debug("chronyc tracking: rc %d, %r", p.returncode, p.stdout[:200])
        return False
    return fields[-1].strip().lower() not in ("not synchronised", "not synchronized", "")


@dataclass(frozen=True)
class ClockState:
    """What health reports say about time."""

    source: str  # gnss | system | none
    synced: bool
    pending: int
    dropped_pending: int
    steps: int
    offset_s: float | None  # UTC epoch seconds minus monotonic seconds (rate 1)


class ClockDiscipline(Generic[T]):
    """Monotonic → UTC mapping from GNSS (preferred) or a synchronised system clock, holding inputs
    that arrive before any anchor.

    ``rate`` is how many UTC seconds pass per monotonic second: 1 on a vehicle; a simulation played at
    ``--time-warp X`` sends its data X times faster, so a service following it is started with rate X.
    """

    def __init__(self, *, rate: float = 1.0, max_pending: int = 500_000, window_s: float = WINDOW_S) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.max_pending = max_pending
        self.window_s = window_s
        self.source = "none"
        self.steps = 0
        self.dropped_pending = 0
        self._offset: float | None = None  # utc - mono * rate
        self._anchors: deque[tuple[float, float]] = deque()  # (mono, utc - mono*rate) of GNSS fixes
        self._last_gnss_mono: float | None = None
        self._pending: deque[tuple[float, T]] = deque()

    # -- anchors ---------------------------------------------------------------------------------------
    def on_gnss(self, utc: float, rx_mono: float) -> None:
        """A fix with receiver time ``utc`` (epoch s) arrived at monotonic ``rx_mono``."""
        off = utc - rx_mono * self.rate
        if self._offset is not None and self.source == "gnss" and abs(off - self._offset) > STEP_S \
                and self._anchors:
            # a step, not latency: start the window again
            self.steps += 1
            log.warning("GNSS time stepped by %.3f s against the monotonic clock; re-anchoring",
                        off - self._offset)
            self._anchors.clear()
        elif self.source == "system" and self._offset is not None and abs(off - self._offset) > STEP_S:
            log.warning("GNSS time and the NTP system clock disagree by %.3f s; following GNSS",
                        off - self._offset)
        self._anchors.append((rx_mono, off))
        while self._anchors and self._anchors[0][0] < rx_mono - self.window_s:
            self._anchors.popleft()
        if self.source != "gnss":
            log.info("clock: GNSS time available (offset %.3f s)", off)
        self._offset = max(o for _, o in self._anchors)
        self.source = "gnss"
        self._last_gnss_mono = rx_mono

    def on_system(self, utc_now: float, mono_now: float) -> None:
        """The system clock (NTP-synchronised, the caller checked) reads ``utc_now`` at ``mono_now``.
        Ignored while a recent GNSS anchor exists."""
        if self._last_gnss_mono is not None and mono_now - self._last_gnss_mono < GNSS_PREFERRED_S:
            return
        if self.source != "system":
            log.info("clock: using the NTP-synchronised system clock")
        self._offset = utc_now - mono_now * self.rate
        self._anchors.clear()
        self.source = "system"

    # -- stamping --------------------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        return self._offset is not None

    def to_utc(self, mono: float) -> float | None:
        """UTC epoch seconds for a monotonic stamp; None before any anchor."""
        if self._offset is None:
            return None
        return self._offset + mono * self.rate

    def stamp_or_hold(self, mono: float, item: T) -> list[tuple[float, T]]:
        """The item with its UTC time — preceded by everything held so far, once the clock is
        synchronised; before that the item is held and nothing is returned."""
        if self._offset is None:
            if len(self._pending) >= self.max_pending:
                self._pending.popleft()
                self.dropped_pending += 1
                if self.dropped_pending in (1, 10, 100, 1000) or self.dropped_pending % 10000 == 0:
                    log.error("no clock source yet: %d held input(s) dropped (holding at most %d)",
                              self.dropped_pending, self.max_pending)
            self._pending.append((mono, item))
            return []
        out = self.release()
        out.append((self._offset + mono * self.rate, item))
        return out

    def release(self) -> list[tuple[float, T]]:
        """Held inputs with their UTC times (empty until synchronised)."""
        if self._offset is None or not self._pending:
            return []
        off, rate = self._offset, self.rate
        out = [(off + m * rate, it) for m, it in self._pending]
        self._pending.clear()
        return out

    @property
    def pending(self) -> int:
        return len(self._pending)

    def state(self) -> ClockState:
        return ClockState(self.source, self.synced, len(self._pending), self.dropped_pending, self.steps,
                          self._offset)


def system_anchor(clock: ClockDiscipline[T], *, wall: Callable[[], float], mono: Callable[[], float],
                  synchronised: Callable[[], bool] = system_clock_synchronised) -> bool:
    """Anchor ``clock`` on the system clock if the kernel says it is synchronised; returns whether it
    did. The service calls this at start and every minute (I/O edge: it reads the clocks)."""
    if not synchronised():
        return False
    clock.on_system(wall(), mono())
    return True


__all__ = ["ClockDiscipline", "ClockState", "system_anchor", "system_clock_synchronised"]
