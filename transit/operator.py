"""Operator files: punctuality policy, registration stations, occupancy rules, school holidays, vehicles.

GTFS does not carry what the contract measures (registration stations, the late threshold, the bonus
curve, school holidays for the rush-hour rule, seat counts), so each operator has a YAML file next to its
feed (``data/operators/<id>.yaml``; ``lokaltog.yaml`` documents the format). It is validated once at
start-up; an error names file, line and key. Given a :class:`~transit.timetable.Timetable`, unknown lines and stop ids
are errors too, so a typo cannot silently stop a station from being measured.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from transit import calendar
from transit.schoolrules import SchoolRules
from transit.yamlconf import Node, load_yaml, parse_timezone, resolve_path

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)

POLICIES = ("rail", "bus")
MEASURE_ON = ("arrival", "departure")
#: How a scheduled registration without a measured arrival counts in the regularity figure.
COUNT_AS = ("late", "exclude", "punctual")
#: The kinds of registration that have no measurement (docs/reports.md): the unit ran the trip but has
#: no measurement (``not_observed``), no record at all (``missing``), the trip or stop was not run
#: (``cancelled``).
UNMEASURED_KINDS = ("not_observed", "missing", "cancelled")


# -- the bonus curve ------------------------------------------------------------------------------------
def bonus_pct(regularity_pct: float, points: Sequence[tuple[float, float]]) -> float:
    """Bonus (+) or penalty (-) in % of the monthly fee for a regularity %.

    Linear between the configured points and capped at the end points (contract: ±2.3 %). The source's
    examples are this curve shown to one decimal: 96.5 % gives 1.15, printed as +1.2 %
    (:func:`round_pct`).
    """
    pts = sorted((float(x), float(y)) for x, y in points)
    if len(pts) < 2:
        raise ValueError("the bonus curve needs at least two points")
    if regularity_pct <= pts[0][0]:
        return pts[0][1]
    if regularity_pct >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= regularity_pct <= x1:
            return y0 + (y1 - y0) * (regularity_pct - x0) / (x1 - x0)
    raise AssertionError("unreachable: points are sorted and the value is inside them")


def round_pct(value: float, places: int = 1) -> float:
    """Round half away from zero, as the contract's table does (1.15 -> 1.2, -1.15 -> -1.2).

    ``round()`` rounds binary floats (1.15 is 1.14999...) and ties to even, so it would print 1.1.
    """
    q = Decimal(1).scaleb(-places)
    return float(Decimal(repr(round(value, 9))).quantize(q, rounding=ROUND_HALF_UP))


# -- values ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VehicleType:
    """Seat counts per vehicle type; folding seats count as seats for occupancy (contract)."""

    type_id: str
    name: str
    seats: int
    folding_seats: int
    approved_capacity: int  # passengers the vehicle is approved for, seated and standing
    doors: int  # doorways with passenger counting

    @property
    def seat_capacity(self) -> int:
        return self.seats + self.folding_seats


@dataclass(frozen=True)
class PunctualityPolicy:
    """When a vehicle counts as on time. Rail (Lokaltog/Movia): an arrival 3:00 min or more after the
    public timetable is late. Bus: measured on departure, and leaving early is not punctual either."""

    policy: str
    measure_on: str
    late_threshold_s: int
    early_threshold_s: int | None
    target_pct: float
    bonus_points: tuple[tuple[float, float], ...]
    rejsegaranti_min: int
    replacement_transport_min: int
    #: kind of unmeasured registration -> late | exclude | punctual (:data:`UNMEASURED_KINDS`)
    count_unmeasured: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(
        {k: "late" for k in UNMEASURED_KINDS}))
    report_due_working_days: int = 10  # the month's report is due this many working days after it ends
    connection_transfer_min: int = 3  # minimum change time when judging a lost last connection

    def is_late(self, delay_s: float) -> bool:
        return delay_s >= self.late_threshold_s

    def is_early(self, delay_s: float) -> bool:
        return self.early_threshold_s is not None and -delay_s >= self.early_threshold_s

    def is_punctual(self, delay_s: float) -> bool:
        """``delay_s`` > 0 is late. Not late and not too early."""
        return not self.is_late(delay_s) and not self.is_early(delay_s)

    def bonus_pct(self, regularity_pct: float) -> float:
        return bonus_pct(regularity_pct, self.bonus_points)

    def rejsegaranti(self, delay_s: float) -> bool:
        """Passengers may claim the travel guarantee: more than ``rejsegaranti_min`` late."""
        return delay_s > self.rejsegaranti_min * 60


@dataclass(frozen=True, slots=True)
class Straekning:
    """A railway line as the contract counts it ("opgøres strækningsvis"): one regularity figure and one
    train-km figure for all its line numbers (Frederiksværkbanen = 920R + 920E)."""

    straekning_id: str
    name: str
    lines: tuple[str, ...]  # GTFS route_short_names
    replacement_lines: tuple[str, ...] = ()  # bus/taxi lines that replace its trains (count as train-km)


@dataclass(frozen=True, slots=True)
class OccupancyRules:
    rush_hours: tuple[tuple[time, time], ...]
    rush_limit_pct: float
    other_limit_pct: float


#: The frieze's travel-guarantee note when an operator file gives none (Movia's rejsegaranti covers its
#: trains and buses alike); ``{min}`` is ``punctuality.rejsegaranti_min``.
DEFAULT_REJSEGARANTI_TEXT = ("Mere end {min} minutter forsinket? Du kan bruge Movias rejsegaranti: "
                             "læs mere på moviatrafik.dk/rejsegaranti")
MAX_NOTE = 200


@dataclass(frozen=True, slots=True)
class DisplayRules:
    delay_threshold_s: int
    #: Danish note the frieze shows once the delay exceeds ``punctuality.rejsegaranti_min`` ({min} in it)
    rejsegaranti_text: str = DEFAULT_REJSEGARANTI_TEXT

    def rejsegaranti_note(self, minutes: int) -> str:
        """The note with the threshold filled in."""
        return self.rejsegaranti_text.replace("{min}", str(minutes))


@dataclass(frozen=True)
class Operator:
    """One operator file, validated."""

    operator_id: str
    name: str
    authority: str
    timezone: str
    feed: Path
    punctuality: PunctualityPolicy
    registration_stations: Mapping[str, tuple[str, ...]]
    occupancy: OccupancyRules
    school_holidays: tuple[tuple[date, date], ...]
    vehicle_types: Mapping[str, VehicleType]
    display: DisplayRules
    line_vehicle_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: Path | None = None
    straekninger: Mapping[str, Straekning] = field(default_factory=lambda: MappingProxyType({}))
    school: SchoolRules = field(default_factory=SchoolRules)  # school-bus rules (transit.schoolrules)

    def straekning_of(self, line: str) -> Straekning | None:
        """The strækning a line number (or one of its replacement lines) belongs to."""
        for s in self.straekninger.values():
            if line in s.lines or line in s.replacement_lines:
                return s
        return None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def registration_stops(self, line: str) -> tuple[str, ...]:
        return self.registration_stations.get(line, ())

    def is_registration_stop(self, line: str, stop_id: str, parent_station: str | None = None) -> bool:
        """Whether arrivals at ``stop_id`` (or its parent station) on ``line`` are measured."""
        ids = self.registration_stations.get(line, ())
        return stop_id in ids or (parent_station is not None and parent_station in ids)

    def is_school_day(self, day: date) -> bool:
        return calendar.is_school_day(day, self.school_holidays)

    def day_type(self, day: date) -> calendar.DayType:
        return calendar.day_type(day)

    def is_rush_departure(self, departure: datetime) -> bool:
        """Contract rush hour: a departure on a school day inside a rush window (local time)."""
        loc = departure.astimezone(self.tz)
        return calendar.is_rush_departure(loc.date(), loc.time(), self.school_holidays,
                                          self.occupancy.rush_hours)

    def occupancy_limit_pct(self, departure: datetime) -> float:
        return self.occupancy.rush_limit_pct if self.is_rush_departure(departure) \
            else self.occupancy.other_limit_pct

    def vehicle_type_for(self, line: str) -> VehicleType | None:
        tid = self.line_vehicle_types.get(line)
        return self.vehicle_types.get(tid) if tid else None


# -- loading --------------------------------------------------------------------------------------------
TOP_KEYS = frozenset({"operator", "feed", "punctuality", "registration_stations", "occupancy",
                      "school_holidays", "vehicle_types", "display", "line_vehicle_types", "straekninger",
                      "school"})


def load_operator(path: str | Path, timetable: Timetable | None = None) -> Operator:
    """Read and validate an operator file. With ``timetable``, lines and stop ids must exist in it."""
    root = load_yaml(path)
    op = parse_operator(root, Path(path))
    if timetable is not None:
        check_against_timetable(op, root, timetable)
    return op


def parse_operator(root: Node, path: Path) -> Operator:
    if not root.is_map():
        raise root.error("expected a mapping with operator, feed, punctuality, ...")
    root.reject_unknown(TOP_KEYS)

    o = root.child("operator")
    o.reject_unknown({"id", "name", "authority", "timezone"})
    tz = parse_timezone(o.child("timezone"))

    feed_node = root.child("feed")
    feed = resolve_path(feed_node)  # relative to the file the node came from; refuses empty and NUL paths
    if not feed_node.file or feed_node.file.startswith("<"):  # parsed text: relative to ``path`` then
        feed = path.parent / feed
    feed = feed.resolve()
    if not feed.exists():
        raise feed_node.error(f"GTFS feed not found: {feed}")

    vehicle_types = _vehicle_types(root.child("vehicle_types"))
    line_vt: dict[str, str] = {}
    lvt = root.opt("line_vehicle_types")
    if lvt is not None:
        for line, n in lvt.items():
            vt = n.as_str()
            if vt not in vehicle_types:
                raise n.error(f"unknown vehicle type '{vt}' (known: {', '.join(sorted(vehicle_types))})")
            line_vt[line] = vt

    return Operator(
        operator_id=_ident(o.child("id")),
        name=o.child("name").as_str(),
        authority=o.child("authority").as_str(),
        timezone=tz,
        feed=feed,
        punctuality=_punctuality(root.child("punctuality")),
        registration_stations=MappingProxyType(_registration(root.child("registration_stations"))),
        occupancy=_occupancy(root.child("occupancy")),
        school_holidays=_school_holidays(root.opt("school_holidays")),
        vehicle_types=MappingProxyType(vehicle_types),
        display=_display(root.child("display")),
        line_vehicle_types=MappingProxyType(line_vt),
        source=path,
        straekninger=MappingProxyType(_straekninger(root.opt("straekninger"))),
        school=SchoolRules.from_node(root.opt("school")),
    )


def _straekninger(n: Node | None) -> dict[str, Straekning]:
    """``straekninger: {id: {name, lines: [...], replacement_lines: [...]}}``; a line in one only."""
    if n is None:
        return {}
    out: dict[str, Straekning] = {}
    owner: dict[str, str] = {}
    for sid, v in n.items():
        v.reject_unknown({"name", "lines", "replacement_lines"})
        lines_node = v.child("lines")
        lines = tuple(x.as_str() for x in lines_node.as_list())
        if not lines:
            raise lines_node.error("expected at least one line")
        repl_node = v.opt("replacement_lines")
        repl = () if repl_node is None else tuple(x.as_str() for x in repl_node.as_list())
        for line in lines + repl:
            if line in owner:
                raise lines_node.error(f"line '{line}' is already in strækning '{owner[line]}'")
            owner[line] = sid
        out[sid] = Straekning(sid, v.child("name").as_str(), lines, repl)
    return out


def _ident(n: Node) -> str:
    s = n.as_str()
    if not s or not all(c.isalnum() or c in "-_" for c in s):
        raise n.error(f"expected an id of letters, digits, '-' or '_', got '{s}'")
    return s


def _punctuality(p: Node) -> PunctualityPolicy:
    p.reject_unknown({"policy", "measure_on", "late_threshold_s", "early_threshold_s", "target_pct",
                      "bonus_points", "rejsegaranti_min", "replacement_transport_min", "unmeasured",
                      "report_due_working_days", "connection_transfer_min"})
    early = p.opt("early_threshold_s")
    count = {k: "late" for k in UNMEASURED_KINDS}
    un = p.opt("unmeasured")
    if un is not None:
        un.reject_unknown(set(UNMEASURED_KINDS))
        for k in UNMEASURED_KINDS:
            kn = un.opt(k)
            if kn is not None:
                count[k] = kn.choice(COUNT_AS)
    return PunctualityPolicy(
        policy=p.child("policy").choice(POLICIES),
        measure_on=p.child("measure_on").choice(MEASURE_ON),
        late_threshold_s=p.child("late_threshold_s").as_int(min=1),
        early_threshold_s=None if early is None else early.as_int(min=1),
        target_pct=p.child("target_pct").as_float(min=0.0, max=100.0),
        bonus_points=_bonus_points(p.child("bonus_points")),
        rejsegaranti_min=p.get_int("rejsegaranti_min", 20, min=0),
        replacement_transport_min=p.get_int("replacement_transport_min", 60, min=0),
        count_unmeasured=MappingProxyType(count),
        report_due_working_days=p.get_int("report_due_working_days", 10, min=0, max=60),
        connection_transfer_min=p.get_int("connection_transfer_min", 3, min=0, max=60),
    )


def _bonus_points(n: Node) -> tuple[tuple[float, float], ...]:
    items = n.as_list()
    if len(items) < 2:
        raise n.error("expected at least two [regularity %, bonus %] points")
    pts: list[tuple[float, float]] = []
    for item in items:
        pair = item.as_list()
        if len(pair) != 2:
            raise item.error("expected [regularity %, bonus %]")
        x = pair[0].as_float(min=0.0, max=100.0)
        y = pair[1].as_float(min=-100.0, max=100.0)
        if pts and x <= pts[-1][0]:
            raise item.error("regularity % must increase from point to point")
        if pts and y < pts[-1][1]:
            raise item.error("bonus % must not decrease as regularity rises")
        pts.append((x, y))
    return tuple(pts)


def _registration(n: Node) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for line, stops in n.items():
        ids = tuple(s.as_str() for s in stops.as_list())
        if not ids:
            raise stops.error("expected at least one stop_id")
        dup = {x for x in ids if ids.count(x) > 1}
        if dup:
            raise stops.error(f"stop_id listed twice: {', '.join(sorted(dup))}")
        out[line] = ids
    if not out:
        raise n.error("expected at least one line")
    return out


def _clock(n: Node) -> time:
    if isinstance(n.value, int) and not isinstance(n.value, bool):
        # YAML 1.1 reads an unquoted 07:00 as the sexagesimal number 420.
        raise n.error("write times in quotes, e.g. \"07:00\"")
    return n.convert(lambda v: time.fromisoformat(str(v)), "a time HH:MM")


def _occupancy(n: Node) -> OccupancyRules:
    n.reject_unknown({"rush_hours", "rush_limit_pct", "other_limit_pct"})
    windows: list[tuple[time, time]] = []
    for w in n.child("rush_hours").as_list():
        pair = w.as_list()
        if len(pair) != 2:
            raise w.error("expected [\"HH:MM\", \"HH:MM\"]")
        start, end = _clock(pair[0]), _clock(pair[1])
        if end <= start:
            raise w.error("a rush-hour window must end after it starts")
        windows.append((start, end))
    return OccupancyRules(tuple(windows), n.child("rush_limit_pct").as_float(min=1.0, max=500.0),
                          n.child("other_limit_pct").as_float(min=1.0, max=500.0))


def _date(n: Node) -> date:
    v = n.value
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    return n.convert(lambda x: date.fromisoformat(str(x)), "a date YYYY-MM-DD")


def _school_holidays(n: Node | None) -> tuple[tuple[date, date], ...]:
    if n is None:
        return ()
    out: list[tuple[date, date]] = []
    for item in n.as_list():
        pair = item.as_list()
        if len(pair) != 2:
            raise item.error("expected [first day, last day]")
        first, last = _date(pair[0]), _date(pair[1])
        if last < first:
            raise item.error("the last day is before the first")
        out.append((first, last))
    return tuple(sorted(out))


def _vehicle_types(n: Node) -> dict[str, VehicleType]:
    out: dict[str, VehicleType] = {}
    for tid, v in n.items():
        v.reject_unknown({"name", "seats", "folding_seats", "approved_capacity", "doors"})
        seats = v.child("seats").as_int(min=0)
        folding = v.get_int("folding_seats", 0, min=0)
        cap_node = v.child("approved_capacity")
        cap = cap_node.as_int(min=1)
        if cap < seats + folding:
            raise cap_node.error(f"approved capacity {cap} is less than the {seats + folding} seats")
        out[tid] = VehicleType(tid, v.child("name").as_str(), seats, folding, cap,
                               v.child("doors").as_int(min=1, max=12))
    if not out:
        raise n.error("expected at least one vehicle type")
    return out


def _display(n: Node) -> DisplayRules:
    n.reject_unknown({"delay_threshold_s", "rejsegaranti_text"})
    tn = n.opt("rejsegaranti_text")
    text = DEFAULT_REJSEGARANTI_TEXT if tn is None else _note(tn)
    return DisplayRules(n.child("delay_threshold_s").as_int(min=0), text)


def _note(n: Node) -> str:
    """A passenger text: one line of printable text, at most MAX_NOTE characters, no placeholder but {min}."""
    text = n.as_str().strip()
    if not text:
        raise n.error("expected a passenger text (Danish), not an empty one")
    if len(text) > MAX_NOTE:
        raise n.error(f"at most {MAX_NOTE} characters (a frieze pages it), got {len(text)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise n.error("one line of printable text: no line breaks or control characters")
    rest = text.replace("{min}", "")
    if "{" in rest or "}" in rest:
        raise n.error("the only placeholder is {min} (the rejsegaranti threshold in minutes)")
    return text


# -- cross-check with the timetable ---------------------------------------------------------------------
def check_against_timetable(op: Operator, root: Node, timetable: Timetable) -> None:
    """Lines must be route_short_names of the feed; stop ids must exist and be served by the line.

    A stop display's timetable slice (:mod:`transit.slice`) holds only the lines calling at its stops:
    the operator's other lines are rightly absent there, so only the lines it has are checked."""
    lines = {r.short_name for r in timetable.routes.values() if r.short_name}
    sl = getattr(timetable, "slice", None)
    partial = sl is not None and sl.kind == "station"
    served: dict[str, set[str]] = {}
    route_line = {r.route_id: r.short_name for r in timetable.routes.values()}
    for trip in timetable.trips.values():
        line = route_line.get(trip.route_id)
        if line is None:
            continue
        s = served.setdefault(line, set())
        for st in timetable.stop_times(trip.trip_id):
            s.add(st.stop_id)
            s.add(timetable.station_of(st.stop_id))
    reg = root.child("registration_stations")
    for line, stops_node in reg.items():
        if line not in lines and partial:
            continue
        if line not in lines:
            raise stops_node.error(f"line '{line}' is not in the timetable (lines: {', '.join(sorted(lines))})")
        for sn in stops_node.as_list():
            sid = sn.as_str()
            if sid not in timetable.stops:
                raise sn.error(f"unknown stop_id '{sid}' (not in {timetable.source})")
            if sid not in served.get(line, set()):
                raise sn.error(f"stop '{sid}' ({timetable.stop_name(sid)}) is not served by line {line}")
    lvt = root.opt("line_vehicle_types")
    if lvt is not None:
        for line, n in lvt.items():
            if line not in lines and not partial:
                raise n.error(f"line '{line}' is not in the timetable")
    sk = root.opt("straekninger")
    if sk is not None:
        for _sid, v in sk.items():
            for ln in v.child("lines").as_list():
                if ln.as_str() not in lines and not partial:
                    raise ln.error(f"line '{ln.as_str()}' is not in the timetable (lines: {', '.join(sorted(lines))})")
    log.debug("operator %s checked against %s", op.operator_id, timetable.source)
