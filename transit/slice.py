"""A unit's timetable slice: what one onboard or station unit serves and shows, cut from the national feed
once, stored in one SQLite file the unit opens in a fraction of a second (issue 17).

A national feed (1.5 M stop times) does not fit a Pi Zero 2 W and takes about a minute to read there. A
slice keeps, for a horizon of service days:

- onboard: the trips of the operator's lines (the operator file's lines) and of their blocks, plus the
  unit's assigned trips/block; station: the trips calling at the configured stops;
- in both, every trip calling at the stations of those stops (all platforms): the connections the
  frieze and the countdown show;
- the stops, routes, agencies, calendar (clipped to the horizon) and shapes those trips use.

The trips keep all their stop times, so a slice answers every question about its trips exactly as the
full feed does (tests compare them). The file carries a schema version, the feed's content hash and
``feed_version``, the horizon, and a SHA-256 over its contents; :func:`load_slice` refuses a file of
another schema, a damaged one (SQLite or checksum), and :func:`check_horizon` a day outside its horizon.
Stdlib ``sqlite3``: one file, atomic to replace, readable with any SQLite tool.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import sys
from array import array
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from transit.errors import FeedError, RettidError
from transit.gtfsfiles import FeedSource
from transit.timetable import (
    Agency,
    FeedInfo,
    FeedTables,
    Route,
    SliceInfo,
    Stop,
    Timetable,
    Trip,
    _Service,
    _TripTimes,
)

#: Bumped when the file's layout changes; a unit refuses a slice of another version.
SCHEMA_VERSION = 1
#: SQLite ``application_id`` of a slice ("RTSL"): tells a slice from any other SQLite file at byte 68.
APPLICATION_ID = 0x5254534C
SQLITE_MAGIC = b"SQLite format 3\x00"


class SliceError(RettidError, ValueError):
    """A slice that cannot be used: damaged, of another schema version, or not covering the day."""


# -- detecting and opening ---------------------------------------------------------------------------


def is_slice(path: str | Path) -> bool:
    """Whether ``path`` is a slice file (SQLite with the slice's application id), read from its header."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        with p.open("rb") as f:
            head = f.read(72)
    except OSError:
        return False
    return head[:16] == SQLITE_MAGIC and int.from_bytes(head[68:72], "big") == APPLICATION_ID


def load_slice(path: str | Path) -> Timetable:
    """Open a slice as a :class:`Timetable` (with :attr:`Timetable.slice` set); :class:`SliceError` when
    the file is damaged or of another schema version."""
    p = Path(path)
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SliceError(f"{p}: cannot open the timetable slice: {exc}") from None
    try:
        return _read(p, con)
    except sqlite3.DatabaseError as exc:
        raise SliceError(f"{p}: damaged timetable slice ({exc}); build and roll out a new one") from None
    finally:
        con.close()


def open_timetable(path: str | Path, *, strict: bool = False) -> Timetable:
    """A unit's timetable: its slice when ``path`` is one, else the GTFS feed (``Timetable.load``)."""
    if is_slice(path):
        return load_slice(path)
    return Timetable.load(path, strict=strict)


def selector_for(kind: str, config: str | Path) -> tuple[str, Any]:
    """(unit id, trip selector) from a unit's configuration file (``onboard.yaml`` or ``station.yaml``):
    onboard, the operator file's lines and the assignment; station, ``stops.ids``."""
    from transit.operator import load_operator
    from transit.yamlconf import load_yaml, resolve_path

    root = load_yaml(config)
    unit = root.child("unit")
    unit_id = unit.child("id").as_str()
    if kind == "station":
        return unit_id, station_selector(n.as_str() for n in root.child("stops").child("ids").as_list())
    if kind != "onboard":
        raise ValueError(f"kind must be onboard or station, not {kind!r}")
    op_node = unit.child("operator")
    op = load_operator(resolve_path(op_node))
    lines = set(op.registration_stations) | set(op.line_vehicle_types)
    for st in op.straekninger.values():
        lines.update(st.lines)
    trips: list[str] = []
    block = None
    a = root.opt("assignment")
    if a is not None and a.is_map():
        if a.opt("block") is not None:
            block = a.child("block").as_str()
        if a.opt("trips") is not None:
            trips = [n.as_str() for n in a.child("trips").as_list()]
    return unit_id, onboard_selector(lines, trips, block)


def check_horizon(tt: Timetable, day: date) -> None:
    """Refuse a slice whose horizon does not cover service day ``day`` (a full feed always passes)."""
    info = tt.slice
    if info is None:
        return
    if not info.first <= day <= info.last:
        raise SliceError(f"{tt.source}: the timetable slice covers service days {info.first} .. {info.last}, "
                         f"not {day}: build a new one (rettid-central slice) and roll it out")


def _read(p: Path, con: sqlite3.Connection) -> Timetable:
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise SliceError(f"{p}: timetable slice schema version {version}, this software reads version "
                         f"{SCHEMA_VERSION}: build the slice again with this version")
    h = hashlib.sha256()
    docs: dict[str, Any] = {}
    for name, data in con.execute("SELECT name, data FROM doc ORDER BY name"):
        h.update(name.encode())
        h.update(data)
        docs[name] = json.loads(data)
    times: dict[str, _TripTimes] = {}
    swap = sys.byteorder != "little"
    for row in con.execute("SELECT trip_id, seq, stops, arr, dep, pickup, drop_off, timepoint, dist, heads "
                           "FROM trip_times ORDER BY trip_id"):
        tid, seq_b, stops_t, arr_b, dep_b, pick, drop, tp, dist_b, heads = row
        for part in row:
            h.update(part if isinstance(part, bytes) else str(part).encode())
        seq, arr, dep = array("i"), array("i"), array("i")
        seq.frombytes(seq_b)
        arr.frombytes(arr_b)
        dep.frombytes(dep_b)
        dist = None
        if dist_b is not None:
            dist = array("d")
            dist.frombytes(dist_b)
        if swap:
            for a in (seq, arr, dep, dist):
                if a is not None:
                    a.byteswap()
        ids = tuple(sys.intern(s) for s in stops_t.split("\x1f"))
        times[sys.intern(tid)] = _TripTimes(seq, ids, arr, dep, bytes(pick), bytes(drop), bytes(tp), dist,
                                            tuple(heads.split("\x1f")) if heads is not None else None)
    if h.hexdigest() != meta.get("checksum"):
        raise SliceError(f"{p}: timetable slice checksum does not match its contents (damaged file); "
                         "build and roll out a new one")
    stops = {d[0]: Stop(*d) for d in docs["stops"]}
    for s in stops.values():
        sys.intern(s.stop_id)
    routes = {d[0]: Route(*d) for d in docs["routes"]}
    trips = {d[0]: Trip(*d) for d in docs["trips"]}
    services = {d[0]: _Service(tuple(d[1]), date.fromisoformat(d[2]), date.fromisoformat(d[3]))
                for d in docs["services"]}
    exceptions = {sid: {date.fromisoformat(k): v for k, v in exc.items()}
                  for sid, exc in docs["exceptions"].items()}
    shapes = {sid: (array("d", lat), array("d", lon)) for sid, (lat, lon) in docs["shapes"].items()}
    fi = docs.get("feed_info")
    feed_info = None if fi is None else FeedInfo(
        fi[0], fi[1], fi[2], date.fromisoformat(fi[3]) if fi[3] else None,
        date.fromisoformat(fi[4]) if fi[4] else None, *fi[5:])
    agencies = {d[0]: Agency(*d) for d in docs["agencies"]}
    tt = Timetable(source=p, agencies=agencies, stops=stops, routes=routes, trips=trips, times=times,
                   services=services, exceptions=exceptions, shapes=shapes, feed_info=feed_info,
                   tz=ZoneInfo(meta["timezone"]), problems=[])
    tt.slice = SliceInfo(meta["kind"], meta["unit"], date.fromisoformat(meta["first"]),
                         date.fromisoformat(meta["last"]), meta["feed_hash"], meta["feed_version"], len(trips))
    return tt


# -- choosing the trips --------------------------------------------------------------------------------


def _scan(src: FeedSource, want: set[str] | None, at: set[str] | None) -> tuple[set[str], set[str]]:
    """One pass over stop_times.txt reading two columns: the stops of trips in ``want`` and the trips
    calling at a stop in ``at``."""
    stops_of: set[str] = set()
    trips_at: set[str] = set()
    with src.open("stop_times.txt") as f:
        reader = csv.reader(f)
        header = [c.strip() for c in next(reader, [])]
        if "trip_id" not in header or "stop_id" not in header:
            raise FeedError(["stop_times.txt: required column trip_id or stop_id is missing"])
        ct, cs = header.index("trip_id"), header.index("stop_id")
        for row in reader:
            if len(row) <= max(ct, cs):
                continue
            tid, sid = row[ct].strip(), row[cs].strip()
            if want is not None and tid in want:
                stops_of.add(sid)
            if at is not None and sid in at:
                trips_at.add(tid)
    return stops_of, trips_at


def _station_family(stops: dict[str, Stop], ids: Iterable[str]) -> set[str]:
    """The stops, their stations and every platform under those stations (a connection's platforms)."""
    children: dict[str, list[str]] = {}
    for s in stops.values():
        if s.parent_station:
            children.setdefault(s.parent_station, []).append(s.stop_id)
    out: set[str] = set()
    todo = []
    for sid in ids:
        st = stops.get(sid)
        top = st.parent_station if st is not None and st.parent_station else sid
        todo += [sid, top]
    while todo:
        sid = todo.pop()
        if sid in out:
            continue
        out.add(sid)
        todo.extend(children.get(sid, ()))
    return out


def onboard_selector(lines: Iterable[str], trips: Iterable[str] = (), block: str | None = None
                     ) -> Any:
    """Trips of an onboard unit: its operator's ``lines`` (route short names or ids), their blocks, the
    assigned trips/block, and the connections at the stations they call at."""
    names, extra = set(lines), set(trips)

    def select(t: FeedTables) -> set[str]:
        routes = {r.route_id for r in t.routes.values() if r.short_name in names or r.route_id in names}
        core = {tid for tid, trip in t.trips.items() if trip.route_id in routes or tid in extra
                or (block is not None and trip.block_id == block)}
        blocks = {t.trips[tid].block_id for tid in core if t.trips[tid].block_id}
        core |= {tid for tid, trip in t.trips.items() if trip.block_id in blocks}
        served, _ = _scan(t.src, core, None)
        _, connections = _scan(t.src, None, _station_family(t.stops, served))
        return core | connections

    return select


def station_selector(stop_ids: Iterable[str]) -> Any:
    """Trips of a station unit: every trip calling at its stops (a parent station: all its platforms)."""
    ids = list(stop_ids)

    def select(t: FeedTables) -> set[str]:
        unknown = [s for s in ids if s not in t.stops]
        if unknown:
            raise FeedError([f"stops.txt: stop_id '{s}' of the station is not in the feed" for s in unknown])
        return _scan(t.src, None, _station_family(t.stops, ids))[1]

    return select


# -- building ------------------------------------------------------------------------------------------


def build_slice(feed: str | Path, out: str | Path, *, kind: str, unit: str, select: Any, first: date,
                days: int) -> SliceInfo:
    """Cut the slice from ``feed`` for service days ``first`` .. ``first + days - 1`` and write it to
    ``out`` atomically (a temporary file, then one rename)."""
    feed_p = Path(feed)
    tt = Timetable.load(feed_p, select=select)
    last = first + timedelta(days=days - 1)
    # a trip of an earlier service day can still run on ``first`` (times past 24:00)
    back = tt.max_time_s // 86400
    days_in = [first - timedelta(days=k) for k in range(back, 0, -1)] + [
        first + timedelta(days=k) for k in range(days)]
    active: set[str] = set()
    for d in days_in:
        active |= tt.services_on(d)
    lo, hi = days_in[0], last
    trips = {tid: t for tid, t in tt.trips.items() if t.service_id in active}
    if not trips:
        raise FeedError([f"no trip of this unit runs between {first} and {last} in {feed_p}"])
    stop_ids: set[str] = set()
    for tid in trips:
        stop_ids.update(tt._times[tid].stops)
    stop_ids |= _station_family(tt.stops, stop_ids)
    stops = [tt.stops[s] for s in sorted(stop_ids) if s in tt.stops]
    for st in list(stops):  # parents of the stations kept
        if st.parent_station and st.parent_station not in stop_ids and st.parent_station in tt.stops:
            stop_ids.add(st.parent_station)
            stops.append(tt.stops[st.parent_station])
    routes = sorted({t.route_id for t in trips.values()})
    services: dict[str, list[Any]] = {}
    for sid in sorted(active):
        svc = tt._services.get(sid)
        if svc is not None and svc.start <= hi and svc.end >= lo:
            services[sid] = [list(svc.days), max(svc.start, lo).isoformat(), min(svc.end, hi).isoformat()]
    exceptions = {sid: {d.isoformat(): k for d, k in sorted(exc.items()) if lo <= d <= hi}
                  for sid, exc in tt._exceptions.items() if sid in active}
    shapes = {t.shape_id: [list(tt._shape_pts[t.shape_id][0]), list(tt._shape_pts[t.shape_id][1])]
              for t in trips.values() if t.shape_id and t.shape_id in tt._shape_pts}
    fi = tt.feed_info
    docs: dict[str, Any] = {
        "agencies": [list(_fields(a)) for a in tt.agencies.values()],
        "stops": [list(_fields(s)) for s in stops],
        "routes": [list(_fields(tt.routes[r])) for r in routes],
        "trips": [list(_fields(t)) for t in trips.values()],
        "services": [[sid, *v] for sid, v in services.items()],
        "exceptions": exceptions,
        "shapes": shapes,
        "feed_info": None if fi is None else [
            fi.publisher_name, fi.publisher_url, fi.lang, fi.start_date.isoformat() if fi.start_date else "",
            fi.end_date.isoformat() if fi.end_date else "", fi.version, fi.contact_email, fi.contact_url],
    }
    info = SliceInfo(kind, unit, first, last, feed_hash(feed_p), fi.version if fi is not None else "", len(trips))
    _write(Path(out), tt, docs, trips, info)
    return info


def _fields(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, k) for k in obj.__slots__)


def feed_hash(path: Path) -> str:
    """SHA-256 (16 hex digits) over the feed's files, names and bytes: which feed a slice was cut from."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def _le(a: array[Any]) -> bytes:
    if sys.byteorder != "little":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _write(out: Path, tt: Timetable, docs: dict[str, Any], trips: dict[str, Trip], info: SliceInfo) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute("CREATE TABLE doc (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
        con.execute("CREATE TABLE trip_times (trip_id TEXT PRIMARY KEY, seq BLOB, stops TEXT, arr BLOB, "
                    "dep BLOB, pickup BLOB, drop_off BLOB, timepoint BLOB, dist BLOB, heads TEXT)")
        h = hashlib.sha256()
        for name in sorted(docs):
            data = json.dumps(docs[name], ensure_ascii=False, separators=(",", ":")).encode()
            h.update(name.encode())
            h.update(data)
            con.execute("INSERT INTO doc VALUES (?, ?)", (name, data))
        for tid in sorted(trips):
            t = tt._times[tid]
            row = (tid, _le(t.seq), "\x1f".join(t.stops), _le(t.arr), _le(t.dep), t.pickup, t.drop,
                   t.timepoint, None if t.dist is None else _le(t.dist),
                   None if t.headsigns is None else "\x1f".join(t.headsigns))
            for part in row:
                h.update(part if isinstance(part, bytes) else str(part).encode())
            con.execute("INSERT INTO trip_times VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        meta = {"schema_version": str(SCHEMA_VERSION), "kind": info.kind, "unit": info.unit,
                "first": info.first.isoformat(), "last": info.last.isoformat(), "feed_hash": info.feed_hash,
                "feed_version": info.feed_version, "timezone": str(tt.tz), "checksum": h.hexdigest()}
        con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        con.commit()
    finally:
        con.close()
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)


__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SliceError", "SliceInfo", "build_slice", "check_horizon",
           "is_slice", "load_slice", "onboard_selector", "open_timetable", "selector_for", "station_selector"]
