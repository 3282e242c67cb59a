"""Deterministic time-stepped vehicle model: drive the planned trips, stop, open doors, dwell, depart.

Pure: takes plans, the scenario and seeded random streams, returns the truth track and ground-truth
records. Simulated time is ``t0 + n * step`` with an integer tick ``n`` so that the same seed gives the
same floats on every run. The state is the chainage ``x`` of the vehicle's *middle* along the current
trip's shape; stops are placed so that a train's middle halts at the platform centre and a bus's front
at the stop pole.
"""

from __future__ import annotations

import bisect
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sim_bus.plan import PlannedStop, TripPlan
from sim_bus.scenario import Scenario, SpeedLimit
from transit.geo import haversine_m

log = logging.getLogger(__name__)

SAMPLE_S = 0.1  # truth track resolution while moving (CAN 10 Hz, GNSS up to 10 Hz)


@dataclass(frozen=True)
class DoorCycle:
    """One door's cycle at one stop: released, open, closing, closed (epoch seconds)."""

    door: int
    enabled: float
    opened: float
    closing: float
    closed: float


@dataclass(frozen=True)
class TrackPoint:
    t: float
    x: float  # chainage of the vehicle's middle on its trip's shape
    v: float  # m/s
    trip: int  # index into the plans
    odo: float  # odometer, metres


@dataclass
class Track:
    """Samples of the true motion; linear interpolation between them is exact at standstill."""

    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    v: list[float] = field(default_factory=list)
    trip: list[int] = field(default_factory=list)
    odo: list[float] = field(default_factory=list)

    def add(self, t: float, x: float, v: float, trip: int, odo: float) -> None:
        if self.t and t <= self.t[-1]:
            # Same instant (e.g. a standstill knot): keep the newer state.
            self.x[-1], self.v[-1], self.trip[-1], self.odo[-1] = x, v, trip, odo
            return
        self.t.append(t)
        self.x.append(x)
        self.v.append(v)
        self.trip.append(trip)
        self.odo.append(odo)

    def at(self, t: float) -> TrackPoint:
        """The state at ``t`` (clamped to the track's time span)."""
        i = bisect.bisect_right(self.t, t) - 1
        if i < 0:
            return TrackPoint(self.t[0], self.x[0], self.v[0], self.trip[0], self.odo[0])
        if i >= len(self.t) - 1 or self.trip[i + 1] != self.trip[i]:
            return TrackPoint(t, self.x[i], self.v[i], self.trip[i], self.odo[i])
        t0, t1 = self.t[i], self.t[i + 1]
        f = (t - t0) / (t1 - t0)
        return TrackPoint(t, self.x[i] + (self.x[i + 1] - self.x[i]) * f,
                          self.v[i] + (self.v[i + 1] - self.v[i]) * f, self.trip[i],
                          self.odo[i] + (self.odo[i + 1] - self.odo[i]) * f)

    def accel_at(self, t: float) -> float:
        i = bisect.bisect_right(self.t, t) - 1
        if i < 0 or i >= len(self.t) - 1:
            return 0.0
        dt = self.t[i + 1] - self.t[i]
        return (self.v[i + 1] - self.v[i]) / dt if dt > 0 else 0.0


@dataclass(frozen=True)
class StopPassengers:
    """What the passenger model returns for one stop (see ``sim_bus.passengers.simulate_stop``)."""

    edges: list[tuple[float, int, int]]
    truth: list[dict[str, object]]
    t_done: float


#: (rng, t_open, boardings, alightings) -> StopPassengers; see :mod:`sim_bus.paxlink`.
PassengerFn = Callable[[random.Random, float, int, int], StopPassengers]


@dataclass
class MotionResult:
    plans: Sequence[TripPlan]
    track: Track
    doors: list[DoorCycle]
    truth: list[dict[str, object]]
    gpio: list[tuple[float, int, int]]
    parked: list[tuple[float, float]]  # standstill intervals with the parking brake set
    t_start: float
    t_end: float


def r3(t: float) -> float:
    """Truth times are epoch seconds rounded to the millisecond."""
    return round(t, 3)


class _Sim:
    def __init__(self, sc: Scenario, plans: Sequence[TripPlan], rng: random.Random,
                 pax: PassengerFn, extra: ExtraFn | None = None) -> None:
        self.sc = sc
        self.extra = extra
        self.visits = 0  # stop visits served so far (the index ``extra`` gets)
        self.plans = plans
        self.rng = rng
        self.pax_rng = random.Random(f"{sc.seed}:passengers")
        self.pax = pax
        self.dt = sc.motion.step_s
        self.every = max(1, round(SAMPLE_S / self.dt))
        self.t0 = plans[0].first_departure.timestamp() - sc.motion.lead_s
        self.n = 0
        self.odo = sc.vehicle.odometer_start_m
        self.load = 0
        self.track = Track()
        self.doors: list[DoorCycle] = []
        self.truth: list[dict[str, object]] = []
        self.gpio: list[tuple[float, int, int]] = []
        self.parked: list[tuple[float, float]] = []
        self.half = sc.vehicle.length_m / 2
        self.last_arrival = self.t0

    # -- time helpers ------------------------------------------------------------------------------
    @property
    def t(self) -> float:
        return self.t0 + self.n * self.dt

    def ticks(self, seconds: float) -> int:
        return max(0, math.ceil(seconds / self.dt - 1e-9))

    def wait_until(self, t: float) -> None:
        if t > self.t:
            self.n += self.ticks(t - self.t)

    # -- geometry ------------------------------------------------------------------------------------
    def target(self, plan: TripPlan, stop: PlannedStop) -> float:
        """Where the vehicle's middle halts for ``stop``."""
        x = stop.chainage_m if self.sc.vehicle.stop_position == "middle" else stop.chainage_m - self.half
        return min(max(x, 0.0), plan.shape.length_m)

    def limits_for(self, plan: TripPlan) -> list[SpeedLimit]:
        return [lim for lim in self.sc.motion.speed_limits if lim.trip_id in (None, plan.trip_id)]

    # -- driving ---------------------------------------------------------------------------------------
    def drive(self, ti: int, plan: TripPlan, x: float, x_target: float,
              passes: list[PlannedStop], limits: list[SpeedLimit]) -> float:
        """Accelerate, cruise and brake from standstill at ``x`` to standstill at ``x_target``."""
        veh = self.sc.vehicle
        a, b = veh.accel_mps2, veh.braking_mps2
        vmax = veh.max_speed_mps * self.sc.motion.cruise_factor
        jerk = self.sc.motion.stop_jerk_mps3
        dt = self.dt
        v = 0.0
        pass_i = 0
        pending = sorted(passes, key=lambda s: s.chainage_m)
        self.track.add(self.t, x, 0.0, ti, self.odo)
        while True:
            s = x_target - x
            vt = min(vmax, math.sqrt(2 * b * max(s, 0.0)))
            if jerk > 0:
                # the driver eases the brake off for the last metres (no jolt at the stop): deceleration
                # falling linearly to 0, v = j/2 (6 s / j)^(2/3), which is below sqrt(2 b s) near the end
                vt = min(vt, 0.5 * jerk * (6.0 * max(s, 0.0) / jerk) ** (2.0 / 3.0))
            for lim in limits:
                cap = lim.speed_mps * self.sc.motion.cruise_factor
                if lim.from_m <= x + self.half and x - self.half <= lim.to_m:
                    vt = min(vt, cap)  # the whole vehicle obeys the limit
                elif lim.from_m > x + self.half:
                    vt = min(vt, math.sqrt(cap * cap + 2 * b * (lim.from_m - x - self.half)))
            if v < vt:
                v = min(vt, v + a * dt)
            else:
                v = max(vt, v - 1.5 * b * dt)  # service brake reserve beyond the planned rate
            step = v * dt
            # easing off, the last millimetre takes a quarter second: snap only at 0.01 mm then
            done = s <= (1e-5 if jerk > 0 else 1e-3) or (x + step >= x_target)
            nx = x_target if done else x + step
            while pass_i < len(pending) and pending[pass_i].chainage_m <= nx:
                ps = pending[pass_i]
                frac = 0.0 if nx == x else (ps.chainage_m - x) / (nx - x)
                reason = "not_served" if not ps.stops_here else (
                    "skipped" if self.skips(plan, ps) else "no_request")
                self.truth.append({"kind": "pass", "trip_id": plan.trip_id, "stop_id": ps.stop_id,
                                   "t": r3(self.t + frac * dt), "speed": round(v, 2), "reason": reason})
                pass_i += 1
            self.odo += nx - x
            x = nx
            self.n += 1
            if done:
                self.track.add(self.t, x, 0.0, ti, self.odo)
                return x
            if self.n % self.every == 0:
                self.track.add(self.t, x, v, ti, self.odo)

    def stand(self, ti: int, x: float, until: float) -> None:
        self.track.add(self.t, x, 0.0, ti, self.odo)
        self.wait_until(until)
        self.track.add(self.t, x, 0.0, ti, self.odo)

    # -- passengers and doors --------------------------------------------------------------------
    def demand(self, stop: PlannedStop, first: bool, last: bool) -> tuple[int, int]:
        pd = self.sc.passengers
        want = pd.stops.get(stop.stop_id, pd.default)
        board, alight = want.board, want.alight
        if pd.random:
            board, alight = _poisson(self.rng, board), _poisson(self.rng, alight)
        if first:
            alight = 0
        if last:
            board = 0
            if pd.alight_all_at_terminus:
                alight = self.load
        alight = min(alight, self.load)
        v = self.sc.vehicle
        # boardings stop at the approved capacity unless the scenario has the driver let more on
        room = (v.max_load or v.capacity) - (self.load - alight)
        board = min(board, max(room, 0))
        return board, alight

    def extra_delay(self, stop: PlannedStop) -> float:
        d = self.sc.delays
        extra = d.fixed.get(stop.stop_id, 0.0)
        if d.random is not None and self.rng.random() < d.random.probability:
            extra += min(self.rng.expovariate(1.0 / d.random.mean_s) if d.random.mean_s > 0 else 0.0,
                         d.random.max_s)
        i, self.visits = self.visits, self.visits + 1
        # drawn either way, so the random stream (and every later draw) stays the same
        return extra if self.extra is None else self.extra(i, extra)

    def skips(self, plan: TripPlan, stop: PlannedStop) -> bool:
        """The scenario has the driver pass this served stop at speed."""
        return any(k.stop == stop.stop_id and k.trip_id in (None, plan.trip_id) for k in self.sc.skips)

    def held(self, stop: PlannedStop) -> bool:
        hold = self.sc.motion.hold_at
        return hold == "all" or (hold == "timepoints" and stop.timepoint)

    def serve(self, ti: int, plan: TripPlan, stop: PlannedStop, x: float, arrival: float,
              first: bool, last: bool, demand: tuple[int, int] | None = None) -> float | None:
        """Doors, passengers and departure at a stop; returns the departure time (None at the end)."""
        dw = self.sc.dwell
        board, alight = demand if demand is not None else self.demand(stop, first, last)
        extra = self.extra_delay(stop)
        sched = stop.departure.timestamp() if stop.departure is not None else None
        # An origin delay makes the first departure that late (crew, late inbound unit, ...).
        not_before = sched + self.sc.delays.origin_s if first and ti == 0 and sched is not None else None
        open_doors = board + alight > 0 or dw.open_when_idle
        doors_open: float | None = None
        doors_closed: float | None = None
        if open_doors:
            self.wait_until(arrival + dw.door_open_delay_s)
            t_open = self.t
            pax = self.pax(self.pax_rng, t_open, board, alight)
            self.gpio.extend(pax.edges)
            self.truth.extend({**c, "trip_id": plan.trip_id, "stop_id": stop.stop_id} for c in pax.truth)
            close = max(t_open + dw.min_open_s, pax.t_done + dw.close_margin_s) + extra
            if not last and sched is not None and self.held(stop):
                close = max(close, sched - dw.close_duration_s - dw.depart_after_close_s)
            if not_before is not None:
                close = max(close, not_before - dw.close_duration_s - dw.depart_after_close_s)
            self.wait_until(close)
            t_closing = self.t
            last_closed = t_closing
            for d in self.sc.vehicle.doors:
                jit = self.rng.uniform(0.0, dw.stagger_s)
                opened = t_open + jit
                closed = t_closing + dw.close_duration_s + self.rng.uniform(0.0, dw.stagger_s)
                self.doors.append(DoorCycle(d.index, t_open - 0.5, opened, t_closing, closed))
                last_closed = max(last_closed, closed)
            doors_open = t_open
            self.wait_until(last_closed)
            doors_closed = last_closed
            ready = last_closed + dw.depart_after_close_s
        else:
            ready = arrival + max(dw.depart_after_close_s, 1.0) + extra
        departure: float | None = None
        if not last:
            if sched is not None and self.held(stop):
                ready = max(ready, sched)
            if not_before is not None:
                ready = max(ready, not_before)
            self.stand(ti, x, ready)
            departure = self.t
        else:
            self.track.add(self.t, x, 0.0, ti, self.odo)
        self.load += board - alight
        self.truth.append({
            "kind": "visit", "trip_id": plan.trip_id, "stop_id": stop.stop_id, "seq": stop.seq,
            "arrival": r3(arrival), "doors_open": None if doors_open is None else r3(doors_open),
            "doors_closed": None if doors_closed is None else r3(doors_closed),
            "departure": None if departure is None else r3(departure),
            "scheduled_arrival": None if stop.arrival is None else r3(stop.arrival.timestamp()),
            "scheduled_departure": None if last or sched is None else r3(sched),
            "boardings": board, "alightings": alight, "load": self.load, "extra_s": r3(extra),
        })
        return departure

    # -- the run ----------------------------------------------------------------------------------------
    def run(self) -> MotionResult:
        x = 0.0
        gap = 0.0
        for ti, plan in enumerate(self.plans):
            served = plan.served
            if len(served) < 2:
                raise ValueError(f"trip {plan.trip_id} serves fewer than two stops")
            limits = self.limits_for(plan)
            x = self.target(plan, served[0])
            if ti == 0:
                self.parked.append((self.t, plan.first_departure.timestamp()))
            else:
                # Layover: the next trip leaves from its own first stop (turn-back or short deadhead).
                prev = self.plans[ti - 1].served[-1]
                gap = haversine_m(prev.lat, prev.lon, served[0].lat, served[0].lon)
                if gap > 200:
                    log.info("trip %s starts %.0f m from where %s ended: the vehicle is moved there",
                             plan.trip_id, gap, self.plans[ti - 1].trip_id)
                self.wait_until(plan.first_departure.timestamp() - self.sc.motion.lead_s)
            # A turn-back: the vehicle has been standing at this platform since it arrived there.
            arrival = self.t if ti == 0 or gap > 200 else self.last_arrival
            self.track.add(self.t, x, 0.0, ti, self.odo)
            self.serve(ti, plan, served[0], x, arrival, True, False)
            skipped: list[PlannedStop] = []
            for k in range(1, len(served)):
                stop = served[k]
                last = k == len(served) - 1
                demand = self.demand(stop, False, last)
                if not last and (self.skips(plan, stop) or (
                        self.sc.dwell.skip_when_idle and demand == (0, 0) and not self.held(stop))):
                    skipped.append(stop)  # request stop with nobody to set down or pick up, or skipped
                    continue
                xt = self.target(plan, stop)
                lo = x
                passes = [s for s in plan.stops if not s.stops_here and lo < s.chainage_m <= xt] + skipped
                skipped = []
                for sig in self.sc.signal_stops:
                    if sig.before == stop.stop_id and sig.trip_id in (None, plan.trip_id):
                        xs = xt - self.half - sig.distance_m
                        if xs > x + 1.0:
                            x = self.drive(ti, plan, x, xs, [p for p in passes if p.chainage_m <= xs],
                                           limits)
                            passes = [p for p in passes if p.chainage_m > xs]
                            t_sig = self.t
                            self.stand(ti, x, t_sig + sig.wait_s)
                            self.truth.append({"kind": "signal_stop", "trip_id": plan.trip_id,
                                               "before": stop.stop_id, "start": r3(t_sig),
                                               "end": r3(self.t), "x": round(x, 1)})
                x = self.drive(ti, plan, x, xt, passes, limits)
                self.last_arrival = self.t
                self.serve(ti, plan, stop, x, self.t, False, last, demand)
            t_end_trip = self.t
            nxt = self.plans[ti + 1].first_departure.timestamp() if ti + 1 < len(self.plans) else None
            if nxt is not None and nxt - self.sc.motion.lead_s > t_end_trip:
                self.parked.append((t_end_trip, nxt - self.sc.motion.lead_s))
        # Park a little after the last trip so receivers report the final standstill.
        t_last = self.t
        self.parked.append((t_last, t_last + 30.0))
        self.stand(len(self.plans) - 1, x, t_last + 30.0)
        self.gpio.sort(key=lambda e: e[0])  # stable: bounce edges at one instant keep their order
        return MotionResult(self.plans, self.track, self.doors, self.truth, self.gpio, self.parked,
                            self.t0, self.t)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: counts are small (a few per door), so no library is needed."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


#: ``extra(i, drawn)``: the extra dwell (holds, ``delays``) the ``i``-th stop visit of the run gets, given the one
#: drawn for it
ExtraFn = Callable[[int, float], float]


def simulate(sc: Scenario, plans: Sequence[TripPlan], pax: PassengerFn, *,
             extra: ExtraFn | None = None) -> MotionResult:
    """Run the vehicle model over ``plans`` (in order); deterministic for the scenario's seed.

    ``extra``: replaces the extra dwell of each stop visit (default: as drawn); every other draw stays the
    same, so a counterfactual drive (the same drive without the holds that had not begun by some time:
    ``python -m bench eta``'s oracle) differs only there."""
    if not plans:
        raise ValueError("nothing to drive: no trips")
    return _Sim(sc, plans, random.Random(f"{sc.seed}:motion"), pax, extra).run()
