"""Delay now and predicted arrival/departure at every remaining stop (method: docs/tripfollow.md).

Delay between stops compares the time with the schedule interpolated along the shape; at a stop it is
the delay the departure will have (the vehicle cannot leave before its doors cycle, nor before the
scheduled time where it is held).

Predictions learn the day's running from this trip so far (:func:`learn`) instead of carrying the
current delay forward: "timetable + delay now" predicts a vehicle that runs slower than the timetable,
or is held, early at every later stop. The forward walk (:func:`predict`) starts where the vehicle is
and when it is, and adds per section its baseline running (the timetable's minutes blended with the
time the section's length takes, in the share that explains this trip's running best) times the running
ratio this trip is achieving (shrunk towards 1 while few sections are known, each section clipped so one
signal stop does not make the whole trip look slow), and per stop the dwell this trip is expected to take
(the mean of its observed dwells, each clipped at 3x their median, with the minimum dwell as prior). Where the vehicle is held (timing points;
every stop for trains) it does not leave before the scheduled departure, so an early vehicle waits and
a late one recovers the scheduled slack. A vehicle standing at a stop leaves no earlier than now plus
the time to close its doors and pull away, and one standing past its time (a hold, a late start, a signal
between stops) is expected to stand a share of that overrun again (:func:`standing_left`), so an
unscheduled hold pushes every later stop on with it. A stop ahead costs the expected dwell times the share
of stops the vehicle stops at today. Where other vehicles drove a section ahead recently
(:class:`SectionTimes`, fed by the collector through ``transit.sections``) their time counts for half. No
arrival is predicted sooner than the distance to it at the highest plausible speed allows, so a vehicle
that is still minutes away is never shown as "Nu".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Literal, Protocol

from onboard.tripfollow.plan import RUN_ACCEL_MPS2, PlanStop, TripPlan, run_time
from onboard.tripfollow.stops import TripFollower
from transit.records import EtaStop, iso


def delay_now(f: TripFollower, t: float, s: float | None) -> float | None:
    """Seconds late (negative: early) at ``t`` with the antenna at chainage ``s``."""
    if s is None:
        return None
    plan = f.plan
    k = f.current_visit()
    if k is not None:
        st = plan.stops[k]
        ars = f.visits[k].ars
        assert ars is not None
        if st.sched_dep is None:
            return None
        if k == f.terminus:
            return ars - (st.sched_arr or st.sched_dep)
        dep = max(t, ars + f.cfg.min_dwell_s)
        if f.held(st):
            dep = max(dep, st.sched_dep)
        return dep - st.sched_dep
    if t < plan.first_departure and f.i <= f.origin:
        return max(0.0, t - plan.first_departure)
    return t - plan.sched_time_at(s - f.cfg.halt_offset_m)


@dataclass(frozen=True, slots=True)
class EtaConfig:
    """How much the trip so far is trusted, and the physical floors of a prediction."""

    #: the prior: running at the timetable's pace counts as this many seconds of scheduled running, so one
    #: short section cannot swing the ratio (after ~10 min of running the trip's own pace dominates)
    prior_run_s: float = 240.0
    #: one section's achieved/scheduled ratio is clipped to this range before it counts (a signal stop, a
    #: blind-gap estimate or a whole-minute timetable make single sections extreme)
    section_clip: tuple[float, float] = (0.6, 1.8)
    #: the learned ratio stays inside this range
    ratio_range: tuple[float, float] = (0.7, 1.5)
    #: the minimum dwell counts as this many observed dwells (median prior)
    prior_dwells: int = 2
    #: standing with the doors closed: this long until moving; doors open (or not yet opened): this long
    #: to close them and pull away
    leave_closed_s: float = 3.0
    leave_open_s: float = 8.0
    #: a sched/observed comparison shorter than this says nothing (whole-minute timetables)
    min_section_s: float = 30.0
    #: the vehicle's earlier trips today: their running counts at this weight (at most this many seconds)
    day_weight: float = 1.0
    day_max_run_s: float = 3600.0
    #: the latest observed dwells kept (today's, across trips)
    dwells_kept: int = 30
    #: stopping at a stop ahead counts as this many stops seen stopped before any are (the share it stops at)
    prior_stops: int = 2
    #: no observation of the vehicle for this long: the stops carry ``NO_DATA`` (GTFS-Realtime), no times
    no_data_after_s: float = 180.0
    #: the share of a section's baseline running taken from the timetable's own section time (the rest from
    #: its length, :func:`distance_runs`) before the trip has shown which explains its running better, and
    #: the shares tried once it has (at least ``blend_min_sections`` sections)
    blend_prior: float = 0.5
    blend_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    blend_min_sections: int = 3
    #: a vehicle that has stood longer than expected (a hold, a late start, a signal between stops) is
    #: expected to stand this share of that overrun again, at most ``overrun_max_s`` more (see
    #: :func:`standing_left`)
    overrun_share: float = 0.5
    overrun_max_s: float = 180.0
    #: where other vehicles drove a section recently (:class:`SectionTimes`), its running is this share of
    #: theirs and the rest this trip's own estimate (baseline x ratio): two estimates with errors of their
    #: own (theirs had their signal stops and their pace, ours knows this vehicle), weighted alike
    sections_share: float = 0.5
    #: standing still between stops (a signal, a queue) is not running: the ratio is learned without it,
    #: and a section ahead costs ``halt_share`` of the standstill per section seen today, with
    #: ``prior_halt_sections`` sections without any counted before the first is seen
    halt_share: float = 1.0
    prior_halt_sections: int = 3


class SectionTimes(Protocol):
    """Recent running times of other vehicles on the same sections (fed by the central side).

    ``run_s(from_stop, to_stop, t)`` is the typical departure-to-arrival running time in seconds between
    two consecutive stops of the trip as other vehicles achieved it shortly before ``t``, or None when
    there is nothing recent. Where known it is blended with this trip's own estimate for that section
    (``EtaConfig.sections_share``); sections nobody drove recently keep the trip's own."""

    def run_s(self, from_stop: str, to_stop: str, t: float) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Running:
    """What the day's running so far says: achieved/scheduled running time ``ratio`` of this trip (shrunk
    towards the prior), typical ``dwell_s`` at a stop, how many sections/dwells were seen; and what carries
    to the vehicle's next trip: ``pace`` (the ratio against this timetable's own prior, so a trip with
    another timetable starts from its own), the scheduled running seconds it rests on (``run_s``), and
    the latest observed dwells."""

    ratio: float = 1.0
    dwell_s: float = 20.0
    sections: int = 0
    dwells: int = 0
    pace: float = 1.0
    run_s: float = 0.0
    dwell_obs: tuple[float, ...] = ()
    #: the share of each section's baseline running from the timetable's section time (1: the timetable's
    #: own times, 0: the section's length, :func:`baseline`)
    blend: float = 0.5
    #: today's stops where the vehicle stopped and where it passed (nobody to set down or pick up: a
    #: request stop, a quiet bus stop); the share it stops at is what a stop ahead costs in dwell
    stopped: int = 0
    passed: int = 0
    #: today's seconds stood still between stops, over how many whole sections (carried to the next trip)
    halted: float = 0.0
    halt_sections: int = 0

    def halt_s(self, prior: int = 3) -> float:
        """The standstill between stops a section ahead is expected to have (``prior`` sections without)."""
        return self.halted / (self.halt_sections + prior) if self.halt_sections + prior > 0 else 0.0

    def stop_share(self, prior: int = 2) -> float:
        """The share of stops ahead the vehicle is expected to stop at (``prior`` stops count as stopped)."""
        return (self.stopped + prior) / (self.stopped + self.passed + prior)


def learn(f: TripFollower, t: float, s: float | None, cfg: EtaConfig = EtaConfig(),
          day: Running | None = None, halted_since: float | None = None) -> Running:
    """Running ratio, baseline blend and typical dwell of the trip so far, from its departures and arrivals
    (and the run in progress: the time since the last departure against the baseline time to where it is
    now).

    Each section's baseline running is a blend of the timetable's section time and the time its length
    takes (:func:`baseline`); the ratio is achieved over baseline running. Timetables are written in whole
    minutes, with slack put where the planner chose: a ratio learned on sections whose minutes were tight
    overshoots slack ones (and the reverse), while the length of a section says how long a vehicle needs
    for it. Which explains this trip's running better is chosen from its own sections (the share with the
    smallest error once ``cfg.blend_min_sections`` are known; before that the day's, or the prior).

    ``day``: what the vehicle's earlier trips today said (:meth:`onboard.tripfollow.core.Core` keeps it):
    the prior starts from their pace, weighted by ``cfg.day_weight`` of their running (at most
    ``cfg.day_max_run_s``), and their dwells count before this trip's own.

    Time stood still between stops (``f.halts``; ``halted_since``: standing there now) is not running:
    a red signal says nothing about the vehicle's pace. It is counted apart, per section
    (:meth:`Running.halt_s`)."""
    plan = f.plan
    refv = ref_speed(f)
    lo, hi = cfg.section_clip
    sections: list[tuple[float, float, float]] = []  # (achieved, timetable's, by length) per whole section
    partial: tuple[float, float, float] | None = None  # the run in progress

    dwells: list[float] = []
    stopped = passed = 0
    halted, halt_sections = 0.0, 0
    prev: int | None = None  # the last stop with a known departure (running since then)
    for k in range(min(f.i + 1, len(plan.stops))):
        st = plan.stops[k]
        if not st.served:
            continue
        v = f.visits.get(k)
        state = f.done.get(k)
        if k == f.i and state is None and (v is None or v.ars is None):
            break  # on the way to it: the run in progress (below)
        if v is None or state in ("unobserved", "not_observed") or (state is None and k != f.i):
            prev = None
            continue
        if state == "pas":
            passed += k not in (f.origin, f.terminus)
            continue  # a served stop passed (nobody to set down or pick up): the section spans it
        if v.ars is not None and k not in (f.origin, f.terminus):
            stopped += 1
        if v.ars is not None and prev is not None:
            pv = f.visits[prev]
            if pv.dep is not None:
                b = baseline(f, prev, k, refv)
                if b is not None:
                    h = _halted(f, prev, k)
                    halted, halt_sections = halted + h, halt_sections + 1
                    sections.append((v.ars - pv.dep - h, b[0], b[1]))
        if v.ars is not None and v.dep is not None and k not in (f.origin, f.terminus):
            waited = f.held(st) and st.sched_dep is not None and v.dep <= st.sched_dep + cfg.leave_closed_s
            if not waited:  # a dwell stretched to the timetable says nothing about the dwell itself
                dwells.append(v.dep - v.ars)
        prev = k if v.dep is not None else None
    if prev is not None and s is not None and f.current_visit() is None:
        pv = f.visits[prev]
        nxt = next((k for k in range(prev + 1, len(plan.stops)) if plan.stops[k].served), None)
        b = baseline(f, prev, nxt, refv, at=s) if nxt is not None else None
        if pv.dep is not None and b is not None:
            now = max(0.0, t - halted_since) if halted_since is not None else 0.0
            partial = (t - pv.dep - _halted(f, prev, f.i) - now, b[0], b[1])
    base = _prior_ratio(f)
    prior = cfg.prior_run_s
    mean = base
    if day is not None and day.run_s > 0.0:
        w = cfg.day_weight * min(day.run_s, cfg.day_max_run_s)
        mean = base * (prior + w * day.pace) / (prior + w)
        prior += w

    def fit(share: float) -> tuple[float, float, float, int]:
        """(ratio, squared log error of the whole sections, scheduled-baseline seconds, sections used)."""
        achieved = scheduled = 0.0
        n = 0
        for a, sch, dist in sections + ([partial] if partial is not None else []):
            bl = share * sch + (1.0 - share) * dist
            if bl < cfg.min_section_s or a <= 0.0:
                continue
            achieved += min(max(a, lo * bl), hi * bl)
            scheduled += bl
            n += 1
        ratio = (achieved + prior * mean) / (scheduled + prior)
        ratio = min(max(ratio, cfg.ratio_range[0]), cfg.ratio_range[1])
        err = 0.0
        for a, sch, dist in sections:
            bl = share * sch + (1.0 - share) * dist
            if max(sch, dist) < cfg.min_section_s or a <= 0.0:
                continue
            # one section's miss counts at most 3x either way (a signal stop is not a verdict on the model)
            err += min(abs(math.log(a / max(ratio * bl, 1.0))), math.log(3.0)) ** 2
        return ratio, err, scheduled, n

    share = day.blend if day is not None else cfg.blend_prior
    if refv is None:
        share = 1.0  # nothing to measure the sections by: the timetable's own times
    elif sum(1 for a, sch, dist in sections if max(sch, dist) >= cfg.min_section_s) >= cfg.blend_min_sections:
        # the smallest error; a tie stays nearest the prior
        share = min(cfg.blend_grid, key=lambda w: (round(fit(w)[1], 9), abs(w - share)))
    ratio, _err, scheduled, n_sec = fit(share)
    least = f.cfg.min_dwell_s
    seen = (list(day.dwell_obs) if day is not None else []) + dwells
    seen = seen[-cfg.dwells_kept:]
    dwell = least
    if seen:
        # the expected dwell (its mean, each clipped at 3x the median so one long hold does not set it):
        # over the stops ahead the extra dwell some of them get adds up, their median alone would not
        pool = seen + [least] * cfg.prior_dwells
        cap = 3.0 * statistics.median(pool)
        dwell = statistics.fmean(min(x, cap) for x in pool)
    run_s = scheduled + (cfg.day_weight * min(day.run_s, cfg.day_max_run_s) if day is not None else 0.0)
    if day is not None:
        stopped, passed = stopped + day.stopped, passed + day.passed
        halted, halt_sections = halted + day.halted, halt_sections + day.halt_sections
    return Running(ratio, max(dwell, least), n_sec, len(dwells), ratio / base, run_s, tuple(seen), share,
                   stopped, passed, halted, halt_sections)


def _halted(f: TripFollower, p: int, k: int) -> float:
    """Seconds stood still between stops from stop ``p`` on to stop ``k`` (stops passed between them span)."""
    return sum(h for j, h in f.halts.items() if p < j <= k)


def trapezoid_s(dist: float, v: float, a: float = RUN_ACCEL_MPS2) -> float:
    """Seconds to run ``dist`` metres from standstill to standstill, accelerating and braking at ``a`` and
    cruising at no more than ``v`` (the shape :func:`onboard.tripfollow.plan.run_time` assumes)."""
    if dist <= 0.0:
        return 0.0
    if v <= 0.0:
        return math.inf
    if dist >= v * v / a:
        return dist / v + v / a
    return 2.0 * math.sqrt(dist / a)


_REF_SPEEDS: dict[int, tuple[TripPlan, float | None]] = {}


def ref_speed(f: TripFollower) -> float | None:
    """The cruise speed at which the served sections' lengths, run as trapezoids, take the timetable's
    total scheduled running: the timetable's pace spread by length (None: no sections with length and
    time). Solved by bisection (the total time falls as the speed rises); kept per plan."""
    plan = f.plan
    hit = _REF_SPEEDS.get(id(plan))
    if hit is not None and hit[0] is plan:
        return hit[1]
    served = [k for k, st in enumerate(plan.stops) if st.served]
    dists: list[float] = []
    total = 0.0
    for p, k in zip(served, served[1:], strict=False):
        sp, sk = plan.stops[p], plan.stops[k]
        if sp.sched_dep is None or sk.sched_arr is None:
            continue
        dists.append(max(0.0, f.halt(k) - f.halt(p)))
        total += max(0.0, sk.sched_arr - sp.sched_dep)
    v: float | None = None
    if total > 0.0 and sum(dists) > 0.0:
        lo_v, hi_v = 0.5, 4.0 * f.cfg.est_vmax_mps
        if sum(trapezoid_s(d, hi_v) for d in dists) >= total:
            v = hi_v  # a timetable faster than any plausible run: as fast as plausible
        else:
            for _ in range(60):
                mid = 0.5 * (lo_v + hi_v)
                if sum(trapezoid_s(d, mid) for d in dists) > total:
                    lo_v = mid
                else:
                    hi_v = mid
            v = 0.5 * (lo_v + hi_v)
    if len(_REF_SPEEDS) > 16:
        _REF_SPEEDS.clear()
    _REF_SPEEDS[id(plan)] = (plan, v)
    return v


def baseline(f: TripFollower, p: int, k: int, refv: float | None, *,
             at: float | None = None) -> tuple[float, float] | None:
    """Baseline running from served stop ``p`` to served stop ``k`` (a passed stop between them spans):
    (the timetable's section time, the time the section's length takes at the timetable's pace,
    :func:`ref_speed`). With ``at`` (a chainage inside the section): the same, from the departure to there.
    None where the timetable has no times for the section."""
    plan = f.plan
    sp, sk = plan.stops[p], plan.stops[k]
    if sp.sched_dep is None or sk.sched_arr is None:
        return None
    dist = max(0.0, f.halt(k) - f.halt(p))
    by_len = trapezoid_s(dist, refv) if refv is not None else max(0.0, sk.sched_arr - sp.sched_dep)
    if at is None:
        return max(0.0, sk.sched_arr - sp.sched_dep), by_len
    sched = plan.sched_time_at(at - f.cfg.halt_offset_m) - sp.sched_dep
    return sched, run_time(at - f.halt(p), dist, by_len)


def _prior_ratio(f: TripFollower) -> float:
    """The running ratio expected before anything is seen. A timetable that shows less dwell than a stop
    takes (arrival = departure: whole minutes) hides the rest of the dwell in its running times: running
    at the timetable's pace then achieves the scheduled running minus that hidden dwell."""
    served = [s for s in f.plan.served if s.sched_arr is not None and s.sched_dep is not None]
    total = hidden = 0.0
    for p, st in zip(served, served[1:], strict=False):
        assert p.sched_dep is not None and st.sched_arr is not None and st.sched_dep is not None
        total += max(0.0, st.sched_arr - p.sched_dep)
        if st is not served[-1]:
            hidden += max(0.0, f.cfg.min_dwell_s - (st.sched_dep - st.sched_arr))
    return 1.0 if total <= 0.0 else max(0.5, (total - hidden) / total)


def standing_left(over: float, cfg: EtaConfig = EtaConfig()) -> float:
    """Seconds a vehicle that has already stood ``over`` seconds longer than expected will still stand.

    Nothing on board says when a hold ends (a ramp, a connection waited for, a driver change, a red
    signal). Overruns are long-tailed: most end soon, a few go on for minutes, and the longer one has
    lasted the longer it is likely to last (for a Pareto tail of index 2 the median of the time still
    to come is about 0.4x, the mean 1x the time already stood). Predicting the departure at "now plus
    pulling away" at every moment of a hold is wrong by the whole rest of it at every stop ahead;
    ``cfg.overrun_share`` of the overrun so far (at most ``cfg.overrun_max_s``) is the middle way."""
    return min(max(0.0, over) * cfg.overrun_share, cfg.overrun_max_s)


def predict(f: TripFollower, t: float, s: float | None, run: Running | None = None, *,
            cfg: EtaConfig = EtaConfig(), sections: SectionTimes | None = None,
            observed_t: float | None = None, day: Running | None = None,
            stopped_since: float | None = None) -> list[EtaStop]:
    """Per remaining served stop: the ``eta`` record's stop entry (times ISO UTC ms).

    ``s``: the antenna's chainage now; ``run``: what the trip so far says (default: :func:`learn` with the
    vehicle's earlier trips today, ``day``);
    ``observed_t``: when the unit last observed the vehicle (None: now) — longer ago than
    ``cfg.no_data_after_s`` the stops carry ``NO_DATA`` and no times (the display keeps the timetable);
    ``stopped_since``: since when the vehicle has stood still (None: moving or not known). Standing
    between stops (a signal, a queue) it pulls away from standstill, after :func:`standing_left` of
    the time it has stood there."""
    plan = f.plan
    cur = f.current_visit()
    halted = stopped_since is not None and cur is None and f.i > f.origin
    if run is None:
        run = learn(f, t, s, cfg, day, halted_since=stopped_since if halted else None)
    no_data = s is None or (observed_t is not None and t - observed_t > cfg.no_data_after_s)
    vmax = f.cfg.est_vmax_mps
    refv = ref_speed(f)
    out: list[EtaStop] = []
    halt_ahead = run.halt_s(cfg.prior_halt_sections) * cfg.halt_share
    tau = t  # the time cursor: when the vehicle leaves the previous stop of the walk
    x = s if s is not None else 0.0  # ... and where
    # standing between stops once the trip has left its first stop: a signal, a queue
    if halted and stopped_since is not None:
        tau = t + standing_left(t - stopped_since, cfg)
    prev: int | None = None
    for k in range(f.i, len(plan.stops)):
        st = plan.stops[k]
        if not st.served or k in f.done or st.sched_arr is None or st.sched_dep is None:
            continue
        last = k == f.terminus
        if no_data:
            out.append(_entry(st, last, None, None, "NO_DATA"))
            continue
        if k == cur:
            v = f.visits[k]
            assert v.ars is not None
            eta_arr = v.ars
            if last:
                out.append(_entry(st, True, eta_arr, None))
                break
            # it cannot leave before it closes its doors and pulls away, nor (held) before its time
            leave = cfg.leave_closed_s if v.pde is not None else cfg.leave_open_s
            due = st.sched_dep if k == f.origin else v.ars + run.dwell_s
            if f.held(st):
                due = max(due, st.sched_dep)
            if v.pde is None and t > due:
                leave += standing_left(t - due, cfg)  # doors still open past its time: a hold
            dep = max(t + leave, due)
        else:
            from_stop: str | None = None
            base_run = 0.0  # the baseline running still ahead to this stop (blend of timetable and length)
            if prev is None:
                # part-way into the section (or before the first stop): the rest of its baseline
                p0 = next((j for j in range(k - 1, -1, -1) if plan.stops[j].served), None)
                whole = baseline(f, p0, k, refv) if p0 is not None and k != f.origin else None
                part = baseline(f, p0, k, refv, at=x) if whole is not None and p0 is not None else None
                if whole is not None and part is not None:
                    by_len = max(0.0, whole[1] - part[1])
                    if halted and refv is not None and p0 is not None:
                        by_len = max(by_len, trapezoid_s(max(0.0, f.halt(k) - x), refv))  # from standstill
                    base_run = run.blend * max(0.0, whole[0] - part[0]) + (1.0 - run.blend) * by_len
            else:
                from_stop = plan.stops[prev].stop_id
                whole = baseline(f, prev, k, refv)
                if whole is not None:
                    base_run = run.blend * whole[0] + (1.0 - run.blend) * whole[1]
            known = sections.run_s(from_stop, st.stop_id, t) if sections is not None and from_stop else None
            # a whole section ahead also has the signals and queues today's sections have had
            own = base_run * run.ratio + (halt_ahead if prev is not None else 0.0)
            run_s = own if known is None else cfg.sections_share * known + (1.0 - cfg.sections_share) * own
            # never sooner than the distance at the highest plausible speed: no "Nu" minutes away
            run_s = max(run_s, max(0.0, f.halt(k) - x) / vmax)
            eta_arr = tau + run_s
            if last:
                out.append(_entry(st, True, eta_arr, None))
                break
            # a stop ahead costs the expected dwell where the vehicle stops, nothing where it passes
            dep = eta_arr + (f.cfg.min_dwell_s if k == f.origin else run.dwell_s * run.stop_share(cfg.prior_stops))
        if f.held(st) or k == f.origin:
            dep = max(dep, st.sched_dep)  # held (and no trip leaves its first stop early): an early vehicle waits
        out.append(_entry(st, False, eta_arr, dep))
        tau, x, prev = dep, f.halt(k), k
    return out


def predict_carried_delay(f: TripFollower, t: float, delay: float) -> list[EtaStop]:
    """The model before predictions learned the trip's running, kept as the named reference of
    ``python -m bench eta``: the timetable plus the delay now, carried stop by stop (the scheduled dwell
    beyond the minimum dwell is slack a late vehicle recovers; where held an early vehicle waits)."""
    out: list[EtaStop] = []
    d = delay
    cur = f.current_visit()
    for k in range(f.i, len(f.plan.stops)):
        st = f.plan.stops[k]
        if not st.served or k in f.done or st.sched_arr is None or st.sched_dep is None:
            continue
        eta_arr = f.visits[k].ars if k == cur else max(st.sched_arr + d, t)
        last = k == f.terminus
        if k != cur and d > 0:
            d = max(0.0, d - max(0.0, (st.sched_dep - st.sched_arr) - f.cfg.min_dwell_s))
        if f.held(st) and d < 0:
            d = 0.0
        eta_dep = None if last else max(st.sched_dep + d, eta_arr or t)
        out.append(_entry(st, last, eta_arr, eta_dep))
    return out


def _entry(st: PlanStop, last: bool, arr: float | None, dep: float | None,
           status: Literal["SCHEDULED", "NO_DATA"] = "SCHEDULED") -> EtaStop:
    """One stop's prediction: ``SCHEDULED`` (GTFS-Realtime: the vehicle serves it as timetabled, at the
    predicted times) or ``NO_DATA`` (nothing realtime: the display keeps the timetable)."""
    return EtaStop(stop_id=st.stop_id, seq=st.seq, sched_arr=iso(st.sched_arr),
                   sched_dep=None if last else iso(st.sched_dep), eta_arr=iso(arr),
                   eta_dep=None if last else iso(dep), status=status, platform=st.platform)


__all__ = ["EtaConfig", "Running", "SectionTimes", "baseline", "delay_now", "learn", "predict", "predict_carried_delay",
           "ref_speed", "standing_left", "trapezoid_s"]
