"""Punctuality records at the operator's registration stations, and their append-only log.

Rule (DOMAIN.md, ``transit.operator.PunctualityPolicy``): rail measures the arrival (``ars``: the
moment the vehicle stood still at the platform) against the public timetable, late when >= the late
threshold (180 s); bus measures the departure (the moment it moved off) and also counts leaving early.
Where the measured moment does not exist — no arrival at a trip's first stop, no departure at its last
— the other one is recorded for information (``measured``) with ``counted: false``: the contract's
figure is over the policy's own measurement only. A registration stop the trip
did not serve (passed, cut short, cancelled, never observed) gets an explicit ``missing`` record, so a
gap in the data can never raise the regularity. A registration the unit was blind for (no position, no
odometer: trip following says ``not_observed``, or only estimated the moment, ``loc: EST``) gets
``status: not_observed`` — never "passed" — with the estimate, when there is one, for information
(``est_actual``, ``est_dl``, ``unc_s``); the contract's missing policy decides how it counts.

The log is JSON Lines under the state directory, each line flushed and fsync'd before the record goes
anywhere else (outbox, MQTT, output file).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from onboard.tripfollow.events import Consumer, CoreEvent, StopEvent, TripEnded, TripStarted
from transit.jsonl import RotatingAppendFile
from transit.records import Encoded, Punctuality, Record, iso

if TYPE_CHECKING:
    from onboard.tripfollow.plan import PlanStop, TripPlan

log = logging.getLogger(__name__)

LOG_NAME = "punctuality.jsonl"


class OpenTrip(msgspec.Struct, frozen=True):
    """A trip's registrations not yet recorded: stop indexes into its plan."""

    oday: str
    trip_id: str
    pending: list[int]
    first: int
    last: int


class PunctualityState(msgspec.Struct, frozen=True):
    """What punctuality must not forget across a restart (:meth:`PunctualityRecorder.snapshot`): which
    registrations of the trips under way are still open — a registration already recorded must never
    become ``missing`` after a restart."""

    trips: list[OpenTrip]


class PunctualityRecorder(Consumer):
    """Turns stop events into ``punctuality`` records (pure; the caller writes them to the log first).
    A consumer of trip following: trip start opens the registration stops, stop events measure them,
    trip end or cancellation closes the rest as ``missing``."""

    def __init__(self, policy: Any, is_registration: Callable[[str, str, str], bool], *, veh: str,
                 oper: str) -> None:
        self.policy = policy
        self.is_registration = is_registration
        self.veh = veh
        self.oper = oper
        self._open: dict[tuple[str, str], dict[int, PlanStop]] = {}  # (oday, trip) -> stop index -> stop
        self._ends: dict[tuple[str, str], tuple[int, int]] = {}

    def start_trip(self, plan: TripPlan) -> None:
        key = (plan.ref.oday, plan.ref.trip_id)
        served = [k for k, s in enumerate(plan.stops) if s.served]
        self._ends[key] = (served[0], served[-1])
        self._open[key] = {k: s for k, s in enumerate(plan.stops)
                           if s.served and self.is_registration(plan.ref.route, s.stop_id, s.station)}

    def snapshot(self) -> PunctualityState:
        return PunctualityState([OpenTrip(oday, tid, sorted(pending), *self._ends[(oday, tid)])
                                 for (oday, tid), pending in sorted(self._open.items())])

    def restore(self, st: PunctualityState, plans: Callable[[str, str], TripPlan | None]) -> None:
        """Continue from :meth:`snapshot`; ``plans(oday, trip_id)`` gives the plan of a trip (None: the trip
        is not followed any more, its open registrations are left to whoever ends it)."""
        self._open.clear()
        self._ends.clear()
        for ot in st.trips:
            plan = plans(ot.oday, ot.trip_id)
            if plan is None:
                continue
            key = (ot.oday, ot.trip_id)
            self._ends[key] = (ot.first, ot.last)
            self._open[key] = {k: plan.stops[k] for k in ot.pending if 0 <= k < len(plan.stops)}

    def recorded(self, rec: Punctuality, plan: TripPlan) -> bool:
        """A registration of ``plan`` found recorded elsewhere (the punctuality log after a restart) is
        closed here; True when it was still open."""
        pending = self._open.get((plan.ref.oday, plan.ref.trip_id))
        if pending is None:
            return False
        for k, st in list(pending.items()):
            if st.stop_id == rec.stop_id and st.seq == rec.seq:
                del pending[k]
                return True
        return False

    def on_event(self, ev: CoreEvent) -> list[Record]:
        if isinstance(ev, StopEvent):
            if ev.plan is None or ev.k is None:
                return []  # a door event: not a measurement
            unc = getattr(ev.record, "unc_s", None)
            return self.on_stop(ev.plan, ev.record.event, ev.t, ev.k, ev.record.loc,
                                unc_s=unc if isinstance(unc, float | int) else None)
        if isinstance(ev, TripStarted):
            self.start_trip(ev.plan)
            return []
        if isinstance(ev, TripEnded):
            return self.end_trip(ev.plan, ev.t, ev.reason or "not served", ev.loc, ev.unobserved)
        return self.end_trip(ev.plan, ev.t, "trip not driven (cancelled)")

    def on_stop(self, plan: TripPlan, event: str, t: float, k: int, loc: str,
                unc_s: float | None = None) -> list[Record]:
        """One stop event of ``plan`` at stop index ``k`` (``unc_s``: of a moment estimated, loc EST)."""
        key = (plan.ref.oday, plan.ref.trip_id)
        pending = self._open.get(key)
        if pending is None or k not in pending:
            return []
        first, last = self._ends[key]
        on = self.policy.measure_on
        if on == "arrival":
            want = "dep" if k == first else "ars"
        else:
            want = "ars" if k == last else "dep"
        if event == "pas":
            return [self._missing(plan, k, pending.pop(k), t, "passed without stopping", loc)]
        if event == "not_observed":
            return [self._missing(plan, k, pending.pop(k), t, "not observed: the unit had no position and no "
                                  "odometer while the vehicle was at the stop", loc, status="not_observed")]
        if event != want:
            return []
        st = pending.pop(k)
        if loc == "EST":
            # estimated across a blind gap: information, not a measurement
            sched_e = st.sched_arr if event == "ars" else st.sched_dep
            return [self._missing(plan, k, st, t, "not observed: estimated from the positions before and after "
                                  "the unit was blind", loc, status="not_observed", est_actual=iso(t),
                                  est_dl=None if sched_e is None else round(t - sched_e, 1), unc_s=unc_s)]
        measured = "arrival" if event == "ars" else "departure"
        sched = st.sched_arr if measured == "arrival" else st.sched_dep
        assert sched is not None
        dl = round(t - sched, 1)
        pol = self.policy
        rec = Punctuality.make(t, veh=self.veh, oper=self.oper, trip=plan.ref, stop_id=st.stop_id,
                          seq=st.seq, loc=loc, status="measured", station=self._station(plan, st),
                          station_name=st.name,
                          measured=measured, counted=measured == pol.measure_on, sched=iso(sched),
                          actual=iso(t), dl=dl,
                          late=pol.is_late(dl), early=pol.is_early(dl), punctual=pol.is_punctual(dl),
                          rejsegaranti=pol.rejsegaranti(dl),
                          replacement=dl > pol.replacement_transport_min * 60, policy=pol.policy)
        return [rec]

    def end_trip(self, plan: TripPlan, t: float, reason: str, loc: str = "N/A",
                 reasons: dict[int, str] | None = None) -> list[Record]:
        """The trip is over (or never ran): every registration stop not measured is ``missing``
        (``reasons`` per stop index override the general ``reason``)."""
        key = (plan.ref.oday, plan.ref.trip_id)
        pending = self._open.pop(key, None)
        if pending is None:
            self.start_trip(plan)
            pending = self._open.pop(key)
        why = reasons or {}
        return [self._missing(plan, k, st, t, why.get(k, reason), loc) for k, st in sorted(pending.items())]

    def cancel_stops(self, plan: TripPlan, reasons: dict[int, str], t: float, loc: str = "N/A") -> list[Record]:
        """Registration stops of ``plan`` (by index) that will not be served — cancelled by the control room
        or reported so by the unit — closed now as ``missing`` with the reason (its word "cancelled" is what
        the month's report counts as cancelled). Stops already measured or closed are left alone."""
        key = (plan.ref.oday, plan.ref.trip_id)
        pending = self._open.get(key)
        if pending is None:
            return []
        return [self._missing(plan, k, pending.pop(k), t, reasons[k], loc) for k in sorted(reasons) if k in pending]

    def _station(self, plan: TripPlan, st: PlanStop) -> str:
        regs = set()
        for sid in (st.stop_id, st.station):
            if self.is_registration(plan.ref.route, sid, sid):
                regs.add(sid)
        return st.station if st.station in regs else st.stop_id

    def _missing(self, plan: TripPlan, k: int, st: PlanStop, t: float, reason: str, loc: str,
                 status: str = "missing", **est: Any) -> Record:
        first, last = self._ends.get((plan.ref.oday, plan.ref.trip_id), (k, k))
        on = self.policy.measure_on
        measured = ("departure" if k == first else "arrival") if on == "arrival" else \
            ("arrival" if k == last else "departure")
        sched = st.sched_arr if measured == "arrival" else st.sched_dep
        return Punctuality.make(t, veh=self.veh, oper=self.oper, trip=plan.ref, stop_id=st.stop_id,
                           seq=st.seq, loc=loc, status=status, station=self._station(plan, st),
                           station_name=st.name,
                           measured=measured, counted=measured == self.policy.measure_on, sched=iso(sched),
                           actual=None, dl=None, late=None,
                           reason=reason, policy=self.policy.policy, **est)


class PunctualityLog:
    """Append-only JSON Lines file; every append is flushed and fsync'd before it returns.

    A power cut in the middle of a write leaves a torn last line; on open it is cut off (kept in
    ``punctuality.jsonl.torn``, :func:`transit.jsonl.repair_torn_tail`) so the next record does not
    glue onto it. :attr:`torn_bytes` says how much was cut (health reports it). Rotated by size (or
    age) with nothing deleted (:class:`transit.jsonl.RotatingAppendFile`); readers given
    ``punctuality.jsonl`` read the rotated ``punctuality.jsonl.N`` ... ``.1`` before it."""

    def __init__(self, state_dir: str | Path, name: str = LOG_NAME, *,
                 max_bytes: int | None = 64 * 1024 * 1024, max_age_s: float | None = None) -> None:
        self.path = Path(state_dir) / name
        self._file = RotatingAppendFile(self.path, max_bytes=max_bytes, max_age_s=max_age_s, fsync=True)
        self.torn_bytes = self._file.torn_bytes

    def append(self, rec: Record | Encoded) -> None:
        """Append one record (its bytes as encoded once, for an :class:`Encoded`); fsync'd on return."""
        self.append_line((rec if isinstance(rec, Encoded) else Encoded.of(rec)).line)

    def append_line(self, line: bytes) -> None:
        """One whole line, fsync'd; on failure (disk full) the file is cut back and the error raised."""
        self._file.append_line(line)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PunctualityLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



__all__ = ["LOG_NAME", "OpenTrip", "PunctualityLog", "PunctualityRecorder", "PunctualityState"]
