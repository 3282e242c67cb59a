"""Vehicle CAN traffic from the truth track: Bus-FMS CCVS1, DC1, DC2, VDHR plus background load.

Frames are encoded with the project's DBC through :class:`hw.can.fms.FmsEncoder`, at the rates a bus's
FMS gateway uses (CCVS1 100 ms, DC1/DC2 periodic and on change, VDHR 1 s). Background traffic (engine,
transmission, brakes, ambient ...) fills the configured load so a receiver's filters and throughput are
exercised. Each message type is a lazily generated, time-sorted stream; :func:`frames` merges them, so a
whole trip (about a million frames) never sits in memory.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from hw.can.fms import FmsEncoder
from hw.can.j1939 import make_id
from hw.can.state import DoorState
from sim_bus.motion import DoorCycle, MotionResult, Track
from sim_bus.scenario import CanDef, VehicleDef

ENGINE_SA = 0x00  # engine controller: EEC1, CCVS1
BODY_SA = 0x21  # body controller: DC1, DC2
CLUSTER_SA = 0x17  # instrument cluster: VDHR
TACHO_SA = 0xEE  # tachograph: TCO1

#: Background parameter groups (PGN, source address, priority) a bus's J1939 network carries.
_BACKGROUND = [
    (0xF003, 0x00, 3),  # EEC2 accelerator pedal
    (0xF002, 0x03, 3),  # ETC1 transmission
    (0xF001, 0x0B, 6),  # EBC1 brakes
    (0xFEEE, 0x00, 6),  # ET1 engine temperature
    (0xFEF2, 0x00, 6),  # LFE fuel economy
    (0xFEF5, 0x00, 6),  # AMB ambient conditions
    (0xFEEF, 0x00, 6),  # EFL/P1 engine fluid level/pressure
    (0xFEF7, 0x00, 6),  # VEP1 vehicle electrical power
    (0xFEE5, 0x00, 6),  # HOURS engine hours
    (0xFEC0, 0x21, 6),  # service information
]


#: ``Frame.order`` of the messages a unit's vehicle state is built from (CCVS1, DC1, DC2, VDHR): the
#: frames its J1939 filters let through; EEC1 (5), TCO1 (6) and the background (10+) are not needed
NEEDED_ORDERS = frozenset({1, 2, 3, 4})


@dataclass(frozen=True, order=True)
class Frame:
    t_us: int  # epoch microseconds
    order: int  # tie-break between streams (deterministic merge)
    can_id: int
    data: bytes

    def candump(self, channel: str) -> str:
        """``(1700000000.123456) can0 18FEF100#FFFF...`` as ``candump -l`` writes it."""
        return f"({self.t_us // 1_000_000}.{self.t_us % 1_000_000:06d}) {channel} {self.can_id:08X}#{self.data.hex().upper()}"


class WheelSensor:
    """The wheel-based speed a vehicle's gateway reports, not the true speed: the ECU low-pass filters
    the pulse-derived speed (time constant ``wheel_lag_ms``), refreshes it every ``wheel_update_ms``
    (held in between), and reads 0 below ``wheel_cutoff_kmh`` where the time between wheel pulses
    gets too long to measure. Scaled by ``wheel_scale``. Queried at non-decreasing times."""

    def __init__(self, track: Track, cfg: CanDef) -> None:
        self.track = track
        self.scale = cfg.wheel_scale
        self.step = cfg.wheel_update_ms / 1000.0
        # exact discretisation of a first-order lag for an input held over one update interval
        self.alpha = 1.0 - math.exp(-self.step / (cfg.wheel_lag_ms / 1000.0)) if cfg.wheel_lag_ms > 0 else 1.0
        self.cutoff = cfg.wheel_cutoff_kmh / 3.6
        self.t0 = track.t[0] if track.t else 0.0
        self.k = 0
        self.y = track.at(self.t0).v * self.scale if track.t else 0.0
        self.out = self.y if self.y >= self.cutoff else 0.0

    def at(self, t: float) -> float:
        """The value last published at or before ``t`` (m/s)."""
        while self.t0 + (self.k + 1) * self.step <= t:
            self.k += 1
            v = self.track.at(self.t0 + self.k * self.step).v * self.scale
            self.y += self.alpha * (v - self.y)
            self.out = self.y if self.y >= max(self.cutoff, 1e-4) else 0.0
        return self.out


class CanModel:
    def __init__(self, motion: MotionResult, cfg: CanDef, vehicle: VehicleDef, seed: int) -> None:
        self.m = motion
        self.cfg = cfg
        self.vehicle = vehicle
        self.seed = seed
        self.engine = FmsEncoder(ENGINE_SA)
        self.body = FmsEncoder(BODY_SA)
        self.cluster = FmsEncoder(CLUSTER_SA)
        self.tacho = FmsEncoder(TACHO_SA)
        self.t0_us = round(motion.t_start * 1e6)
        self.t1_us = round(motion.t_end * 1e6)
        # door state changes: (t, door, open, enabled, closing)
        ev: list[tuple[float, int, str, bool]] = []
        # the body controller learns of a door's state change door_latency_ms late (DC1 and DC2 alike)
        lat = cfg.door_latency_ms / 1000.0
        for c0 in motion.doors:
            c = DoorCycle(c0.door, c0.enabled + lat, c0.opened + lat, c0.closing + lat, c0.closed + lat)
            ev += [(c.enabled, c.door, "enabled", True), (c.opened, c.door, "open", True),
                   (c.closing, c.door, "enabled", False), (c.closing, c.door, "closing", True),
                   (c.closed, c.door, "open", False), (c.closed, c.door, "closing", False)]
        ev.sort()
        self.door_events = ev

    def _periodic(self, period_ms: float, phase_ms: float, rng: random.Random) -> Iterator[int]:
        period = round(period_ms * 1000)
        # jitter below half a period keeps each stream in time order (heapq.merge relies on it)
        jit = min(round(self.cfg.jitter_ms * 1000), max(period // 2 - 1, 0))
        t = self.t0_us + round(phase_ms * 1000)
        while t <= self.t1_us:
            yield t + (rng.randint(-jit, jit) if jit else 0)
            t += period

    def ccvs1(self) -> Iterator[Frame]:
        rng = random.Random(f"{self.seed}:can:ccvs1")
        parked = self.m.parked
        wheel = WheelSensor(self.m.track, self.cfg)
        for t_us in self._periodic(self.cfg.ccvs1_ms, 3.0, rng):
            t = t_us / 1e6
            p = self.m.track.at(t)
            pb = any(a <= t < b for a, b in parked)
            brake = self.m.track.accel_at(t) < -0.05 or (p.v < 0.01 and not pb)
            msg = _ccvs1(self.engine, round(wheel.at(t) * 3.6 * 256), pb, brake)
            yield Frame(t_us, 1, msg[0], msg[1])

    def vdhr(self) -> Iterator[Frame]:
        rng = random.Random(f"{self.seed}:can:vdhr")
        odo0 = self.m.track.odo[0]
        k = self.cfg.wheel_scale
        trip_start = {0: odo0}
        for t_us in self._periodic(self.cfg.vdhr_ms, 41.0, rng):
            p = self.m.track.at(t_us / 1e6)
            start = trip_start.setdefault(p.trip, p.odo)
            msg = self.cluster.vdhr(odo0 + (p.odo - odo0) * k, (p.odo - start) * k)
            yield Frame(t_us, 4, msg.arbitration_id, bytes(msg.data))

    def doors(self) -> Iterator[Frame]:
        """DC1 and DC2: periodic, and 5 ms after every door state change."""
        rng = random.Random(f"{self.seed}:can:doors")
        n = len(self.vehicle.doors)
        state = {d: {"open": False, "enabled": False, "closing": False} for d in range(1, n + 1)}
        dc1 = self._periodic(self.cfg.dc1_ms, 17.0, rng)
        dc2 = self._periodic(self.cfg.dc2_ms, 23.0, rng)
        changes = iter(sorted({round(e[0] * 1e6) + 5000 for e in self.door_events}))
        times = heapq.merge(((t, 2) for t in dc1), ((t, 3) for t in dc2),
                            ((t, 0) for t in changes))
        ei = 0
        ev = self.door_events
        for t_us, kind in times:
            if t_us > self.t1_us:
                break
            t = t_us / 1e6
            while ei < len(ev) and ev[ei][0] <= t:
                _, door, key, val = ev[ei]
                state[door][key] = val
                ei += 1
            doors = [DoorState(d, s["open"], s["enabled"]) for d, s in sorted(state.items())]
            closing = any(s["closing"] for s in state.values())
            any_open = any(s["open"] for s in state.values())
            if kind in (0, 2):
                m1 = self.body.dc1(any_open and not closing, closing_last=closing,
                                   any_enabled=any(s["enabled"] for s in state.values()))
                yield Frame(t_us, 2, m1.arbitration_id, bytes(m1.data))
            if kind in (0, 3):
                m2 = self.body.dc2(doors)
                yield Frame(t_us, 3, m2.arbitration_id, bytes(m2.data))

    def eec1(self, period_ms: float) -> Iterator[Frame]:
        rng = random.Random(f"{self.seed}:can:eec1")
        for t_us in self._periodic(period_ms, 1.0, rng):
            p = self.m.track.at(t_us / 1e6)
            rpm = 650 + min(p.v * 45.0, 1500.0) + 8 * math.sin(t_us / 7.3e5)
            cid, data = _eec1(self.engine, round(rpm))
            yield Frame(t_us, 5, cid, data)

    def tco1(self, period_ms: float) -> Iterator[Frame]:
        """TCO1 from the tachograph: its own speed (same wheel sensor) and vehicle motion."""
        rng = random.Random(f"{self.seed}:can:tco1")
        wheel = WheelSensor(self.m.track, self.cfg)
        for t_us in self._periodic(period_ms, 7.0, rng):
            v = wheel.at(t_us / 1e6)
            cid, data = _tco1(self.tacho, round(v * 3.6 * 256), v > 0.1)
            yield Frame(t_us, 6, cid, data)

    def background(self, fps: float) -> Iterator[Frame]:
        """Other parameter groups sharing ``fps`` frames/s; payload: fixed per group plus a counter."""
        rng = random.Random(f"{self.seed}:can:bg")
        streams = []
        per = fps / len(_BACKGROUND)
        for i, (pgn, sa, prio) in enumerate(_BACKGROUND):
            cid = make_id(pgn, sa, prio)
            base = bytes(rng.randrange(256) for _ in range(7))
            period_ms = 1000.0 / per
            times = self._periodic(period_ms, rng.uniform(0, period_ms), random.Random(f"{self.seed}:bg{i}"))
            streams.append(_bg_stream(times, 10 + i, cid, base))
        return heapq.merge(*streams)


def _bg_stream(times: Iterator[int], order: int, cid: int, base: bytes) -> Iterator[Frame]:
    for k, t in enumerate(times):
        yield Frame(t, order, cid, base + bytes((k & 0xFF,)))


@lru_cache(maxsize=4096)
def _eec1_cached(enc: FmsEncoder, rpm: int) -> tuple[int, bytes]:
    m = enc.eec1(float(rpm))
    return m.arbitration_id, bytes(m.data)


def _eec1(enc: FmsEncoder, rpm: int) -> tuple[int, bytes]:
    return _eec1_cached(enc, rpm)


@lru_cache(maxsize=65536)
def _ccvs1(enc: FmsEncoder, raw_speed: int, pb: bool, brake: bool) -> tuple[int, bytes]:
    m = enc.ccvs1(raw_speed / 256 / 3.6, pb, brake=brake)
    return m.arbitration_id, bytes(m.data)


@lru_cache(maxsize=65536)
def _tco1(enc: FmsEncoder, raw_speed: int, moving: bool) -> tuple[int, bytes]:
    m = enc.tco1(raw_speed / 256 / 3.6, moving=moving)
    return m.arbitration_id, bytes(m.data)


def frames(motion: MotionResult, cfg: CanDef, vehicle: VehicleDef, seed: int) -> Iterator[Frame]:
    """All frames of the run in time order (deterministic for ``seed``)."""
    cm = CanModel(motion, cfg, vehicle, seed)
    streams: list[Iterator[Frame]] = [cm.ccvs1(), cm.doors(), cm.vdhr()]
    bg = cfg.background_fps
    # EEC1 (50 Hz) and TCO1 (20 Hz) carry real values and count towards the background load.
    for period_ms, stream in ((20.0, cm.eec1), (50.0, cm.tco1)):
        fps = 1000.0 / period_ms
        if bg >= fps:
            streams.append(stream(period_ms))
            bg -= fps
        elif bg > 0:
            streams.append(stream(1000.0 / bg))
            bg = 0
    if bg > 0:
        streams.append(cm.background(bg))
    return heapq.merge(*streams)
