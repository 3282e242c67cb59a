"""What the vehicle is asked to drive: trips with their shape and stops placed on it.

The motion model works on these plain values only; :func:`build_plans` is the one adapter to
``transit.timetable`` (GTFS), so the model can be tested with hand-made plans.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from transit.geo import Polyline

if TYPE_CHECKING:
    from sim_bus.scenario import Scenario
    from transit.timetable import Timetable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedStop:
    """A stop of a trip, placed on the trip's shape."""

    stop_id: str
    name: str
    seq: int  # GTFS stop_sequence (0 for a station the trip passes and does not list)
    chainage_m: float  # platform centre / stop pole along the shape
    lat: float
    lon: float
    arrival: datetime | None  # scheduled (UTC); None for a passed station the trip does not list
    departure: datetime | None
    stops_here: bool  # False: the vehicle passes without stopping
    timepoint: bool  # departures here are held until the scheduled time (see motion.hold_at)

    def arrival_or_departure(self) -> datetime:
        t = self.arrival or self.departure
        if t is None:
            raise ValueError(f"stop {self.stop_id} has no scheduled time")
        return t


@dataclass(frozen=True)
class TripPlan:
    trip_id: str
    route: str  # route_short_name, e.g. 920R
    route_id: str
    direction: int
    headsign: str
    service_id: str
    block_id: str | None
    shape: Polyline
    stops: tuple[PlannedStop, ...]  # in driving order, passed stations included

    @property
    def first_departure(self) -> datetime:
        for s in self.stops:
            if s.stops_here and s.departure is not None:
                return s.departure
        raise ValueError(f"trip {self.trip_id} has no stop with a departure time")

    @property
    def served(self) -> tuple[PlannedStop, ...]:
        return tuple(s for s in self.stops if s.stops_here)


#: A station the trip does not list but whose platform lies this close to the shape is 'passed'.
PASS_OFFSET_M = 40.0


def build_plans(sc: Scenario, tt: Timetable) -> list[TripPlan]:
    """The scenario's trips (or block) on its service day, as plans; unknown ids name the key."""
    day = sc.service_day
    if sc.block is not None:
        trips = [t.trip_id for t in tt.block_trips(sc.block, day)]
        if not trips:
            known = tt.blocks_on(day)
            raise sc.node("block").error(
                f"block '{sc.block}' has no trips on {day.isoformat()}"
                + (f" (blocks that day: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''})"
                   if known else ""))
        if sc.block_from is not None:
            if sc.block_from not in trips:
                raise sc.node("block", "from_trip").error(
                    f"trip '{sc.block_from}' is not in block '{sc.block}' on {day.isoformat()}")
            trips = trips[trips.index(sc.block_from):]
        if sc.block_max_trips is not None:
            trips = trips[:sc.block_max_trips]
    else:
        trips = list(sc.trips)
        items = sc.node("trips")
        nodes = items.as_list() if isinstance(items.value, list) else [items]
        for tid, node in zip(trips, nodes, strict=False):
            if tid not in tt.trips:
                raise node.error(f"unknown trip_id '{tid}' (not in {tt.source})")
            if not tt.runs_on(tid, day):
                raise node.error(f"trip '{tid}' (service {tt.trips[tid].service_id}) does not run on "
                                 f"service day {day.isoformat()}")
    plans = []
    for tid in trips:
        try:
            plan = plan_trip(tt, tid, day)
        except ValueError as exc:  # a feed problem with this trip: name it where the scenario chose it
            raise sc.node("block" if sc.block is not None else "trips").error(f"trip '{tid}': {exc}") from None
        if len(plan.served) < 2:
            raise sc.node("block" if sc.block is not None else "trips").error(
                f"trip '{tid}' serves fewer than two stops: nothing to drive")
        plans.append(plan)
    for a, b in zip(plans, plans[1:], strict=False):
        if b.first_departure < a.stops[-1].arrival_or_departure():
            raise sc.node("trips").error(
                f"trip '{b.trip_id}' departs before trip '{a.trip_id}' ends: list trips in driving order")
    return plans


def plan_trip(tt: Timetable, trip_id: str, day: date) -> TripPlan:
    """Place a trip's stops on its shape and add the stations it passes without stopping."""
    trip = tt.trips[trip_id]
    route = tt.route_of(trip_id)
    shape = tt.shape(trip_id)
    sched = tt.trip_schedule(trip_id, day)
    stops: list[PlannedStop] = []
    lo = 0.0
    for st in sched:
        s = tt.stops[st.stop_id]
        if s.lat is None or s.lon is None:
            raise ValueError(f"stop {st.stop_id} of trip {trip_id} has no coordinates")
        pr = shape.project(s.lat, s.lon, lo_m=lo)
        lo = pr.distance_m
        if pr.offset_m > 200:
            log.warning("stop %s lies %.0f m off the shape of trip %s", st.stop_id, pr.offset_m, trip_id)
        passes = st.pickup_type == 1 and st.drop_off_type == 1
        stops.append(PlannedStop(st.stop_id, s.name, st.stop_sequence, pr.distance_m, s.lat, s.lon,
                                 st.arrival, st.departure, not passes, st.timepoint == 1))
    stops.extend(_passed_stations(tt, trip_id, shape, stops))
    stops.sort(key=lambda p: p.chainage_m)
    return TripPlan(trip_id, route.short_name or route.route_id, route.route_id,
                    trip.direction_id or 0, tt.headsign(trip_id), trip.service_id, trip.block_id,
                    shape, tuple(stops))


def _passed_stations(tt: Timetable, trip_id: str, shape: Polyline,
                     listed: list[PlannedStop]) -> list[PlannedStop]:
    """Stops other trips of the route serve, lying on this trip's path, that this trip does not list.

    An express (920E) usually omits the stations it runs through; the ground truth still needs a
    'pass' for each of them.
    """
    route_id = tt.trips[trip_id].route_id
    route_name = tt.route_of(trip_id).short_name.rstrip("RE")
    mine = {tt.station_of(s.stop_id) for s in listed}
    first, last = listed[0].chainage_m, listed[-1].chainage_m
    candidates: set[str] = set()
    for other in tt.trips.values():
        r = tt.routes.get(other.route_id)
        if other.route_id != route_id and (r is None or r.short_name.rstrip("RE") != route_name):
            continue
        for st in tt.stop_times(other.trip_id):
            candidates.add(st.stop_id)
    out: list[PlannedStop] = []
    seen: set[str] = set()
    for sid in sorted(candidates):
        station = tt.station_of(sid)
        s = tt.stops.get(sid)
        if station in mine or station in seen or s is None or s.lat is None or s.lon is None:
            continue
        pr = shape.project(s.lat, s.lon)
        if pr.offset_m <= PASS_OFFSET_M and first + 1.0 < pr.distance_m < last - 1.0:
            seen.add(station)
            out.append(PlannedStop(sid, s.name, 0, pr.distance_m, s.lat, s.lon, None, None, False, False))
    return out
