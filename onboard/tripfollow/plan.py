"""A trip as trip following sees it: its shape, and its stops placed on the shape with schedule times.

The one adapter from :class:`transit.timetable.Timetable` (GTFS) to plain values, so the detection logic
can be tested with hand-made plans. Besides the stops the trip lists, it adds the stations of the same
mode that lie on the trip's path but that the trip does not list (an express passing a station): those
are the candidates for ``pas`` events.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from transit.geo import Polyline
from transit.records import TripRef
from transit.timeutil import service_day_origin

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)

#: A station of the same mode whose platform lies this close to the shape is on the trip's path.
PASS_OFFSET_M = 40.0


@dataclass(frozen=True, slots=True)
class PlanStop:
    """One stop on the trip's shape. Times are epoch seconds (UTC); ``None`` for an unlisted station."""

    stop_id: str
    station: str  # parent station (or the stop itself): registration stations may name either
    name: str
    seq: int | None  # GTFS stop_sequence; None for a station the trip runs through without listing it
    chainage_m: float  # platform centre / stop pole along the shape
    sched_arr: float | None
    sched_dep: float | None
    served: bool  # the public timetable has the vehicle stop here
    timepoint: bool
    platform: str | None = None


@dataclass(frozen=True)
class TripPlan:
    ref: TripRef
    shape: Polyline
    stops: tuple[PlanStop, ...]  # in driving order (by chainage), unlisted stations included
    headsign: str = ""
    route_type: int = 3
    block_id: str | None = None
    _knots: tuple[tuple[float, ...], tuple[float, ...]] = field(default=((), ()), repr=False)

    @property
    def served(self) -> tuple[PlanStop, ...]:
        return tuple(s for s in self.stops if s.served)

    @property
    def first_departure(self) -> float:
        s = self.served[0]
        assert s.sched_dep is not None
        return s.sched_dep

    @property
    def last_arrival(self) -> float:
        s = self.served[-1]
        assert s.sched_arr is not None
        return s.sched_arr

    def sched_time_at(self, chainage_m: float) -> float:
        """Scheduled time at a chainage between stops, from the departure of one served stop to the
        arrival at the next. The timetable says nothing finer, but a vehicle that has just left is slow:
        the run is taken as accelerate, cruise, brake (:func:`run_time`), not linear in distance."""
        xs, ts = self._knots if self._knots[0] else _knots(self.served)
        if not xs:
            return self.first_departure
        i = bisect.bisect_right(xs, chainage_m)
        if i <= 0:
            return ts[0]
        if i >= len(xs):
            return ts[-1]
        x0, x1, t0, t1 = xs[i - 1], xs[i], ts[i - 1], ts[i]
        return t0 if x1 <= x0 else t0 + run_time(chainage_m - x0, x1 - x0, t1 - t0)


#: Acceleration and braking assumed for a scheduled run between two stops. Regional trains and city
#: buses accelerate at about 0.5-1.2 m/s2 in service; below the middle, so that a long run is not assumed
#: to be flat out: the profile needs only the shape of the run, the timetable sets its length.
RUN_ACCEL_MPS2 = 0.7


def run_time(d: float, dist: float, dur: float, a: float = RUN_ACCEL_MPS2) -> float:
    """Seconds after the departure at which a vehicle is ``d`` metres along a run of ``dist`` metres
    scheduled to take ``dur`` seconds: a trapezoid (accelerate at ``a``, cruise at the speed that makes
    the run last ``dur``, brake at ``a``). Where ``dur`` is too short for that (the timetable's whole
    minutes), linear in distance."""
    if dist <= 0.0 or dur <= 0.0:
        return 0.0
    d = min(max(d, 0.0), dist)
    disc = a * a * dur * dur - 4.0 * a * dist
    if disc < 0.0:
        return dur * d / dist
    v = (a * dur - math.sqrt(disc)) / 2.0  # dur = dist / v + v / a
    da = v * v / (2.0 * a)
    if d < da:
        return math.sqrt(2.0 * d / a)
    if d <= dist - da:
        return v / a + (d - da) / v
    return dur - math.sqrt(2.0 * (dist - d) / a)


def _knots(served: tuple[PlanStop, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(chainage, time) knots: each stop's arrival then departure, for :meth:`TripPlan.sched_time_at`."""
    xs: list[float] = []
    ts: list[float] = []
    for s in served:
        for t in (s.sched_arr, s.sched_dep):
            if t is not None and (not ts or t >= ts[-1]):
                if xs and s.chainage_m < xs[-1]:
                    continue
                xs.append(s.chainage_m)
                ts.append(t)
    # equal chainage knots (arrival, departure) keep the departure for positions past the stop
    return tuple(xs), tuple(ts)


def make_plan(ref: TripRef, shape: Polyline, stops: list[PlanStop], *, headsign: str = "",
              route_type: int = 3, block_id: str | None = None) -> TripPlan:
    ordered = tuple(sorted(stops, key=lambda s: s.chainage_m))
    served = tuple(s for s in ordered if s.served)
    if len(served) < 2:
        raise ValueError(f"trip {ref.trip_id} serves fewer than two stops")
    return TripPlan(ref, shape, ordered, headsign, route_type, block_id, _knots(served))


def start_hhmm(seconds: int) -> str:
    """GTFS departure seconds → ``HH:MM`` (hours may exceed 24, as HFP ``start``)."""
    h, rem = divmod(int(seconds), 3600)
    return f"{h:02d}:{rem // 60:02d}"


_CANDIDATES: dict[int, dict[int, list[str]]] = {}


def _stations_by_mode(tt: Timetable) -> dict[int, list[str]]:
    """Stops served by each route_type (cached per timetable object)."""
    key = id(tt)
    got = _CANDIDATES.get(key)
    if got is None:
        by: dict[int, set[str]] = {}
        for trip in tt.trips.values():
            r = tt.routes.get(trip.route_id)
            if r is None:
                continue
            by.setdefault(r.route_type, set()).update(st.stop_id for st in tt.stop_times(trip.trip_id))
        got = {k: sorted(v) for k, v in by.items()}
        _CANDIDATES.clear()
        _CANDIDATES[key] = got
    return got


def build_plan(tt: Timetable, trip_id: str, day: date, *, with_passes: bool = True) -> TripPlan:
    """Place a trip's stops on its shape on service day ``day`` (GTFS noon-minus-12h: trips past
    midnight and DST days get the right instants)."""
    trip = tt.trips[trip_id]
    route = tt.route_of(trip_id)
    shape = tt.shape(trip_id)
    origin = service_day_origin(day, tt.tz).timestamp()
    times = tt.stop_times(trip_id)
    if not times:
        raise ValueError(f"trip {trip_id} has no stop times")
    stops: list[PlanStop] = []
    lo = 0.0
    for st in times:
        s = tt.stops[st.stop_id]
        if s.lat is None or s.lon is None:
            raise ValueError(f"stop {st.stop_id} of trip {trip_id} has no coordinates")
        pr = shape.project(s.lat, s.lon, lo_m=lo)
        lo = pr.distance_m
        if pr.offset_m > 200:
            log.warning("stop %s lies %.0f m off the shape of trip %s", st.stop_id, pr.offset_m, trip_id)
        served = not (st.pickup_type == 1 and st.drop_off_type == 1)
        stops.append(PlanStop(st.stop_id, tt.station_of(st.stop_id), s.name, st.stop_sequence, pr.distance_m,
                              origin + st.arrival_s, origin + st.departure_s, served, st.timepoint == 1,
                              s.platform_code))
    if with_passes:
        stops.extend(_unlisted_stations(tt, route.route_type, shape, stops))
    ref = TripRef(trip_id, day.isoformat(), route.short_name or route.route_id, trip.direction_id or 0,
                  start_hhmm(times[0].departure_s))
    return make_plan(ref, shape, stops, headsign=tt.headsign(trip_id), route_type=route.route_type,
                     block_id=trip.block_id)


def _unlisted_stations(tt: Timetable, route_type: int, shape: Polyline,
                       listed: list[PlanStop]) -> list[PlanStop]:
    mine = {s.station for s in listed}
    first, last = listed[0].chainage_m, listed[-1].chainage_m
    out: list[PlanStop] = []
    seen: set[str] = set()
    for sid in _stations_by_mode(tt).get(route_type, []):
        station = tt.station_of(sid)
        s = tt.stops.get(sid)
        if station in mine or station in seen or s is None or s.lat is None or s.lon is None:
            continue
        pr = shape.project(s.lat, s.lon)
        if pr.offset_m <= PASS_OFFSET_M and first + 1.0 < pr.distance_m < last - 1.0:
            seen.add(station)
            out.append(PlanStop(sid, station, s.name, None, pr.distance_m, None, None, False, False,
                                s.platform_code))
    return out


__all__ = ["PlanStop", "TripPlan", "build_plan", "make_plan", "start_hhmm"]
