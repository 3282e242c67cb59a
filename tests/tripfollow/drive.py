"""Hand-made vehicle motion for trip-following tests: drive/stand along a shape, sampled as the CAN bus
(10 Hz wheel speed, odometer, doors) and a GNSS receiver (1 Hz or 10 Hz fixes) would report it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hw.can.state import VehicleState
from hw.gnss.fix import Fix, FixMode
from onboard.service.bootstrap import wire
from onboard.tripfollow import Core, CoreConfig, FollowConfig, PlanStop, TripPlan, make_plan
from onboard.tripfollow.pipeline import Pipeline
from transit.geo import Polyline
from transit.records import Record, TripRef

# a straight 20 km line north from Hillerød
SHAPE = Polyline([(55.90, 12.30), (55.90 + 20000 / 111195.0, 12.30)])
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC).timestamp()


@dataclass
class Drive:
    """Vehicle middle/antenna chainage ``x`` over time; ``stops`` are the true standstill starts."""

    t: float = T0
    x: float = 0.0
    dt: float = 0.02
    samples: list[tuple[float, float, float, bool]] = field(default_factory=list)  # t, x, v, doors
    standstills: list[tuple[float, float]] = field(default_factory=list)  # (t, x) when v reached 0
    doors: bool = False

    def _add(self, v: float) -> None:
        if not self.samples or self.t - self.samples[-1][0] >= 0.1 - 1e-9:
            self.samples.append((round(self.t, 3), self.x, v, self.doors))

    def stand(self, seconds: float, doors: tuple[float, float] | None = None) -> Drive:
        """Stand still; ``doors`` = (open after s, close after s)."""
        end = self.t + seconds
        start = self.t
        while self.t < end - 1e-9:
            if doors is not None:
                self.doors = doors[0] <= self.t - start < doors[1]
            self._add(0.0)
            self.t = min(self.t + 0.1, end) if end - self.t > 0.1 else self.t + self.dt
        self.doors = False
        return self

    def drive_to(self, x_target: float, vmax: float = 20.0, a: float = 0.9, b: float = 0.8) -> Drive:
        v = 0.0
        while True:
            s = x_target - self.x
            if s <= 1e-3:
                break
            vt = min(vmax, math.sqrt(2 * b * s))
            v = min(vt, v + a * self.dt) if v < vt else max(vt, v - 1.5 * b * self.dt)
            step = min(v * self.dt, s)
            self.x += step
            self.t += self.dt
            self._add(v)
            if step <= 1e-9 and v <= 1e-6:
                break
        self.x = x_target
        self.standstills.append((self.t, self.x))
        self._add(0.0)
        return self

    def pass_time(self, x: float) -> float:
        for (t0, x0, _v0, _d0), (t1, x1, _v1, _d1) in zip(self.samples, self.samples[1:], strict=False):
            if x0 <= x <= x1 and x1 > x0:
                return t0 + (t1 - t0) * (x - x0) / (x1 - x0)
        raise ValueError("never passed")


def inputs(d: Drive, *, gnss_hz: float = 1.0, can: bool = True, gnss_gaps: tuple[tuple[float, float], ...] = (),
           outliers: dict[float, float] | None = None, shape: Polyline = SHAPE,
           can_speed: bool = True, cutoff_mps: float = 0.0) -> list[tuple[float, str, Any]]:
    """Merge CAN states (each sample) and GNSS fixes (``gnss_hz``) by time. ``gnss_gaps``: chainage
    ranges without a fix; ``outliers``: fix time -> metres the fix is displaced along the line."""
    out: list[tuple[float, str, Any]] = []
    odo0 = 812_345_000.0
    every = round(1.0 / gnss_hz / 0.1)
    for i, (t, x, v, doors) in enumerate(d.samples):
        ts = datetime.fromtimestamp(t, UTC)
        if can:
            if can_speed:
                # a wheel-speed sensor reads 0 below its cutoff (a few km/h on real buses)
                vc = v if v >= cutoff_mps else 0.0
                out.append((t, "can", VehicleState(ts, vc, odo0 + 5.0 * (x // 5.0), False, (), doors)))
            else:  # a bus without wheel speed on its CAN gateway: doors only
                out.append((t, "can", VehicleState(ts, None, None, None, (), doors)))
        if i % every == 0 and not any(a <= x <= b for a, b in gnss_gaps):
            off = (outliers or {}).get(round(t), 0.0)
            lat, lon, _h = shape.point_at(x + off)
            out.append((t, "fix", Fix(ts, lat, lon, 10.0, v, 0.0, FixMode.FIX_3D, 1, 0.9, 12)))
    return out


def run(core: Pipeline, items: list[tuple[float, str, Any]], finish: bool = True) -> list[Record]:
    recs: list[Record] = []
    for _t, kind, obj in sorted(items, key=lambda x: (x[0], x[1] == "fix")):
        recs += core.on_vehicle(obj) if kind == "can" else core.on_fix(obj)
    if finish:
        recs += core.finish()
    return recs


def stop(sid: str, x: float, arr: float | None, dep: float | None, *, seq: int | None = 1,
         served: bool = True, timepoint: bool = True) -> PlanStop:
    return PlanStop(sid, sid, sid.title(), seq, x, arr, dep, served, timepoint)


def plan(stops: list[PlanStop], trip_id: str = "T1", route: str = "920R", oday: str = "2026-11-23",
         shape: Polyline = SHAPE) -> TripPlan:
    return make_plan(TripRef(trip_id, oday, route, 0, "07:00"), shape, stops)


def core_for(plans: list[TripPlan], operator: Any = None, mode: str = "train", vp: float = 0.0) -> Pipeline:
    """The core with its consumers as the service wires them (punctuality when an operator is given)."""
    cfg = CoreConfig("veh1", "lokaltog", mode, FollowConfig.for_mode(mode), vp_interval_s=vp)
    return wire(Core(cfg, plans=plans), operator=operator)


def events(recs: list[Record], *names: str) -> list[Any]:
    """The records of these kinds (typed: read their fields as attributes)."""
    return [r for r in recs if r.event in names]
