"""GTFS-Realtime out: TripUpdates and VehiclePositions from the units' live records.

What journey planners (Rejseplanen) consume. The state is fed the records the collector has committed
(positions ``vp``, stop events, ``occupancy``, ``punctuality``) and the stop predictions the units
publish for displays; :meth:`LiveFeed.feed` builds a ``FeedMessage`` with ``gtfs-realtime-bindings``
at any instant. Entities whose newest data is older than ``stale_s`` (90 s, GTFS-RT best practice) are
left out, so a vehicle that went silent disappears rather than freezing in a planner.

- VehiclePosition per vehicle: position, bearing, speed, trip, stop and ``current_status``,
  ``occupancy_status`` (and ``occupancy_percentage``) from the vehicle's latest ``occupancy`` record of
  the same trip.
- TripUpdate per trip and operating day: arrival/departure events already made (``arr``/``ars``/``dep``,
  with their delay), the units' predictions for the stops ahead, ``SKIPPED`` for a stop passed without
  stopping or predicted as skipped, and the trip ``CANCELED`` where a unit reported it not driven.

Every TripDescriptor carries the GTFS ``route_id`` when the collector knows the operator's feed
(``collector.operators`` in ``central.yaml``, :class:`RouteIds`): the units' records carry the line
number (``route``, the feed's ``route_short_name``), not the feed's ``route_id``, and a journey planner
matches on ``trip_id`` + ``route_id``. Without the feed the field is left out (it is optional), never
guessed.

Pure apart from a lock: the caller passes "now" (the HTTP edge reads the server's clock).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from transit.messages import StopPrediction
from transit.records import Record
from transit.timeutil import parse_iso

STALE_S = 90
STOP_ARRIVAL_EVENTS = frozenset({"arr", "ars"})
STOP_DEPARTURE_EVENTS = frozenset({"dep", "pde"})


def _epoch(iso: str) -> int:
    return int(parse_iso(iso).timestamp())


def _start_date(oday: str) -> str:
    return oday.replace("-", "")


def _start_time(start: str | None) -> str | None:
    """``HH:MM`` (GTFS time, may exceed 24) → ``HH:MM:SS``."""
    if not start or ":" not in start:
        return None
    h, m = start.split(":", 1)
    return f"{int(h):02d}:{int(m):02d}:00"


class RouteIds:
    """GTFS ``route_id`` of a unit's trip, from the operators' feeds: by ``trip_id``, else by the line
    number when exactly one route of the operator's feed has it. Only these small maps are kept, not
    the timetables."""

    def __init__(self) -> None:
        self._by_trip: dict[str, dict[str, str]] = {}
        self._by_line: dict[str, dict[str, str]] = {}

    def add_feed(self, oper: str, trips: dict[str, str], lines: dict[str, list[str]]) -> None:
        """``trips``: trip_id -> route_id; ``lines``: route_short_name -> its route_ids."""
        self._by_trip.setdefault(oper, {}).update(trips)
        by_line = self._by_line.setdefault(oper, {})
        for line, ids in lines.items():
            if len(set(ids)) == 1:
                by_line[line] = ids[0]

    @classmethod
    def from_operators(cls, paths: list[Any]) -> RouteIds:
        """From operator files (``transit.operator``): each names its GTFS feed."""
        from transit.operator import load_operator
        from transit.timetable import Timetable

        out = cls()
        for p in paths:
            op = load_operator(p)
            tt = Timetable.load(op.feed)
            lines: dict[str, list[str]] = {}
            for r in tt.routes.values():
                lines.setdefault(r.short_name or r.long_name, []).append(r.route_id)
            out.add_feed(op.operator_id, {t.trip_id: t.route_id for t in tt.trips.values()}, lines)
        return out

    def route_id(self, oper: str, trip_id: str | None, line: str | None) -> str | None:
        if trip_id:
            hit = self._by_trip.get(oper, {}).get(trip_id)
            if hit is not None:
                return hit
        return self._by_line.get(oper, {}).get(line) if line else None

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_trip.values())


@dataclass
class _StopState:
    seq: int | None
    stop_id: str | None
    arr_time: int | None = None
    arr_delay: int | None = None
    dep_time: int | None = None
    dep_delay: int | None = None
    skipped: bool = False
    observed: bool = False  # from stop events (what happened), not a prediction


@dataclass
class _Trip:
    oday: str
    trip_id: str
    route_id: str | None  # GTFS route_id (RouteIds), not the record's line number
    direction: int | None
    start: str | None
    veh: str
    oper: str
    updated: int = 0  # epoch s of the newest data
    delay: int | None = None
    cancelled: bool = False
    stops: dict[str, _StopState] = field(default_factory=dict)  # stop_id -> state


@dataclass
class _Vehicle:
    oper: str
    veh: str
    rec: dict[str, Any]
    updated: int
    current_status: str = "IN_TRANSIT_TO"
    occupancy: dict[str, Any] | None = None


class LiveFeed:
    """Thread-safe live state; ``on_record`` / ``on_prediction`` in, ``feed(kind, now)`` out."""

    def __init__(self, stale_s: int = STALE_S, routes: RouteIds | None = None) -> None:
        self.stale_s = stale_s
        self.routes = routes if routes is not None else RouteIds()
        self._lock = threading.Lock()
        self._vehicles: dict[tuple[str, str], _Vehicle] = {}
        self._trips: dict[tuple[str, str], _Trip] = {}

    # ------------------------------------------------------------------------------------------ input
    def on_record(self, record: Record) -> None:
        """A decoded record (``transit.records.decode_record``), read through its JSON object view."""
        rec: dict[str, Any] = msgspec.to_builtins(record)
        ev = rec.get("event")
        try:
            t = _epoch(rec["tst"])
        except (KeyError, ValueError, TypeError):
            return
        key_v = (str(rec.get("oper")), str(rec.get("veh")))
        with self._lock:
            if ev == "vp":
                v = self._vehicles.get(key_v)
                if v is None or t >= v.updated:
                    occ = v.occupancy if v is not None else None
                    status = v.current_status if v is not None else "IN_TRANSIT_TO"
                    self._vehicles[key_v] = _Vehicle(key_v[0], key_v[1], rec, t, status, occ)
            elif ev == "occupancy":
                v = self._vehicles.get(key_v)
                if v is not None:
                    v.occupancy = rec
            if ev in STOP_ARRIVAL_EVENTS or ev in STOP_DEPARTURE_EVENTS or ev == "pas":
                v = self._vehicles.get(key_v)
                if v is not None and t >= v.updated - 5:
                    v.current_status = "STOPPED_AT" if ev in STOP_ARRIVAL_EVENTS else "IN_TRANSIT_TO"
            trip = self._trip_for(rec, t)
            if trip is None:
                return
            if ev == "vp" and isinstance(rec.get("dl"), int | float):
                trip.delay = int(round(rec["dl"]))
            sid = rec.get("stop_id")
            if isinstance(sid, str) and sid and (ev in STOP_ARRIVAL_EVENTS or ev in STOP_DEPARTURE_EVENTS
                                                  or ev == "pas"):
                st = trip.stops.setdefault(sid, _StopState(rec.get("seq"), sid))
                st.observed = True
                dl = rec.get("dl")
                delay = int(round(dl)) if isinstance(dl, int | float) else None
                if ev in STOP_ARRIVAL_EVENTS or ev == "pas":
                    st.arr_time, st.arr_delay = t, delay
                if ev in STOP_DEPARTURE_EVENTS or ev == "pas":
                    st.dep_time, st.dep_delay = t, delay
                if delay is not None:
                    trip.delay = delay
            if ev == "punctuality" and rec.get("status") == "missing":
                reason = str(rec.get("reason") or "")
                if "cancelled" in reason:
                    trip.cancelled = True
                elif "passed without stopping" in reason and isinstance(sid, str):
                    trip.stops.setdefault(sid, _StopState(rec.get("seq"), sid)).skipped = True

    def _trip_for(self, rec: dict[str, Any], t: int) -> _Trip | None:
        oday, trip_id = rec.get("oday"), rec.get("trip_id")
        if not isinstance(oday, str) or not isinstance(trip_id, str) or not oday or not trip_id:
            return None
        key = (oday, trip_id)
        trip = self._trips.get(key)
        if trip is None:
            d = rec.get("dir")
            line = rec.get("route") if isinstance(rec.get("route"), str) else None
            trip = _Trip(oday, trip_id, self.routes.route_id(str(rec.get("oper")), trip_id, line),
                         d if isinstance(d, int) else None, rec.get("start"), str(rec.get("veh")),
                         str(rec.get("oper")))
            self._trips[key] = trip
        trip.updated = max(trip.updated, t)
        return trip

    def on_prediction(self, pred: StopPrediction) -> None:
        """A unit's estimate for one stop ahead (``transit.messages.decode_prediction``)."""
        t = int(pred.tst.timestamp())
        rec = {"oday": pred.oday, "trip_id": pred.trip_id, "route": pred.route, "dir": pred.direction,
               "start": pred.start, "veh": pred.veh, "oper": pred.oper}
        with self._lock:
            trip = self._trip_for(rec, t)
            assert trip is not None
            if pred.status == "CANCELED":
                trip.cancelled = True
                return
            st = trip.stops.get(pred.stop_id)
            if st is not None and st.observed:
                return  # what happened beats what was predicted
            st = _StopState(pred.seq, pred.stop_id)
            st.skipped = pred.status == "SKIPPED"
            if pred.eta_arr is not None:
                st.arr_time = int(pred.eta_arr.timestamp())
                if pred.sched_arr is not None:
                    st.arr_delay = int(round((pred.eta_arr - pred.sched_arr).total_seconds()))
            if pred.eta_dep is not None:
                st.dep_time = int(pred.eta_dep.timestamp())
                if pred.sched_dep is not None:
                    st.dep_delay = int(round((pred.eta_dep - pred.sched_dep).total_seconds()))
            trip.stops[pred.stop_id] = st

    def prune(self, now: datetime) -> None:
        """Forget state older than the staleness limit (bounded memory on a long-running collector)."""
        limit = int(now.timestamp()) - self.stale_s
        with self._lock:
            for k in [k for k, v in self._vehicles.items() if v.updated < limit]:
                del self._vehicles[k]
            for k in [k for k, tr in self._trips.items() if tr.updated < limit]:
                del self._trips[k]

    # ------------------------------------------------------------------------------------------ output
    def feed(self, kind: str, now: datetime) -> Any:
        """A ``FeedMessage`` of ``trip-updates`` or ``vehicle-positions`` at ``now``."""
        from google.transit import gtfs_realtime_pb2 as rt  # imported when GTFS-RT is served

        msg = rt.FeedMessage()
        msg.header.gtfs_realtime_version = "2.0"
        msg.header.incrementality = rt.FeedHeader.FULL_DATASET
        now_s = int(now.timestamp())
        msg.header.timestamp = now_s
        limit = now_s - self.stale_s
        with self._lock:
            if kind == "vehicle-positions":
                for v in sorted(self._vehicles.values(), key=lambda x: (x.oper, x.veh)):
                    if v.updated >= limit:
                        _vehicle_entity(msg.entity.add(), v, rt, self.routes)
            elif kind == "trip-updates":
                for tr in sorted(self._trips.values(), key=lambda x: (x.oday, x.trip_id)):
                    if tr.updated >= limit:
                        _trip_entity(msg.entity.add(), tr, rt)
            else:
                raise ValueError(f"unknown GTFS-RT feed {kind!r}")
        return msg


def _trip_descriptor(td: Any, oday: str, trip_id: str, route_id: str | None, direction: int | None,
                     start: str | None, rt: Any, cancelled: bool = False) -> None:
    td.trip_id = trip_id
    if route_id:
        td.route_id = route_id
    td.start_date = _start_date(oday)
    st = _start_time(start)
    if st:
        td.start_time = st
    if direction in (0, 1):
        td.direction_id = direction
    td.schedule_relationship = rt.TripDescriptor.CANCELED if cancelled else rt.TripDescriptor.SCHEDULED


def _vehicle_entity(ent: Any, v: _Vehicle, rt: Any, routes: RouteIds) -> None:
    r = v.rec
    ent.id = f"{v.oper}:{v.veh}"
    vp = ent.vehicle
    vp.vehicle.id = f"{v.oper}:{v.veh}"
    vp.vehicle.label = v.veh
    if isinstance(r.get("trip_id"), str) and isinstance(r.get("oday"), str):
        line = r.get("route") if isinstance(r.get("route"), str) else None
        _trip_descriptor(vp.trip, r["oday"], r["trip_id"], routes.route_id(v.oper, r["trip_id"], line), r.get("dir"),
                         r.get("start"), rt)
    lat, lon = r.get("lat"), r.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        vp.position.latitude = float(lat)
        vp.position.longitude = float(lon)
        if isinstance(r.get("hdg"), int | float):
            vp.position.bearing = float(r["hdg"])
        if isinstance(r.get("spd"), int | float):
            vp.position.speed = float(r["spd"])
        if isinstance(r.get("odo"), int | float):
            vp.position.odometer = float(r["odo"])
    if isinstance(r.get("seq"), int):
        vp.current_stop_sequence = r["seq"]
    if isinstance(r.get("stop_id"), str) and r["stop_id"]:
        vp.stop_id = r["stop_id"]
    vp.current_status = getattr(rt.VehiclePosition, v.current_status)
    vp.timestamp = v.updated
    occ = v.occupancy
    if occ is not None and occ.get("trip_id") == r.get("trip_id"):
        name = occ.get("occupancy_status")
        if isinstance(name, str) and hasattr(rt.VehiclePosition, name):
            vp.occupancy_status = getattr(rt.VehiclePosition, name)
        if isinstance(occ.get("occu"), int | float) and occ["occu"] >= 0:
            vp.occupancy_percentage = int(round(occ["occu"]))


def _trip_entity(ent: Any, tr: _Trip, rt: Any) -> None:
    ent.id = f"{tr.oday}:{tr.trip_id}"
    tu = ent.trip_update
    _trip_descriptor(tu.trip, tr.oday, tr.trip_id, tr.route_id, tr.direction, tr.start, rt, tr.cancelled)
    tu.vehicle.id = f"{tr.oper}:{tr.veh}"
    tu.vehicle.label = tr.veh
    tu.timestamp = tr.updated
    if tr.cancelled:
        return  # a cancelled trip carries no stop time updates (GTFS-RT spec)
    if tr.delay is not None:
        tu.delay = tr.delay
    stops = sorted(tr.stops.values(), key=lambda s: (s.seq if isinstance(s.seq, int) else 1 << 30, s.stop_id or ""))
    for s in stops:
        if s.seq is None and not s.stop_id:
            continue
        u = tu.stop_time_update.add()
        if isinstance(s.seq, int):
            u.stop_sequence = s.seq
        if s.stop_id:
            u.stop_id = s.stop_id
        if s.skipped:
            u.schedule_relationship = rt.TripUpdate.StopTimeUpdate.SKIPPED
            continue
        u.schedule_relationship = rt.TripUpdate.StopTimeUpdate.SCHEDULED
        if s.arr_time is not None:
            u.arrival.time = s.arr_time
            if s.arr_delay is not None:
                u.arrival.delay = s.arr_delay
        if s.dep_time is not None:
            u.departure.time = s.dep_time
            if s.dep_delay is not None:
                u.departure.delay = s.dep_delay
        if s.arr_time is None and s.dep_time is None:
            u.schedule_relationship = rt.TripUpdate.StopTimeUpdate.NO_DATA


def feed_bytes(msg: Any, fmt: str = "protobuf") -> tuple[bytes, str]:
    """Serialised feed and its content type (``json`` for debugging, as ``?format=json``)."""
    if fmt == "json":
        from google.protobuf import json_format

        return json_format.MessageToJson(msg, indent=1).encode("utf-8"), "application/json"
    return msg.SerializeToString(), "application/x-protobuf"


__all__ = ["STALE_S", "LiveFeed", "RouteIds", "feed_bytes"]
