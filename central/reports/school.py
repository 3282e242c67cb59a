"""The month's school-bus report (issue 18, docs/school-buses.md): arrival at each school against its bell
and the pupils' ride time, per school and route.

Input: the units' ``school_arrival`` and ``ride_time`` records (``events.jsonl`` written with the school
monitor, or the collector's export). Per school and route the month's runs to school are counted early /
in the window / late ("ankomst mellem 7.45 og 8.15", "tidligst 10 minutter før det ringer ind"), every run
outside the window is listed, and per route the longest ride and the runs whose longest ride passed the
agreed limit (60 min unless otherwise agreed). A run recorded twice (a replay, a re-sent outbox) counts
once: records are keyed by vehicle, trip, operating day and stop. Danish HTML for the municipality, CSV
(``;`` and decimal comma for a Danish spreadsheet, or plain), Markdown for the terminal.
"""

from __future__ import annotations

import csv
import html
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from transit.jsonl import JsonlCounts, iter_records
from transit.records import Record, RideTime, SchoolArrival
from transit.timeutil import COPENHAGEN, parse_iso

log = logging.getLogger(__name__)

VERDICT_DA = {"early": "for tidligt", "in_window": "i vinduet", "late": "for sent"}


@dataclass
class SchoolRoute:
    school: str  # name
    stop_id: str
    route: str
    runs: list[SchoolArrival] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.runs if r.verdict == verdict)

    @property
    def in_window_pct(self) -> float | None:
        return 100.0 * self.count("in_window") / len(self.runs) if self.runs else None


@dataclass
class RouteRides:
    route: str
    rides: list[RideTime] = field(default_factory=list)

    @property
    def longest(self) -> RideTime | None:
        return max(self.rides, key=lambda r: r.ride_s) if self.rides else None

    @property
    def over(self) -> list[RideTime]:
        return [r for r in self.rides if r.exceeded]


@dataclass
class SchoolReport:
    month: str
    schools: dict[tuple[str, str], SchoolRoute]  # (school stop, route)
    routes: dict[str, RouteRides]
    warnings: int  # ride-time warnings given to drivers in the month
    skipped: dict[str, int]

    @property
    def outside(self) -> list[SchoolArrival]:
        return sorted((r for s in self.schools.values() for r in s.runs if r.verdict != "in_window"),
                      key=lambda r: r.arrival)


def _local(iso_text: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return parse_iso(iso_text).astimezone(COPENHAGEN).strftime(fmt)


def build_report(records: Iterable[Record], month: str) -> SchoolReport:
    """The report for calendar month ``YYYY-MM`` (by each run's operating day)."""
    schools: dict[tuple[str, str], SchoolRoute] = {}
    routes: dict[str, RouteRides] = {}
    seen: set[tuple[object, ...]] = set()
    skipped: dict[str, int] = {}
    warnings = 0
    for r in records:
        if not isinstance(r, SchoolArrival | RideTime):
            continue
        if r.oday is None or not r.oday.startswith(month):
            continue
        if r.trip_id is None or r.route is None:
            skipped["without_trip"] = skipped.get("without_trip", 0) + 1
            continue
        key = (type(r).__name__, getattr(r, "kind", ""), r.veh, r.trip_id, r.oday, r.stop_id)
        if key in seen:
            skipped["duplicate"] = skipped.get("duplicate", 0) + 1
            continue
        seen.add(key)
        if isinstance(r, SchoolArrival):
            sk = (r.stop_id or r.school, r.route)
            schools.setdefault(sk, SchoolRoute(r.school, r.stop_id or "", r.route)).runs.append(r)
        elif r.kind == "longest":
            routes.setdefault(r.route, RouteRides(r.route)).rides.append(r)
        else:
            warnings += 1
    for s in schools.values():
        s.runs.sort(key=lambda x: x.arrival)
    return SchoolReport(month, dict(sorted(schools.items())), dict(sorted(routes.items())), warnings, skipped)


def read_report(paths: Iterable[str | Path], month: str) -> SchoolReport:
    """From JSON Lines files; bad lines are counted, logged and skipped (``skipped['bad_lines']``)."""
    counts = JsonlCounts()
    rep = build_report((e.record for e in iter_records(paths, counts) if e is not None), month)
    if counts.bad:
        rep.skipped["bad_lines"] = counts.bad
    return rep


def _pct(v: float | None, comma: bool = False) -> str:
    if v is None:
        return "-"
    t = f"{v:.1f}"
    return (t.replace(".", ",") if comma else t) + " %"


def _min(s: float) -> str:
    return f"{s / 60.0:.0f}"


def render_markdown(rep: SchoolReport) -> str:
    out = [f"# Skolebusser {rep.month}: ankomst og køretid", "",
           "| skole | rute | kørsler | for tidligt | i vinduet | for sent | andel i vinduet |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for s in rep.schools.values():
        out.append(f"| {s.school} | {s.route} | {len(s.runs)} | {s.count('early')} | {s.count('in_window')} | "
                   f"{s.count('late')} | {_pct(s.in_window_pct)} |")
    out += ["", "## Kørsler uden for vinduet", ""]
    if rep.outside:
        out += ["| dato | skole | rute | tur | vogn | ankomst | ringetid | min. før ringetid | vurdering |",
                "|---|---|---|---|---|---|---|---:|---|"]
        for r in rep.outside:
            out.append(f"| {r.oday} | {r.school} | {r.route} | {r.trip_id} | {r.veh} | {_local(r.arrival, '%H:%M')} "
                       f"| {_local(r.bell, '%H:%M')} | {r.before_bell_s / 60:.0f} | {VERDICT_DA[r.verdict]} |")
    else:
        out.append("Ingen.")
    out += ["", "## Køretid pr. rute", "", "| rute | kørsler | længste køretid (min) | over grænsen |",
            "|---|---:|---:|---:|"]
    for rr in rep.routes.values():
        lg = rr.longest
        out.append(f"| {rr.route} | {len(rr.rides)} | {_min(lg.ride_s) if lg else '-'} | {len(rr.over)} |")
    over = [r for rr in rep.routes.values() for r in rr.over]
    if over:
        out += ["", "Kørsler med en elev over grænsen: " + ", ".join(
            f"{r.oday} {r.route} {r.trip_id} ({_min(r.ride_s)} min fra {r.board_stop_name})" for r in over) + "."]
    out += ["", f"Advarsler til chaufføren om køretid: {rep.warnings}."]
    if rep.skipped:
        out.append("Sprunget over: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.skipped.items())) + ".")
    return "\n".join(out) + "\n"


def render_csv(rep: SchoolReport, *, danish: bool = True) -> str:
    """One row per run to school (the window list), Danish spreadsheet style by default (``;``)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";" if danish else ",", lineterminator="\n")
    w.writerow(["dato", "skole", "stop_id", "rute", "tur", "vogn", "ankomst", "ringetid", "min_foer_ringetid",
                "vurdering"] if danish else
               ["oday", "school", "stop_id", "route", "trip_id", "veh", "arrival_local", "bell_local",
                "min_before_bell", "verdict"])
    for s in rep.schools.values():
        for r in s.runs:
            m = f"{r.before_bell_s / 60:.1f}"
            w.writerow([r.oday, r.school, s.stop_id, r.route, r.trip_id, r.veh, _local(r.arrival, "%H:%M:%S"),
                        _local(r.bell, "%H:%M"), m.replace(".", ",") if danish else m,
                        VERDICT_DA[r.verdict] if danish else r.verdict])
    # Danish Excel opens a UTF-8 file as UTF-8 only with a byte order mark (as the punctuality report's csv-da)
    return ("\ufeff" if danish else "") + buf.getvalue()


def render_html(rep: SchoolReport) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s.school)}</td><td>{e(s.route)}</td><td>{len(s.runs)}</td><td>{s.count('early')}</td>"
        f"<td>{s.count('in_window')}</td><td>{s.count('late')}</td><td>{_pct(s.in_window_pct, True)}</td></tr>"
        for s in rep.schools.values())
    outside = "".join(
        f"<tr class=\"{r.verdict}\"><td>{e(r.oday or '')}</td><td>{e(r.school)}</td><td>{e(r.route or '')}</td>"
        f"<td>{e(r.trip_id or '')}</td><td>{e(r.veh)}</td><td>{_local(r.arrival, '%H:%M')}</td>"
        f"<td>{_local(r.bell, '%H:%M')}</td><td>{r.before_bell_s / 60:.0f}</td><td>{VERDICT_DA[r.verdict]}</td></tr>"
        for r in rep.outside) or "<tr><td colspan=\"9\">Ingen</td></tr>"
    rides = "".join(
        f"<tr><td>{e(rr.route)}</td><td>{len(rr.rides)}</td>"
        f"<td>{_min(rr.longest.ride_s) if rr.longest else '-'}</td><td>{len(rr.over)}</td></tr>"
        for rr in rep.routes.values())
    over = "".join(
        f"<li>{e(r.oday or '')} rute {e(r.route or '')} ({e(r.trip_id or '')}): {_min(r.ride_s)} min fra "
        f"{e(r.board_stop_name)} (grænse {_min(r.limit_s)} min)</li>"
        for rr in rep.routes.values() for r in rr.over)
    return ("<!DOCTYPE html><html lang=\"da\"><head><meta charset=\"utf-8\">"
            f"<title>Skolebusser {e(rep.month)}</title><style>body{{font-family:sans-serif}}"
            "td,th{padding:2px 8px;text-align:left}tr.late{background:#fdd}tr.early{background:#ffe9c7}"
            "</style></head><body>"
            f"<h1>Skolebusser {e(rep.month)}: ankomst til skolerne og elevernes køretid</h1>"
            "<p>Ankomst i vinduet: mellem 7.45 og 8.15 og tidligst 10 minutter før ringetid, ikke efter "
            "ringetid. Køretid: højst 60 minutter pr. elev pr. vej, medmindre andet er aftalt.</p>"
            "<h2>Pr. skole og rute</h2><table><tr><th>skole</th><th>rute</th><th>kørsler</th>"
            "<th>for tidligt</th><th>i vinduet</th><th>for sent</th><th>andel i vinduet</th></tr>"
            + rows + "</table><h2>Kørsler uden for vinduet</h2><table><tr><th>dato</th><th>skole</th>"
            "<th>rute</th><th>tur</th><th>vogn</th><th>ankomst</th><th>ringetid</th>"
            "<th>min. før ringetid</th><th>vurdering</th></tr>" + outside + "</table>"
            "<h2>Køretid pr. rute</h2><table><tr><th>rute</th><th>kørsler</th><th>længste køretid (min)</th>"
            "<th>over grænsen</th></tr>" + rides + "</table>"
            + (f"<ul>{over}</ul>" if over else "")
            + f"<p>Advarsler til chaufføren om køretid: {rep.warnings}.</p></body></html>\n")


RENDERERS = {"md": render_markdown, "csv-da": render_csv,
             "csv": lambda rep: render_csv(rep, danish=False), "html": render_html}

__all__ = ["RENDERERS", "RouteRides", "SchoolReport", "SchoolRoute", "build_report", "read_report",
           "render_csv", "render_html", "render_markdown"]
