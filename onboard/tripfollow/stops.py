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

Blindness. While the unit has no observation (no accepted fix, no odometer: a covered platform, a
cutting, a receiver without fix) it makes no stop decision at all: a ``pas`` is a claim that the vehicle
skipped a stop, and needs positions on both sides of the stop while moving. When the unit sees again,
the stops inside the :class:`~onboard.tripfollow.position.Gap` get what the physics of the two ends
allows (``_after_gap``):

* it cannot have stopped (too little time between the two observations to brake, stand and pull away
  even at the highest plausible rates): ``pas``, marked ``loc: EST``;
* it can have: arrival and departure estimated from the last observation before (position, speed) and
  the first after, driving at its own speed at typical rates (``est_accel_mps2``); the bounds come from
  the highest plausible rates and speed and a shortest dwell. Within ``est_max_unc_s`` of both bounds:
  ``arr``/``ars``/``dep`` with ``loc: EST`` and ``unc_s``; otherwise one ``not_observed`` event with the
  blind interval. Never ``pas``.
* arrived while blind and standing there now: ``ars`` estimated (or ``not_observed`` for the arrival),
  the departure is then seen; standing there before and gone now: ``dep`` estimated.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from onboard.tripfollow.plan import PlanStop, TripPlan
from onboard.tripfollow.position import Gap
from transit.records import iso

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
    # estimates across a blind gap: typical service acceleration/braking, the highest plausible rates and
    # speed (bounds), the shortest stand at a stop, the largest uncertainty worth calling an estimate
    est_accel_mps2: float = 0.8
    est_rate_max_mps2: float = 1.5
    est_vmax_mps: float = 40.0
    est_min_dwell_s: float = 5.0
    # a stop served takes at least a door cycle: to estimate a visit, the time spent must leave this
    # much beyond driving to the stop and away from it at typical rates (else it may have gone through)
    est_visit_dwell_s: float = 10.0
    est_max_unc_s: float = 60.0
    rest_mps: float = 0.5  # the speed of the first observation after a gap at or below this: standing

    @classmethod
    def for_mode(cls, mode: str, *, halt_offset_m: float = 0.0) -> FollowConfig:
        if mode == "bus":
            # a 12-18 m bus halts at the pole; queues and lights 80 m back are not the stop
            return cls(zone_before_m=45.0, zone_after_m=30.0, door_zone_m=70.0, due_m=200.0,
                       halt_offset_m=halt_offset_m, min_dwell_s=10.0, hold_at="timepoints", est_vmax_mps=25.0)
        # a Lint 41 unit is 42 m and may halt anywhere on a 100-170 m platform; home signals sit 200+ m
        # before the platform end
        return cls(halt_offset_m=halt_offset_m)


Event = tuple[str, float, int, dict[str, Any]]  # (event, time, index into plan.stops, fields)


class Sight(Protocol):
    """What the position tracker tells the follower about what the unit saw."""

    gaps: list[Gap]

    def observing(self, t: float) -> bool: ...


@dataclass
class _Visit:
    arr: float | None = None
    ars: float | None = None
    due: bool = False
    doors_opened: bool = False
    pde: float | None = None
    s_stand: float | None = None  # where the vehicle stood
    dep: float | None = None  # when it left (observed or estimated across a blind gap): running times for ETAs
    dep_est: tuple[float, float] | None = None  # it left while the unit was blind: (time, uncertainty)


class VisitSnapshot(msgspec.Struct, frozen=True):
    """One stop's visit as data: what was already seen and emitted there."""

    k: int
    arr: float | None
    ars: float | None
    due: bool
    doors_opened: bool
    pde: float | None
    s_stand: float | None
    dep_est: tuple[float, float] | None
    dep: float | None = None


class FollowerSnapshot(msgspec.Struct, frozen=True):
    """The stop progress of one trip (:meth:`TripFollower.snapshot`): next stop, open dwell, the events
    each stop already had. The plan is not in it: it is built again from the timetable."""

    t_active: float
    i: int
    visits: list[VisitSnapshot]
    done: dict[int, str]
    complete: bool
    s_first: float | None
    unplanned_stops: int
    halts: dict[int, float] = {}


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
    gaps_done: int = 0  # blind gaps of the tracker already resolved
    #: seconds stood still between stops (a signal, a queue) on the way to stop index k: not running, so
    #: the running the trip achieves is learned without them (:func:`onboard.tripfollow.eta.learn`)
    halts: dict[int, float] = field(default_factory=dict)

    def halt(self, k: int) -> float:
        return self.plan.stops[k].chainage_m + self.cfg.halt_offset_m

    def snapshot(self) -> FollowerSnapshot:
        return FollowerSnapshot(self.t_active, self.i,
                                [VisitSnapshot(k, v.arr, v.ars, v.due, v.doors_opened, v.pde, v.s_stand, v.dep_est, v.dep)
                                 for k, v in sorted(self.visits.items())],
                                dict(self.done), self.complete, self.s_first, self.unplanned_stops,
                                dict(self.halts))

    @classmethod
    def restored(cls, plan: TripPlan, cfg: FollowConfig, st: FollowerSnapshot) -> TripFollower:
        """The follower of ``plan`` as :meth:`snapshot` left it. The tracker's blind gaps start anew with
        the restored tracker (``gaps_done`` 0): the time the unit was down is the first of them."""
        n = len(plan.stops)
        if not 0 <= st.i <= n or any(not 0 <= v.k < n for v in st.visits) or any(not 0 <= k < n for k in st.done):
            raise ValueError(f"snapshot does not fit trip {plan.ref.trip_id} ({n} stops)")
        visits = {v.k: _Visit(arr=v.arr, ars=v.ars, due=v.due, doors_opened=v.doors_opened, pde=v.pde,
                              s_stand=v.s_stand, dep=v.dep,
                              dep_est=None if v.dep_est is None else (v.dep_est[0], v.dep_est[1]))
                  for v in st.visits}
        return cls(plan, cfg, st.t_active, st.i, visits, dict(st.done), st.complete, st.s_first,
                   st.unplanned_stops, 0, {k: h for k, h in st.halts.items() if 0 <= k < n and h >= 0.0})

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
             move_since: float | None, doors_open: bool, time_at: Callable[[float], float | None],
             sight: Sight | None = None) -> list[Event]:
        out: list[Event] = []
        if s is None or self.complete:
            return out
        cfg = self.cfg
        stops = self.plan.stops
        if sight is not None:
            if not sight.observing(t):
                # blind: no decision until the unit sees again; open doors still mean standing
                if doors_open and self.i < len(stops) and stops[self.i].served:
                    v = self.visits.setdefault(self.i, _Visit())
                    c = self.halt(self.i)
                    if v.ars is None and c - cfg.door_zone_m <= s <= c + cfg.door_zone_m:
                        v.ars = max(t, self.t_active)
                        v.arr = v.arr if v.arr is not None else v.ars
                        v.s_stand = s
                        out.append(("ars", v.ars, self.i, {}))
                return out
            while self.gaps_done < len(sight.gaps):
                g = sight.gaps[self.gaps_done]
                self.gaps_done += 1
                out += self._after_gap(g, move_since)
        if self.s_first is None:
            self.s_first = s
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
                    v.s_stand = s
                    if v.arr is None:
                        v.arr = t_ars
                    out.append(("ars", t_ars, k, {}))
            if k == self.terminus and v.ars is not None:
                if not doors_open and (v.pde is not None or t - v.ars >= cfg.terminus_done_s):
                    self.done[k] = "terminus"
                    self.complete = True
                break
            if s > c + cfg.zone_after_m:
                if v.dep_est is not None:
                    # it left while the unit was blind
                    out.append(("dep", v.dep_est[0], k, {"loc": "EST", "unc_s": round(v.dep_est[1], 1)}))
                    self.done[k] = "dep"
                    v.dep = v.dep_est[0]
                elif v.ars is not None:
                    t_dep = move_since if move_since is not None and move_since >= v.ars else t
                    out.append(("dep", t_dep, k, {}))
                    self.done[k] = "dep"
                    v.dep = t_dep
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

    # -- blindness ------------------------------------------------------------------------------------------
    def _after_gap(self, g: Gap, move_since: float | None) -> list[Event]:
        """The unit sees again after ``g``: what can be said of the stops the vehicle reached meanwhile."""
        out: list[Event] = []
        cfg = self.cfg
        stops = self.plan.stops
        standing = g.v1 <= cfg.rest_mps
        whole = g  # the gap as seen; ``g`` becomes the rest of it after a stop estimated inside it
        carried = 0.0  # the uncertainty of that stop's departure, carried to the next estimates
        unknown = False  # a stop inside the gap could not be estimated: nothing later in it can
        while self.i < len(stops):
            k = self.i
            st = stops[k]
            c = self.halt(k)
            v = self.visits.setdefault(k, _Visit())
            z0, z1 = c - cfg.zone_before_m, c + cfg.zone_after_m
            # a trip begins with the vehicle at its first stop: that one is never passed
            stood = v.ars is not None or k == self.origin
            if stood:
                # standing here when the unit went blind (or assumed to, at the first stop)
                x = v.s_stand if v.s_stand is not None else g.s0
                started = move_since is not None and v.ars is not None and v.ars <= move_since <= g.t0 + 1.0
                if (g.v0 > cfg.rest_mps or started) and not g.assumed:
                    # it was moving off already when the unit went blind: the start was seen
                    if g.s1 <= z1:
                        break
                    if v.ars is None:
                        self.done[k] = "unobserved"  # the first stop, never seen standing
                    else:
                        t_dep = move_since if move_since is not None and move_since >= v.ars else g.t0
                        out.append(("dep", t_dep, k, {}))
                        self.done[k] = "dep"
                        v.dep = t_dep
                    self.i += 1
                    continue
                if g.s1 - x > 3.0 and not (standing and g.s1 <= z1):
                    v.dep_est = self._departure(g, x, v.ars if v.ars is not None else g.t0)
                    if g.s1 > z1:
                        v.dep = v.dep_est[0]
                        if v.ars is None:
                            # the first stop: standing assumed, never seen: only the departure is known
                            self.done[k] = "dep"
                            out.append(("dep", v.dep_est[0], k, {"loc": "EST", "unc_s": round(v.dep_est[1], 1)}))
                            self.i += 1
                            continue
                        out.append(("dep", v.dep_est[0], k, {"loc": "EST", "unc_s": round(v.dep_est[1], 1)}))
                        self.done[k] = "dep"
                        self.i += 1
                        continue
                break
            if g.s1 < z0 or g.s0 > z1:
                break  # not reached yet (or the gap began beyond it: the normal rules apply)
            if g.s1 < c and not standing:
                # approaching inside the zone, the halt point still ahead: the arrival will be seen
                if st.served and v.arr is None:
                    te = _crossing(g, max(z0, g.s0))
                    v.arr = te
                    out.append(("arr", te, k, {"loc": "EST", "unc_s": round((g.t1 - g.t0) / 2.0, 1)}))
                break
            if standing and g.s1 <= z1:
                if not st.served:
                    break
                # arrived while blind, standing at the stop now: the departure will be seen
                t_a, unc = self._arrival(g, g.s1, g.t1)
                v.arr = v.arr if v.arr is not None else t_a
                v.ars = t_a
                v.s_stand = g.s1
                if unc <= cfg.est_max_unc_s:
                    out.append(("arr", t_a, k, {"loc": "EST", "unc_s": round(unc, 1)}))
                    out.append(("ars", t_a, k, {"loc": "EST", "unc_s": round(unc, 1)}))
                else:
                    out.append(self._not_observed(g, k, "arrival"))
                break
            # the halt point was reached or passed while blind and the vehicle is on its way
            if self._no_time_to_stop(whole if unknown else g, c):
                if g.v0 > cfg.rest_mps and g.v1 > cfg.rest_mps:
                    # positions on both sides, moving, and no time to have stopped: it passed
                    out.append(("pas", _crossing(g, c), k, {"skipped": st.served, "loc": "EST",
                                                            "unc_s": round((g.t1 - g.t0) / 2.0, 1)}))
                    self.done[k] = "pas"
                elif st.served:
                    out.append(self._not_observed(g, k, "visit"))
                    self.done[k] = "not_observed"
                else:
                    self.done[k] = "unobserved"
                self.i += 1
                continue
            if not st.served:
                self.done[k] = "unobserved"  # a station the trip does not list: nothing to claim
                self.i += 1
                continue
            t_a, unc_a = self._arrival(g, c, None)
            t_d, unc_d = self._departure(g, c, t_a, arrival_lo=True)
            unc_a, unc_d = unc_a + carried, unc_d + carried
            if not unknown and max(unc_a, unc_d) <= cfg.est_max_unc_s and self._time_for_visit(g, c):
                est_a = {"loc": "EST", "unc_s": round(unc_a, 1)}
                out += [("arr", t_a, k, dict(est_a)), ("ars", t_a, k, dict(est_a)),
                        ("dep", t_d, k, {"loc": "EST", "unc_s": round(unc_d, 1)})]
                v.arr = v.ars = t_a
                v.dep = t_d
                self.done[k] = "dep"
                # the next stops inside the gap: from this departure on (its dwell is not theirs)
                g = Gap(t_d, c, 0.0, g.t1, g.s1, g.v1)
                carried = unc_d
            else:
                out.append(self._not_observed(whole, k, "visit"))
                self.done[k] = "not_observed"
                unknown = True
            self.i += 1
        return out

    def _not_observed(self, g: Gap, k: int, what: str) -> Event:
        """The unit was blind when the vehicle was at this stop and cannot say more."""
        return ("not_observed", _crossing(g, self.halt(k)), k,
                {"loc": "N/A", "what": what, "blind_from": iso(g.t0), "blind_to": iso(g.t1),
                 "reason": "no position and no odometer while the vehicle was at the stop"})

    def _no_time_to_stop(self, g: Gap, c: float) -> bool:
        """Even at the highest plausible rates and speed the vehicle could not have braked to ``c``,
        stood the shortest dwell and reached the first observation after the gap."""
        cfg = self.cfg
        a = cfg.est_rate_max_mps2
        t_in = _to_rest(max(c - g.s0, 0.0), g.v0, cfg.est_vmax_mps, a, a)
        t_out = _from_rest(max(g.s1 - c, 0.0), g.v1, cfg.est_vmax_mps, a, a)
        return g.t0 + t_in + cfg.est_min_dwell_s + t_out > g.t1

    def _time_for_visit(self, g: Gap, c: float) -> bool:
        """The time spent leaves a door cycle beyond driving to ``c`` and on at typical rates."""
        cfg = self.cfg
        a = cfg.est_accel_mps2
        t_in = _to_rest(max(c - g.s0, 0.0), g.v0, max(g.v0, g.v1, 5.0), a, a)
        t_out = _from_rest(max(g.s1 - c, 0.0), g.v1, max(g.v1, 5.0), a, a)
        return g.t1 - g.t0 >= t_in + cfg.est_visit_dwell_s + t_out

    def _arrival(self, g: Gap, x: float, latest: float | None) -> tuple[float, float]:
        """Arrival at ``x`` inside the gap: driving on at its own speed (at least walking pace) and
        braking at typical rates; bounds from the highest plausible rates/speed and, when the vehicle was
        seen leaving afterwards, the latest moment it can have arrived and still be where it was seen."""
        cfg = self.cfg
        d = max(x - g.s0, 0.0)
        cruise = max(g.v0, g.v1, 5.0)
        a, amax = cfg.est_accel_mps2, cfg.est_rate_max_mps2
        ml = g.t0 + _to_rest(d, g.v0, cruise, a, a)
        lo = g.t0 + _to_rest(d, g.v0, cfg.est_vmax_mps, amax, amax)
        if latest is None:
            latest = g.t1 - _from_rest(max(g.s1 - x, 0.0), g.v1, cfg.est_vmax_mps, amax, amax) - cfg.est_min_dwell_s
        hi = max(latest, lo)
        ml = min(max(ml, lo), hi)
        return ml, max(ml - lo, hi - ml)

    def _departure(self, g: Gap, x: float, after: float, arrival_lo: bool = False) -> tuple[float, float]:
        """Departure from ``x`` inside the gap, from the first observation after it: accelerating from rest
        at typical rates to the speed seen; bounds: the highest plausible rate (latest) and the arrival
        (plus the shortest dwell) or the moment it was last seen standing (earliest)."""
        cfg = self.cfg
        d = max(g.s1 - x, 0.0)
        a, amax = cfg.est_accel_mps2, cfg.est_rate_max_mps2
        ml = g.t1 - _from_rest(d, g.v1, max(g.v1, 5.0), a, a)
        hi = g.t1 - _from_rest(d, g.v1, cfg.est_vmax_mps, amax, amax)
        if arrival_lo:
            lo = g.t0 + _to_rest(max(x - g.s0, 0.0), g.v0, cfg.est_vmax_mps, amax, amax) + cfg.est_min_dwell_s
        else:
            lo = max(after, g.t0)
        hi = max(hi, lo)
        ml = min(max(ml, lo), hi)
        return ml, max(ml - lo, hi - ml)

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


def _crossing(g: Gap, x: float) -> float:
    """When the vehicle was at ``x`` inside the gap, linear between its ends (for stamping)."""
    if g.s1 <= g.s0:
        return g.t1
    f = min(max((x - g.s0) / (g.s1 - g.s0), 0.0), 1.0)
    return g.t0 + f * (g.t1 - g.t0)


def _to_rest(d: float, u: float, cruise: float, a: float, b: float) -> float:
    """Seconds to cover ``d`` metres from speed ``u`` to rest: accelerate at ``a`` up to ``cruise`` (never
    below ``u``), brake at ``b``; braking harder than ``b`` when already too close."""
    if d <= 0.0:
        return 0.0
    vmax = max(cruise, u)
    if u * u / (2.0 * b) >= d:
        return 2.0 * d / u if u > 0.0 else 0.0
    peak = math.sqrt((d + u * u / (2.0 * a)) / (1.0 / (2.0 * a) + 1.0 / (2.0 * b)))
    if peak <= vmax:
        return (peak - u) / a + peak / b
    d_acc = (vmax * vmax - u * u) / (2.0 * a)
    d_brk = vmax * vmax / (2.0 * b)
    return (vmax - u) / a + (d - d_acc - d_brk) / vmax + vmax / b


def _from_rest(d: float, w: float, cruise: float, a: float, b: float) -> float:
    """Seconds from rest to be ``d`` metres on at speed ``w``: accelerate at ``a`` up to ``cruise`` (at
    least ``w``), slow to ``w`` at ``b``."""
    if d <= 0.0:
        return 0.0
    vmax = max(cruise, w)
    if w * w / (2.0 * a) >= d:
        return math.sqrt(2.0 * d / a)
    peak = math.sqrt((d + w * w / (2.0 * b)) / (1.0 / (2.0 * a) + 1.0 / (2.0 * b)))
    if peak <= vmax:
        return peak / a + (peak - w) / b
    d_acc = vmax * vmax / (2.0 * a)
    d_brk = (vmax * vmax - w * w) / (2.0 * b)
    return vmax / a + (d - d_acc - d_brk) / vmax + (vmax - w) / b


__all__ = ["Event", "FollowConfig", "FollowerSnapshot", "Sight", "TripFollower", "VisitSnapshot"]
