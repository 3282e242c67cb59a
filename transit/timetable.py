"""GTFS static timetable: the feed in memory and the queries the onboard and station units need.

Service-day semantics follow GTFS: a stop time is seconds since "noon minus 12 h" of the service day in
the agency time zone, may exceed 24:00, and belongs to the service day it is listed under (see
:mod:`transit.timeutil`). Stop times are kept per trip in compact arrays rather than one object per row,
so the sample network loads in a few seconds on a Raspberry Pi; :class:`StopTime` objects are built on
request. Row-level problems are collected (see :mod:`transit.feedcheck`); the bad row is left out and
everything good is kept. Only a feed without a required file or column, or without any usable trip,
is refused with :class:`~transit.errors.FeedError`.
"""

from __future__ import annotations

import bisect
import logging
import operator
import sys
from array import array
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transit.errors import FeedError
from transit.geo import Polyline, haversine_m
from transit.gtfsfiles import (
    OPTIONAL_FILES,
    REQUIRED_FILES,
    WARNING,
    FeedProblem,
    FeedSource,
    NotUtf8Error,
    ProblemLog,
    open_table,
    parse_coordinate,
    parse_date,
    parse_enum,
)
from transit.timeutil import ensure_utc, format_gtfs_time, parse_gtfs_time, service_day_origin

log = logging.getLogger(__name__)

#: How many problems the loader writes to the log; the rest are counted (``Timetable.problems`` has all).
LOG_PROBLEMS = 10


# -- values --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agency:
    agency_id: str
    name: str
    url: str
    timezone: str
    lang: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Stop:
    stop_id: str
    name: str
    lat: float | None  # None only for generic nodes/boarding areas, which GTFS lets omit coordinates
    lon: float | None
    parent_station: str | None = None
    platform_code: str | None = None
    location_type: int = 0  # 0 stop/platform, 1 station, 2 entrance, 3 generic node, 4 boarding area
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    route_id: str
    short_name: str
    long_name: str
    route_type: int
    agency_id: str | None = None
    color: str = ""
    text_color: str = ""

    @property
    def name(self) -> str:
        """What passengers call the line: the short name (``920R``) or else the long name."""
        return self.short_name or self.long_name


@dataclass(frozen=True, slots=True)
class Trip:
    trip_id: str
    route_id: str
    service_id: str
    headsign: str = ""
    direction_id: int | None = None
    block_id: str | None = None
    shape_id: str | None = None
    short_name: str = ""


@dataclass(frozen=True, slots=True)
class StopTime:
    stop_sequence: int
    stop_id: str
    arrival_s: int  # seconds since the service-day origin (may exceed 86400)
    departure_s: int
    pickup_type: int = 0  # 0 regular, 1 none, 2 phone agency, 3 ask driver
    drop_off_type: int = 0
    timepoint: int = 1  # 0 when the time was interpolated / is approximate
    shape_dist_traveled: float | None = None


@dataclass(frozen=True, slots=True)
class ScheduledStop:
    stop_id: str
    stop_sequence: int
    arrival: datetime  # aware, UTC
    departure: datetime
    pickup_type: int = 0
    drop_off_type: int = 0
    timepoint: int = 1
    arrival_s: int = 0  # the GTFS times the datetimes came from
    departure_s: int = 0
    shape_dist_traveled: float | None = None


@dataclass(frozen=True, slots=True)
class Departure:
    trip: Trip
    route: Route
    service_day: date
    stop_sequence: int
    stop_id: str  # the stop (platform) itself, also when asked for its parent station
    departure: datetime  # aware, UTC
    headsign: str
    is_last_stop: bool  # the trip ends here: an arrival, not a departure for passengers
    pickup_type: int = 0
    departure_s: int = 0


@dataclass(frozen=True, slots=True)
class FeedInfo:
    publisher_name: str
    publisher_url: str
    lang: str
    start_date: date | None = None
    end_date: date | None = None
    version: str = ""
    contact_email: str = ""
    contact_url: str = ""


@dataclass(frozen=True)
class SliceInfo:
    """What a unit's timetable slice (:mod:`transit.slice`) was cut from and for."""

    kind: str  # onboard | station
    unit: str
    first: date  # first and last service day the slice answers for
    last: date
    feed_hash: str
    feed_version: str
    trips: int


@dataclass(frozen=True, slots=True)
class _Service:
    days: tuple[bool, bool, bool, bool, bool, bool, bool]  # Monday .. Sunday
    start: date
    end: date


class _TripTimes:
    """A trip's stop times as parallel arrays (one object per trip instead of one per row)."""

    __slots__ = ("seq", "stops", "arr", "dep", "pickup", "drop", "timepoint", "dist", "headsigns")

    def __init__(self, seq: array[int], stops: tuple[str, ...], arr: array[int], dep: array[int],
                 pickup: bytes, drop: bytes, timepoint: bytes, dist: array[float] | None,
                 headsigns: tuple[str, ...] | None) -> None:
        self.seq = seq
        self.stops = stops
        self.arr = arr
        self.dep = dep
        self.pickup = pickup
        self.drop = drop
        self.timepoint = timepoint
        self.dist = dist
        self.headsigns = headsigns

    def __len__(self) -> int:
        return len(self.stops)


# -- the timetable ---------------------------------------------------------------------------------


class Timetable:
    """A loaded GTFS feed. Build it with :meth:`load`; all queries are pure and never read a clock."""

    def __init__(self, *, source: Path, agencies: dict[str, Agency], stops: dict[str, Stop],
                 routes: dict[str, Route], trips: dict[str, Trip], times: dict[str, _TripTimes],
                 services: dict[str, _Service], exceptions: dict[str, dict[date, int]],
                 shapes: dict[str, tuple[array[float], array[float]]], feed_info: FeedInfo | None,
                 tz: ZoneInfo, problems: list[FeedProblem]) -> None:
        self.source = source
        self.agencies = agencies
        self.stops = stops
        self.routes = routes
        self.trips = trips
        self.feed_info = feed_info
        self.tz = tz
        self.problems: tuple[FeedProblem, ...] = tuple(problems)
        self._times = times
        self._services = services
        self._exceptions = exceptions
        self._shape_pts = shapes
        self._exc_by_date: dict[date, list[tuple[str, int]]] = defaultdict(list)
        for sid, exc in exceptions.items():
            for d, kind in exc.items():
                self._exc_by_date[d].append((sid, kind))
        self._trips_by_service: dict[str, list[str]] = defaultdict(list)
        self._trips_by_block: dict[str, list[str]] = defaultdict(list)
        for t in trips.values():
            self._trips_by_service[t.service_id].append(t.trip_id)
            if t.block_id:
                self._trips_by_block[t.block_id].append(t.trip_id)
        self._children: dict[str, list[str]] = defaultdict(list)
        for s in stops.values():
            if s.parent_station:
                self._children[s.parent_station].append(s.stop_id)
        self.max_time_s = max((int(tt.arr[-1]) for tt in times.values() if len(tt)), default=0)
        self._services_cache: dict[date, frozenset[str]] = {}
        self._stop_index: dict[str, tuple[list[int], list[tuple[str, int]]]] | None = None
        self._polylines: dict[str, Polyline] = {}
        #: set when loaded from a unit's slice (transit.slice): its horizon, feed hash and version
        self.slice: SliceInfo | None = None

    # -- loading --------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, strict: bool = False, select: TripSelector | None = None) -> Timetable:
        """Load a GTFS feed from a folder or zip.

        Raises :class:`FeedError` with every problem when the feed is unusable (a required file or
        column missing, not UTF-8, no usable trip: feed-check's UNUSABLE), or with ``strict`` when it
        has any error at all, the whole-feed checks included (feed-check's INVALID: the same problems,
        see :func:`whole_feed_problems`). Otherwise the bad rows are left out, logged (the first few)
        and kept in :attr:`problems`.

        ``select`` loads only some trips (see :data:`TripSelector`): the stop times of the others are
        skipped unread, which is how a unit's slice is cut from a national feed
        (:func:`transit.slice.open_timetable` opens either a feed or a slice).
        """
        tt, problems = load_with_problems(path, whole_feed=strict, select=select)
        errors = [p for p in problems if p.severity != WARNING]
        if tt is None or (strict and errors):
            raise FeedError(list(problems))
        return tt

    # -- calendar -----------------------------------------------------------------------------------------
    def services_on(self, day: date) -> frozenset[str]:
        """Service ids active on a service day (calendar plus calendar_dates exceptions)."""
        hit = self._services_cache.get(day)
        if hit is not None:
            return hit
        wd = day.weekday()
        active = {sid for sid, s in self._services.items() if s.start <= day <= s.end and s.days[wd]}
        for sid, kind in self._exc_by_date.get(day, ()):
            if kind == 1:
                active.add(sid)
            else:
                active.discard(sid)
        out = frozenset(active)
        self._services_cache[day] = out
        return out

    def service_has_days(self, service_id: str) -> bool:
        s = self._services.get(service_id)
        if s is not None and any(s.days) and s.start <= s.end:
            return True
        return any(kind == 1 for kind in self._exceptions.get(service_id, {}).values())

    def calendar_range(self) -> tuple[date, date] | None:
        """First and last day any service runs, from feed_info when it says, else from the calendar."""
        fi = self.feed_info
        if fi is not None and fi.start_date and fi.end_date:
            return fi.start_date, fi.end_date
        days: list[date] = []
        for s in self._services.values():
            days += [s.start, s.end]
        for exc in self._exceptions.values():
            days += [d for d, k in exc.items() if k == 1]
        return (min(days), max(days)) if days else None

    def exception_dates(self) -> frozenset[date]:
        """Days with calendar_dates exceptions (holidays, special timetables)."""
        return frozenset(self._exc_by_date)

    def runs_on(self, trip_id: str, day: date) -> bool:
        return self.trips[trip_id].service_id in self.services_on(day)

    def trips_on(self, day: date) -> list[Trip]:
        """Trips that run on a service day, in feed order."""
        out: list[Trip] = []
        for sid in sorted(self.services_on(day)):
            out.extend(self.trips[t] for t in self._trips_by_service.get(sid, ()))
        return out

    # -- trips ------------------------------------------------------------------------------------------
    def stop_times(self, trip_id: str) -> list[StopTime]:
        tt = self._times.get(trip_id)
        if tt is None:
            if trip_id not in self.trips:
                raise KeyError(trip_id)
            return []
        return [StopTime(tt.seq[i], tt.stops[i], tt.arr[i], tt.dep[i], tt.pickup[i], tt.drop[i],
                         tt.timepoint[i], None if tt.dist is None else tt.dist[i])
                for i in range(len(tt))]

    def trip_start_s(self, trip_id: str) -> int:
        """Scheduled departure from the first stop, seconds since the service-day origin."""
        return int(self._times[trip_id].dep[0])

    def trip_end_s(self, trip_id: str) -> int:
        return int(self._times[trip_id].arr[-1])

    def trip_schedule(self, trip_id: str, service_day: date) -> list[ScheduledStop]:
        """The trip's stops with arrival/departure as aware UTC datetimes on ``service_day``."""
        out = []
        origin = service_day_origin(service_day, self.tz)
        for st in self.stop_times(trip_id):
            out.append(ScheduledStop(
                st.stop_id, st.stop_sequence, origin + timedelta(seconds=st.arrival_s),
                origin + timedelta(seconds=st.departure_s), st.pickup_type, st.drop_off_type,
                st.timepoint, st.arrival_s, st.departure_s, st.shape_dist_traveled))
        return out

    def block_trips(self, block_id: str, service_day: date) -> list[Trip]:
        """Trips of a block running on ``service_day``, in the order the vehicle drives them."""
        active = self.services_on(service_day)
        trips = [self.trips[t] for t in self._trips_by_block.get(block_id, ())
                 if self.trips[t].service_id in active and t in self._times]
        return sorted(trips, key=lambda t: (self.trip_start_s(t.trip_id), t.trip_id))

    def active_trips(self, instant: datetime, *, before_s: int = 0, after_s: int = 0
                     ) -> list[tuple[Trip, date]]:
        """Trips (with their service day) scheduled to be under way at ``instant``.

        A trip counts from ``before_s`` before its first departure to ``after_s`` after its last
        arrival, so a vehicle waiting at the first stop or running late still finds its trip. Sorted by
        scheduled start. Used to pick the trip a vehicle is on when no assignment names it.
        """
        t = ensure_utc(instant)
        back = (self.max_time_s + after_s + 3600) // 86400 + 1
        local_day = t.astimezone(self.tz).date()
        out: list[tuple[int, str, Trip, date]] = []
        for k in range(-back, 2):
            day = local_day + timedelta(days=k)
            active = self.services_on(day)
            if not active:
                continue
            secs = (t - service_day_origin(day, self.tz)).total_seconds()
            for sid in active:
                for trip_id in self._trips_by_service.get(sid, ()):
                    times = self._times.get(trip_id)
                    if times is None:
                        continue
                    if times.dep[0] - before_s <= secs <= times.arr[-1] + after_s:
                        out.append((int(times.dep[0]), trip_id, self.trips[trip_id], day))
        out.sort(key=lambda x: (x[3], x[0], x[1]))
        return [(trip, day) for _, _, trip, day in out]

    def blocks_on(self, day: date) -> list[str]:
        active = self.services_on(day)
        return sorted(b for b, ts in self._trips_by_block.items()
                      if any(self.trips[t].service_id in active for t in ts))

    def route_of(self, trip_id: str) -> Route:
        return self.routes[self.trips[trip_id].route_id]

    def stop_name(self, stop_id: str) -> str:
        s = self.stops.get(stop_id)
        return s.name if s is not None else stop_id

    def children(self, stop_id: str) -> list[str]:
        """Platforms/stops whose parent station is ``stop_id``."""
        return list(self._children.get(stop_id, ()))

    def station_of(self, stop_id: str) -> str:
        """The parent station of a stop, or the stop itself."""
        s = self.stops.get(stop_id)
        return s.parent_station if s is not None and s.parent_station else stop_id

    def headsign(self, trip_id: str, index: int = 0) -> str:
        """Destination shown at stop ``index`` of the trip: stop_headsign, trip headsign, last stop."""
        tt = self._times.get(trip_id)
        if tt is not None and tt.headsigns is not None and tt.headsigns[index]:
            return tt.headsigns[index]
        trip = self.trips[trip_id]
        if trip.headsign:
            return trip.headsign
        return self.stop_name(tt.stops[-1]) if tt is not None and len(tt) else ""

    # -- departures ---------------------------------------------------------------------------------------
    def _index(self) -> dict[str, tuple[list[int], list[tuple[str, int]]]]:
        if self._stop_index is None:
            rows: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
            for trip_id, tt in self._times.items():
                for i, sid in enumerate(tt.stops):
                    rows[sid].append((tt.dep[i], trip_id, i))
            index: dict[str, tuple[list[int], list[tuple[str, int]]]] = {}
            for sid, r in rows.items():
                r.sort()
                index[sid] = ([x[0] for x in r], [(x[1], x[2]) for x in r])
            self._stop_index = index
        return self._stop_index

    def departures(self, stop_id: str, start: datetime, end: datetime, *,
                   include_children: bool = True) -> list[Departure]:
        """Scheduled departures from a stop with ``start <= departure < end``, sorted by time.

        Searches every service day whose times can reach the window (a 24:40 departure of yesterday's
        service day is tonight at 00:40). A parent station includes its child stops.
        """
        start, end = ensure_utc(start), ensure_utc(end)
        ids = [stop_id] + (self._all_children(stop_id) if include_children else [])
        index = self._index()
        back = (self.max_time_s + 3600) // 86400 + 1
        first = start.astimezone(self.tz).date() - timedelta(days=back)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        out: list[Departure] = []
        day = first
        while day <= last:
            active = self.services_on(day)
            if active:
                origin = service_day_origin(day, self.tz)
                lo = (start - origin).total_seconds()
                hi = (end - origin).total_seconds()
                for sid in ids:
                    entry = index.get(sid)
                    if entry is None:
                        continue
                    secs, refs = entry
                    for k in range(bisect.bisect_left(secs, lo), bisect.bisect_left(secs, hi)):
                        trip_id, i = refs[k]
                        trip = self.trips[trip_id]
                        if trip.service_id not in active:
                            continue
                        tt = self._times[trip_id]
                        out.append(Departure(
                            trip, self.routes[trip.route_id], day, tt.seq[i], sid,
                            origin + timedelta(seconds=secs[k]), self.headsign(trip_id, i),
                            i == len(tt) - 1, tt.pickup[i], secs[k]))
            day += timedelta(days=1)
        out.sort(key=lambda d: (d.departure, d.route.name, d.trip.trip_id, d.stop_id))
        return out

    def _all_children(self, stop_id: str) -> list[str]:
        out: list[str] = []
        todo = list(self._children.get(stop_id, ()))
        while todo:
            s = todo.pop()
            out.append(s)
            todo.extend(self._children.get(s, ()))
        return out

    def first_last_departures(self, day: date) -> dict[tuple[str, int | None], tuple[int, int, int]]:
        """Per (route_id, direction_id): first and last trip start (GTFS seconds) and trip count."""
        acc: dict[tuple[str, int | None], list[int]] = {}
        for trip in self.trips_on(day):
            if trip.trip_id not in self._times:
                continue
            s = self.trip_start_s(trip.trip_id)
            key = (trip.route_id, trip.direction_id)
            cur = acc.get(key)
            if cur is None:
                acc[key] = [s, s, 1]
            else:
                cur[0] = min(cur[0], s)
                cur[1] = max(cur[1], s)
                cur[2] += 1
        return {k: (v[0], v[1], v[2]) for k, v in acc.items()}

    # -- geometry -----------------------------------------------------------------------------------------
    def shape(self, trip_id: str) -> Polyline:
        """The trip's path: its shape points, or the line through its stops when it has no shape.

        ``ValueError`` (from :class:`~transit.geo.Polyline`) when all its stops are at one point.
        """
        trip = self.trips[trip_id]
        key = f"shape:{trip.shape_id}" if trip.shape_id in self._shape_pts else f"stops:{trip_id}"
        hit = self._polylines.get(key)
        if hit is not None:
            return hit
        if trip.shape_id is not None and trip.shape_id in self._shape_pts:
            lats, lons = self._shape_pts[trip.shape_id]
            poly = Polyline(list(zip(lats, lons, strict=True)))
        else:
            pts = []
            for sid in self._times[trip_id].stops:
                s = self.stops[sid]
                if s.lat is not None and s.lon is not None:
                    pts.append((s.lat, s.lon))
            poly = Polyline(pts)
        self._polylines[key] = poly
        return poly

    def __repr__(self) -> str:
        return (f"Timetable({str(self.source)!r}: {len(self.stops)} stops, {len(self.routes)} routes, "
                f"{len(self.trips)} trips)")


# -- loader -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedTables:
    """What a :data:`TripSelector` sees: the feed's small tables, read before stop_times.txt."""

    src: FeedSource
    stops: dict[str, Stop]
    routes: dict[str, Route]
    trips: dict[str, Trip]


#: Chooses the trips a partial load keeps (a unit's slice); called once, before stop_times.txt is read.
TripSelector = Callable[[FeedTables], "Iterable[str]"]


def load_with_problems(path: str | Path, *, whole_feed: bool = False,
                       progress: Callable[[float, str], None] | None = None,
                       select: TripSelector | None = None
                       ) -> tuple[Timetable | None, list[FeedProblem]]:
    """Load a feed and collect every problem; the timetable is ``None`` when the feed is unusable.

    With ``whole_feed`` the checks of :func:`whole_feed_problems` are added (what feed-check and a
    strict load report); they cost a pass over every stop time, so a unit's ordinary start skips them.
    ``progress(fraction, file)`` is called as the files are read (a progress bar in feed-check).
    """
    src = FeedSource(path)
    plog = ProblemLog()
    if not src.exists:
        plog.add(str(path), None, None, src.unreadable or "no such GTFS folder or zip file", fatal=True)
        return None, plog.problems
    tt: Timetable | None
    try:
        tt = _Loader(src, plog, progress, select).run()
    except NotUtf8Error as exc:
        # everything after it would be follow-on noise (unknown stop ids ...): one problem, and stop
        line, message = src.encoding_problem(exc.name)
        plog = ProblemLog()
        plog.add(exc.name, line, None, message, fatal=True)
        tt = None
    finally:
        src.close()
    if tt is not None and whole_feed:
        if progress is not None:
            progress(0.95, "whole-feed checks")
        plog.problems.extend(whole_feed_problems(tt))
    if plog.problems:
        errors = len(plog.errors)
        log.warning("GTFS feed %s: %d error(s), %d warning(s)%s", path, errors,
                    len(plog.problems) - errors, "; unusable" if tt is None else "")
        for p in plog.problems[:LOG_PROBLEMS]:
            log.warning("  %s", p)
        if len(plog.problems) > LOG_PROBLEMS:
            log.warning("  ... and %d more", len(plog.problems) - LOG_PROBLEMS)
    return tt, plog.problems


# Faster than 250 km/h between two consecutive stops is a timetable or coordinate error for local
# trains and buses (Lokaltog's Lint 41 runs at most 120 km/h).
MAX_PLAUSIBLE_SPEED_MPS = 250 / 3.6


def whole_feed_problems(tt: Timetable) -> list[FeedProblem]:
    """Checks on a loaded feed that do not change what loads: implausible speeds between stops (an
    error), trips with fewer than two stop times, unused stops, services without a day (warnings)."""
    out: list[FeedProblem] = []
    used: set[str] = set()
    # The same stop pairs recur in every trip of a line: their distance is computed once (1.4 M pairs,
    # some 30 k distinct ones in the national feed).
    dist_of: dict[tuple[str, str], float] = {}
    stops = tt.stops
    for trip_id in tt.trips:
        times = tt._times.get(trip_id)
        if times is None:
            continue
        ids = times.stops
        used.update(ids)
        arr, dep = times.arr, times.dep
        for i in range(len(ids) - 1):
            key = (ids[i], ids[i + 1])
            dist = dist_of.get(key)
            if dist is None:
                sa, sb = stops[key[0]], stops[key[1]]
                if sa.lat is None or sa.lon is None or sb.lat is None or sb.lon is None:
                    dist = 0.0
                else:
                    dist = haversine_m(sa.lat, sa.lon, sb.lat, sb.lon)
                dist_of[key] = dist
            if dist > 1000:
                dt = arr[i + 1] - dep[i]
                if dt <= 0 or dist / dt > MAX_PLAUSIBLE_SPEED_MPS:
                    out.append(FeedProblem(
                        "stop_times.txt", None, "arrival_time",
                        f"trip {trip_id}: {dist / 1000:.1f} km from {key[0]} to {key[1]} in {dt} s "
                        "is faster than 250 km/h (times or coordinates wrong?)"))
    for trip_id in tt.trips:
        times = tt._times.get(trip_id)
        if times is None or len(times) < 2:
            out.append(FeedProblem("trips.txt", None, "trip_id",
                                   f"trip {trip_id} has fewer than two stop times", WARNING))
    parents = {s.parent_station for s in tt.stops.values() if s.parent_station}
    for s in tt.stops.values():
        if s.location_type == 0 and s.stop_id not in used and s.stop_id not in parents:
            out.append(FeedProblem("stops.txt", None, "stop_id",
                                   f"stop {s.stop_id} ({s.name}) is not served by any trip", WARNING))
    for sid in sorted({t.service_id for t in tt.trips.values()}):
        if not tt.service_has_days(sid):
            out.append(FeedProblem("trips.txt", None, "service_id",
                                   f"service {sid} runs on no day at all", WARNING))
    return out


#: One stop_times row while its trip is read: sequence, stop, arrival, departure (None: untimed), pickup,
#: drop-off, timepoint, shape distance, stop headsign, CSV line.
_Row = tuple[int, str, int | None, int | None, int, int, int, float | None, str, int]


class _NotGrouped(Exception):
    """stop_times.txt lists a trip's rows in more than one place: read it again keeping every row."""


class _Seen:
    """What the row checks report once per file, not once per row."""

    __slots__ = ("unknown_trips", "refused")

    def __init__(self) -> None:
        self.unknown_trips: set[str] = set()
        self.refused: set[str] = set()


def _cache_time(cache: dict[str, int], text: str) -> int | None:
    """A GTFS time through the per-file cache (a feed has a few thousand distinct times in 3 M fields);
    None when malformed (the row checks then say so)."""
    try:
        v = parse_gtfs_time(text)
    except ValueError:
        return None
    cache[text] = v
    return v


def _s(fields: list[str], i: int) -> str:
    return fields[i].strip() if i >= 0 else ""


def _opt(fields: list[str], i: int) -> str | None:
    v = _s(fields, i)
    return v or None


class _Loader:
    def __init__(self, src: FeedSource, plog: ProblemLog,
                 progress: Callable[[float, str], None] | None = None,
                 select: TripSelector | None = None) -> None:
        self.src = src
        self.select = select
        self.p = plog
        self.progress = progress
        self._cols: dict[str, int] = {}
        self._missing: frozenset[str] = frozenset()
        self.rejected_trips: set[str] = set()  # in trips.txt but refused (reported there)
        self.rejected_stops: set[str] = set()  # in stops.txt but refused (reported there)

    #: Rough share of the loading time done before each file (stop_times is most of a feed).
    _PROGRESS = {"agency.txt": 0.0, "stops.txt": 0.01, "routes.txt": 0.04, "calendar.txt": 0.05,
                 "calendar_dates.txt": 0.05, "shapes.txt": 0.06, "trips.txt": 0.15, "stop_times.txt": 0.2,
                 "feed_info.txt": 0.9}

    def table(self, name: str) -> Iterable[tuple[int, list[str]]] | None:
        if self.progress is not None:
            self.progress(self._PROGRESS.get(name, 0.9), name)
        required = REQUIRED_FILES.get(name) or OPTIONAL_FILES[name]
        t = open_table(self.src, name, required, self.p, must_exist=name in REQUIRED_FILES)
        if t is None:
            return None
        self._cols = t.columns
        self._missing = t.missing
        return t.rows(self.p)

    def add(self, file: str, line: int | None, column: str | None, message: str, *,
            severity: str = "error") -> None:
        """A row problem, unless it is about a column already reported missing from the header."""
        if column not in self._missing:
            self.p.add(file, line, column, message, severity=severity)

    def c(self, name: str) -> int:
        return self._cols.get(name, -1)

    def run(self) -> Timetable | None:
        # Every file is read even after a fatal problem, so the report names all problems at once.
        agencies, tz = self.agencies()
        stops = self.stops()
        routes = self.routes(agencies)
        services, exceptions = self.calendar()
        shapes = self.shapes()
        trips = self.trips(routes, services, exceptions, shapes)
        only: set[str] | None = None
        if self.select is not None:
            only = set(self.select(FeedTables(self.src, stops, routes, trips)))
        times = self.stop_times(trips, stops, only)
        feed_info = self.feed_info()
        if self.src.has("frequencies.txt"):
            self.p.add("frequencies.txt", None, None, "frequency-based service is not supported: trips run "
                       "only at the times listed in stop_times.txt", severity=WARNING)
        for trip_id in trips:
            if trip_id not in times and (only is None or trip_id in only):
                self.p.add("trips.txt", None, "trip_id", f"trip {trip_id} has no stop times",
                           severity=WARNING)
        if self.p.fatal or tz is None:
            return None
        if not times:
            self.p.add("stop_times.txt", None, None, "no usable trip in the feed", fatal=True)
            return None
        # Trips without stop times cannot be driven or shown; keep only those that have them.
        trips = {k: v for k, v in trips.items() if k in times}
        return Timetable(source=self.src.path, agencies=agencies, stops=stops, routes=routes, trips=trips,
                         times=times, services=services, exceptions=exceptions, shapes=shapes,
                         feed_info=feed_info, tz=tz, problems=self.p.problems)

    # -- files ---------------------------------------------------------------------------------------
    def agencies(self) -> tuple[dict[str, Agency], ZoneInfo | None]:
        out: dict[str, Agency] = {}
        tz: ZoneInfo | None = None
        rows = self.table("agency.txt")
        if rows is None:
            return out, None
        c_id, c_name, c_url, c_tz = (self.c(k) for k in ("agency_id", "agency_name", "agency_url",
                                                          "agency_timezone"))
        c_lang, c_phone = self.c("agency_lang"), self.c("agency_phone")
        for line, f in rows:
            aid = _s(f, c_id)
            tzname = _s(f, c_tz)
            if aid in out:
                self.add("agency.txt", line, "agency_id", f"duplicate agency_id '{aid}'")
                continue
            try:
                zone = ZoneInfo(tzname)
            except (ZoneInfoNotFoundError, ValueError):
                self.add("agency.txt", line, "agency_timezone", f"unknown time zone '{tzname}'")
                continue
            if tz is None:
                tz = zone
            elif str(zone) != str(tz):
                self.add("agency.txt", line, "agency_timezone",
                           f"time zone '{tzname}' differs from '{tz}' (GTFS requires one time zone)")
            if not _s(f, c_name):
                self.add("agency.txt", line, "agency_name", "empty agency_name")
            out[aid] = Agency(aid, _s(f, c_name), _s(f, c_url), tzname, _s(f, c_lang), _s(f, c_phone))
        if not out:
            self.p.add("agency.txt", None, None, "no usable agency (time zone unknown)", fatal=True)
        return out, tz

    def stops(self) -> dict[str, Stop]:
        out: dict[str, Stop] = {}
        rows = self.table("stops.txt")
        if rows is None:
            return out
        c = self.c
        c_id, c_name, c_lat, c_lon = c("stop_id"), c("stop_name"), c("stop_lat"), c("stop_lon")
        c_parent, c_plat, c_type, c_code = c("parent_station"), c("platform_code"), c("location_type"), \
            c("stop_code")
        parents: list[tuple[int, str, str]] = []
        for line, f in rows:
            sid = _s(f, c_id)
            if not sid:
                self.add("stops.txt", line, "stop_id", "empty stop_id")
                continue
            if sid in out:
                self.add("stops.txt", line, "stop_id", f"duplicate stop_id '{sid}'")
                continue
            try:
                ltype = parse_enum(_s(f, c_type), range(0, 5), 0)
            except ValueError as exc:
                self.add("stops.txt", line, "location_type", str(exc))
                self.rejected_stops.add(sid)
                continue
            lat: float | None = None
            lon: float | None = None
            if ltype <= 2 or _s(f, c_lat) or _s(f, c_lon):
                try:
                    lat, lon = parse_coordinate(_s(f, c_lat), _s(f, c_lon))
                except ValueError as exc:
                    self.add("stops.txt", line, "stop_lat", f"stop {sid}: {exc}")
                    self.rejected_stops.add(sid)
                    continue
            name = _s(f, c_name)
            if not name and ltype <= 2:
                self.add("stops.txt", line, "stop_name", f"stop {sid} has no name", severity=WARNING)
            parent = _opt(f, c_parent)
            if parent:
                parents.append((line, sid, parent))
            out[sys.intern(sid)] = Stop(sid, name or sid, lat, lon, parent, _opt(f, c_plat), ltype,
                                        _opt(f, c_code))
        for line, sid, parent in parents:
            if parent not in out:
                self.add("stops.txt", line, "parent_station",
                         f"stop {sid}: unknown parent_station '{parent}'")
            elif out[sid].location_type in (0, 2, 3) and out[parent].location_type != 1:
                # GTFS: stops, entrances and nodes hang under a station (location_type 1).
                self.add("stops.txt", line, "parent_station",
                         f"stop {sid}: parent_station '{parent}' is not a station (location_type 1)")
            else:
                continue
            s = out[sid]
            out[sid] = Stop(s.stop_id, s.name, s.lat, s.lon, None, s.platform_code, s.location_type, s.code)
        return out

    def routes(self, agencies: dict[str, Agency]) -> dict[str, Route]:
        out: dict[str, Route] = {}
        rows = self.table("routes.txt")
        if rows is None:
            return out
        c = self.c
        c_id, c_agency, c_short, c_long, c_type = (c(k) for k in (
            "route_id", "agency_id", "route_short_name", "route_long_name", "route_type"))
        c_color, c_text = c("route_color"), c("route_text_color")
        for line, f in rows:
            rid = _s(f, c_id)
            if not rid:
                self.add("routes.txt", line, "route_id", "empty route_id")
                continue
            if rid in out:
                self.add("routes.txt", line, "route_id", f"duplicate route_id '{rid}'")
                continue
            aid = _opt(f, c_agency)
            if aid is not None and agencies and aid not in agencies:
                self.add("routes.txt", line, "agency_id", f"route {rid}: unknown agency_id '{aid}'")
            elif aid is None and len(agencies) > 1:
                self.add("routes.txt", line, "agency_id",
                           f"route {rid}: agency_id is required when the feed has several agencies")
            try:
                rtype = int(_s(f, c_type))
            except ValueError:
                self.add("routes.txt", line, "route_type",
                           f"route {rid}: route_type '{_s(f, c_type)}' is not a number")
                continue
            short, long_ = _s(f, c_short), _s(f, c_long)
            if not short and not long_:
                self.add("routes.txt", line, "route_short_name",
                           f"route {rid} has neither a short nor a long name")
            out[rid] = Route(rid, short, long_, rtype, aid, _s(f, c_color), _s(f, c_text))
        return out

    def calendar(self) -> tuple[dict[str, _Service], dict[str, dict[date, int]]]:
        services: dict[str, _Service] = {}
        exceptions: dict[str, dict[date, int]] = defaultdict(dict)
        if not self.src.has("calendar.txt") and not self.src.has("calendar_dates.txt"):
            self.p.add("calendar.txt", None, None,
                       "required file is missing (a feed needs calendar.txt or calendar_dates.txt)",
                       fatal=True)
        rows = self.table("calendar.txt")
        if rows is not None:
            c = self.c
            c_id = c("service_id")
            c_days = [c(k) for k in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                     "sunday")]
            names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            c_start, c_end = c("start_date"), c("end_date")
            for line, f in rows:
                sid = _s(f, c_id)
                if sid in services:
                    self.add("calendar.txt", line, "service_id", f"duplicate service_id '{sid}'")
                    continue
                days: list[bool] = []
                ok = True
                for name, ci in zip(names, c_days, strict=True):
                    v = _s(f, ci)
                    if v not in ("0", "1"):
                        self.add("calendar.txt", line, name, f"expected 0 or 1, got '{v}'")
                        ok = False
                    days.append(v == "1")
                try:
                    start = parse_date(_s(f, c_start))
                except ValueError as exc:
                    self.add("calendar.txt", line, "start_date", str(exc))
                    ok = False
                try:
                    end = parse_date(_s(f, c_end))
                except ValueError as exc:
                    self.add("calendar.txt", line, "end_date", str(exc))
                    ok = False
                if not ok:
                    continue
                if end < start:
                    self.add("calendar.txt", line, "end_date", f"end_date {end} is before start_date {start}")
                    continue
                services[sid] = _Service((days[0], days[1], days[2], days[3], days[4], days[5], days[6]),
                                         start, end)
        rows = self.table("calendar_dates.txt")
        if rows is not None:
            c_id, c_date, c_type = self.c("service_id"), self.c("date"), self.c("exception_type")
            for line, f in rows:
                sid = _s(f, c_id)
                try:
                    d = parse_date(_s(f, c_date))
                except ValueError as exc:
                    self.add("calendar_dates.txt", line, "date", str(exc))
                    continue
                try:
                    kind = parse_enum(_s(f, c_type), (1, 2), -1)
                except ValueError as exc:
                    self.add("calendar_dates.txt", line, "exception_type", str(exc))
                    continue
                if kind == -1:
                    self.add("calendar_dates.txt", line, "exception_type", "empty exception_type")
                    continue
                if d in exceptions[sid]:
                    self.add("calendar_dates.txt", line, "date",
                               f"duplicate exception for service '{sid}' on {d}")
                    continue
                exceptions[sid][d] = kind
        return services, dict(exceptions)

    def shapes(self) -> dict[str, tuple[array[float], array[float]]]:
        rows = self.table("shapes.txt")
        if rows is None:
            return {}
        c_id, c_lat, c_lon, c_seq = (self.c(k) for k in ("shape_id", "shape_pt_lat", "shape_pt_lon",
                                                          "shape_pt_sequence"))
        acc: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        for line, f in rows:
            sid = _s(f, c_id)
            try:
                seq = int(_s(f, c_seq))
            except ValueError:
                self.add("shapes.txt", line, "shape_pt_sequence",
                           f"shape_pt_sequence '{_s(f, c_seq)}' is not a whole number")
                continue
            try:
                lat, lon = parse_coordinate(_s(f, c_lat), _s(f, c_lon))
            except ValueError as exc:
                self.add("shapes.txt", line, "shape_pt_lat", f"shape {sid}: {exc}")
                continue
            acc[sid].append((seq, lat, lon))
        out: dict[str, tuple[array[float], array[float]]] = {}
        for sid, pts in acc.items():
            pts.sort()
            if len({(a, b) for _, a, b in pts}) < 2:
                self.add("shapes.txt", None, "shape_id", f"shape {sid} has fewer than two distinct points")
                continue
            out[sid] = (array("d", (p[1] for p in pts)), array("d", (p[2] for p in pts)))
        return out

    def trips(self, routes: dict[str, Route], services: dict[str, _Service],
              exceptions: dict[str, dict[date, int]],
              shapes: dict[str, tuple[array[float], array[float]]]) -> dict[str, Trip]:
        out: dict[str, Trip] = {}
        rows = self.table("trips.txt")
        if rows is None:
            return out
        c = self.c
        c_id, c_route, c_service, c_head, c_dir, c_block, c_shape, c_short = (c(k) for k in (
            "trip_id", "route_id", "service_id", "trip_headsign", "direction_id", "block_id", "shape_id",
            "trip_short_name"))
        has_shapes = self.src.has("shapes.txt")
        for line, f in rows:
            tid = _s(f, c_id)
            if not tid:
                self.add("trips.txt", line, "trip_id", "empty trip_id")
                continue
            if tid in out:
                self.add("trips.txt", line, "trip_id", f"duplicate trip_id '{tid}'")
                continue
            rid, sid = _s(f, c_route), _s(f, c_service)
            ok = True
            if rid not in routes:
                self.add("trips.txt", line, "route_id", f"trip {tid}: unknown route_id '{rid}'")
                ok = False
            if sid not in services and sid not in exceptions:
                self.add("trips.txt", line, "service_id", f"trip {tid}: unknown service_id '{sid}'")
                ok = False
            try:
                direction: int | None = parse_enum(_s(f, c_dir), (0, 1), -1)
            except ValueError as exc:
                self.add("trips.txt", line, "direction_id", str(exc))
                direction = -1
            if direction == -1:
                direction = None
            shape = _opt(f, c_shape)
            if shape is not None and shape not in shapes:
                what = "unknown shape_id" if has_shapes else "shape_id but the feed has no shapes.txt:"
                self.add("trips.txt", line, "shape_id", f"trip {tid}: {what} '{shape}'")
                shape = None
            if not ok:
                self.rejected_trips.add(tid)
                continue
            out[sys.intern(tid)] = Trip(tid, rid, sys.intern(sid), _s(f, c_head), direction,
                                        _opt(f, c_block), shape, _s(f, c_short))
        return out

    def stop_times(self, trips: dict[str, Trip], stops: dict[str, Stop],
                   only: Container[str] | None = None) -> dict[str, _TripTimes]:
        """Read stop_times.txt, holding one trip's rows at a time when the file is grouped by trip (as
        producers write it); a file that is not is read again keeping every row until the end.

        ``only``: keep these trips and skip the other rows unchecked (a unit's slice, see
        :mod:`transit.slice`). The national feed's 1.5 M rows held as tuples took 685 MB; one trip at a
        time the timetable's compact arrays are most of what stays.
        """
        mark = len(self.p.problems)
        try:
            return self._stop_times(trips, stops, only, grouped=True)
        except _NotGrouped:
            # rows of a trip further down the file: read it again holding every row (problems once)
            del self.p.problems[mark:]
            return self._stop_times(trips, stops, only, grouped=False)

    def _stop_times(self, trips: dict[str, Trip], stops: dict[str, Stop], only: Container[str] | None,
                    *, grouped: bool) -> dict[str, _TripTimes]:
        rows = self.table("stop_times.txt")
        if rows is None:
            return {}
        c = self.c
        c_trip, c_stop, c_seq, c_arr, c_dep = (c(k) for k in (
            "trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"))
        c_pick, c_drop, c_tp, c_dist, c_head = (c(k) for k in (
            "pickup_type", "drop_off_type", "timepoint", "shape_dist_traveled", "stop_headsign"))
        cols = (c_trip, c_stop, c_seq, c_arr, c_dep, c_pick, c_drop, c_tp, c_dist, c_head)
        fast = min(c_trip, c_stop, c_seq, c_arr, c_dep) >= 0
        # The fast path handles the ordinary row (known trip and platform, both times, plain enums) with
        # dictionary look-ups; anything else goes through _row, which says what is wrong.
        platforms = {sid: s.stop_id for sid, s in stops.items() if s.location_type == 0}
        tcache: dict[str, int] = {}
        tget = tcache.get
        e4 = {"": 0, "0": 0, "1": 1, "2": 2, "3": 3}.get
        etp = {"": 1, "0": 0, "1": 1}.get
        acc: dict[str, list[_Row]] = defaultdict(list)
        out: dict[str, _TripTimes] = {}
        done: set[str] = set()
        seen = _Seen()
        cur_tid: str | None = None
        cur: list[_Row] = []
        cur_ok = False
        for line, f in rows:
            tid = f[c_trip].strip() if fast else _s(f, c_trip)
            if only is not None and tid not in only:
                continue
            if tid != cur_tid:
                if grouped and cur_tid is not None and cur:
                    built = self._trip_times(cur_tid, acc.pop(cur_tid), stops)
                    if built is not None:
                        out[cur_tid] = built
                    done.add(cur_tid)
                if tid in done:
                    raise _NotGrouped
                cur_tid = tid
                cur = acc[tid] if tid in trips else []
                cur_ok = fast and tid in trips
            if cur_ok:
                canon = platforms.get(f[c_stop].strip())
                a_txt, d_txt = f[c_arr], f[c_dep]
                arr = tget(a_txt)
                if arr is None and a_txt:
                    arr = _cache_time(tcache, a_txt)
                dep = tget(d_txt)
                if dep is None and d_txt:
                    dep = _cache_time(tcache, d_txt)
                pick = e4(f[c_pick]) if c_pick >= 0 else 0
                drop = e4(f[c_drop]) if c_drop >= 0 else 0
                tp = etp(f[c_tp]) if c_tp >= 0 else 1
                d_s = f[c_dist] if c_dist >= 0 else ""
                try:
                    seq = int(f[c_seq])
                    dist = float(d_s) if d_s else None
                except ValueError:
                    seq = -1
                    dist = None
                if (canon is not None and arr is not None and dep is not None and seq >= 0
                        and pick is not None and drop is not None and tp is not None):
                    cur.append((seq, canon, arr, dep, pick, drop, tp, dist,
                                f[c_head].strip() if c_head >= 0 else "", line))
                    continue
            row = self._row(line, f, tid, trips, stops, cols, seen)
            if row is not None:
                cur.append(row)
        if grouped and cur_tid is not None and cur:
            built = self._trip_times(cur_tid, acc.pop(cur_tid), stops)
            if built is not None:
                out[cur_tid] = built
        for tid, rws in acc.items():
            if rws:
                built = self._trip_times(tid, rws, stops)
                if built is not None:
                    out[tid] = built
        return out

    def _row(self, line: int, f: list[str], tid: str, trips: dict[str, Trip], stops: dict[str, Stop],
             cols: tuple[int, ...], seen: _Seen) -> _Row | None:
        """One stop_times row the fast path did not take: checked rule by rule, every problem said."""
        c_trip, c_stop, c_seq, c_arr, c_dep, c_pick, c_drop, c_tp, c_dist, c_head = cols
        p = self
        if tid not in trips:
            # A trip refused in trips.txt (bad route/service) was reported there; an unknown trip
            # is reported once, not once per row.
            if tid not in seen.unknown_trips and tid not in self.rejected_trips:
                p.add("stop_times.txt", line, "trip_id", f"unknown trip_id '{tid}'")
                seen.unknown_trips.add(tid)
            return None
        sid = _s(f, c_stop)
        if sid not in stops:
            if sid in self.rejected_stops:
                if sid not in seen.refused:  # once per stop: the cause is in stops.txt
                    seen.refused.add(sid)
                    p.add("stop_times.txt", line, "stop_id",
                          f"trip {tid}: stop_id '{sid}' was refused in stops.txt (see there); "
                          "its stop times are left out")
            else:
                p.add("stop_times.txt", line, "stop_id", f"trip {tid}: unknown stop_id '{sid}'")
            return None
        if stops[sid].location_type != 0:  # GTFS: stop_times reference stops/platforms only
            p.add("stop_times.txt", line, "stop_id",
                  f"trip {tid}: stop_id '{sid}' is not a stop or platform (location_type "
                  f"{stops[sid].location_type})")
            return None
        try:
            # Without the column the file order stands in, so the other rules still run.
            seq = int(_s(f, c_seq)) if c_seq >= 0 else line
            if seq < 0:
                raise ValueError
        except ValueError:
            p.add("stop_times.txt", line, "stop_sequence",
                  f"trip {tid}: stop_sequence '{_s(f, c_seq)}' is not a non-negative whole number")
            return None
        times: list[int | None] = []
        bad = False
        for col, ci in (("arrival_time", c_arr), ("departure_time", c_dep)):
            v = _s(f, ci)
            if not v:
                times.append(None)
                continue
            try:
                times.append(parse_gtfs_time(v))
            except ValueError as exc:
                p.add("stop_times.txt", line, col, f"trip {tid}: {exc}")
                bad = True
        if bad:
            return None
        arr, dep = times
        if arr is None:
            arr = dep
        if dep is None:
            dep = arr
        try:
            pick = parse_enum(_s(f, c_pick), range(0, 4), 0)
            drop = parse_enum(_s(f, c_drop), range(0, 4), 0)
            tp = parse_enum(_s(f, c_tp), (0, 1), 1 if arr is not None else 0)
        except ValueError as exc:
            p.add("stop_times.txt", line, "pickup_type", f"trip {tid}: {exc}")
            return None
        dist: float | None = None
        if _s(f, c_dist):
            try:
                dist = float(_s(f, c_dist))
            except ValueError:
                p.add("stop_times.txt", line, "shape_dist_traveled",
                      f"trip {tid}: '{_s(f, c_dist)}' is not a number")
        return (seq, stops[sid].stop_id, arr, dep, pick, drop, tp, dist, _s(f, c_head), line)

    def _trip_times(self, tid: str, rws: list[_Row], stops: dict[str, Stop]) -> _TripTimes | None:
        cols = list(zip(*rws, strict=True))
        seqs: tuple[int, ...] = cols[0]
        if list(seqs) != sorted(seqs):
            rws.sort(key=lambda r: r[0])
            cols = list(zip(*rws, strict=True))
            seqs = cols[0]
        p = self
        if len(set(seqs)) != len(seqs):
            for ra, rb in zip(rws, rws[1:], strict=False):
                if ra[0] == rb[0]:
                    p.add("stop_times.txt", rb[9], "stop_sequence",
                          f"trip {tid}: duplicate stop_sequence {rb[0]}")
                    return None
        arr: list[int | None] = list(cols[2])
        dep: list[int | None] = list(cols[3])
        if arr[0] is None or arr[-1] is None:
            end_row = rws[0] if arr[0] is None else rws[-1]
            p.add("stop_times.txt", end_row[9], "arrival_time",
                  f"trip {tid}: the first and last stop need times")
            return None
        if None in arr:
            self._interpolate(arr, dep, rws, stops)
        ai = cast(list[int], arr)
        di = cast(list[int], dep)
        # in C: departures not before arrivals, and each arrival not before the previous departure
        if not (all(map(operator.ge, di, ai)) and all(map(operator.ge, ai[1:], di[:-1]))):
            prev = -1
            for r, a, d in zip(rws, ai, di, strict=True):
                if a < prev:
                    p.add("stop_times.txt", r[9], "arrival_time",
                          f"trip {tid}: time goes backwards at stop_sequence {r[0]} "
                          f"({_fmt(a)} after {_fmt(prev)})")
                    return None
                if d < a:
                    p.add("stop_times.txt", r[9], "departure_time",
                          f"trip {tid}: departure {_fmt(d)} before arrival {_fmt(a)} at stop_sequence {r[0]}")
                    return None
                prev = d
        dists = cols[7]
        heads: tuple[str, ...] = cols[8]
        return _TripTimes(
            array("i", seqs), cols[1], array("i", ai), array("i", di),
            bytes(cols[4]), bytes(cols[5]), bytes(cols[6]),
            None if None in dists else array("d", dists),
            heads if any(heads) else None)

    @staticmethod
    def _interpolate(arr: list[int | None], dep: list[int | None], rws: list[_Row],
                     stops: dict[str, Stop]) -> None:
        """Fill untimed stops linearly by distance between the timed stops around them (GTFS advice)."""
        if all(a is not None for a in arr):
            return
        # Distance along the trip: shape_dist_traveled when every row has it, else straight lines.
        if all(r[7] is not None for r in rws):
            along = [float(r[7]) for r in rws if r[7] is not None]
        else:
            along = [0.0]
            for a, b in zip(rws, rws[1:], strict=False):
                sa, sb = stops[a[1]], stops[b[1]]
                step = 1.0
                if None not in (sa.lat, sa.lon, sb.lat, sb.lon):
                    step = max(1.0, haversine_m(sa.lat or 0, sa.lon or 0, sb.lat or 0, sb.lon or 0))
                along.append(along[-1] + step)
        i = 0
        n = len(arr)
        while i < n:
            if arr[i] is not None:
                i += 1
                continue
            j = i
            while arr[j] is None:
                j += 1
            t0, t1 = dep[i - 1], arr[j]
            assert t0 is not None and t1 is not None
            d0, d1 = along[i - 1], along[j]
            for k in range(i, j):
                frac = 0.0 if d1 <= d0 else (along[k] - d0) / (d1 - d0)
                t = int(round(t0 + (t1 - t0) * frac))
                arr[k] = dep[k] = t
            i = j

    def feed_info(self) -> FeedInfo | None:
        rows = self.table("feed_info.txt")
        if rows is None:
            return None
        c = self.c
        info: FeedInfo | None = None
        for line, f in rows:
            if info is not None:
                self.add("feed_info.txt", line, None, "feed_info.txt has more than one record",
                           severity=WARNING)
                break
            dates: list[date | None] = []
            for col in ("feed_start_date", "feed_end_date"):
                v = _s(f, c(col))
                try:
                    dates.append(parse_date(v) if v else None)
                except ValueError as exc:
                    self.add("feed_info.txt", line, col, str(exc))
                    dates.append(None)
            info = FeedInfo(_s(f, c("feed_publisher_name")), _s(f, c("feed_publisher_url")),
                            _s(f, c("feed_lang")), dates[0], dates[1], _s(f, c("feed_version")),
                            _s(f, c("feed_contact_email")), _s(f, c("feed_contact_url")))
        return info


def _fmt(seconds: int) -> str:
    return format_gtfs_time(seconds)


__all__ = ["Agency", "Departure", "FeedInfo", "FeedProblem", "FeedTables", "SliceInfo", "TripSelector", "Route", "ScheduledStop", "Stop", "StopTime",
           "Timetable", "Trip", "load_with_problems", "whole_feed_problems", "MAX_PLAUSIBLE_SPEED_MPS"]
