"""gpsd source: for units that already run gpsd, read its JSON reports on the TCP socket (port 2947).

We send ``?WATCH={"enable":true,"json":true}`` and turn ``TPV`` reports into :class:`Fix` (time from the
TPV, never from our clock). gpsd may report the same epoch several times while its sentences arrive,
each report more complete; we keep the latest TPV of an epoch and release it when a TPV with another
time arrives, or when no newer report came for ``hold_s`` seconds (monotonic). TPVs without a time
(no fix yet) are counted and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import select
import socket
import time
from datetime import datetime

from hw.gnss.config import GnssConfig
from hw.gnss.fix import Fix, FixMode
from hw.gnss.source import Backoff, GnssSource
from transit.ratelimit import RateLimitedLog
from transit.timeutil import parse_iso

log = logging.getLogger(__name__)

WATCH = b'?WATCH={"enable":true,"json":true}\n'
_MAX_LINE = 1 << 20  # gpsd SKY reports with many satellites run to ~10 kB; bound the buffer anyway


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def tpv_to_fix(tpv: dict[str, object]) -> Fix | None:
    """A gpsd TPV report → :class:`Fix`; None without a usable time. Raises ValueError on bad values."""
    t = tpv.get("time")
    if not isinstance(t, str):
        return None
    mode_v = tpv.get("mode", 0)
    mode = FixMode(mode_v) if isinstance(mode_v, int) and 0 <= mode_v <= 3 else FixMode.UNKNOWN
    alt = _num(tpv.get("altMSL"))
    if alt is None:
        alt = _num(tpv.get("alt"))
    status = tpv.get("status")
    quality = 0
    if mode >= FixMode.FIX_2D:
        # gpsd status: 2 DGPS, 3 RTK fixed, 4 RTK float, 5 DR → GGA-style quality
        quality = {2: 2, 3: 4, 4: 5, 5: 6}.get(status, 1) if isinstance(status, int) else 1
    return Fix(time=parse_iso(t), lat=_num(tpv.get("lat")), lon=_num(tpv.get("lon")), alt_msl=alt,
               speed=_num(tpv.get("speed")), track=_num(tpv.get("track")), mode=mode, quality=quality,
               eph=_num(tpv.get("eph")), sentences=1)


class GpsdSource(GnssSource):
    """Fixes from gpsd's JSON socket, with reconnect and exponential backoff."""

    def __init__(self, config: GnssConfig) -> None:
        self.config = config
        self._sock: socket.socket | None = None
        self._buf = b""
        self._backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s)
        self._warn = RateLimitedLog(log, config.nmea.log_interval_s, clock=time.monotonic)
        self._pending: Fix | None = None
        self._pending_since = 0.0
        self._last_time: datetime | None = None
        self._closed = False
        self.counters = {"reports": 0, "tpv": 0, "tpv_without_time": 0, "bad_json": 0, "bad_tpv": 0,
                         "too_long": 0, "late": 0, "fixes": 0, "connects": 0, "disconnects": 0,
                         "open_failures": 0}
        self._connect()

    def _connect(self) -> bool:
        try:
            sock = socket.create_connection((self.config.host, self.config.port), timeout=2.0)
            sock.sendall(WATCH)
            sock.setblocking(False)
        except OSError as exc:
            self.counters["open_failures"] += 1
            delay = self._backoff.failed()
            self._warn.warn("open", "gpsd: cannot connect to %s:%d (%s); retrying in %.1f s",
                            self.config.host, self.config.port, exc, delay)
            return False
        self._sock = sock
        self._buf = b""
        self.counters["connects"] += 1
        return True

    def _drop(self, why: str) -> None:
        self.counters["disconnects"] += 1
        delay = self._backoff.failed()
        self._warn.warn("disconnect", "gpsd: connection lost (%s); reconnecting in %.1f s", why, delay)
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def read(self, timeout: float | None = None) -> list[Fix]:
        out: list[Fix] = []
        if self._closed:
            return out
        deadline = time.monotonic() + (timeout or 0.0)
        first = True
        while True:
            now = time.monotonic()
            hold_until = self._pending_since + self.config.hold_s if self._pending is not None else deadline
            if self._pending is not None and now >= hold_until:
                self._release(out)
            if out or (now >= deadline and not first):
                return out
            first = False
            wake = max(0.0, min(deadline, hold_until) - now)
            if self._sock is None:
                if self._backoff.ready() and self._connect():
                    continue
                time.sleep(min(self._backoff.wait_s(), wake))
                continue
            try:
                ready, _, _ = select.select([self._sock], [], [], wake)
                data = self._sock.recv(65536) if ready else None
            except OSError as exc:
                self._drop(str(exc))
                continue
            if data == b"":
                self._drop("closed by gpsd")
            elif data:
                self._backoff.succeeded()
                self._feed(data, out)

    def _feed(self, data: bytes, out: list[Fix]) -> None:
        lines = (self._buf + data).split(b"\n")
        self._buf = lines.pop()
        if len(self._buf) > _MAX_LINE:
            self.counters["too_long"] += 1
            self._buf = b""
        for line in lines:
            if line.strip():
                self._report(line, out)

    def _report(self, line: bytes, out: list[Fix]) -> None:
        c = self.counters
        c["reports"] += 1
        try:
            obj = json.loads(line)
        except ValueError:
            c["bad_json"] += 1
            self._warn.warn("json", "gpsd: not JSON: %r", line[:80])
            return
        if not isinstance(obj, dict) or obj.get("class") != "TPV":
            return
        c["tpv"] += 1
        try:
            fix = tpv_to_fix(obj)
        except (ValueError, TypeError) as exc:
            c["bad_tpv"] += 1
            self._warn.warn("tpv", "gpsd: unusable TPV (%s): %r", exc, line[:120])
            return
        if fix is None:
            c["tpv_without_time"] += 1
            return
        if self._pending is not None and self._pending.time != fix.time:
            self._release(out)
        if fix.time == self._last_time:
            c["late"] += 1  # a report for the epoch just released (a time going backwards is kept:
            return  # the receiver or gpsd restarted, and dropping until it catches up would lose data)
        self._pending = fix
        self._pending_since = time.monotonic()

    def _release(self, out: list[Fix]) -> None:
        fix, self._pending = self._pending, None
        if fix is not None:
            out.append(fix)
            self._last_time = fix.time
            self.counters["fixes"] += 1

    def close(self) -> None:
        self._closed = True
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def stats(self) -> dict[str, int]:
        return dict(self.counters)
