"""Occupancy report against the contract's criteria (belægningskriterier, DOMAIN.md).

Occupancy of a departure = share of seats (folding seats count) taken during the trip: the load after
each stop, weighted by the time to the next stop, over the seats. Averaged **per line**, separately for
rush-hour departures (school days 07:00-09:00 and 14:30-18:00, local time of the scheduled departure)
and all other departures; limits 100 % and 90 % (configurable through the operator file). The report
lists every rush-hour departure and the departures that exceeded their limit.

Input: ``occupancy`` records (events.jsonl written by the onboard unit). Pure functions here; the
sub-command module (``central/cmd_report.py``) does the files.
"""

from __future__ import annotations

import csv
import html
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import msgspec

from transit import calendar
from transit.jsonl import JsonlCounts, read_jsonl
from transit.ratelimit import RateLimitedLog
from transit.records import Record
from transit.timeutil import COPENHAGEN, gtfs_datetime, parse_gtfs_time, parse_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Criteria:
    rush_hours: tuple[tuple[time, time], ...] = calendar.DEFAULT_RUSH_HOURS
    rush_limit_pct: float = 100.0
    other_limit_pct: float = 90.0
    school_holidays: tuple[tuple[date, date], ...] = ()


@dataclass(frozen=True)
class Departure:
    route: str
    direction: Any
    oday: str
    start: str
    trip_id: str
    veh: str
    departure: datetime  # scheduled start, UTC
    rush: bool
    occupancy_pct: float
    peak_load: int
    seats: int
    stops: int
    defect_stops: int
    limit_pct: float
    capacity: int | None = None  # the vehicle's approved capacity, when the records carry it
    over_capacity: tuple[tuple[str, int], ...] = ()  # (stop_id, persons on board) where it was exceeded

    @property
    def exceeded(self) -> bool:
        return self.occupancy_pct > self.limit_pct


@dataclass
class LineSummary:
    route: str
    rush: list[Departure] = field(default_factory=list)
    other: list[Departure] = field(default_factory=list)

    @staticmethod
    def _avg(ds: list[Departure]) -> float | None:
        return sum(d.occupancy_pct for d in ds) / len(ds) if ds else None

    @property
    def rush_avg(self) -> float | None:
        return self._avg(self.rush)

    @property
    def other_avg(self) -> float | None:
        return self._avg(self.other)


@dataclass
class Report:
    criteria: Criteria
    lines: dict[str, LineSummary]
    skipped: dict[str, int]

    def line_ok(self, s: LineSummary) -> bool:
        ok = True
        if s.rush_avg is not None and s.rush_avg > self.criteria.rush_limit_pct:
            ok = False
        if s.other_avg is not None and s.other_avg > self.criteria.other_limit_pct:
            ok = False
        return ok


def read_records(paths: Iterable[str | Path], skipped: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Records from JSON Lines files; bad lines are counted in ``skipped["bad_json"]`` and logged."""
    counts = JsonlCounts()
    try:
        yield from read_jsonl(paths, counts)
    finally:
        if counts.bad:
            skipped["bad_json"] = skipped.get("bad_json", 0) + counts.bad


def _departure_time(oday: str, start: str) -> datetime:
    return gtfs_datetime(date.fromisoformat(oday), parse_gtfs_time(start + ":00" if start.count(":") == 1
                                                                    else start))


@dataclass(frozen=True)
class _Stop:
    """One usable occupancy record: what the report needs from it, already checked."""

    tst: datetime
    load: int
    seats: int | None
    defect: bool
    capacity: int | None = None
    stop_id: str = ""


def _count(skipped: dict[str, int], why: str) -> None:
    skipped[why] = skipped.get(why, 0) + 1


def _stop_of(r: dict[str, Any]) -> _Stop:
    """ValueError/TypeError when a field has the wrong type or range."""
    load = _as_count(r["vehicleload"], "vehicleload")
    seats = None if r.get("seats") in (None, 0, "") else _as_count(r["seats"], "seats")
    cap = None if r.get("capacity") in (None, 0, "") else _as_count(r["capacity"], "capacity")
    return _Stop(parse_iso(str(r["tst"])), load, seats, r.get("countquality") == "defect", cap,
                 str(r.get("stop_id") or ""))


def _as_count(v: Any, what: str) -> int:
    """A JSON count: a non-negative integer (``3.0`` from another writer is fine too)."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{what} {v!r} is not a count")
    return v


def build_report(records: Iterable[Record | dict[str, Any]], criteria: Criteria = Criteria(),
                 skipped: dict[str, int] | None = None) -> Report:
    """Departures per line from ``occupancy`` records. A record that cannot be used is skipped and
    counted in ``skipped`` by reason (``occupancy_without_trip``, ``bad_record``; per departure
    ``bad_time``, ``no_seat_count``); the other records still make the report."""
    skipped = {} if skipped is None else skipped
    rl = RateLimitedLog(log)
    trips: dict[tuple[Any, ...], list[_Stop]] = defaultdict(list)
    # approved capacity exceeded (counting's ``alarm`` records: the peak of the stop visit), per departure
    alarms: dict[tuple[Any, ...], dict[str, int]] = defaultdict(dict)
    for item in records:
        # typed records as the JSON they stand for: this report also reads other writers' exports
        r: dict[str, Any] = msgspec.to_builtins(item) if isinstance(item, Record) else item
        if r.get("event") == "alarm" and r.get("alarm") == "capacity":
            try:
                peak = _as_count(r.get("vehicleload"), "vehicleload")
            except ValueError:
                _count(skipped, "bad_record")
                continue
            d = r.get("dir")
            dir_a = d if d is None or (isinstance(d, int | str) and not isinstance(d, bool)) else str(d)
            akey = (str(r.get("route")), dir_a, str(r.get("oday")), str(r.get("start")), str(r.get("trip_id")),
                    str(r.get("veh")))
            sid = str(r.get("stop_id") or "")
            alarms[akey][sid] = max(peak, alarms[akey].get(sid, 0))
            continue
        if r.get("event") != "occupancy":
            continue
        if not all(r.get(k) is not None for k in ("route", "oday", "start", "tst", "vehicleload")):
            _count(skipped, "occupancy_without_trip")
            continue
        try:
            stop = _stop_of(r)
        except (ValueError, TypeError) as exc:
            _count(skipped, "bad_record")
            rl.warn("bad_record", "occupancy record %s skipped: %s", str(r.get("id"))[:20], str(exc)[:120])
            continue
        d = r.get("dir")  # GTFS direction_id 0/1, kept as it came when it is a plain value
        dir_v = d if d is None or (isinstance(d, int | str) and not isinstance(d, bool)) else str(d)
        key = (str(r["route"]), dir_v, str(r["oday"]), str(r["start"]), str(r.get("trip_id")), str(r.get("veh")))
        trips[key].append(stop)
    lines: dict[str, LineSummary] = {}
    for (route, direction, oday, start, trip_id, veh), recs in sorted(trips.items(), key=lambda kv: str(kv[0])):
        try:
            dep_t = _departure_time(oday, start)
        except (ValueError, TypeError):
            _count(skipped, "bad_time")
            continue
        recs.sort(key=lambda x: x.tst)
        seats = next((x.seats for x in recs if x.seats), None)
        if seats is None:
            _count(skipped, "no_seat_count")
            continue
        # Load after stop i holds until stop i+1; the terminus has no onward segment.
        segs: list[tuple[int, float]] = []
        for a, b in zip(recs, recs[1:], strict=False):
            segs.append((a.load, max((b.tst - a.tst).total_seconds(), 0.0)))
        total_w = sum(w for _, w in segs)
        if not segs:
            occ = 100.0 * recs[0].load / seats
        elif total_w <= 0:
            occ = 100.0 * sum(ld for ld, _ in segs) / len(segs) / seats
        else:
            occ = 100.0 * sum(ld * w for ld, w in segs) / total_w / seats
        loc = dep_t.astimezone(COPENHAGEN)
        rush = calendar.is_rush_departure(loc.date(), loc.time(), criteria.school_holidays,
                                          criteria.rush_hours)
        cap = next((x.capacity for x in recs if x.capacity), None)
        over = dict(alarms.get((route, direction, oday, start, trip_id, veh), {}))
        if cap is not None:  # loads after a stop above it count too (a writer without alarm records)
            for x in recs:
                if x.load > cap:
                    over[x.stop_id] = max(x.load, over.get(x.stop_id, 0))
        order = {x.stop_id: x.tst for x in reversed(recs)}
        d = Departure(route, direction, oday, start, trip_id, veh, dep_t, rush,
                      round(occ, 2), max(x.load for x in recs), seats, len(recs), sum(1 for x in recs if x.defect),
                      criteria.rush_limit_pct if rush else criteria.other_limit_pct, cap,
                      tuple(sorted(over.items(), key=lambda kv: order.get(kv[0], recs[-1].tst))))
        s = lines.setdefault(str(route), LineSummary(str(route)))
        (s.rush if rush else s.other).append(d)
    return Report(criteria, dict(sorted(lines.items())), skipped)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} %"


def _local(d: Departure) -> str:
    return d.departure.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")


def render_markdown(rep: Report) -> str:
    c = rep.criteria
    out = ["# Occupancy report (belægning)", "",
           f"Limits: rush hours (school days {', '.join(f'{a:%H:%M}-{b:%H:%M}' for a, b in c.rush_hours)}) "
           f"{c.rush_limit_pct:g} %, other departures {c.other_limit_pct:g} %. Occupancy = share of seats "
           "(folding seats included), time-weighted over the trip.", "",
           "| line | rush departures | rush avg | other departures | other avg | verdict |",
           "|---|---:|---:|---:|---:|---|"]
    for s in rep.lines.values():
        out.append(f"| {s.route} | {len(s.rush)} | {_fmt(s.rush_avg)} | {len(s.other)} | {_fmt(s.other_avg)} "
                   f"| {'OK' if rep.line_ok(s) else 'EXCEEDED'} |")
    for s in rep.lines.values():
        out += ["", f"## Line {s.route}", "", "| departure | trip | vehicle | rush | occupancy | peak load "
                "| limit | exceeded | defect stops |", "|---|---|---|---|---:|---:|---:|---|---:|"]
        for d in sorted(s.rush + s.other, key=lambda d: d.departure):
            out.append(f"| {_local(d)} | {d.trip_id} | {d.veh} | {'rush' if d.rush else '-'} | "
                       f"{d.occupancy_pct:.1f} % | {d.peak_load} | {d.limit_pct:g} % | "
                       f"{'**yes**' if d.exceeded else 'no'} | {d.defect_stops} |")
        exc = [d for d in s.rush + s.other if d.exceeded]
        out += ["", f"Departures over their limit: {', '.join(_local(d) for d in exc) if exc else 'none'}."]
        over = [d for d in s.rush + s.other if d.over_capacity]
        out.append("Departures above the approved capacity: " + ("; ".join(
            f"{_local(d)} {d.trip_id} {d.veh}: " + ", ".join(f"{sid} {n}/{d.capacity or '?'}"
                                                           for sid, n in d.over_capacity) for d in over)
            if over else "none") + ".")
    if rep.skipped:
        out += ["", "Skipped input: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.skipped.items())) + "."]
    return "\n".join(out) + "\n"


def render_csv(rep: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["route", "direction", "oday", "start", "departure_local", "trip_id", "veh", "rush",
                "occupancy_pct", "limit_pct", "exceeded", "peak_load", "seats", "stops", "defect_stops",
                "approved_capacity", "over_capacity_stops"])
    for s in rep.lines.values():
        for d in sorted(s.rush + s.other, key=lambda d: d.departure):
            w.writerow([d.route, d.direction, d.oday, d.start, _local(d), d.trip_id, d.veh, int(d.rush),
                        f"{d.occupancy_pct:.2f}", f"{d.limit_pct:g}", int(d.exceeded), d.peak_load, d.seats,
                        d.stops, d.defect_stops, "" if d.capacity is None else d.capacity,
                        " ".join(f"{sid}:{n}" for sid, n in d.over_capacity)])
    return buf.getvalue()


def _svg_chart(rep: Report) -> str:
    """Bars per line (rush, other) against the two limits. Hand-written SVG: a chart library would be
    a heavy dependency for two bars per line."""
    lines = list(rep.lines.values())
    c = rep.criteria
    top = max([c.rush_limit_pct, c.other_limit_pct] + [v for s in lines for v in (s.rush_avg, s.other_avg)
                                                        if v is not None]) * 1.15
    bw, gap, h, left = 22, 30, 220, 40
    width = left + max(1, len(lines)) * (2 * bw + gap) + 20

    def y(v: float) -> float:
        return 10 + h * (1 - v / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 50}" '
             'font-family="DejaVu Sans, sans-serif" font-size="11">']
    for lim, colour, name in ((c.rush_limit_pct, "#c0392b", "rush limit"), (c.other_limit_pct, "#2c3e50",
                                                                             "other limit")):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(lim):.1f}" y2="{y(lim):.1f}" '
                     f'stroke="{colour}" stroke-dasharray="4 3"/><text x="{width - 10}" y="{y(lim) - 3:.1f}" '
                     f'text-anchor="end" fill="{colour}">{name} {lim:g} %</text>')
    for i, s in enumerate(lines):
        x = left + i * (2 * bw + gap)
        for j, (v, colour) in enumerate(((s.rush_avg, "#e67e22"), (s.other_avg, "#3498db"))):
            if v is None:
                continue
            parts.append(f'<rect x="{x + j * bw}" y="{y(v):.1f}" width="{bw - 2}" height="{h + 10 - y(v):.1f}" '
                         f'fill="{colour}"><title>{html.escape(s.route)} {"rush" if j == 0 else "other"} '
                         f'{v:.1f} %</title></rect>')
        parts.append(f'<text x="{x + bw}" y="{h + 28}" text-anchor="middle">{html.escape(s.route)}</text>')
    parts.append(f'<text x="{left}" y="{h + 45}">orange: rush-hour average, blue: other departures</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(rep: Report) -> str:
    rows = []
    for s in rep.lines.values():
        rows.append(f"<tr><td>{html.escape(s.route)}</td><td>{len(s.rush)}</td><td>{_fmt(s.rush_avg)}</td>"
                    f"<td>{len(s.other)}</td><td>{_fmt(s.other_avg)}</td>"
                    f"<td>{'OK' if rep.line_ok(s) else '<b>EXCEEDED</b>'}</td></tr>")
    deps = []
    for s in rep.lines.values():
        for d in sorted(s.rush + s.other, key=lambda d: d.departure):
            cls = ' class="exc"' if d.exceeded or d.over_capacity else ""
            over = ", ".join(f"{html.escape(sid)} {n}/{d.capacity or '?'}" for sid, n in d.over_capacity)
            deps.append(f"<tr{cls}><td>{html.escape(d.route)}</td><td>{_local(d)}</td>"
                        f"<td>{html.escape(d.trip_id)}</td><td>{'rush' if d.rush else ''}</td>"
                        f"<td>{d.occupancy_pct:.1f} %</td><td>{d.limit_pct:g} %</td><td>{d.peak_load}</td>"
                        f"<td>{over}</td></tr>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Occupancy report</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px}tr.exc{background:#fdd}</style></head>"
            "<body><h1>Occupancy report</h1>" + _svg_chart(rep)
            + "<h2>Lines</h2><table><tr><th>line</th><th>rush departures</th><th>rush avg</th>"
            "<th>other departures</th><th>other avg</th><th>verdict</th></tr>" + "".join(rows) + "</table>"
            "<h2>Departures</h2><table><tr><th>line</th><th>departure</th><th>trip</th><th>rush</th>"
            "<th>occupancy</th><th>limit</th><th>peak load</th><th>above approved capacity</th></tr>"
            + "".join(deps) + "</table></body></html>\n")


RENDERERS = {"md": render_markdown, "csv": render_csv, "html": render_html}
