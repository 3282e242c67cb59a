"""``rettid-central export-routes EVENTS.jsonl... -o DIR``: each run's recorded route and stop times for
the authority ("GPS-udstyr ... til opsamling af data til optegning af ruter og køreplan", seeds/001).

Per run (vehicle, trip, operating day) from the units' records: the track (``vp`` positions with time,
speed, odometer) and the stop events (``arr ars dep pas`` and ``not_observed``, with the scheduled time
and delay), written as

* ``<day>_<vehicle>_<trip>.gpx`` — GPX 1.1 (written by gpxpy): one track of the run's positions, a waypoint
  per stop event at the position the vehicle had then (name = stop, type = event, description with the
  scheduled time and delay in Danish);
* ``<day>_<vehicle>_<trip>-track.csv`` and ``-stops.csv`` — the same as tables (UTC and local time).

Bad lines are counted and skipped (``transit.jsonl``); a run without positions gets its stop CSV only.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from transit.errors import ConfigError
from transit.jsonl import JsonlCounts, iter_records
from transit.records import NotObserved, Position, Record, StopRecord
from transit.timeutil import COPENHAGEN, parse_iso

log = logging.getLogger(__name__)

EXAMPLES = """\
rettid-central export-routes unit-12/events.jsonl -o out/routes                 # GPX and CSV per run
rettid-central export-routes unit-*/events.jsonl --day 2026-11-24 --route 12 --format gpx -o out/routes
rettid-central export-routes events.jsonl --feed data/gtfs/viborg-school -o out/routes   # stop names
"""
#: stop events that go into the export (door events and due are not the timetable's)
STOP_EVENTS = frozenset({"arr", "ars", "dep", "pas", "not_observed"})
EVENT_DA = {"arr": "ankomst (stopzone)", "ars": "ankomst (holder)", "dep": "afgang", "pas": "passeret",
            "not_observed": "ikke observeret"}


@dataclass
class Run:
    veh: str
    trip_id: str
    oday: str
    route: str | None
    start: str | None
    track: list[Position] = field(default_factory=list)
    stops: list[StopRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        raw = f"{self.oday}_{self.veh}_{self.trip_id}"
        return re.sub(r"[^A-Za-z0-9._-]+", "-", raw)[:150]


def collect(records: Iterable[Record], *, day: str | None = None, route: str | None = None,
            trip: str | None = None) -> list[Run]:
    """Runs in the records (positions and stop events of a trip), in time order; duplicates (the same
    record id twice: a replay, a re-sent outbox) are kept once."""
    runs: dict[tuple[str, str, str], Run] = {}
    seen: set[str] = set()
    for r in records:
        if r.trip_id is None or r.oday is None:
            continue
        if not (isinstance(r, Position) or (isinstance(r, StopRecord) and r.event in STOP_EVENTS)):
            continue
        if (day and r.oday != day) or (route and r.route != route) or (trip and r.trip_id != trip):
            continue
        if r.id in seen:
            continue
        seen.add(r.id)
        key = (r.veh, r.trip_id, r.oday)
        run = runs.get(key)
        if run is None:
            run = runs[key] = Run(r.veh, r.trip_id, r.oday, r.route, r.start)
        if isinstance(r, Position):
            if isinstance(r.lat, float | int) and isinstance(r.lon, float | int):
                run.track.append(r)
        else:
            run.stops.append(r)
    for run in runs.values():
        run.track.sort(key=lambda p: p.tst)
        run.stops.sort(key=lambda s: s.tst)
    return sorted(runs.values(), key=lambda r: (r.oday, r.start or "", r.veh, r.trip_id))


def _local(tst: str) -> str:
    return parse_iso(tst).astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M:%S")


def _where(run: Run, tst: str) -> tuple[float, float] | None:
    """The position nearest in time to ``tst`` (positions are 1 Hz: within a second)."""
    if not run.track:
        return None
    times = [p.tst for p in run.track]  # ISO UTC ms strings sort as time
    i = bisect.bisect_left(times, tst)
    cands = [run.track[j] for j in (i - 1, i) if 0 <= j < len(run.track)]
    best = min(cands, key=lambda p: abs((parse_iso(p.tst) - parse_iso(tst)).total_seconds()))
    return float(best.lat), float(best.lon)  # type: ignore[arg-type]


def _describe(s: StopRecord) -> str:
    text = EVENT_DA.get(s.event, s.event) + f" {_local(s.tst)[11:]}"
    if isinstance(s.sched, str):
        text += f", planlagt {_local(s.sched)[11:]}"
    if isinstance(s.dl, float | int):
        text += f", {'+' if s.dl >= 0 else '-'}{abs(s.dl):.0f} s"
    if isinstance(s, NotObserved):
        text += f" ({s.reason})"
    return text


def write_gpx(run: Run, path: Path, names: dict[str, str]) -> None:
    """The run as GPX 1.1 (gpxpy writes the schema's element order and namespaces)."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.creator = "rettid export-routes"
    gpx.name = f"Rute {run.route or '?'} {run.trip_id} {run.oday} ({run.veh})"
    gpx.description = f"Optegnet rute og stoptider, vogn {run.veh}, tur {run.trip_id}, driftsdøgn {run.oday}"
    for s in run.stops:
        pos = _where(run, s.tst)
        if pos is None:
            continue
        wpt = gpxpy.gpx.GPXWaypoint(pos[0], pos[1], time=parse_iso(s.tst),
                                    name=names.get(s.stop_id or "", s.stop_id or ""),
                                    description=_describe(s), type=s.event)
        wpt.comment = s.stop_id
        gpx.waypoints.append(wpt)
    trk = gpxpy.gpx.GPXTrack(name=gpx.name)
    seg = gpxpy.gpx.GPXTrackSegment()
    for p in run.track:
        seg.points.append(gpxpy.gpx.GPXTrackPoint(float(p.lat), float(p.lon),  # type: ignore[arg-type]
                                                  time=parse_iso(p.tst), speed=p.spd))
    trk.segments.append(seg)
    gpx.tracks.append(trk)
    path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8")


def write_csv(run: Run, out: Path, names: dict[str, str]) -> list[Path]:
    files: list[Path] = []
    if run.track:
        tp = out / f"{run.name}-track.csv"
        with open(tp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["tst_utc", "time_local", "lat", "lon", "speed_kmh", "odometer_m", "dist_m", "delay_s"])
            for p in run.track:
                w.writerow([p.tst, _local(p.tst), f"{p.lat:.6f}", f"{p.lon:.6f}",
                            "" if p.spd is None else f"{p.spd * 3.6:.1f}", "" if p.odo is None else f"{p.odo:.0f}",
                            f"{p.dist:.1f}" if isinstance(p.dist, float | int) else "",
                            f"{p.dl:.0f}" if isinstance(p.dl, float | int) else ""])
        files.append(tp)
    sp = out / f"{run.name}-stops.csv"
    with open(sp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["stop_id", "stop_name", "seq", "event", "tst_utc", "time_local", "sched_local", "delay_s",
                    "lat", "lon", "loc"])
        for s in run.stops:
            pos = _where(run, s.tst)
            w.writerow([s.stop_id, names.get(s.stop_id or "", ""), "" if s.seq is None else s.seq, s.event, s.tst,
                        _local(s.tst), _local(s.sched) if isinstance(s.sched, str) else "",
                        f"{s.dl:.0f}" if isinstance(s.dl, float | int) else "",
                        "" if pos is None else f"{pos[0]:.6f}", "" if pos is None else f"{pos[1]:.6f}", s.loc])
    files.append(sp)
    return files


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", nargs="+", type=Path, help="units' events.jsonl file(s) (vp and stop events)")
    p.add_argument("-o", "--out", type=Path, required=True, help="folder for the files (created)")
    p.add_argument("--format", choices=("gpx", "csv", "both"), default="both", help="what to write (both)")
    p.add_argument("--day", help="only this operating day YYYY-MM-DD")
    p.add_argument("--route", help="only this line/route (route_short_name)")
    p.add_argument("--trip", help="only this trip_id")
    p.add_argument("--feed", type=Path, help="GTFS feed for stop names (default: stop ids only)")


def run(args: argparse.Namespace) -> int:
    for f in args.events:
        if not f.is_file():
            raise ConfigError("no such events file", file=str(f))
    names: dict[str, str] = {}
    if args.feed is not None:
        from transit.timetable import Timetable
        tt = Timetable.load(args.feed)
        names = {k: s.name for k, s in tt.stops.items()}
    counts = JsonlCounts()
    runs = collect((e.record for e in iter_records(args.events, counts) if e is not None), day=args.day,
                   route=args.route, trip=args.trip)
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for r in runs:
        if args.format in ("gpx", "both") and r.track:
            write_gpx(r, args.out / f"{r.name}.gpx", names)
            written += 1
        if args.format in ("csv", "both"):
            written += len(write_csv(r, args.out, names))
        print(f"{r.name}: {len(r.track)} positions, {len(r.stops)} stop events")
    if counts.bad:
        print(f"skipped {counts.bad} bad line(s)")
    print(f"{len(runs)} run(s), {written} file(s) in {args.out}")
    return 0 if runs else 1


__all__ = ["Run", "add_arguments", "collect", "run", "write_csv", "write_gpx"]
