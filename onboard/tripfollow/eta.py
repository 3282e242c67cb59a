"""Delay now and predicted arrival/departure at every remaining stop (method: docs/tripfollow.md).

Delay between stops compares the time with the schedule interpolated along the shape; at a stop it is
the delay the departure will have (the vehicle cannot leave before its doors cycle, nor before the
scheduled time where it is held). Forward, the delay is carried stop by stop: at each stop the
scheduled dwell beyond the minimum dwell is slack a late vehicle recovers; where the vehicle is held
(timing points; every stop for trains) an early vehicle waits, so early running ends there.
"""

from __future__ import annotations

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


def predict(f: TripFollower, t: float, delay: float) -> list[EtaStop]:
    """Per remaining served stop: the ``eta`` record's stop entry (times ISO UTC ms)."""
    out: list[EtaStop] = []
    d = delay
    cur = f.current_visit()
    for k in range(f.i, len(f.plan.stops)):
        st = f.plan.stops[k]
        if not st.served or k in f.done or st.sched_arr is None or st.sched_dep is None:
            continue
        if k == cur:
            eta_arr = f.visits[k].ars
        else:
            eta_arr = st.sched_arr + d
            if eta_arr < t:
                eta_arr = t
        last = k == f.terminus
        if k != cur:
            slack = max(0.0, (st.sched_dep - st.sched_arr) - f.cfg.min_dwell_s)
            if d > 0:
                d = max(0.0, d - slack)
        if f.held(st) and d < 0:
            d = 0.0
        eta_dep = None if last else max(st.sched_dep + d, (eta_arr or t))
        out.append(EtaStop(stop_id=st.stop_id, seq=st.seq, sched_arr=iso(st.sched_arr),
                           sched_dep=None if last else iso(st.sched_dep), eta_arr=iso(eta_arr),
                           eta_dep=iso(eta_dep), status="SCHEDULED", platform=st.platform))
    return out


__all__ = ["delay_now", "predict"]
