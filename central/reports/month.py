"""The contract month: regularity per strækning from the timetable, and train-km production.

The timetable says what should have been measured: every registration (a registration station of a
trip's line, arrival for rail, departure for bus) of every trip the GTFS feed schedules on each
operating day of the month. Each is then one of

- ``measured`` — a unit recorded it; punctual or late by the operator's policy (``dl``),
- ``not_observed`` — a unit ran the trip and reported the registration without a measurement (status
  ``not_observed``: it was blind there; or ``missing`` with a reason such as no position before the stop,
  data lost, trip cut short),
- ``cancelled`` — a unit reported the trip not driven, or the train ran through without stopping,
- ``missing`` — no record at all.

The operator file says how the three unmeasured kinds count in the figure (late, exclude, punctual;
``transit.operator.PunctualityPolicy.count_unmeasured``); every report prints that policy. The figure
is computed per strækning (``straekninger`` in the operator file; a line without one is its own), with
drill-downs per line number, registration station, weekday type and hour, a coverage figure, the lists
the operator hands in (late arrivals, rejsegaranti, replacement-transport cases, unmeasured
registrations with the vehicle if known) and the deadline (``report_due_working_days`` working days
after the month, Danish public holidays excluded).

Inputs come from a :class:`~central.store.RecordStore` (the collector's database, or units' JSON Lines
logs loaded into an in-memory store by ``central.sources``): the same query interface either way, so
both give the same report.

Speed and memory (``central_month_report_s``, ``..._rss_mb`` in ``python -m bench``: a 500-vehicle
month is about 1.2 million registrations, and the office machine may be Pi-class). The store streams
compact rows (:data:`central.records.REG_ROW`, plain tuples) ordered by operating day and the month is
processed one operating day at a time, so only one day's records are in memory. What the timetable
expects of a trip (its registrations, km, strækning, the tallies it adds to) is worked out once per
trip and reused every day it runs; the lists keep only the registrations that are not punctual; the
day's last connections are worked out once per distinct service calendar and only when a late arrival
asks. Tallies are five counters in a list (:data:`KINDS` order), what counts is derived from the
policy when read.
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from central.records import (
    R_ACTUAL,
    R_COUNTED,
    R_DL,
    R_ID,
    R_NAME,
    R_REASON,
    R_STATION,
    R_STATUS,
    R_TRIP,
    R_TST,
    R_VEH,
    RegRow,
)
from central.store import RecordStore
from transit.calendar import day_type
from transit.errors import ConfigError
from transit.holidays import add_working_days, holidays_between
from transit.operator import UNMEASURED_KINDS, Operator, PunctualityPolicy, round_pct
from transit.timetable import Timetable
from transit.timeutil import parse_iso, service_day_origin

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
KINDS = ("punctual", "late", *UNMEASURED_KINDS)  # punctual, late, not_observed, missing, cancelled
PUNCTUAL, LATE, NOT_OBSERVED, MISSING, CANCELLED = range(5)
#: reasons in the units' ``missing`` records that mean the trip or the stop was not run
CANCELLED_REASONS = ("cancelled", "passed without stopping")
STANDARD_YEAR = {"weekday": 251, "saturday": 52, "sunday": 62}  # contract: hverdage, lørdage, søn-/helligdage


def parse_month(text: str) -> tuple[date, date]:
    """``YYYY-MM`` → first and last day; :class:`ConfigError` for anything else."""
    m = _MONTH.match(text or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 9999:
        raise ConfigError(f"expected a month as YYYY-MM (e.g. 2026-11), got {text!r}", key="--month")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def report_deadline(last_day: date, working_days: int) -> date:
    return add_working_days(last_day, working_days)


def unmeasured_kind(reason: str) -> str:
    """``cancelled`` or ``not_observed`` from a ``missing`` record's reason (the unit's words)."""
    low = reason.lower()
    return "cancelled" if any(k in low for k in CANCELLED_REASONS) else "not_observed"


# ---------------------------------------------------------------------------------------- results
#: (counted, punctual) per kind when every unmeasured registration counts as late (the default policy)
DEFAULT_RULES: tuple[tuple[bool, bool], ...] = ((True, True), (True, False), (True, False), (True, False),
                                                (True, False))


def policy_rules(count_unmeasured: dict[str, str] | Any) -> tuple[tuple[bool, bool], ...]:
    """(counted, punctual) for each of :data:`KINDS` under the policy (``late|exclude|punctual`` per
    unmeasured kind)."""
    rules = [(True, True), (True, False)]
    for k in UNMEASURED_KINDS:
        how = count_unmeasured[k]
        rules.append((how != "exclude", how == "punctual"))
    return tuple(rules)


class Tally:
    """Registrations by kind (``c``: five counters in :data:`KINDS` order), and what the policy
    (``rules``) makes of them."""

    __slots__ = ("c", "rules")

    def __init__(self, rules: tuple[tuple[bool, bool], ...] = DEFAULT_RULES, c: list[int] | None = None) -> None:
        self.rules = rules
        self.c = [0, 0, 0, 0, 0] if c is None else c

    def add(self, kind: str, n: int = 1) -> None:
        self.c[KINDS.index(kind)] += n

    def merge(self, other: Tally) -> None:
        for k in range(5):
            self.c[k] += other.c[k]

    @property
    def n(self) -> dict[str, int]:
        return dict(zip(KINDS, self.c, strict=True))

    @property
    def counted(self) -> int:
        return sum(x for x, (counted, _) in zip(self.c, self.rules, strict=True) if counted)

    @property
    def punctual(self) -> int:
        return sum(x for x, (counted, punct) in zip(self.c, self.rules, strict=True) if counted and punct)

    @property
    def scheduled(self) -> int:
        return sum(self.c)

    @property
    def measured(self) -> int:
        return self.c[PUNCTUAL] + self.c[LATE]

    @property
    def with_record(self) -> int:
        return self.scheduled - self.c[MISSING]

    @property
    def regularity(self) -> float | None:
        counted = self.counted
        return None if counted == 0 else 100.0 * self.punctual / counted

    @property
    def coverage(self) -> float | None:
        s = self.scheduled
        return None if s == 0 else 100.0 * self.with_record / s

    def to_json(self) -> dict[str, Any]:
        reg = self.regularity
        cov = self.coverage
        return {"scheduled": self.scheduled, **self.n, "measured": self.measured, "counted": self.counted,
                "counted_punctual": self.punctual,
                "regularity_pct": None if reg is None else round_pct(reg, 2),
                "coverage_pct": None if cov is None else round_pct(cov, 1)}


class Item(NamedTuple):
    """One row of the operator's lists."""

    oday: str
    straekning: str
    route: str
    trip_id: str
    start: str  # HH:MM (GTFS time)
    station: str
    station_name: str
    sched: datetime
    actual: datetime | None
    dl: float | None  # seconds
    kind: str  # punctual | late | not_observed | missing | cancelled
    veh: str  # the vehicle that ran the trip, "" when not known
    note: str  # the unit's reason, or the lost connection

    def to_json(self) -> dict[str, Any]:
        a = self.actual
        return {"oday": self.oday, "straekning": self.straekning, "route": self.route, "trip_id": self.trip_id,
                "start": self.start, "station": self.station, "station_name": self.station_name,
                "sched": self.sched.isoformat().replace("+00:00", "Z"),
                "actual": None if a is None else a.isoformat().replace("+00:00", "Z"), "dl": self.dl,
                "kind": self.kind, "veh": self.veh, "note": self.note,
                "minutes_late": None if self.dl is None else round(self.dl / 60.0, 1)}


@dataclass
class TrainKm:
    scheduled_trips: int = 0
    scheduled_km: float = 0.0
    run_trips: int = 0
    run_km: float = 0.0
    not_run_trips: int = 0  # a unit reported the trip not driven
    not_run_km: float = 0.0
    no_data_trips: int = 0  # nothing from any unit
    no_data_km: float = 0.0
    replacement_trips: int = 0  # of the run ones: on a replacement line
    replacement_km: float = 0.0
    km_by_daytype: dict[str, float] = field(default_factory=lambda: {"weekday": 0.0, "saturday": 0.0, "sunday": 0.0})
    days_by_daytype: dict[str, int] = field(default_factory=lambda: {"weekday": 0, "saturday": 0, "sunday": 0})

    @property
    def standard_year_km(self) -> float:
        """The timetable's km scaled to the standard year (251 weekdays, 52 Saturdays, 62 Sundays and
        public holidays) from this month's average per day type."""
        return sum(STANDARD_YEAR[k] * self.km_by_daytype[k] / self.days_by_daytype[k]
                   for k in STANDARD_YEAR if self.days_by_daytype[k])

    @property
    def production_pct(self) -> float | None:
        return None if self.scheduled_km <= 0 else 100.0 * self.run_km / self.scheduled_km

    def to_json(self) -> dict[str, Any]:
        pp = self.production_pct
        return {"scheduled_trips": self.scheduled_trips, "scheduled_km": round(self.scheduled_km, 1),
                "run_trips": self.run_trips, "run_km": round(self.run_km, 1),
                "not_run_trips": self.not_run_trips, "not_run_km": round(self.not_run_km, 1),
                "no_data_trips": self.no_data_trips, "no_data_km": round(self.no_data_km, 1),
                "replacement_trips": self.replacement_trips, "replacement_km": round(self.replacement_km, 1),
                "standard_year_km": round(self.standard_year_km, 0),
                "production_pct": None if pp is None else round_pct(pp, 1)}


class _Tallies(defaultdict[Any, Tally]):
    """A drill-down: key → :class:`Tally` under one policy."""

    def __init__(self, rules: tuple[tuple[bool, bool], ...]) -> None:
        super().__init__()
        self.rules = rules

    def __missing__(self, key: Any) -> Tally:
        t = self[key] = Tally(self.rules)
        return t


@dataclass
class StraekningResult:
    straekning_id: str
    name: str
    lines: tuple[str, ...]
    rules: tuple[tuple[bool, bool], ...] = DEFAULT_RULES
    total: Tally = field(init=False)
    by_line: dict[str, Tally] = field(init=False)
    by_station: dict[str, Tally] = field(init=False)
    by_daytype: dict[str, Tally] = field(init=False)
    by_hour: dict[int, Tally] = field(init=False)
    by_day: dict[str, Tally] = field(init=False)
    station_names: dict[str, str] = field(default_factory=dict)
    trainkm: TrainKm = field(default_factory=TrainKm)
    bonus_pct: float | None = None
    below_target: bool = False

    def __post_init__(self) -> None:
        self.total = Tally(self.rules)
        self.by_line = _Tallies(self.rules)
        self.by_station = _Tallies(self.rules)
        self.by_daytype = _Tallies(self.rules)
        self.by_hour = _Tallies(self.rules)
        self.by_day = _Tallies(self.rules)


@dataclass
class MonthReport:
    month: str
    first: date
    last: date
    operator_id: str
    operator_name: str
    authority: str
    policy: dict[str, Any]
    deadline: date
    holidays: dict[date, str]
    straekninger: list[StraekningResult]
    late: list[Item]
    rejsegaranti: list[Item]
    replacement: list[Item]
    unmeasured: list[Item]
    inputs: dict[str, Any]  # what the report read: sources, counts of skipped / unmatched records
    feed: str

    @property
    def total(self) -> Tally:
        t = Tally(self.straekninger[0].rules if self.straekninger else DEFAULT_RULES)
        for s in self.straekninger:
            t.merge(s.total)
        return t


# ---------------------------------------------------------------------------------------- the timetable
class _Reg(NamedTuple):
    """One registration a trip owes, with the month's counters it adds to (the same every day)."""

    station: str
    sched_s: int  # GTFS seconds of the service day
    total: list[int]  # the strækning's, the line's and the station's counters
    line: list[int]
    at_station: list[int]
    hour: list[int]  # the hour's, on a day without a clock change (hour = sched_s // 3600 mod 24)


class _TripPlan(NamedTuple):
    trip_id: str
    res: StraekningResult
    res_index: int  # the strækning's index (the day's counters)
    line: str
    replacement: bool  # on a replacement line of its strækning
    km: float | None  # None: an empty run (no stop served)
    start: str  # HH:MM
    regs: tuple[_Reg, ...]
    stations: frozenset[str]


class _Conn(NamedTuple):
    dep_s: int
    line: str
    trip_id: str
    stop_index: int  # in the trip (for its headsign there)


class _Plan:
    """What the timetable expects, computed once per trip (the same every day it runs) and once per
    distinct set of services (the trips of a day)."""

    def __init__(self, tt: Timetable, op: Operator, results: list[StraekningResult],
                 line_straekning: dict[str, int], replacement_lines: set[str]) -> None:
        self.tt = tt
        self.op = op
        self.results = results
        self.line_straekning = line_straekning
        self.replacement_lines = replacement_lines
        self.measure_on = op.punctuality.measure_on
        self.line_of_route = {r.route_id: r.short_name or r.long_name for r in tt.routes.values()}
        self._trips: dict[str, _TripPlan | None] = {}
        self._days: dict[frozenset[str], list[_TripPlan]] = {}
        self._conns: dict[frozenset[str], dict[str, list[_Conn]]] = {}
        self._conns_day: tuple[date, dict[str, list[_Conn]]] | None = None
        self._km_cache: dict[tuple[Any, ...], float | None] = {}

    def day(self, day: date) -> list[_TripPlan]:
        """The plans of the trips on a strækning that run on ``day`` (feed order)."""
        key = self.tt.services_on(day)
        hit = self._days.get(key)
        if hit is None:
            hit = []
            for trip in self.tt.trips_on(day):
                p = self.trip(trip.trip_id, trip.route_id)
                if p is not None:
                    hit.append(p)
            self._days[key] = hit
        return hit

    def trip(self, trip_id: str, route_id: str) -> _TripPlan | None:
        if trip_id in self._trips:
            return self._trips[trip_id]
        line = self.line_of_route[route_id]
        idx = self.line_straekning.get(line)
        plan = None
        if idx is not None:
            res = self.results[idx]
            tt = self.tt
            all_sts = tt.stop_times(trip_id)
            sts = [s for s in all_sts if not (s.pickup_type == 1 and s.drop_off_type == 1)]
            regs: list[_Reg] = []
            for k, s in enumerate(sts):
                parent = tt.station_of(s.stop_id)
                if not self.op.is_registration_stop(line, s.stop_id, parent):
                    continue
                station = parent if parent in self.op.registration_stops(line) else s.stop_id
                if self.measure_on == "arrival":
                    if k == 0:
                        continue  # no arrival at the origin (the unit records the departure, not counted)
                    sched_s = s.arrival_s
                else:
                    if k == len(sts) - 1:
                        continue  # no departure at the terminus
                    sched_s = s.departure_s
                regs.append(_Reg(station, sched_s, res.total.c, res.by_line[line].c, res.by_station[station].c,
                                 res.by_hour[sched_s // 3600 % 24].c))
                if station not in res.station_names and station in tt.stops:
                    res.station_names[station] = tt.stop_name(station)
            start_s = tt.trip_start_s(trip_id) if sts else 0
            plan = _TripPlan(trip_id, res, idx, line, line in self.replacement_lines, self._km(all_sts, sts, trip_id),
                             f"{start_s // 3600:02d}:{start_s % 3600 // 60:02d}", tuple(regs),
                             frozenset(r.station for r in regs))
        self._trips[trip_id] = plan
        return plan

    def _km(self, all_sts: list[Any], sts: list[Any], trip_id: str) -> float | None:
        """Passenger km of a trip: the shape between its first and last served stop (the line through
        the stops where the feed has no shape); ``None`` for an empty run (no stop served). Trips of one
        shape and stopping pattern share the result (projecting onto a shape is the costly part)."""
        tt = self.tt
        if len(sts) < 2:
            return None
        if sts[-1].shape_dist_traveled is not None and sts[0].shape_dist_traveled is not None:
            return float(max(0.0, sts[-1].shape_dist_traveled - sts[0].shape_dist_traveled) / 1000.0)
        key = (tt.trips[trip_id].shape_id, tuple(s.stop_id for s in all_sts), sts[0].stop_id, sts[-1].stop_id)
        if key in self._km_cache:
            return self._km_cache[key]
        km: float | None = None
        try:
            poly = tt.shape(trip_id)
        except ValueError:
            poly = None
        a, b = tt.stops[sts[0].stop_id], tt.stops[sts[-1].stop_id]
        if poly is not None and a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
            pa = poly.project(a.lat, a.lon).distance_m
            pb = poly.project(b.lat, b.lon, lo_m=pa).distance_m
            km = float(max(0.0, pb - pa) / 1000.0)
        self._km_cache[key] = km
        return km

    def last_connections(self, day: date) -> dict[str, list[_Conn]]:
        """Per station: the day's last departure of every line and direction, sorted by time, for
        judging whether a late train's passengers lost the day's last connection. Once per distinct
        service calendar."""
        if self._conns_day is not None and self._conns_day[0] == day:
            return self._conns_day[1]
        key = self.tt.services_on(day)
        hit = self._conns.get(key)
        if hit is not None:
            self._conns_day = (day, hit)
            return hit
        tt = self.tt
        lastdep: dict[tuple[str, str, int | None], _Conn] = {}
        for trip in tt.trips_on(day):
            line = tt.routes[trip.route_id].name
            sts = tt.stop_times(trip.trip_id)
            for k, s in enumerate(sts[:-1]):
                if s.pickup_type == 1:
                    continue
                key3 = (tt.station_of(s.stop_id), line, trip.direction_id)
                old = lastdep.get(key3)
                if old is None or s.departure_s > old.dep_s:
                    lastdep[key3] = _Conn(s.departure_s, line, trip.trip_id, k)
        out: dict[str, list[_Conn]] = defaultdict(list)
        for (st, _line, _d), v in lastdep.items():
            out[st].append(v)
        for lst in out.values():
            lst.sort()
        self._conns[key] = out
        self._conns_day = (day, out)
        return out

    def connection_label(self, c: _Conn, origin: datetime) -> str:
        local = (origin + timedelta(seconds=c.dep_s)).astimezone(self.tt.tz)
        return f"{c.line} mod {self.tt.headsign(c.trip_id, c.stop_index)} kl. {local:%H:%M}"


def _utc(text: str) -> datetime:
    """A record's ISO time (``...Z``, validated when stored): the C parser, the general one otherwise."""
    try:
        t = datetime.fromisoformat(text)
        if t.utcoffset() == timedelta(0):
            return t
    except ValueError:
        pass
    return parse_iso(text)


def _daytype3(day: date) -> str:
    dt = day_type(day)
    return "weekday" if dt in ("mon-thu", "friday") else dt


def _by_day(rows: Iterable[Any]) -> Iterator[tuple[str, Iterator[Any]]]:
    """Rows ordered by operating day (column 0) → (oday, that day's rows)."""
    yield from itertools.groupby(rows, key=lambda r: r[0])


def _rank(r: RegRow) -> tuple[int, str, str]:
    """Which record stands for a registration reported more than once: a measurement beats none; then
    the earliest data time (a unit's first word), then the id (deterministic)."""
    return (0 if r[R_STATUS] == "measured" else 1, r[R_TST], r[R_ID])


# ---------------------------------------------------------------------------------------- the computation
class _Month:
    """The month's running totals while the days stream past."""

    def __init__(self, tt: Timetable, op: Operator, month: str) -> None:
        self.tt = tt
        self.op = op
        self.pol: PunctualityPolicy = op.punctuality
        self.first, self.last = parse_month(month)
        self.count = dict(self.pol.count_unmeasured)
        self.rules = policy_rules(self.count)
        self.results: list[StraekningResult] = []
        line_straekning: dict[str, int] = {}
        for s in op.straekninger.values():
            line_straekning.update(dict.fromkeys((*s.lines, *s.replacement_lines), len(self.results)))
            self.results.append(StraekningResult(s.straekning_id, s.name, s.lines, self.rules))
        replacement = {ln for s in op.straekninger.values() for ln in s.replacement_lines}
        for ln in op.registration_stations:
            if ln not in line_straekning:
                line_straekning[ln] = len(self.results)
                self.results.append(StraekningResult(ln, ln, (ln,), self.rules))
        self.plan = _Plan(tt, op, self.results, line_straekning, replacement)
        self.late: list[Item] = []  # rejsegaranti and replacement transport: subsets, in report()
        self.unmeasured: list[Item] = []
        self.record_names: dict[str, str] = {}
        self._strings: dict[str, str] = {}
        self.stats = {"records_outside_timetable": 0, "records_not_registrations": 0, "records_not_counted": 0,
                      "registrations_with_several_records": 0}

    def day(self, day: date, regs: Iterable[RegRow], runs: Iterable[Any],
            deviations: Iterable[dict[str, Any]] = ()) -> None:
        """One operating day: its records against what the timetable scheduled. ``deviations`` are the
        day's ``deviation`` records (a unit's own report, or its confirmation of the control room's
        cancellation): a registration they cancel that has no measurement counts as ``cancelled``."""
        oday = day.isoformat()
        pol = self.pol
        stats = self.stats
        names = self.record_names
        # the record standing for each registration: trip -> station -> row
        best: dict[str, dict[str, RegRow]] = {}
        for r in regs:
            if not r[R_COUNTED]:
                stats["records_not_counted"] += 1
                continue
            st = r[R_STATION]
            if st not in names and r[R_NAME]:
                names[st] = r[R_NAME]
            at = best.get(r[R_TRIP])
            if at is None:
                best[r[R_TRIP]] = {st: r}
                continue
            old = at.get(st)
            if old is not None:
                stats["registrations_with_several_records"] += 1
                if _rank(old) <= _rank(r):
                    continue
            at[st] = r
        cancelled = cancelled_sections(self.tt, deviations)
        ran: dict[str, tuple[bool, list[str]]] = {}
        for run in runs:
            obs, vehs = ran.get(run[1], (False, []))
            vehs.append(run[2])
            ran[run[1]] = (obs or bool(run[4]), vehs)
        origin = service_day_origin(day, self.tt.tz)
        tz = self.tt.tz
        # a day whose service-day clock has no change (all but two a year): hour = GTFS hour mod 24
        plain_clock = origin.astimezone(tz).hour == 0 and origin.astimezone(tz).utcoffset() == \
            (origin + timedelta(seconds=self.tt.max_time_s)).astimezone(tz).utcoffset()
        dtype = day_type(day)
        d3 = _daytype3(day)
        day_counts = [[0, 0, 0, 0, 0] for _ in self.results]
        late_s = pol.late_threshold_s
        early_s = -pol.early_threshold_s if pol.early_threshold_s is not None else None
        items: list[tuple[_TripPlan, _Reg, int, RegRow | None, tuple[bool, list[str]] | None]] = []
        plans = self.plan.day(day)
        for p in plans:
            tid = p.trip_id
            run_state = ran.get(tid)
            km = p.km
            if km is not None:  # empty runs (no stop served) have no km and are left out
                tk = p.res.trainkm
                tk.scheduled_trips += 1
                tk.scheduled_km += km
                tk.km_by_daytype[d3] += km
                if run_state is None:
                    tk.no_data_trips += 1
                    tk.no_data_km += km
                elif run_state[0]:
                    tk.run_trips += 1
                    tk.run_km += km
                    if p.replacement:
                        tk.replacement_trips += 1
                        tk.replacement_km += km
                else:
                    tk.not_run_trips += 1
                    tk.not_run_km += km
            recs = best.pop(tid, None)  # what is left in best afterwards: trips not scheduled today
            if recs is not None and len(recs.keys() - p.stations):
                # a station that is not a registration station of the trip: a count, not in the figure
                stats["records_not_registrations"] += len(recs.keys() - p.stations)
            if not p.regs:
                continue
            dc = day_counts[p.res_index]
            # the innermost loop of the report (a million times a month): locals and tuple unpacking only
            for e in p.regs:
                station, sched_s, c_total, c_line, c_station, c_hour = e
                rec = None if recs is None else recs.get(station)
                if rec is None:
                    cx = cancelled.get(tid)
                    k = CANCELLED if cx is not None and cx(station) else MISSING
                elif rec[R_STATUS] == "measured":
                    dl = rec[R_DL]
                    k = LATE if dl >= late_s or (early_s is not None and dl <= early_s) else PUNCTUAL  # type: ignore[operator]
                elif rec[R_STATUS] == "not_observed":  # the unit was blind there (issue 13)
                    cx = cancelled.get(tid)
                    k = CANCELLED if cx is not None and cx(station) else NOT_OBSERVED
                else:  # missing: the unit's reason tells a trip or stop not run from a gap in its data
                    k = CANCELLED if unmeasured_kind(rec[R_REASON]) == "cancelled" else NOT_OBSERVED
                    if k == NOT_OBSERVED and (cx := cancelled.get(tid)) is not None and cx(station):
                        k = CANCELLED
                c_total[k] += 1
                c_line[k] += 1
                c_station[k] += 1
                dc[k] += 1
                if not plain_clock:
                    c_hour = p.res.by_hour[(origin + timedelta(seconds=sched_s)).astimezone(tz).hour].c
                c_hour[k] += 1
                if k != PUNCTUAL:
                    items.append((p, e, k, rec, run_state))
        conns = self.plan.last_connections(day) if items else {}
        for p, e, k, rec, run_state in items:
            self._item(p, e, k, rec, run_state, conns, origin, oday)
        for tid, recs in best.items():
            # a trip the feed does not run that day (extra, or another timetable), or of a line on no
            # strækning: counts, not in the figure
            if tid not in self.tt.trips or not self.tt.runs_on(tid, day):
                stats["records_outside_timetable"] += len(recs)
            else:
                stats["records_not_registrations"] += len(recs)
        for idx, dc in enumerate(day_counts):
            if any(dc):
                res = self.results[idx]
                res.by_day[oday] = Tally(self.rules, dc)
                res.by_daytype[dtype].merge(res.by_day[oday])

    def _item(self, p: _TripPlan, e: _Reg, k: int, rec: RegRow | None, run_state: tuple[bool, list[str]] | None,
              conns: dict[str, list[_Conn]], origin: datetime, oday: str) -> None:
        """A registration that is not punctual, into the operator's lists."""
        pol = self.pol
        sched = origin + timedelta(seconds=e.sched_s)
        veh = rec[R_VEH] if rec is not None else ",".join(sorted(set(run_state[1]))) if run_state else ""
        veh = self._strings.setdefault(veh, veh)  # one string per vehicle, not one per list row
        name = self.record_names.get(e.station) or p.res.station_names.get(e.station, e.station)
        if k != LATE:
            self.unmeasured.append(Item(oday, p.res.straekning_id, p.line, p.trip_id, p.start, e.station, name, sched,
                                        None, None, KINDS[k], veh, rec[R_REASON] if rec is not None else ""))
            return
        assert rec is not None
        dl = float(rec[R_DL])  # type: ignore[arg-type]
        actual = _utc(rec[R_ACTUAL]) if rec[R_ACTUAL] else sched + timedelta(seconds=dl)
        lost = ""
        transfer_s = pol.connection_transfer_min * 60
        for c in conns.get(e.station, ()):
            if e.sched_s + transfer_s <= c.dep_s < e.sched_s + dl + transfer_s and c.line != p.line:
                lost = f"mistede sidste forbindelse: {self.plan.connection_label(c, origin)}"
                break
        self.late.append(Item(oday, p.res.straekning_id, p.line, p.trip_id, p.start, e.station, name, sched, actual,
                              dl, "late", veh, lost))

    def report(self, inputs: dict[str, Any] | None) -> MonthReport:
        pol = self.pol
        for sr in self.results:
            regularity = sr.total.regularity
            if regularity is not None:
                # the bonus from the figure as printed (one decimal), as the contract's table reads
                sr.bonus_pct = round_pct(pol.bonus_pct(round_pct(regularity)))
                sr.below_target = round_pct(regularity) < pol.target_pct
            for d in _month_days(self.first, self.last):
                sr.trainkm.days_by_daytype[_daytype3(d)] += 1
            for st in sr.by_station:
                if st in self.record_names:
                    sr.station_names[st] = self.record_names[st]
            tables: tuple[dict[Any, Tally], ...] = (sr.by_line, sr.by_station, sr.by_hour)
            for table in tables:
                # counters made for a trip's plan whose days had a clock change (hour) or were outside
                # the month's service: not shown as rows of nothing
                for key in [k for k, t in table.items() if not t.scheduled]:
                    del table[key]
        policy = {"policy": pol.policy, "measure_on": pol.measure_on, "late_threshold_s": pol.late_threshold_s,
                  "early_threshold_s": pol.early_threshold_s, "target_pct": pol.target_pct,
                  "bonus_points": [list(p) for p in pol.bonus_points], "unmeasured": self.count,
                  "rejsegaranti_min": pol.rejsegaranti_min,
                  "replacement_transport_min": pol.replacement_transport_min,
                  "connection_transfer_min": pol.connection_transfer_min,
                  "report_due_working_days": pol.report_due_working_days}
        inp = dict(inputs or {})
        inp.update(self.stats)

        order = operator.attrgetter("oday", "sched", "straekning", "trip_id", "station")
        self.late.sort(key=order)
        self.unmeasured.sort(key=order)
        # subsets of the late list, in its order
        rejse = [i for i in self.late if pol.rejsegaranti(i.dl)]  # type: ignore[arg-type]
        repl = [i for i in self.late if i.dl > pol.replacement_transport_min * 60 or i.note]  # type: ignore[operator]
        op = self.op
        fi = self.tt.feed_info
        return MonthReport(self.first.strftime("%Y-%m"), self.first, self.last, op.operator_id, op.name,
                           op.authority, policy, report_deadline(self.last, pol.report_due_working_days),
                           holidays_between(self.first, self.last),
                           [r for r in self.results if r.total.scheduled or r.trainkm.scheduled_trips],
                           self.late, rejse, repl, self.unmeasured, inp,
                           f"{fi.publisher_name} ({fi.version})" if fi is not None else str(self.tt.source))


def build_month(store: RecordStore, tt: Timetable, op: Operator, month: str, *,
                inputs: dict[str, Any] | None = None) -> MonthReport:
    """The month's report from a record store (see the module docstring)."""
    m = _Month(tt, op, month)
    with _no_cycle_collection():
        _run_month(m, store)
    return m.report(inputs)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The month creates millions of short-lived tuples and no reference cycles; Python's cycle
    collector would walk the whole heap (timetable, the growing lists) again and again — a third of the
    report's time. Reference counting frees everything as before; the collector is back afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def cancelled_sections(tt: Timetable, deviations: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """trip_id → whether a registration station lies in what the day's ``deviation`` records (docs/messages.md)
    say was not run: ``cancelled``/``replacement`` from ``from_stop`` to ``to_stop`` (whole trip when
    neither), ``turned_short`` from ``from_stop`` on. A stop the trip does not call at cancels nothing."""
    from transit.deviations import trip_stop_index

    sections: dict[str, list[tuple[str | None, str | None]]] = {}
    for d in deviations:
        tid = d.get("trip_id")
        if not tid or d.get("what") not in ("cancelled", "turned_short", "replacement") or tid not in tt.trips:
            continue
        sections.setdefault(tid, []).append((d.get("from_stop"), d.get("to_stop")))
    out: dict[str, Any] = {}
    for tid, secs in sections.items():
        index = trip_stop_index(tt, tid)

        def covered(station: str, index: Any = index, secs: Any = secs) -> bool:
            i = index(station)
            if i is None:
                return False
            for a, b in secs:
                lo = 0 if a is None else index(a)
                hi = None if b is None else index(b)
                if lo is not None and (b is None or hi is not None) and lo <= i and (hi is None or i <= hi):
                    return True
            return False
        out[tid] = covered
    return out


def _run_month(m: _Month, store: RecordStore) -> None:
    regs = _by_day(store.month_registrations(m.first, m.last, m.op.operator_id))  # only this operator's units
    regs_next = next(regs, None)
    for day in _month_days(m.first, m.last):
        oday = day.isoformat()
        # the day's trip runs are read whole (a few thousand) while the month's registrations stream:
        # one query inside the other, so a database's cursors nest
        runs = list(store.trip_runs(day, day))
        devs = [d for d in store.records(day, day, ["deviation"]) if d.get("oper") == m.op.operator_id]
        if regs_next is not None and regs_next[0] == oday:
            m.day(day, regs_next[1], runs, devs)
            regs_next = next(regs, None)
        else:
            m.day(day, (), runs, devs)


def _month_days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


__all__ = ["KINDS", "Item", "MonthReport", "StraekningResult", "Tally", "TrainKm", "build_month", "parse_month",
           "policy_rules", "report_deadline", "unmeasured_kind"]
