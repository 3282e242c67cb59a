"""Stop events of one trip (HSL HFP meaning), from position, standstill and doors.

Per stop, along the trip in driving order:

* ``due`` — the vehicle is within ``due_m`` of a stop it is to serve;
* ``arr`` — it entered the stop zone (``zone_before_m`` before .. ``zone_after_m`` after the point where
  the antenna is when the vehicle halts there);
* ``ars`` — it came to a standstill inside the zone, or opened its doors while standing within
  ``door_zone_m``: the time is the interpolated moment speed reached zero. A standstill outside every zone
  (a signal before the station, a queue, an unplanned stop) is not an arrival. After ``ars`` a second
  standstill inside the same zone (a long platform, pulling up) belongs to the same visit;
* ``pde`` — all doors closed after the arrival; ``wait`` — closed ahead of the scheduled departure at a
  stop where the vehicle is held (timing point);
* ``dep`` — it left the zone after ``ars``, stamped with the moment it started moving;
* ``pas`` — it left the zone without an arrival (an express through a station, a skipped stop), stamped
  with the moment the antenna passed the stop.

The trip's first stop: the vehicle is standing there when the trip begins, so its ``ars`` is the
later of standstill and trip start. Stops behind the first known position were never observed: no
event (punctuality records them as missing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from onboard.tripfollow.plan import PlanStop, TripPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FollowConfig:
    """Zones and timings; defaults per mode from :meth:`for_mode` (numbers are physical, see docs)."""

    zone_before_m: float = 150.0
    zone_after_m: float = 120.0
    door_zone_m: float = 250.0
    due_m: float = 600.0
    halt_offset_m: float = 0.0  # antenna chainage at halt minus the stop's chainage
    min_dwell_s: float = 20.0  # shortest dwell the ETA model assumes
    hold_at: str = "all"  # where the vehicle never leaves early: all | timepoints | none
    wait_min_s: float = 5.0  # closed this long before the scheduled departure: 'wait'
    terminus_done_s: float = 60.0  # trip complete this long after the terminus arrival (doors closed)

    @classmethod
    def for_mode(cls, mode: str, *, halt_offset_m: float = 0.0) -> FollowConfig:
        if mode == "bus":
            # a 12-18 m bus halts at the pole; queues and lights 80 m back are not the stop
            return cls(zone_before_m=45.0, zone_after_m=30.0, door_zone_m=70.0, due_m=200.0,
                       halt_offset_m=halt_offset_m, min_dwell_s=10.0, hold_at="timepoints")
        # a Lint 41 unit is 42 m and may halt anywhere on a 100-170 m platform; home signals sit 200+ m
        # before the platform end
        return cls(halt_offset_m=halt_offset_m)


Event = tuple[str, float, int, dict[str, Any]]  # (event, time, index into plan.stops, fields)


@dataclass
class _Visit:
    arr: float | None = None
    ars: float | None = None
    due: bool = False
    doors_opened: bool = False
    pde: float | None = None


@dataclass
class TripFollower:
    """The stop-event state machine of one trip; ``step`` after each input, in time order."""

    plan: TripPlan
    cfg: FollowConfig
    t_active: float
    i: int = 0  # next stop not yet left (index into plan.stops)
    visits: dict[int, _Visit] = field(default_factory=dict)
    done: dict[int, str] = field(default_factory=dict)  # index -> 'dep' | 'pas' | 'unobserved' | 'terminus'
    complete: bool = False
    s_first: float | None = None
    unplanned_stops: int = 0

    def halt(self, k: int) -> float:
        return self.plan.stops[k].chainage_m + self.cfg.halt_offset_m

    @property
    def terminus(self) -> int:
        served = [k for k, s in enumerate(self.plan.stops) if s.served]
        return served[-1]

    @property
    def origin(self) -> int:
        return next(k for k, s in enumerate(self.plan.stops) if s.served)

    def current_visit(self) -> int | None:
        """Index of the stop the vehicle is at (arrived, not yet departed)."""
        v = self.visits.get(self.i)
        return self.i if v is not None and v.ars is not None and self.i not in self.done else None

    def step(self, t: float, s: float | None, stopped: bool | None, stand_since: float | None,
             move_since: float | None, doors_open: bool, time_at: Callable[[float], float | None]) -> list[Event]:
        out: list[Event] = []
        if s is None or self.complete:
            return out
        if self.s_first is None:
            self.s_first = s
        cfg = self.cfg
        stops = self.plan.stops
        while self.i < len(stops):
            k = self.i
            st = stops[k]
            c = self.halt(k)
            v = self.visits.setdefault(k, _Visit())
            if self.s_first > c + cfg.zone_after_m and v.arr is None:
                self.done[k] = "unobserved"
                self.i += 1
                continue
            if st.served and not v.due and s >= c - cfg.due_m:
                v.due = True
                out.append(("due", t, k, {}))
            in_zone = c - cfg.zone_before_m <= s <= c + cfg.zone_after_m
            if st.served and v.arr is None and s >= c - cfg.zone_before_m:
                v.arr = t
                out.append(("arr", t, k, {}))
            near_door = doors_open and c - cfg.door_zone_m <= s <= c + cfg.door_zone_m
            if st.served and v.ars is None and (stopped or near_door):
                # open doors mean standing even when no speed source says so (no CAN speed and a
                # stale GNSS speed under a roof): then the door time is the best arrival time known
                # the extrapolated standstill may lie ahead of the data (a wheel sensor reads 0 below its
                # cutoff while the vehicle still rolls): wait for it, doors opening may correct it
                settled = stand_since is None or stand_since <= t
                if (in_zone and stopped and settled) or near_door:
                    t_ars = max(stand_since if stopped and stand_since is not None else t, self.t_active)
                    if k == self.origin:
                        t_ars = max(t_ars, self.t_active)
                    v.ars = t_ars
                    if v.arr is None:
                        v.arr = t_ars
                    out.append(("ars", t_ars, k, {}))
            if k == self.terminus and v.ars is not None:
                if not doors_open and (v.pde is not None or t - v.ars >= cfg.terminus_done_s):
                    self.done[k] = "terminus"
                    self.complete = True
                break
            if s > c + cfg.zone_after_m:
                if v.ars is not None:
                    t_dep = move_since if move_since is not None and move_since >= v.ars else t
                    out.append(("dep", t_dep, k, {}))
                    self.done[k] = "dep"
                elif k == self.origin:
                    # a trip starts at its first stop; without a standstill or door seen there (no
                    # speed source yet) nothing is known about it: not a pass
                    self.done[k] = "unobserved"
                else:
                    tp = time_at(c)
                    out.append(("pas", tp if tp is not None else t, k, {"skipped": st.served}))
                    self.done[k] = "pas"
                self.i += 1
                continue
            break
        if self.i >= len(stops):
            self.complete = True
        return out

    def on_doors(self, t: float, opened: bool) -> list[Event]:
        """Door transitions at the current visit: ``pde`` (and ``wait`` when held) on closing."""
        out: list[Event] = []
        k = self.current_visit()
        if k is None:
            return out
        v = self.visits[k]
        st = self.plan.stops[k]
        if opened:
            v.doors_opened = True
            v.pde = None
            return out
        if v.doors_opened and v.pde is None:
            v.pde = t
            out.append(("pde", t, k, {}))
            if st.sched_dep is not None and k != self.terminus and self.held(st) \
                    and st.sched_dep - t >= self.cfg.wait_min_s:
                out.append(("wait", t, k, {"wait_s": round(st.sched_dep - t, 1)}))
        return out

    def held(self, st: PlanStop) -> bool:
        return self.cfg.hold_at == "all" or (self.cfg.hold_at == "timepoints" and st.timepoint)

    def in_any_zone(self, s: float) -> bool:
        for k in range(max(self.i - 1, 0), min(self.i + 2, len(self.plan.stops))):
            c = self.halt(k)
            if c - self.cfg.zone_before_m <= s <= c + self.cfg.zone_after_m:
                return True
        return False


__all__ = ["Event", "FollowConfig", "TripFollower"]
