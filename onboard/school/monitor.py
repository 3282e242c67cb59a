"""The school run as the driver and the municipality see it (issue 18, docs/school-buses.md).

:class:`SchoolMonitor` takes the unit's wire records in order (``vp``, ``eta``, stop events,
``occupancy``, ``alarm`` — the same whether they come from the live pipeline, a replay or an events
file, like the frieze's tracker) and, for trips that are school runs (:class:`transit.runfile.SchoolRun`),
produces:

* **ride time** (``ride_time``): pupils are grouped by the stop where they boarded (the ``occupancy``
  record's ``in``; their ride starts at the bus's arrival there). Alightings are taken from the latest
  boardings first, so the earliest pupil's ride is never underestimated (a door counter cannot tell who
  gets off). The ride of the earliest group still on board ends, at the latest, at the run's last stop;
  when its predicted end (pace-scaled ETA, :mod:`onboard.school.eta`) is past the limit, a ``warning`` is
  recorded once ``warn_lead`` before the limit is reached (or at once when it is nearer). The run's
  ``longest`` ride is recorded at its end.
* **school arrival** (``school_arrival``): at the standstill at each school of a run to school, the
  verdict against its bell: ``early`` before the later of (bell - margin) and the window's start,
  ``late`` after the earlier of the window's end and the bell (ours: a pupil arriving after the bell is
  late for school), else ``in_window``.
* **10-minute notice** (``notice``): for each flagged pickup not yet reached, once its predicted arrival
  is ``notice_min`` away or less; not again on ETA jitter, again (``resend``) when the ETA grows by more
  than ``resend_growth_min`` after it was sent; never once the bus is at or past the pickup.
* the **driver panel's state** (:meth:`panel`): ride-time warning, capacity alarm (from counting's
  ``alarm`` records, cleared when a later stop's load is back within the approved capacity), the next
  stop and the last notices.

Pure: every time is the records' data time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import msgspec

from onboard.school.eta import PaceEta, SchedStop
from onboard.tripfollow.plan import build_plan
from transit.records import (
    Alarm,
    Arrival,
    ArrivalStopped,
    Departure,
    Eta,
    Occupancy,
    Pass,
    PickupNotice,
    Position,
    Record,
    RideTime,
    SchoolArrival,
    TripRef,
    iso,
)
from transit.runfile import SchoolRun
from transit.schoolrules import SchoolRules
from transit.timeutil import COPENHAGEN, gtfs_datetime, parse_iso

#: a notice whose arrival is nearer than this is not sent (the unit came up late, or the bus ran early)
MIN_NOTICE_S = 60.0

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)


def _t(text: str | None) -> float | None:
    return None if text is None else parse_iso(text).timestamp()


@dataclass
class Cohort:
    """Pupils who boarded at one stop."""

    stop_id: str
    name: str
    t: float
    boarded: int
    n: int  # still on board
    alighted_t: float | None = None
    alighted_stop: str | None = None


@dataclass(frozen=True)
class PanelState:
    """What the driver's panel shows (rendered by :mod:`onboard.school.panel`)."""

    route: str
    headsign: str
    next_stop: str | None
    load: int | None
    capacity: int | None
    ride_min: float | None  # the earliest boarded pupil's ride so far
    limit_min: float
    ride_warning: RideTime | None  # active warning
    capacity_alarm: Alarm | None  # active alarm
    alarm_stop: str | None  # where it began, by name
    alarm_since: str | None  # when it began
    notices: tuple[PickupNotice, ...]  # latest first
    clock: str  # local HH:MM of the data time


@dataclass
class _Run:
    run: SchoolRun
    ref: TripRef
    eta: PaceEta
    cohorts: list[Cohort] = field(default_factory=list)
    arrived: dict[str, float] = field(default_factory=dict)  # stop_id -> arrival (ars, else arr)
    passed: set[str] = field(default_factory=set)
    notices: dict[str, tuple[float, PickupNotice]] = field(default_factory=dict)  # stop -> (eta sent, record)
    warned: bool = False
    warning: RideTime | None = None
    verdicts: set[str] = field(default_factory=set)
    ended: bool = False
    headsign: str = ""
    next_stop: str | None = None


class SchoolMonitor:
    """Ride time, school arrival, notices and the panel for school runs; :meth:`on_record` per record."""

    def __init__(self, runs: Mapping[str, SchoolRun], rules: SchoolRules | None = None, *,
                 capacity: int | None = None, timetable: Timetable | None = None) -> None:
        """``timetable``: the feed the unit follows; with it the stops' places along the shape are known
        and arrivals are predicted from distance (:mod:`onboard.school.eta`), else from the schedule."""
        self.runs = dict(runs)
        self.tt = timetable
        self.rules = rules if rules is not None else SchoolRules()
        self.capacity = capacity
        self.cur: _Run | None = None
        self.t: float | None = None
        self.load: int | None = None
        self.alarm: Alarm | None = None  # the latest capacity alarm while the overload lasts
        self.alarm_first: Alarm | None = None
        self.sent: list[PickupNotice] = []
        self._veh = self._oper = ""
        self.counts: dict[str, int] = {"notices": 0, "resends": 0, "warnings": 0, "verdicts": 0, "runs": 0}

    # -- input ----------------------------------------------------------------------------------------------
    def on_records(self, recs: Iterable[Record]) -> list[Record]:
        out: list[Record] = []
        for r in recs:
            out += self.on_record(r)
        return out

    def on_record(self, rec: Record) -> list[Record]:
        """One wire record of the unit, in order; returns the school records it gave rise to."""
        t = parse_iso(rec.tst).timestamp()  # the event's own time (a departure is stamped when it began)
        self.t = max(t, self.t or t)  # "now": the newest data time seen (decisions are taken at it)
        now = self.t
        self._veh, self._oper = rec.veh, rec.oper  # school records carry the unit's identity
        if isinstance(rec, Alarm) and rec.alarm == "capacity":
            if self.alarm is None:
                self.alarm_first = rec  # the stop where this overload began
            self.alarm = rec
            return []
        if isinstance(rec, Occupancy):
            self.load = rec.vehicleload
            if isinstance(rec.capacity, int):
                self.capacity = rec.capacity
            if self.alarm is not None and self.capacity is not None and rec.vehicleload <= self.capacity:
                self.alarm = None
        run = self._run_of(rec, t)
        if run is None:
            return []
        out: list[Record] = []
        if isinstance(rec, Eta):
            self._on_eta(run, rec)
        elif isinstance(rec, Position):
            moving = rec.spd is not None and rec.spd > 0.5
            run.eta.position(t, rec.dl if isinstance(rec.dl, float | int) else None,
                             rec.dist if isinstance(rec.dist, float | int) else None, moving, rec.spd)
        elif isinstance(rec, ArrivalStopped | Arrival) and rec.stop_id is not None:
            run.eta.arrived(rec.stop_id, t)
            if rec.stop_id not in run.arrived or isinstance(rec, ArrivalStopped):
                first = rec.stop_id not in run.arrived
                run.arrived[rec.stop_id] = t if first else min(run.arrived[rec.stop_id], t)
                if isinstance(rec, ArrivalStopped):
                    run.arrived[rec.stop_id] = t
                    out += self._verdict(run, rec.stop_id, t)
        elif isinstance(rec, Departure | Pass) and rec.stop_id is not None:
            run.eta.departed(rec.stop_id, t)
            run.passed.add(rec.stop_id)
            if isinstance(rec, Pass) and rec.stop_id not in run.arrived:
                run.arrived[rec.stop_id] = t
        elif isinstance(rec, Occupancy) and rec.stop_id is not None:
            out += self._on_occupancy(run, rec, t)
        if not run.ended:
            out += self._notices(run, now)
            out += self._ride_warning(run, now)
        return out

    def finish(self) -> list[Record]:
        """End of data: the open run's longest ride."""
        if self.cur is None or self.cur.ended:
            return []
        return self._end(self.cur)

    # -- runs -----------------------------------------------------------------------------------------------
    def _run_of(self, rec: Record, t: float) -> _Run | None:
        tid = rec.trip_id
        if tid is None or rec.oday is None:
            return self.cur if self.cur is not None and not self.cur.ended else None
        if self.cur is not None and self.cur.ref.trip_id == tid and self.cur.ref.oday == rec.oday:
            return self.cur
        run = self.runs.get(tid)
        if run is None:
            return None
        # a new school run; the previous one ends here if it had not
        if self.cur is not None and not self.cur.ended:
            self._end(self.cur)
        ref = TripRef(tid, rec.oday, rec.route or run.route, rec.dir or 0, rec.start or "")
        self.cur = _Run(run, ref, PaceEta(hold=self.rules.hold_at_pickups, chainage=self._chainage(tid, rec.oday)))
        self.counts["runs"] += 1
        return self.cur

    def _chainage(self, trip_id: str, oday: str) -> dict[str, float]:
        """stop_id -> metres along the trip's shape (as ``vp.dist``), or {} without a usable timetable."""
        if self.tt is None or trip_id not in self.tt.trips:
            return {}
        try:
            plan = build_plan(self.tt, trip_id, date.fromisoformat(oday), with_passes=False)
        except (ValueError, KeyError) as exc:
            log.warning("school run %s: no stop places from the timetable (%s); predicting from the schedule",
                        trip_id, exc)
            return {}
        return {st.stop_id: st.chainage_m for st in plan.stops}

    def _on_eta(self, run: _Run, rec: Eta) -> None:
        run.headsign = rec.headsign or run.headsign
        stops = [SchedStop(s.stop_id, s.seq, _t(s.sched_arr), _t(s.sched_dep)) for s in rec.stops]
        if stops:
            run.eta.schedule(stops)
            run.next_stop = next((s.stop_id for s in rec.stops if s.stop_id not in run.passed
                                  and s.stop_id != run.eta.at_stop), None)

    def _name(self, run: _Run, stop_id: str) -> str:
        r = run.run
        if stop_id in r.schools:
            return r.schools[stop_id].name
        if stop_id in r.notice:
            return r.notice[stop_id].name
        return r.names.get(stop_id, stop_id)

    # -- ride time ------------------------------------------------------------------------------------------
    def _on_occupancy(self, run: _Run, rec: Occupancy, t: float) -> list[Record]:
        sid = rec.stop_id
        assert sid is not None
        arrived = run.arrived.get(sid, t)
        out_n = rec.out if isinstance(rec.out, int) else 0
        in_n = rec.in_ if isinstance(rec.in_, int) else 0
        # alightings from the latest boardings first: the earliest pupil's ride is never underestimated
        for c in reversed(run.cohorts):
            if out_n <= 0:
                break
            if c.n <= 0:
                continue
            k = min(c.n, out_n)
            c.n -= k
            out_n -= k
            if c.n == 0:
                c.alighted_t, c.alighted_stop = arrived, sid
        if in_n > 0:
            run.cohorts.append(Cohort(sid, self._name(run, sid), arrived, in_n, in_n))
        if rec.terminus is True:
            for c in run.cohorts:
                if c.n > 0:
                    c.n, c.alighted_t, c.alighted_stop = 0, arrived, sid
            return self._end(run)
        return []

    def _earliest(self, run: _Run) -> Cohort | None:
        return next((c for c in run.cohorts if c.n > 0), None)

    def _ride_warning(self, run: _Run, t: float) -> list[Record]:
        first = self._earliest(run)
        if first is None or run.warned or not run.eta.stops:
            return []
        limit = run.run.ride_limit_s
        if t < first.t + limit - self.rules.warn_lead_min * 60.0:
            return []
        last = run.eta.stops[-1].stop_id
        pred = run.eta.predict(t)
        end = pred.get(last)
        if end is None:
            if run.eta.at_stop == last and run.eta.arrived_t is not None:
                end = run.eta.arrived_t
            else:
                return []
        if end - first.t <= limit:
            return []
        over = sum(c.n for c in run.cohorts if c.n > 0 and end - c.t > limit)
        run.warned = True
        self.counts["warnings"] += 1
        rec = RideTime.make(t, veh=self._veh, oper=self._oper, trip=run.ref, stop_id=first.stop_id,
                            loc="N/A", id_extra="warning", kind="warning", boarded=iso(first.t) or "",
                            board_stop_name=first.name, pupils=over, ride_s=round(end - first.t, 1),
                            limit_s=limit, end_stop=last, end=iso(end), exceeded=True)
        run.warning = rec
        return [rec]

    def _end(self, run: _Run) -> list[Record]:
        run.ended = True
        run.warning = None
        done = [c for c in run.cohorts if c.alighted_t is not None]
        if not done:
            return []
        longest = max(done, key=lambda c: (c.alighted_t or c.t) - c.t)
        ride = (longest.alighted_t or longest.t) - longest.t
        t = self.t if self.t is not None else longest.t
        return [RideTime.make(t, veh=self._veh, oper=self._oper, trip=run.ref, stop_id=longest.stop_id,
                              id_extra="longest", kind="longest", boarded=iso(longest.t) or "",
                              board_stop_name=longest.name, pupils=longest.boarded,
                              ride_s=round(ride, 1), limit_s=run.run.ride_limit_s, end_stop=longest.alighted_stop,
                              end=iso(longest.alighted_t), exceeded=ride > run.run.ride_limit_s)]

    # -- school arrival -------------------------------------------------------------------------------------
    def _verdict(self, run: _Run, stop_id: str, t: float) -> list[Record]:
        school = run.run.schools.get(stop_id)
        if run.run.kind != "to_school" or school is None or school.bell_s is None or stop_id in run.verdicts:
            return []
        run.verdicts.add(stop_id)
        r = self.rules
        bell = gtfs_datetime(date.fromisoformat(run.ref.oday), school.bell_s, COPENHAGEN)
        local_day = bell.astimezone(COPENHAGEN).date()

        def at(hm: time) -> datetime:
            return datetime.combine(local_day, hm, COPENHAGEN).astimezone(UTC)

        lo = max(bell - timedelta(minutes=r.early_margin_min), at(r.window_start))
        hi = min(at(r.window_end), bell)
        arr = datetime.fromtimestamp(t, UTC)
        verdict = "late" if arr > hi else "early" if arr < lo else "in_window"
        self.counts["verdicts"] += 1
        return [SchoolArrival.make(t, veh=self._veh, oper=self._oper, trip=run.ref, stop_id=stop_id,
                                   school=school.name, bell=iso(bell.timestamp()) or "", arrival=iso(t) or "",
                                   verdict=verdict, before_bell_s=round(bell.timestamp() - t, 1),
                                   window_from=iso(lo.timestamp()) or "", window_to=iso(hi.timestamp()) or "")]

    # -- notices --------------------------------------------------------------------------------------------
    def _notices(self, run: _Run, t: float) -> list[Record]:
        if not run.run.notice or not run.eta.stops:
            return []
        pred: dict[str, float] | None = None
        out: list[Record] = []
        lead = self.rules.notice_min * 60.0
        grow = self.rules.resend_growth_min * 60.0
        for sid, pickup in run.run.notice.items():
            if sid in run.arrived or sid in run.passed or sid == run.eta.at_stop:
                continue  # never for a pickup the bus is at or has passed
            if pred is None:
                pred = run.eta.predict(t)
            eta = pred.get(sid)
            if eta is None or eta - t < MIN_NOTICE_S:
                continue  # the bus is as good as there: nobody can act on a notice any more
            sent = run.notices.get(sid)
            if sent is None:
                if eta - t > lead:
                    continue
                resend, prev = False, None
            elif eta - sent[0] > grow:
                resend, prev = True, sent[0]
            else:
                continue
            extra = f"{sid}|{'re' if resend else ''}{len(self.sent)}"
            rec = PickupNotice.make(t, veh=self._veh, oper=self._oper, trip=run.ref, stop_id=sid, id_extra=extra,
                              stop_name=pickup.name, eta=iso(eta) or "", minutes=max(0, round((eta - t) / 60.0)),
                              ref=pickup.ref, resend=resend)
            if prev is not None:
                rec = msgspec.structs.replace(rec, previous_eta=iso(prev) or "")
            run.notices[sid] = (eta, rec)
            self.sent.append(rec)
            self.counts["resends" if resend else "notices"] += 1
            out.append(rec)
        return out

    # -- panel ----------------------------------------------------------------------------------------------
    def panel(self) -> PanelState | None:
        """The driver panel's state at the last record's time (None before any school run)."""
        run = self.cur
        if run is None or self.t is None:
            return None
        first = self._earliest(run) if not run.ended else None
        ride = (self.t - first.t) / 60.0 if first is not None else None
        clock = datetime.fromtimestamp(self.t, UTC).astimezone(COPENHAGEN).strftime("%H:%M")
        nxt = run.next_stop
        return PanelState(route=run.ref.route, headsign=run.headsign, next_stop=self._name(run, nxt) if nxt else None,
                          load=self.load, capacity=self.capacity, ride_min=ride,
                          limit_min=run.run.ride_limit_s / 60.0, ride_warning=run.warning,
                          capacity_alarm=self.alarm,
                          alarm_stop=(self._name(run, self.alarm_first.stop_id)
                                      if self.alarm and self.alarm_first and self.alarm_first.stop_id else None),
                          alarm_since=self.alarm_first.tst if self.alarm and self.alarm_first else None,
                          notices=tuple(reversed(self.sent[-3:])), clock=clock)


__all__ = ["Cohort", "PanelState", "SchoolMonitor"]
