"""School and kerb-to-kerb runs (issue 18): the planner's run file, its validation, and the runs as GTFS.

Viborg's school buses (``../shared/seeds/001_…``, DOMAIN.md "School buses") run on routes the
municipality's planner draws up each school year: pickup points, the schools with their bell times, and
up to a few runs a day (to school in the morning, home in the afternoon). The planner exports one small
YAML file per route (format: ``docs/school-buses.md``); this module validates it once, with every error
naming file, line and field (``rute-12.yaml:31: runs[0].stops[4].time: ...``), and turns it into

* a GTFS feed (:func:`write_gtfs`): the unit follows a school run like any other trip, with the same
  trip following, stop events, ETAs and records; flagged pickups carry ``pickup_type`` 3 (arranged with
  the driver) and a GTFS-Flex ``booking_rules.txt`` entry, schools ``pickup_type`` 1 on the way there;
* the school facts trip following does not know (:class:`SchoolRun` per trip: schools and bell times,
  pickups to be notified, the ride-time limit), which the onboard school monitor and the central school
  report use. :func:`school_runs_from_gtfs` derives the same from any GTFS feed (flex-style pickups,
  bell times from configuration).

Pure: reads a file, writes a folder, never a clock.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from transit.errors import ConfigError
from transit.timeutil import format_gtfs_time
from transit.yamlconf import Node, load_yaml

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)

#: "Den samlede køretid for den enkelte elev/borger må ikke overstige 60 minutter, medmindre andet er
#: aftalt" (seeds/001, Viborg): the default limit; a run file may agree another.
DEFAULT_RIDE_LIMIT_MIN = 60
RunKind = Literal["to_school", "home"]
RUN_KINDS: tuple[str, ...] = ("to_school", "home")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: GTFS ``pickup_type`` of a pickup the driver announces (3: "coordinate with the driver"), and the id of
#: the GTFS-Flex booking rule the generated feed gives it.
NOTICE_PICKUP_TYPE = 3
NOTICE_BOOKING_RULE = "varsling_10min"


@dataclass(frozen=True, slots=True)
class StopDef:
    """A pickup point or a school's stop."""

    stop_id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class School:
    """A school on the route: its stop and the bell (first lesson, GTFS seconds of the service day)."""

    stop_id: str
    name: str
    bell_s: int | None  # None: no morning bell known (verdicts need one)


@dataclass(frozen=True, slots=True)
class Call:
    """One stop of a run with its planned time (GTFS seconds)."""

    stop_id: str
    time_s: int
    notice: bool = False  # the passenger/parents are told 10 minutes before the bus comes
    notice_ref: str | None = None  # the gateway's recipient list for this pickup (no personal data here)


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    kind: RunKind
    calls: tuple[Call, ...]
    headsign: str


@dataclass(frozen=True, slots=True)
class NoticePickup:
    stop_id: str
    name: str
    ref: str | None


@dataclass(frozen=True, slots=True)
class SchoolRun:
    """What the school monitor and the school report need about one trip."""

    trip_id: str
    route: str
    kind: RunKind
    schools: dict[str, School]  # stop_id -> school (the run's schools only)
    notice: dict[str, NoticePickup]  # stop_id -> pickup to be announced
    ride_limit_s: float
    names: dict[str, str] = field(default_factory=dict)  # stop_id -> name, every stop of the run


@dataclass(frozen=True)
class RunFile:
    """A validated run file."""

    path: Path
    route: str
    name: str
    agency_id: str
    agency_name: str
    timezone: str
    days: tuple[bool, ...]  # Monday .. Sunday
    start: date
    end: date
    ride_limit_s: float
    stops: dict[str, StopDef]
    schools: dict[str, School]
    runs: tuple[Run, ...]

    def school_runs(self) -> dict[str, SchoolRun]:
        """trip_id -> :class:`SchoolRun` for every run."""
        out: dict[str, SchoolRun] = {}
        for r in self.runs:
            ids = {c.stop_id for c in r.calls}
            notice = {c.stop_id: NoticePickup(c.stop_id, self.stops[c.stop_id].name, c.notice_ref)
                      for c in r.calls if c.notice}
            out[r.run_id] = SchoolRun(r.run_id, self.route, r.kind,
                                      {k: v for k, v in self.schools.items() if k in ids}, notice,
                                      self.ride_limit_s, {k: self.stops[k].name for k in ids})
        return out


# -- reading ---------------------------------------------------------------------------------------------
_TOP = frozenset({"route", "name", "agency", "timezone", "ride_limit_min", "valid", "stops", "schools", "runs"})


def load_runfile(path: str | Path) -> RunFile:
    """Read and validate a run file; :class:`ConfigError` names file, line and field of the first problem."""
    p = Path(path)
    return runfile_from_node(load_yaml(p), p)


def _time(n: Node) -> int:
    """'HH:MM' or 'HH:MM:SS' (GTFS: may pass 24:00) -> seconds."""
    v = n.value
    if isinstance(v, int) and not isinstance(v, bool):
        # YAML 1.1 reads an unquoted 10:15 as the base-60 number 615
        raise n.error(f"expected a time 'HH:MM' in quotes (YAML reads an unquoted time as the number {v})")
    text = n.as_str().strip()
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(x.isdigit() for x in parts):
        raise n.error(f"expected a time 'HH:MM', got '{text}'")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    if m > 59 or s > 59 or h > 47:
        raise n.error(f"expected a time 'HH:MM' (minutes and seconds below 60, hours below 48), got '{text}'")
    return h * 3600 + m * 60 + s


def _ident(n: Node, what: str) -> str:
    s = n.as_str().strip()
    if not s or any(ch in s for ch in ",\"\n\r/+#") or len(s) > 64:
        raise n.error(f"expected a {what} id: 1-64 characters without , \" / + # or line breaks")
    return s


def _date(n: Node) -> date:
    if isinstance(n.value, date):
        return n.value
    return n.convert(lambda v: date.fromisoformat(str(v)), "a date YYYY-MM-DD")


def runfile_from_node(root: Node, path: Path) -> RunFile:
    """Validate a parsed run file (see :func:`load_runfile`)."""
    if not root.is_map():
        raise root.error("a run file is a mapping (route, stops, schools, runs, ...)")
    root.reject_unknown(_TOP)
    route = _ident(root.child("route"), "route")
    name = root.get_str("name", f"Skolerute {route}")
    agency = root.opt("agency")
    agency_id, agency_name = "skolekoersel", "Skolekørsel"
    if agency is not None:
        agency.reject_unknown({"id", "name"})
        agency_id = _ident(agency.child("id"), "agency")
        agency_name = agency.get_str("name", agency_id)
    tz = root.get_str("timezone", "Europe/Copenhagen")
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - ZoneInfo raises several kinds for a bad key
        raise root.child("timezone").error(f"unknown time zone '{tz}'") from None
    limit = root.get_int("ride_limit_min", DEFAULT_RIDE_LIMIT_MIN, min=5, max=240)

    valid = root.child("valid")
    valid.reject_unknown({"from", "to", "days"})
    start, end = _date(valid.child("from")), _date(valid.child("to"))
    if end < start:
        raise valid.child("to").error(f"the period ends ({end}) before it starts ({start})")
    days = [False] * 7
    dn = valid.opt("days")
    for d in (dn.as_list() if dn is not None else []):
        days[WEEKDAYS.index(d.choice(WEEKDAYS))] = True
    if dn is None:
        days[:5] = [True] * 5
    elif not any(days):
        raise dn.error("expected at least one weekday (mon .. sun)")

    stops: dict[str, StopDef] = {}
    sl = root.child("stops").as_list()
    if not sl:
        raise root.child("stops").error("expected at least one stop")
    for sn in sl:
        sn.reject_unknown({"id", "name", "lat", "lon"})
        sid = _ident(sn.child("id"), "stop")
        if sid in stops:
            raise sn.child("id").error(f"stop id '{sid}' is listed twice")
        lat = sn.get_float("lat", min=-90.0, max=90.0)
        lon = sn.get_float("lon", min=-180.0, max=180.0)
        stops[sid] = StopDef(sid, sn.get_str("name"), lat, lon)

    schools: dict[str, School] = {}
    for cn in root.child("schools").as_list():
        cn.reject_unknown({"stop", "name", "bell"})
        sid = cn.child("stop").as_str()
        if sid not in stops:
            raise cn.child("stop").error(f"unknown stop '{sid}' (not in stops)")
        if sid in schools:
            raise cn.child("stop").error(f"school stop '{sid}' is listed twice")
        bell = cn.opt("bell")
        schools[sid] = School(sid, cn.get_str("name", stops[sid].name), _time(bell) if bell is not None else None)
    if not schools:
        raise root.child("schools").error("expected at least one school")

    runs: list[Run] = []
    ids: set[str] = set()
    rl = root.child("runs").as_list()
    if not rl:
        raise root.child("runs").error("expected at least one run")
    for rn in rl:
        runs.append(_run(rn, stops, schools, ids))
    return RunFile(path, route, name, agency_id, agency_name, tz, tuple(days), start, end, limit * 60.0,
                   stops, schools, tuple(runs))


def _run(rn: Node, stops: dict[str, StopDef], schools: dict[str, School], ids: set[str]) -> Run:
    rn.reject_unknown({"id", "kind", "headsign", "stops"})
    rid = _ident(rn.child("id"), "run")
    if rid in ids:
        raise rn.child("id").error(f"run id '{rid}' is used twice")
    ids.add(rid)
    kind = rn.child("kind").choice(RUN_KINDS)
    calls: list[Call] = []
    cl = rn.child("stops").as_list()
    if len(cl) < 2:
        raise rn.child("stops").error("a run needs at least two stops")
    seen: set[str] = set()
    for cn in cl:
        cn.reject_unknown({"stop", "time", "notice", "notice_ref"})
        sid = cn.child("stop").as_str()
        if sid not in stops:
            raise cn.child("stop").error(f"unknown stop '{sid}' (not in stops)")
        if sid in seen:
            raise cn.child("stop").error(f"stop '{sid}' is called twice in this run")
        seen.add(sid)
        t = _time(cn.child("time"))
        if calls and t < calls[-1].time_s:
            raise cn.child("time").error(f"{format_gtfs_time(t)} is before the previous stop's "
                                         f"{format_gtfs_time(calls[-1].time_s)}")
        notice = cn.get_bool("notice", False)
        ref = cn.get_str("notice_ref", None)
        if ref is not None and not notice:
            raise cn.child("notice_ref").error("notice_ref without notice: true")
        if notice and sid in schools:
            raise cn.child("notice").error("notices are for pickup and drop-off points, not schools")
        calls.append(Call(sid, t, notice, ref))
    on_run = [c.stop_id for c in calls if c.stop_id in schools]
    if not on_run:
        raise rn.child("stops").error("the run calls at no school (list the school's stop)")
    if kind == "to_school":
        if calls[-1].stop_id not in schools:
            raise cl[-1].child("stop").error("a run to school ends at a school")
        if calls[0].stop_id in schools:
            raise cl[0].child("stop").error("a run to school starts at a pickup point, not a school")
    elif calls[0].stop_id not in schools:
        raise cl[0].child("stop").error("a run home starts at a school")
    head = rn.get_str("headsign", schools[calls[-1].stop_id].name if calls[-1].stop_id in schools
                      else stops[calls[-1].stop_id].name)
    return Run(rid, kind, tuple(calls), head)  # type: ignore[arg-type]


# -- GTFS ------------------------------------------------------------------------------------------------
def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_gtfs(rf: RunFile, out: Path) -> list[Path]:
    """Write the run file as a GTFS feed in ``out`` (created); returns the files written.

    Service id ``<route>``; one trip per run (trip_id = run id, direction 0 to school, 1 home). On the way
    to school pickups are ``drop_off_type`` 1 and schools ``pickup_type`` 1, home the other way round; a
    pickup flagged for notice gets ``pickup_type`` 3 and the booking rule :data:`NOTICE_BOOKING_RULE` (on a
    run home the drop-off: ``drop_off_type`` 3, ``drop_off_booking_rule_id``).
    ``shape_dist_traveled`` is left out: the shape is the line through the stops (a planner's export has
    no road geometry; the recorded track is what ``central export-routes`` gives the authority)."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def w(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        p = out / name
        _write(p, header, rows)
        files.append(p)

    w("agency.txt", ("agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"),
      [(rf.agency_id, rf.agency_name, "https://example.invalid/skolekoersel", rf.timezone, "da")])
    w("stops.txt", ("stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"),
      [(s.stop_id, s.name, f"{s.lat:.6f}", f"{s.lon:.6f}", 0) for s in rf.stops.values()])
    w("routes.txt", ("route_id", "agency_id", "route_short_name", "route_long_name", "route_type"),
      [(rf.route, rf.agency_id, rf.route, rf.name, 3)])
    w("trips.txt", ("route_id", "service_id", "trip_id", "trip_headsign", "direction_id"),
      [(rf.route, rf.route, r.run_id, r.headsign, 0 if r.kind == "to_school" else 1) for r in rf.runs])
    rows: list[tuple[object, ...]] = []
    for r in rf.runs:
        last = len(r.calls)
        for i, c in enumerate(r.calls, 1):
            school = c.stop_id in rf.schools
            rule = NOTICE_BOOKING_RULE if c.notice else ""
            if r.kind == "to_school":  # pupils board at pickups, alight at schools
                pickup, drop = (1, 0) if school else (NOTICE_PICKUP_TYPE if c.notice else 0, 1)
                prule, drule = rule, ""
            else:  # home: board at schools, alight at the stops (a notice announces the drop-off)
                pickup, drop = (0, 1 if i == 1 else 0) if school else (1, NOTICE_PICKUP_TYPE if c.notice else 0)
                prule, drule = "", rule
            if i == last:
                pickup = 1
            t = format_gtfs_time(c.time_s)
            rows.append((r.run_id, t, t, c.stop_id, i, pickup, drop, 1, prule, drule))
    w("stop_times.txt", ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "pickup_type",
                         "drop_off_type", "timepoint", "pickup_booking_rule_id", "drop_off_booking_rule_id"), rows)
    w("calendar.txt", ("service_id", *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                       "sunday"), "start_date", "end_date"),
      [(rf.route, *(int(d) for d in rf.days), rf.start.strftime("%Y%m%d"), rf.end.strftime("%Y%m%d"))])
    w("booking_rules.txt", ("booking_rule_id", "booking_type", "message"),
      [(NOTICE_BOOKING_RULE, 0, "Chaufføren varsler 10 minutter før ankomst")])
    w("feed_info.txt", ("feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date",
                        "feed_end_date", "feed_version"),
      [(f"{rf.agency_name} ({rf.path.name})", "https://example.invalid/skolekoersel", "da",
        rf.start.strftime("%Y%m%d"), rf.end.strftime("%Y%m%d"), f"runfile {rf.path.name}")])
    return files


def school_runs_from_gtfs(tt: Timetable, bells: dict[str, int | None], *,
                          ride_limit_s: float = DEFAULT_RIDE_LIMIT_MIN * 60.0,
                          notice_rules: frozenset[str] | None = None) -> dict[str, SchoolRun]:
    """School runs of a GTFS feed: every trip calling at one of the schools in ``bells`` (stop_id -> bell,
    GTFS seconds; the feed has no bell times). Direction: a trip ending at a school goes to school. Pickups
    to be announced are flex-style stop times: ``pickup_type`` 2 (booked with the agency) or 3 (arranged
    with the driver), or a ``pickup_booking_rule_id`` in ``notice_rules`` (the feed's booking_rules.txt,
    read by :func:`notice_rule_stops`)."""
    flagged = notice_rule_stops(tt.source, notice_rules) if notice_rules else set()
    out: dict[str, SchoolRun] = {}
    for tid in tt.trips:
        times = tt.stop_times(tid)
        on = [st.stop_id for st in times if st.stop_id in bells]
        if not times or not on:
            continue
        kind: RunKind = "to_school" if times[-1].stop_id in bells else "home"
        notice = {st.stop_id: NoticePickup(st.stop_id, tt.stop_name(st.stop_id), None) for st in times
                  if st.stop_id not in bells and (st.pickup_type in (2, 3) or st.drop_off_type in (2, 3)
                                                  or (tid, st.stop_sequence) in flagged)}
        schools = {s: School(s, tt.stop_name(s), bells[s]) for s in on}
        out[tid] = SchoolRun(tid, tt.route_of(tid).name, kind, schools, notice, ride_limit_s,
                             {st.stop_id: tt.stop_name(st.stop_id) for st in times})
    return out


def notice_rule_stops(feed: Path, rules: frozenset[str]) -> set[tuple[str, int]]:
    """(trip_id, stop_sequence) of stop times whose pickup or drop-off booking rule is in ``rules`` (GTFS-Flex;
    the timetable does not keep that column). A folder feed only; a zip is read the same way."""
    import io
    import zipfile
    text: str | None = None
    if feed.is_dir():
        p = feed / "stop_times.txt"
        text = p.read_text(encoding="utf-8-sig") if p.exists() else None
    elif zipfile.is_zipfile(feed):
        with zipfile.ZipFile(feed) as z:
            if "stop_times.txt" in z.namelist():
                text = z.read("stop_times.txt").decode("utf-8-sig")
    out: set[tuple[str, int]] = set()
    if text is None:
        return out
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("pickup_booking_rule_id", "") in rules or row.get("drop_off_booking_rule_id", "") in rules:
            try:
                out.add((row["trip_id"], int(row["stop_sequence"])))
            except (KeyError, ValueError):
                continue  # the timetable loader reports bad rows; nothing to flag here
    return out


def distance_km(rf: RunFile, run: Run) -> float:
    """Straight-line length of a run through its stops (a lower bound of the road distance)."""
    from transit.geo import haversine_m
    total = 0.0
    for a, b in zip(run.calls, run.calls[1:], strict=False):
        sa, sb = rf.stops[a.stop_id], rf.stops[b.stop_id]
        total += haversine_m(sa.lat, sa.lon, sb.lat, sb.lon)
    return total / 1000.0


# -- command line ----------------------------------------------------------------------------------------
EXAMPLES = """examples:
  python -m transit.runfile check data/school/viborg-rute-12.yaml
  python -m transit.runfile gtfs data/school/viborg-rute-12.yaml -o data/gtfs/viborg-school
"""


def main(argv: list[str] | None = None) -> int:
    """``check FILE...`` validates run files; ``gtfs FILE -o DIR`` writes one as a GTFS feed."""
    ap = argparse.ArgumentParser(prog="python -m transit.runfile", description=main.__doc__,
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="validate run files and summarise them")
    c.add_argument("files", nargs="+", type=Path)
    g = sub.add_parser("gtfs", help="write a run file as a GTFS feed")
    g.add_argument("file", type=Path)
    g.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.cmd == "check":
            for f in args.files:
                rf = load_runfile(f)
                for r in rf.runs:
                    notices = sum(c.notice for c in r.calls)
                    sys.stdout.write(f"{f}: {r.run_id} ({r.kind}) {len(r.calls)} stops "
                                     f"{format_gtfs_time(r.calls[0].time_s)}-{format_gtfs_time(r.calls[-1].time_s)}"
                                     f", {notices} notice pickups, {distance_km(rf, r):.1f} km straight line\n")
            return 0
        rf = load_runfile(args.file)
        for p in write_gtfs(rf, args.out):
            log.info("wrote %s", p)
        return 0
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["DEFAULT_RIDE_LIMIT_MIN", "NOTICE_BOOKING_RULE", "NOTICE_PICKUP_TYPE", "Call", "NoticePickup",
           "Run", "RunFile", "School", "SchoolRun", "StopDef", "load_runfile", "notice_rule_stops",
           "runfile_from_node", "school_runs_from_gtfs", "write_gtfs"]
