"""Delay now and predicted arrival/departure at every remaining stop (method: docs/tripfollow.md).

Delay between stops compares the time with the schedule interpolated along the shape; at a stop it is
the delay the departure will have (the vehicle cannot leave before its doors cycle, nor before the
scheduled time where it is held).

Predictions learn the day's running from this trip so far (:func:`learn`) instead of carrying the
current delay forward: "timetable + delay now" predicts a vehicle that runs slower than the timetable,
or is held, early at every later stop. The forward walk (:func:`predict`) starts where the vehicle is
and when it is, and adds per section the scheduled running time times the running ratio this trip is
achieving (shrunk towards 1 while few sections are known, each section clipped so one signal stop does
not make the whole trip look slow), and per stop the dwell this trip typically takes there (the median
of its observed dwells, with the minimum dwell as prior). Where the vehicle is held (timing points;
every stop for trains) it does not leave before the scheduled departure, so an early vehicle waits and
a late one recovers the scheduled slack. A vehicle standing at a stop leaves no earlier than now plus
the time to close its doors and pull away, so an unscheduled hold pushes every later stop on with it. No
arrival is predicted sooner than the distance to it at the highest plausible speed allows, so a vehicle
that is still minutes away is never shown as "Nu".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal, Protocol

from onboard.tripfollow.plan import PlanStop
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
    #: no observation of the vehicle for this long: the stops carry ``NO_DATA`` (GTFS-Realtime), no times
    no_data_after_s: float = 180.0


class SectionTimes(Protocol):
    """Recent running times of other vehicles on the same sections (fed by the central side).

    ``run_s(from_stop, to_stop, t)`` is the typical departure-to-arrival running time in seconds between
    two consecutive stops of the trip as other vehicles achieved it shortly before ``t``, or None when
    there is nothing recent. Where known it replaces scheduled running × this trip's ratio for that
    section (the ratio still scales sections nobody drove recently)."""

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


def learn(f: TripFollower, t: float, s: float | None, cfg: EtaConfig = EtaConfig(),
          day: Running | None = None) -> Running:
    """Running ratio and typical dwell of the trip so far, from its departures and arrivals (and the run
    in progress: the time since the last departure against the scheduled time to where it is now).

    ``day``: what the vehicle's earlier trips today said (:meth:`onboard.tripfollow.core.Core` keeps it):
    the prior starts from their pace, weighted by ``cfg.day_weight`` of their running (at most
    ``cfg.day_max_run_s``), and their dwells count before this trip's own."""
    plan = f.plan
    achieved = 0.0
    scheduled = 0.0
    n_sec = 0
    lo, hi = cfg.section_clip

    def add(a: float, sch: float) -> None:
        nonlocal achieved, scheduled, n_sec
        if sch < cfg.min_section_s or a <= 0.0:
            return
        achieved += min(max(a, lo * sch), hi * sch)
        scheduled += sch
        n_sec += 1

    dwells: list[float] = []
    prev: int | None = None  # the last stop with a known departure (running since then)
    for k in range(min(f.i + 1, len(plan.stops))):
        st = plan.stops[k]
        if not st.served:
            continue
        v = f.visits.get(k)
        state = f.done.get(k)
        if v is None or state in ("unobserved", "not_observed") or (state is None and k != f.i):
            prev = None
            continue
        if state == "pas":
            continue  # a served stop passed (nobody to set down or pick up): the section spans it
        if v.ars is not None and prev is not None:
            p = plan.stops[prev]
            pv = f.visits[prev]
            if pv.dep is not None and p.sched_dep is not None and st.sched_arr is not None:
                add(v.ars - pv.dep, st.sched_arr - p.sched_dep)
        if v.ars is not None and v.dep is not None and k not in (f.origin, f.terminus):
            waited = f.held(st) and st.sched_dep is not None and v.dep <= st.sched_dep + cfg.leave_closed_s
            if not waited:  # a dwell stretched to the timetable says nothing about the dwell itself
                dwells.append(v.dep - v.ars)
        prev = k if v.dep is not None else None
    if prev is not None and s is not None and f.current_visit() is None:
        p = plan.stops[prev]
        pv = f.visits[prev]
        if pv.dep is not None and p.sched_dep is not None:
            add(t - pv.dep, plan.sched_time_at(s - f.cfg.halt_offset_m) - p.sched_dep)
    base = _prior_ratio(f)
    prior = cfg.prior_run_s
    mean = base
    if day is not None and day.run_s > 0.0:
        w = cfg.day_weight * min(day.run_s, cfg.day_max_run_s)
        mean = base * (prior + w * day.pace) / (prior + w)
        prior += w
    ratio = (achieved + prior * mean) / (scheduled + prior)
    ratio = min(max(ratio, cfg.ratio_range[0]), cfg.ratio_range[1])
    least = f.cfg.min_dwell_s
    seen = (list(day.dwell_obs) if day is not None else []) + dwells
    seen = seen[-cfg.dwells_kept:]
    dwell = statistics.median(seen + [least] * cfg.prior_dwells) if seen else least
    run_s = scheduled + (cfg.day_weight * min(day.run_s, cfg.day_max_run_s) if day is not None else 0.0)
    return Running(ratio, max(dwell, least), n_sec, len(dwells), ratio / base, run_s, tuple(seen))


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


def predict(f: TripFollower, t: float, s: float | None, run: Running | None = None, *,
            cfg: EtaConfig = EtaConfig(), sections: SectionTimes | None = None,
            observed_t: float | None = None, day: Running | None = None) -> list[EtaStop]:
    """Per remaining served stop: the ``eta`` record's stop entry (times ISO UTC ms).

    ``s``: the antenna's chainage now; ``run``: what the trip so far says (default: :func:`learn` with the
    vehicle's earlier trips today, ``day``);
    ``observed_t``: when the unit last observed the vehicle (None: now) — longer ago than
    ``cfg.no_data_after_s`` the stops carry ``NO_DATA`` and no times (the display keeps the timetable)."""
    plan = f.plan
    if run is None:
        run = learn(f, t, s, cfg, day)
    no_data = s is None or (observed_t is not None and t - observed_t > cfg.no_data_after_s)
    vmax = f.cfg.est_vmax_mps
    out: list[EtaStop] = []
    cur = f.current_visit()
    tau = t  # the time cursor: when the vehicle leaves the previous stop of the walk
    x = s if s is not None else 0.0  # ... and where
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
            dep = t + leave if k == f.origin else max(t + leave, v.ars + run.dwell_s)
        else:
            if prev is None:
                here = plan.sched_time_at(x - f.cfg.halt_offset_m)
                sched_run = max(0.0, st.sched_arr - here) if k != f.origin else 0.0
                from_stop: str | None = None
            else:
                p = plan.stops[prev]
                assert p.sched_dep is not None
                sched_run = max(0.0, st.sched_arr - p.sched_dep)
                from_stop = p.stop_id
            known = sections.run_s(from_stop, st.stop_id, t) if sections is not None and from_stop else None
            run_s = known if known is not None else sched_run * run.ratio
            # never sooner than the distance at the highest plausible speed: no "Nu" minutes away
            run_s = max(run_s, max(0.0, f.halt(k) - x) / vmax)
            eta_arr = tau + run_s
            if last:
                out.append(_entry(st, True, eta_arr, None))
                break
            dep = eta_arr + (f.cfg.min_dwell_s if k == f.origin else run.dwell_s)
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


__all__ = ["EtaConfig", "Running", "SectionTimes", "delay_now", "learn", "predict", "predict_carried_delay"]
