"""Finding the trip from timetable, position and time when nobody assigned one.

Candidates are the trips of the service days the time may belong to (past midnight a trip may belong
to yesterday's operating day) that are scheduled around now and whose shape passes within
``max_offset_m`` of the fix, with the scheduled time at the projected point near now. Fixes are
followed while the vehicle moves: a candidate survives only while its chainage grows with the
vehicle's movement. A trip is chosen only when exactly one survives after ``confirm_m`` of movement
(several trips sharing a path and a time are told apart by the schedule only when one is much closer);
otherwise the answer stays "no trip" and nothing is recorded against a trip — never a silent guess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from onboard.tripfollow.plan import TripPlan, build_plan
from transit.timetable import Timetable
from transit.timeutil import service_day_origin, service_days_for

log = logging.getLogger(__name__)


@dataclass
class _Cand:
    plan: TripPlan
    s0: float
    s: float
    t0: float
    sched_err: float  # |now - scheduled time at the projected point| when last seen


class AutoAssigner:
    """Feed fixes while no trip is assigned; returns a plan once one trip is certain."""

    def __init__(self, tt: Timetable, *, mode: str = "train", window_s: float = 1200.0, max_offset_m: float = 30.0,
                 confirm_m: float = 250.0, every_s: float = 5.0, clear_margin_s: float = 300.0) -> None:
        self.tt = tt
        self.mode = mode
        self.window_s = window_s
        self.max_offset_m = max_offset_m
        self.confirm_m = confirm_m
        self.every_s = every_s
        self.clear_margin_s = clear_margin_s
        self.cands: list[_Cand] | None = None
        self._next = float("-inf")
        self._plans: dict[tuple[str, str], TripPlan] = {}
        self.undecided = 0

    def on_fix(self, t: float, lat: float, lon: float, stopped: bool | None) -> TripPlan | None:
        if t < self._next:
            return None
        self._next = t + self.every_s
        if self.cands is None:
            self.cands = self._candidates(t, lat, lon)
            return None
        alive: list[_Cand] = []
        for c in self.cands:
            pr = c.plan.shape.project(lat, lon, lo_m=max(0.0, c.s - 200.0), hi_m=c.s + 2000.0)
            if pr.offset_m > self.max_offset_m or pr.distance_m < c.s - 30.0:
                continue
            c.s = max(c.s, pr.distance_m)
            c.sched_err = abs(t - c.plan.sched_time_at(c.s))
            if c.sched_err <= self.window_s:
                alive.append(c)
        self.cands = alive
        if not alive:
            self.cands = None  # start over from the next fix
            return None
        moved = [c for c in alive if c.s - c.s0 >= self.confirm_m]
        if len(moved) < len(alive) and moved:
            alive = moved
        if not moved:
            return None
        best = sorted(moved, key=lambda c: c.sched_err)
        if len(best) == 1 or best[1].sched_err - best[0].sched_err >= self.clear_margin_s:
            log.info("trip %s found from position and time (%d candidate(s))", best[0].plan.ref.trip_id,
                     len(best))
            ref = best[0].plan.ref
            return build_plan(self.tt, ref.trip_id, date.fromisoformat(ref.oday))
        self.undecided += 1
        if self.undecided in (1, 10, 100):
            log.warning("trip not certain (%s); no trip recorded",
                        ", ".join(c.plan.ref.trip_id for c in best[:4]))
        return None

    def _candidates(self, t: float, lat: float, lon: float) -> list[_Cand]:
        out: list[_Cand] = []
        now = datetime.fromtimestamp(t, UTC)
        for day in service_days_for(now, self.tt.tz):
            for trip in self.tt.trips_on(day):
                r = self.tt.routes.get(trip.route_id)
                if r is None or (self.mode == "bus") != (r.route_type == 3):
                    continue
                key = (trip.trip_id, day.isoformat())
                plan = self._plans.get(key)
                if plan is None:
                    try:
                        st = self.tt.stop_times(trip.trip_id)
                        if not st:
                            continue
                        o = service_day_origin(day, self.tt.tz).timestamp()
                        if not (o + st[0].departure_s - self.window_s <= t <= o + st[-1].arrival_s + self.window_s):
                            continue
                        plan = build_plan(self.tt, trip.trip_id, day, with_passes=False)
                    except (ValueError, KeyError):
                        continue
                    self._plans[key] = plan
                pr = plan.shape.project(lat, lon)
                if pr.offset_m > self.max_offset_m:
                    continue
                err = abs(t - plan.sched_time_at(pr.distance_m))
                if err <= self.window_s:
                    out.append(_Cand(plan, pr.distance_m, pr.distance_m, t, err))
        return out


__all__ = ["AutoAssigner"]
