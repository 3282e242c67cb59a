"""Arrival predictions for a school run from the bus's own driving (the 10-minute notice needs them).

Trip following's ETA (``onboard.tripfollow.eta``) carries the delay forward on the timetable's running
times. A school run's times come from a planner's estimate (distance at a planning speed plus an
allowance per stop, rounded to whole minutes), so a bus that drives differently is announced to parents a
minute or more off: too coarse for a notice "10 minutes before arrival". Here the time to each stop ahead
is what this bus has needed on this run:

* **distance mode** (the stops' chainages along the trip's shape are known, as ``vp.dist`` is): each
  stop-to-stop segment already driven gives (length, running time); once two of different length are
  known, running time is fitted as ``length / v + c`` (cruise speed and the fixed cost of starting and
  stopping), before that ``length / v`` with ``v`` the mean speed while moving between stops so far
  (prior: ``prior_speed_mps``). The segment under way counts by the distance still to go (and half of
  ``c``, the braking). Before the fit, ``v`` is the cruise speed (85th percentile of the speeds driven
  between stops, so the first start's acceleration does not count as slowness) and ``c`` = v / 1 m/s^2.
* **schedule mode** (no chainages): the schedule position ``p = t - dl`` of each ``vp`` advances by the
  planned running time; the pace is real over planned time while moving, pooled over the run with a prior
  of 1; remaining = pace x planned.
* Stop by stop beyond the next: a dwell (the mean of the run's unheld dwells with two prior samples of
  ``default_dwell_s``, waits over four times the median left out: one long wait for a pupil is not the
  next stop's; the origin's layover is no dwell), never leaving before the planned departure where the bus is held (a school bus does not leave
  a pickup early); standing at a stop, it leaves at the later of now + the remaining dwell and that.

Pure: fed the unit's records in order, never a clock.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

#: pace is clamped to this range (a bus at half or two and a half times its planned speed is an error)
PACE_RANGE = (0.4, 2.5)
#: cruise speeds a fit may give, m/s (5-130 km/h)
SPEED_RANGE = (1.4, 36.0)
#: a bus's typical acceleration and braking, m/s^2: starting and stopping cost v / a over the segment
#: (half of it each) before the run's own segments say better
NOMINAL_ACCEL = 1.0
#: speeds kept for the cruise estimate (one per vp while moving; a long run is thinned to the newest)
MAX_SPEEDS = 1200


@dataclass(frozen=True, slots=True)
class SchedStop:
    stop_id: str
    seq: int | None
    sched_arr: float | None
    sched_dep: float | None


@dataclass
class PaceEta:
    """Arrival predictions for the stops of one trip."""

    hold: bool = True  # never leave a stop before its planned departure
    chainage: dict[str, float] = field(default_factory=dict)  # stop_id -> m along the shape (distance mode)
    prior_s: float = 30.0  # planned seconds of pace 1.0 the schedule-mode estimate starts from
    prior_speed_mps: float = 50 / 3.6
    prior_moving_s: float = 30.0  # seconds of prior_speed the distance-mode estimate starts from
    default_dwell_s: float = 20.0
    min_dwell_s: float = 5.0
    stops: list[SchedStop] = field(default_factory=list)  # whole trip, in order
    done: set[str] = field(default_factory=set)  # stops left or passed
    at_stop: str | None = None  # standing at (arrived, not departed)
    arrived_t: float | None = None
    real_s: float = 0.0  # moving time between stops
    planned_s: float = 0.0  # schedule-mode: planned time over the same
    moved_m: float = 0.0  # distance-mode: distance over the same
    dwells: list[float] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)  # m/s while moving between stops
    segments: list[tuple[float, float]] = field(default_factory=list)  # (length m, running s) stop to stop
    _left: tuple[str, float] | None = None  # the stop last left and when
    _last: tuple[float, float, float | None] | None = None  # (t, p, dist) of the previous moving vp
    pos_t: float | None = None
    pos_p: float | None = None
    pos_s: float | None = None

    # -- inputs -------------------------------------------------------------------------------------------
    def schedule(self, stops: list[SchedStop]) -> None:
        """The trip's stops with scheduled times (from ``eta`` records: the remaining ones are merged in, so
        stops already left keep theirs)."""
        known = {s.stop_id: s for s in self.stops}
        for s in stops:
            known[s.stop_id] = s
        order = [s.stop_id for s in self.stops]
        order += [s.stop_id for s in stops if s.stop_id not in order]
        self.stops = [known[k] for k in order]

    def position(self, t: float, dl: float | None, dist: float | None, moving: bool,
                 spd: float | None = None) -> None:
        """A ``vp``: data time, trip following's delay, chainage and speed (None off a trip)."""
        if dl is None:
            self._last = None
            return
        p = t - dl
        if moving and self.at_stop is None:
            if spd is not None and spd > 0.5:
                self.speeds.append(spd)
                if len(self.speeds) > MAX_SPEEDS:
                    del self.speeds[: MAX_SPEEDS // 4]
            if self._last is not None:
                dt, dp = t - self._last[0], p - self._last[1]
                ds = None if dist is None or self._last[2] is None else dist - self._last[2]
                # a gap or a backwards jump (re-acquisition) says nothing about the pace
                if 0.0 < dt <= 10.0 and dp >= 0.0 and (ds is None or ds >= 0.0):
                    self.real_s += dt
                    self.planned_s += dp
                    self.moved_m += ds or 0.0
            self._last = (t, p, dist)
        else:
            self._last = None
        self.pos_t, self.pos_p, self.pos_s = t, p, dist

    def arrived(self, stop_id: str, t: float) -> None:
        ids = [s.stop_id for s in self.stops]
        if stop_id in ids:  # stops before it are behind the bus, whether their departure was seen or not
            self.done.update(ids[: ids.index(stop_id)])
        if self.at_stop != stop_id:
            self.at_stop, self.arrived_t = stop_id, t
            if self._left is not None and self._next_of(self._left[0]) == stop_id:
                a, b = self.chainage.get(self._left[0]), self.chainage.get(stop_id)
                if a is not None and b is not None and b > a:
                    self.segments.append((b - a, t - self._left[1]))
        self._last = None

    def departed(self, stop_id: str, t: float) -> None:
        """Left (``dep``) or passed (``pas``) a stop; an unheld dwell feeds the dwell estimate."""
        st = self._stop(stop_id)
        if self.at_stop == stop_id and self.arrived_t is not None:
            held = st is not None and st.sched_dep is not None and self.hold and t <= st.sched_dep + 5.0
            origin = bool(self.stops) and self.stops[0].stop_id == stop_id  # a layover, not a dwell
            if not held and not origin:
                self.dwells.append(t - self.arrived_t)
        self.done.add(stop_id)
        self._left = (stop_id, t)
        if self.at_stop == stop_id:
            self.at_stop = self.arrived_t = None
        self._last = None

    # -- estimates ----------------------------------------------------------------------------------------
    @property
    def pace(self) -> float:
        v = (self.prior_s + self.real_s) / (self.prior_s + self.planned_s)
        return min(max(v, PACE_RANGE[0]), PACE_RANGE[1])

    @property
    def speed(self) -> float:
        """Cruise speed, m/s: the 85th percentile of the speeds driven between stops (10 samples at least),
        else the mean speed while moving with a prior."""
        if len(self.speeds) >= 10:
            v = sorted(self.speeds)[int(0.85 * (len(self.speeds) - 1))]
        else:
            v = (self.prior_speed_mps * self.prior_moving_s + self.moved_m) / (self.prior_moving_s + self.real_s)
        return min(max(v, SPEED_RANGE[0]), SPEED_RANGE[1])

    def fit(self) -> tuple[float, float]:
        """(v m/s, c s): running time of a segment = length / v + c."""
        if len(self.segments) >= 2:
            n = len(self.segments)
            ml = sum(x for x, _ in self.segments) / n
            mr = sum(r for _, r in self.segments) / n
            var = sum((x - ml) ** 2 for x, _ in self.segments)
            if var > (200.0 ** 2) * (n - 1):  # lengths differ enough for a slope (spread > ~200 m)
                k = sum((x - ml) * (r - mr) for x, r in self.segments) / var
                c = mr - k * ml
                if k > 0 and SPEED_RANGE[0] <= 1.0 / k <= SPEED_RANGE[1] and 0.0 <= c <= 180.0:
                    return 1.0 / k, c
        v = self.speed
        return v, v / NOMINAL_ACCEL

    @property
    def dwell_s(self) -> float:
        """Expected dwell: the mean of the run's unheld dwells with two prior samples, leaving out waits
        longer than four times the median (a pupil not ready is not what the next stop will take)."""
        xs = [*self.dwells, self.default_dwell_s, self.default_dwell_s]
        cut = max(60.0, 4.0 * statistics.median(xs))
        return statistics.fmean(x for x in xs if x <= cut)

    def _stop(self, stop_id: str) -> SchedStop | None:
        return next((s for s in self.stops if s.stop_id == stop_id), None)

    def _next_of(self, stop_id: str) -> str | None:
        ids = [s.stop_id for s in self.stops]
        i = ids.index(stop_id) if stop_id in ids else -1
        return ids[i + 1] if 0 <= i < len(ids) - 1 else None

    def _run(self, a: SchedStop, b: SchedStop) -> float:
        """Running time from stop ``a`` to the next stop ``b`` (standing start to standstill)."""
        ca, cb = self.chainage.get(a.stop_id), self.chainage.get(b.stop_id)
        if ca is not None and cb is not None:
            v, c = self.fit()
            return max(0.0, cb - ca) / v + c
        if a.sched_dep is None or b.sched_arr is None:
            return 0.0
        return self.pace * max(0.0, b.sched_arr - a.sched_dep)

    # -- output -------------------------------------------------------------------------------------------
    def predict(self, t: float) -> dict[str, float]:
        """stop_id -> predicted arrival (epoch s) for every stop not yet reached, as of data time ``t``."""
        out: dict[str, float] = {}
        ahead = [s for s in self.stops if s.stop_id not in self.done and s.stop_id != self.at_stop]
        if not ahead:
            return out
        nxt = ahead[0]
        if self.at_stop is not None:
            cur = self._stop(self.at_stop)
            if cur is None or cur.sched_dep is None:
                return out
            since = t - (self.arrived_t if self.arrived_t is not None else t)
            dep = t + max(self.min_dwell_s, self.dwell_s - since)
            if self.hold:
                dep = max(dep, cur.sched_dep)
            arr = dep + self._run(cur, nxt)
        else:
            if self.pos_t is None or self.pos_p is None:
                return out
            cn = self.chainage.get(nxt.stop_id)
            if cn is not None and self.pos_s is not None:
                v, c = self.fit()
                s_now = self.pos_s + v * (t - self.pos_t)  # it kept moving since the last vp
                arr = t + max(0.0, cn - s_now) / v + c / 2.0
            elif nxt.sched_arr is not None:
                p_now = min(self.pos_p + (t - self.pos_t) / self.pace, nxt.sched_arr)
                arr = t + self.pace * max(0.0, nxt.sched_arr - p_now)
            else:
                return out
        out[nxt.stop_id] = arr
        prev = nxt
        for s in ahead[1:]:
            if prev.sched_dep is None:
                break
            dep = arr + self.dwell_s
            if self.hold:
                dep = max(dep, prev.sched_dep)
            arr = dep + self._run(prev, s)
            out[s.stop_id] = arr
            prev = s
        return out


__all__ = ["PACE_RANGE", "SPEED_RANGE", "PaceEta", "SchedStop"]
