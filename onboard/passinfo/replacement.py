"""Replacement-transport trigger: the unit tells the control room when its passengers are owed a bus or taxi.

The contract (003, "Afvigelser fra normalkøreplan"): replacement transport is due where passengers "vil
blive forsinket mere end 60 minutter ... eller vil miste dagens sidste forbindelse med tog". The unit knows
both first: its own predictions (with the control room's cancellations and skipped stops applied) and the
timetable of every line at the stops ahead. From each ``eta`` record :class:`ReplacementWatch` works out

- **delay**: at every stop still ahead, when passengers get there — this trip's expected arrival, or, at a
  stop it no longer calls at (CANCELED/SKIPPED), the arrival of the next trip of the same line and direction
  that does (none today: they do not get there today) — and flags the stops more than
  ``punctuality.replacement_transport_min`` late;
- **last connection**: at every stop ahead where this trip now arrives later than timetabled, the
  connections (other lines and directions, :func:`onboard.passinfo.connections.connections_at`) passengers
  could make by the timetable but no longer can (left before we arrive plus the change time
  ``punctuality.connection_transfer_min``, or cancelled) with no later departure of that line and direction
  from there on the same operating day.

Each reason goes out as one :class:`transit.records.ReplacementNeeded` record with the affected departures,
again only when more departures become affected (the control room is not paged every ETA cycle). Pure:
records and deviations in, records out; no clock is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from onboard.passinfo.connections import connections_at
from transit.deviations import Deviation
from transit.ratelimit import RateLimitedLog
from transit.records import AffectedDeparture, Eta, ReplacementNeeded, TripRef
from transit.timeutil import iso_utc_ms, parse_iso, service_day_origin

log = logging.getLogger(__name__)


class ReplacementWatch:
    """Feeds on the unit's ``eta`` records (deviations applied); returns the flags to publish."""

    def __init__(self, tt: Any, *, veh: str, oper: str, threshold_min: int = 60, transfer_min: int = 3) -> None:
        self.tt = tt
        self.veh, self.oper = veh, oper
        self.threshold = timedelta(minutes=threshold_min)
        self.threshold_min, self.transfer_min = threshold_min, transfer_min
        self.transfer = timedelta(minutes=transfer_min)
        self.flagged: dict[tuple[str, str, str], frozenset[tuple[str, str, str]]] = {}  # (trip, oday, reason) -> keys
        self.rejected = 0
        self._rlog = RateLimitedLog(log)

    @classmethod
    def for_operator(cls, tt: Any, operator: Any, *, veh: str, oper: str) -> ReplacementWatch:
        p = operator.punctuality
        return cls(tt, veh=veh, oper=oper, threshold_min=p.replacement_transport_min,
                   transfer_min=p.connection_transfer_min)

    def on_eta(self, rec: Eta, deviations: Sequence[Deviation] = ()) -> list[ReplacementNeeded]:
        if not rec.stops or rec.trip_id is None or rec.oday is None or rec.trip_id not in self.tt.trips:
            return []
        try:
            day = date.fromisoformat(rec.oday)
            late, lost = self._late(rec), self._lost_connections(rec, day, deviations)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            self.rejected += 1
            self._rlog.warn("bad_eta", "replacement watch: eta %s skipped (%d so far): %s", rec.id, self.rejected, exc)
            return []
        out = []
        trip = TripRef(rec.trip_id, rec.oday, rec.route or "", rec.dir if rec.dir is not None else 0, rec.start or "")
        for reason, deps in (("delay", late), ("last_connection", lost)):
            if not deps:
                continue
            keys = frozenset((d.what, d.stop_id, d.trip_id or "") for d in deps)
            key = (rec.trip_id, rec.oday, reason)
            before = self.flagged.get(key, frozenset())
            if keys <= before:
                continue  # nothing new to tell
            self.flagged[key] = before | keys
            delays = [d.delay_s for d in deps if d.delay_s is not None]
            worst = None if any(d.delay_s is None for d in deps) or not delays else max(delays)
            out.append(ReplacementNeeded.make(parse_iso(rec.tst), veh=self.veh, oper=self.oper, trip=trip,
                                              id_extra=f"{reason}:{len(self.flagged[key])}", reason=reason,
                                              threshold_min=self.threshold_min, transfer_min=self.transfer_min,
                                              delay_s=worst, departures=deps))
        return out

    # ------------------------------------------------------------------------------------------ delay
    def _late(self, rec: Eta) -> list[AffectedDeparture]:
        tt = self.tt
        assert rec.trip_id is not None  # on_eta checked it
        trip = tt.trips[rec.trip_id]
        out: list[AffectedDeparture] = []
        for s in rec.stops:
            sched_t = s.sched_arr or s.sched_dep
            if sched_t is None:
                continue
            sched = parse_iso(sched_t)
            if s.status == "SCHEDULED":
                eta = s.eta_arr or s.eta_dep
                if eta is None:
                    continue
                exp = parse_iso(eta)
                if exp - sched > self.threshold:
                    out.append(AffectedDeparture(what="late", stop_id=s.stop_id, route=rec.route, trip_id=rec.trip_id,
                                                 headsign=rec.headsign, sched=sched_t, expected=eta,
                                                 delay_s=round((exp - sched).total_seconds(), 1)))
                continue
            # not called at: passengers for this stop take the next trip of the line that calls there
            nxt = self._next_arrival(trip, s.stop_id, sched, rec.trip_id)
            if nxt is None or nxt - sched > self.threshold:
                out.append(AffectedDeparture(what="cancelled", stop_id=s.stop_id, route=rec.route, trip_id=rec.trip_id,
                                             headsign=rec.headsign, sched=sched_t, expected=None,
                                             delay_s=None if nxt is None else round((nxt - sched).total_seconds(), 1)))
        return out

    def _next_arrival(self, trip: Any, stop_id: str, after: datetime, own: str) -> datetime | None:
        """Arrival at ``stop_id``'s station of the next trip of the same line and direction after ``after``,
        on the same or the next operating day's timetable window (up to 12 h); None when there is none."""
        tt = self.tt
        station = tt.station_of(stop_id)
        for d in tt.departures(station, after, after + timedelta(hours=12)):
            if d.trip.trip_id == own or d.trip.route_id != trip.route_id or d.trip.direction_id != trip.direction_id:
                continue
            for st in tt.stop_times(d.trip.trip_id):
                if st.stop_sequence == d.stop_sequence:
                    return service_day_origin(d.service_day, tt.tz) + timedelta(seconds=st.arrival_s)
        return None

    # -------------------------------------------------------------------------------- last connection
    def _lost_connections(self, rec: Eta, day: date, deviations: Sequence[Deviation]) -> list[AffectedDeparture]:
        tt = self.tt
        assert rec.trip_id is not None  # on_eta checked it
        times = tt.stop_times(rec.trip_id)
        pos = {st.stop_sequence: i for i, st in enumerate(times)}
        day_end = service_day_origin(day, tt.tz) + timedelta(seconds=max(tt.max_time_s, 86400) + 3600)
        out: list[AffectedDeparture] = []
        for s in rec.stops:
            if s.status != "SCHEDULED" or s.seq not in pos or s.sched_arr is None or s.eta_arr is None:
                continue
            sched, exp = parse_iso(s.sched_arr), parse_iso(s.eta_arr)
            if exp <= sched:
                continue  # on time or early: nothing the timetable promised is lost
            conns = connections_at(tt, rec.trip_id, pos[s.seq], arrive_sched=sched, arrive_exp=exp,
                                   transfer=self.transfer, until=exp + self.transfer + timedelta(minutes=1),
                                   deviations=deviations)
            lost = [c for c in conns if c.state != "departs"]
            for c in lost:
                later = [d for d in tt.departures(tt.station_of(s.stop_id), exp + self.transfer, day_end)
                         if d.route.name == c.route and d.trip.direction_id == c.direction and not d.is_last_stop
                         and d.service_day == c.service_day and d.pickup_type != 1]
                if later:
                    continue  # a later one of that line still goes today
                out.append(AffectedDeparture(what="last_connection", stop_id=s.stop_id, route=c.route,
                                             trip_id=c.trip_id, headsign=c.headsign, sched=iso_utc_ms(c.departure),
                                             expected=s.eta_arr, delay_s=None))
        return out


__all__ = ["ReplacementWatch"]
