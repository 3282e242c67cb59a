"""The sample feed ``data/gtfs/lokaltog-sample`` against the service levels of the source.

The tables below are copied from Movia's purchase basis for Lokaltog (seeds/003, timetable of
10.12.2023), independently of the generator's own tables, so a generator bug cannot hide behind them.
Representative service days: Monday 2026-11-23, Friday 2026-11-27, Saturday 2026-11-28, Sunday 2026-11-29.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from transit.calendar import day_type
from transit.geo import haversine_m
from transit.holidays import holidays_between
from transit.timetable import Timetable
from transit.timeutil import COPENHAGEN

REPO = Path(__file__).resolve().parents[2]
FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
SCRIPT = REPO / "scripts" / "make_sample_feed.py"

DAYS = {"mon-thu": date(2026, 11, 23), "friday": date(2026, 11, 27), "saturday": date(2026, 11, 28),
        "sunday": date(2026, 11, 29)}
DT = ("mon-thu", "friday", "saturday", "sunday")
ORIGIN = {  # (line, direction) -> (origin station, destination station) as in the source tables
    ("910", 0): ("jaegersborg", "naerum"), ("910", 1): ("naerum", "jaegersborg"),
    ("920R", 0): ("hilleroed", "hundested"), ("920R", 1): ("hundested", "hilleroed"),
    ("930R", 0): ("hilleroed", "helsingoer"), ("930R", 1): ("helsingoer", "hilleroed"),
    ("940R", 0): ("helsingoer", "gilleleje"), ("940R", 1): ("gilleleje", "helsingoer"),
    ("950R", 0): ("hilleroed", "gilleleje"), ("950R", 1): ("gilleleje", "hilleroed"),
    ("960R", 0): ("hilleroed", "tisvildeleje"), ("960R", 1): ("tisvildeleje", "hilleroed"),
}
# (line, direction): first departure no later than / last departure no earlier than, per day type
# (mon-thu, friday, saturday, sunday); after-midnight times as on the previous service day (> 24:00).
SOURCE_FIRST_LAST = {
    ("930R", 0): (("05:45", "05:45", "05:30", "06:30"), ("23:15", "24:15", "24:15", "23:15")),
    ("930R", 1): (("05:30", "05:30", "06:00", "07:00"), ("23:45", "24:45", "24:45", "23:45")),
    ("940R", 0): (("06:00", "06:00", "07:00", "07:00"), ("23:45", "23:45", "23:45", "23:45")),
    ("940R", 1): (("05:00", "05:00", "06:00", "07:00"), ("23:45", "23:45", "23:45", "23:45")),
    ("920R", 0): (("05:30", "05:30", "06:30", "07:30"), ("24:15", "24:15", "24:15", "24:15")),
    ("920R", 1): (("04:45", "04:45", "05:30", "06:15"), ("23:15", "23:15", "23:15", "23:15")),
    ("950R", 0): (("06:00", "06:00", "06:30", "06:30"), ("23:15", "23:15", "23:15", "23:15")),
    ("950R", 1): (("05:15", "05:15", "06:45", "07:45"), ("23:30", "23:30", "23:30", "23:30")),
    ("960R", 0): (("06:00", "06:00", "06:45", "06:45"), ("23:30", "23:30", "23:30", "23:30")),
    ("960R", 1): (("05:30", "05:30", "06:30", "07:30"), ("23:00", "24:00", "24:00", "23:00")),
    ("910", 0): (("05:30", "05:30", "05:30", "07:30"), ("24:45", "24:45", "25:15", "24:45")),
    ("910", 1): (("05:30", "05:30", "05:30", "06:45"), ("25:00", "25:00", "25:00", "24:30")),
}
# Departures per hour in daytime (920R: the basic line; 920E adds 1 on weekdays) and in the evening.
SOURCE_PER_HOUR_DAY = {"910": (3, 3, 3, 3), "920R": (2, 2, 2, 1), "930R": (2, 2, 1, 1), "940R": (2, 2, 1, 1),
                       "950R": (2, 2, 1, 1), "960R": (2, 2, 1, 1)}
SOURCE_PER_HOUR_EVENING = {"910": 3, "920R": 1, "930R": 1, "940R": 1, "950R": 1, "960R": 1}
EXPRESS_STOPS = ["hilleroed", "skaevinge", "oelsted", "lille_kregme", "frederiksvaerk", "vibehus",
                 "hundested"]


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(FEED, strict=True)


@pytest.fixture(scope="module")
def calls(tt: Timetable) -> dict[str, list[tuple[str, int, int, str]]]:
    """Per service id: (route short name, direction, ...) is awkward; keep per trip the station calls."""
    out: dict[str, list[tuple[str, int, int, str]]] = {}
    for trip in tt.trips.values():
        out[trip.trip_id] = [(tt.station_of(st.stop_id), st.arrival_s, st.departure_s, st.stop_id)
                             for st in tt.stop_times(trip.trip_id)]
    return out


def trips_of(tt: Timetable, day: date, line: str, direction: int | None = None) -> list[str]:
    return [t.trip_id for t in tt.trips_on(day)
            if tt.route_of(t.trip_id).short_name == line and (direction is None or t.direction_id == direction)]


def dep_at(calls: dict[str, list[tuple[str, int, int, str]]], trip_id: str, station: str) -> int | None:
    for st, _arr, dep, _sid in calls[trip_id]:
        if st == station:
            return dep
    return None


def departures(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]], day: date, line: str,
               direction: int) -> list[int]:
    origin = ORIGIN[(line, direction)][0]
    out = []
    for tid in trips_of(tt, day, line, direction):
        d = dep_at(calls, tid, origin)
        assert d is not None, f"{tid} does not call at {origin}"
        out.append(d)
    return sorted(out)


def per_hour(times: list[int], start: str, end: str) -> list[int]:
    """Departures in each whole hour from ``start`` to ``end``."""
    return [sum(1 for t in times if h <= t < h + 3600) for h in range(hm(start), hm(end), 3600)]


# -- the feed as a whole ------------------------------------------------------------------------------------
def test_feed_is_valid_and_says_it_is_sample_data(tt: Timetable) -> None:
    assert not tt.problems
    fi = tt.feed_info
    assert fi is not None
    assert "sample" in fi.publisher_name.lower() and "not an official timetable" in fi.publisher_name
    assert "SAMPLE" in fi.version
    assert fi.lang == "da"
    assert tt.calendar_range() == (date(2026, 11, 1), date(2027, 12, 31))
    assert {a.name for a in tt.agencies.values()} == {"Lokaltog", "Movia"}


def test_generator_is_deterministic_and_the_committed_feed_is_current(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_sample_feed", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the script loads
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    mod.write_feed(tmp_path)
    names = sorted(p.name for p in tmp_path.glob("*.txt"))
    assert names == sorted(p.name for p in FEED.glob("*.txt"))
    for name in names:
        assert (tmp_path / name).read_bytes() == (FEED / name).read_bytes(), \
            f"{name} differs: regenerate with .venv/bin/python scripts/make_sample_feed.py"


def test_feed_size_stays_small() -> None:
    size = sum(p.stat().st_size for p in FEED.glob("*.txt"))
    assert size < 4_000_000


def test_all_line_variants_both_directions_every_day_type(tt: Timetable) -> None:
    lines = {r.short_name for r in tt.routes.values()}
    assert {"910", "920R", "920E", "930R", "940R", "950R", "960R"} <= lines
    bus = [r for r in tt.routes.values() if r.route_type == 3]
    assert len(bus) == 1 and bus[0].short_name.endswith("R") and tt.agencies[bus[0].agency_id or ""].name == "Movia"
    for dt, day in DAYS.items():
        for line in lines:
            if line == "920E" and dt in ("saturday", "sunday"):
                assert not trips_of(tt, day, line)
                continue
            for direction in (0, 1):
                assert trips_of(tt, day, line, direction), (line, direction, dt)


# -- service levels from the source -------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(SOURCE_FIRST_LAST), ids=lambda k: f"{k[0]}-{k[1]}")
def test_first_and_last_departures(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]],
                                   key: tuple[str, int]) -> None:
    line, direction = key
    firsts, lasts = SOURCE_FIRST_LAST[key]
    for i, dt in enumerate(DT):
        deps = departures(tt, calls, DAYS[dt], line, direction)
        assert deps[0] <= hm(firsts[i]), f"{line} dir {direction} {dt}: first {deps[0] / 3600:.2f} h"
        assert deps[-1] >= hm(lasts[i]), f"{line} dir {direction} {dt}: last {deps[-1] / 3600:.2f} h"
        # ... and not absurdly far from the required times (a real timetable, not a 24 h shuttle).
        assert deps[0] >= hm(firsts[i]) - 3600
        assert deps[-1] <= hm(lasts[i]) + 3600


def test_920r_hilleroed_hundested_first_and_last_weekday(tt: Timetable,
                                                         calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    """The acceptance example: first no later than 05:30, last no earlier than 00:15 (24:15+)."""
    day = DAYS["mon-thu"]
    deps = departures(tt, calls, day, "920R", 0)
    assert deps[0] <= hm("05:30")
    assert deps[-1] >= hm("24:15")
    # On the wall clock the last one leaves Hillerød after midnight, on Tuesday.
    last = next(t for t in trips_of(tt, day, "920R", 0) if dep_at(calls, t, "hilleroed") == deps[-1])
    leave = tt.trip_schedule(last, day)[0].departure.astimezone(COPENHAGEN)
    assert leave.date() == day + timedelta(days=1) and leave.hour == 0 and leave.minute >= 15


@pytest.mark.parametrize("line", sorted(SOURCE_PER_HOUR_DAY))
def test_departures_per_hour_daytime_and_evening(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]],
                                                 line: str) -> None:
    for i, dt in enumerate(DT):
        for direction in (0, 1):
            deps = departures(tt, calls, DAYS[dt], line, direction)
            # Daytime core 09:00-14:00 (outside the rush hours); evening 20:00-23:00.
            assert per_hour(deps, "09:00", "14:00") == [SOURCE_PER_HOUR_DAY[line][i]] * 5, (line, dt, direction)
            assert per_hour(deps, "20:00", "23:00") == [SOURCE_PER_HOUR_EVENING[line]] * 3, (line, dt, direction)


def test_910_runs_six_per_hour_in_the_weekday_rush_and_noergaardsvej_three(
        tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    for dt in ("mon-thu", "friday"):
        for direction in (0, 1):
            deps = departures(tt, calls, DAYS[dt], "910", direction)
            assert per_hour(deps, "07:00", "09:00") == [6, 6]
            assert per_hour(deps, "15:00", "18:00") == [6, 6, 6]
            nv = sorted(d for t in trips_of(tt, DAYS[dt], "910", direction)
                        if (d := dep_at(calls, t, "noergaardsvej")) is not None)
            assert per_hour(nv, "06:00", "23:00") == [3] * 17
    deps = departures(tt, calls, DAYS["saturday"], "910", 0)
    assert per_hour(deps, "07:00", "09:00") == [3, 3]


def test_920e_express_pattern(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    for dt in ("mon-thu", "friday"):
        for direction in (0, 1):
            trips = trips_of(tt, DAYS[dt], "920E", direction)
            for tid in trips:
                stations = [c[0] for c in calls[tid]]
                assert stations == (EXPRESS_STOPS if direction == 0 else EXPRESS_STOPS[::-1]), tid
            deps = sorted(calls[t][0][2] for t in trips)
            # One per hour in daytime, none in the evening.
            assert per_hour(deps, "07:00", "18:00") == [1] * 11
            assert all(d < hm("19:30") for d in deps)
    assert not trips_of(tt, DAYS["saturday"], "920E") and not trips_of(tt, DAYS["sunday"], "920E")


def test_920e_is_faster_than_920r(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    day = DAYS["mon-thu"]
    e = next(iter(trips_of(tt, day, "920E", 0)))
    r = next(t for t in trips_of(tt, day, "920R", 0) if calls[t][-1][0] == "hundested")
    run = {tid: calls[tid][-1][1] - calls[tid][0][2] for tid in (e, r)}
    assert run[e] < run[r] - 5 * 60


@pytest.mark.parametrize("dt,start,end", [("mon-thu", "07:00", "18:00"), ("friday", "07:00", "18:00"),
                                          ("saturday", "08:00", "19:00"), ("sunday", "09:00", "19:00")])
def test_hundested_havn_once_an_hour_in_its_window(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]],
                                                   dt: str, start: str, end: str) -> None:
    day = DAYS[dt]
    for direction in (0, 1):
        at = sorted(c[1] if direction == 0 else c[2] for t in trips_of(tt, day, "920R", direction)
                    for c in calls[t] if c[0] == "hundested_havn")
        assert at, (dt, direction)
        # "ca." in the source: the first and last call within 30 min of the window's ends.
        assert abs(at[0] - hm(start)) <= 1800 and abs(at[-1] - hm(end)) <= 1800, (dt, direction, at[0], at[-1])
        assert all(b - a >= 3000 for a, b in zip(at, at[1:], strict=False))  # at most 1/hour
        assert per_hour(at, start, f"{int(end[:2]) - 1:02d}:00") == [1] * (int(end[:2]) - int(start[:2]) - 1)


def calls_at(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]], day: date, line: str,
             station: str) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {0: [], 1: []}
    for direction in (0, 1):
        for tid in trips_of(tt, day, line, direction):
            for st, arr, _dep, _sid in calls[tid]:
                if st == station:
                    out[direction].append(arr)
        out[direction].sort()
    return out


def test_stops_served_less_often(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    wd, sat = DAYS["mon-thu"], DAYS["saturday"]
    for direction in (0, 1):
        # 940R Søborg: once an hour in daytime.
        assert per_hour(calls_at(tt, calls, wd, "940R", "soeborg")[direction], "07:00", "19:00") == [1] * 12
        # 940R Gilleleje Øst: once an hour 13-18, twice an hour in other weekday daytime hours.
        oest = calls_at(tt, calls, wd, "940R", "gilleleje_oest")[direction]
        assert per_hour(oest, "13:00", "18:00") == [1] * 5
        assert per_hour(oest, "09:00", "12:00") == [2] * 3
        # 950R Pårup: once an hour 12:00-16:00, twice before.
        paarup = calls_at(tt, calls, wd, "950R", "paarup")[direction]
        assert per_hour(paarup, "12:00", "16:00") == [1] * 4
        assert per_hour(paarup, "09:00", "11:00") == [2] * 2
        # Slotspavillonen: 950R only evenings and weekends; 960R always.
        sp950 = calls_at(tt, calls, wd, "950R", "slotspavillonen")[direction]
        assert sp950 and all(t >= hm("19:30") for t in sp950)
        assert per_hour(calls_at(tt, calls, sat, "950R", "slotspavillonen")[direction], "09:00", "19:00") == [1] * 10
        assert per_hour(calls_at(tt, calls, wd, "960R", "slotspavillonen")[direction], "09:00", "14:00") == [2] * 5
        # 960R Troldebakkerne, Ørby: once an hour in daytime; Gribsø too, but never in the rush hours.
        for st in ("troldebakkerne", "oerby"):
            assert per_hour(calls_at(tt, calls, wd, "960R", st)[direction], "09:00", "19:00") == [1] * 10
        gribsoe = calls_at(tt, calls, wd, "960R", "gribsoe")[direction]
        assert per_hour(gribsoe, "09:00", "14:00") == [1] * 5
        assert not [t for t in gribsoe if hm("07:00") <= t < hm("09:00") or hm("14:30") <= t < hm("18:00")]
        assert per_hour(calls_at(tt, calls, wd, "960R", "gribsoe")[direction], "20:00", "23:00") == [1] * 3
        # 950R never calls at Troldebakkerne or Gribsø.
        assert not calls_at(tt, calls, wd, "950R", "gribsoe")[direction]


# -- calendar ----------------------------------------------------------------------------------------------
def test_public_holidays_run_the_sunday_service(tt: Timetable) -> None:
    sunday = tt.services_on(DAYS["sunday"])
    holidays = holidays_between(date(2026, 11, 1), date(2027, 12, 31))
    assert len(holidays) == 12
    for d in holidays:
        assert tt.services_on(d) == sunday, d
        assert day_type(d) == "sunday"
    n_sunday = len(tt.trips_on(DAYS["sunday"]))
    assert len(tt.trips_on(date(2026, 12, 25))) == n_sunday  # Juledag, a Friday
    assert len(tt.trips_on(date(2027, 5, 6))) == n_sunday  # Kristi Himmelfartsdag, a Thursday
    # Not public holidays: Juleaften (Thu), Nytårsaften (Thu), Grundlovsdag 2027 (Sat).
    assert tt.services_on(date(2026, 12, 24)) == tt.services_on(DAYS["mon-thu"])
    assert tt.services_on(date(2026, 12, 31)) == tt.services_on(DAYS["mon-thu"])
    assert tt.services_on(date(2027, 6, 5)) == tt.services_on(DAYS["saturday"])


def test_every_day_of_the_calendar_has_exactly_one_day_type_service(tt: Timetable) -> None:
    d = date(2026, 11, 1)
    seen = Counter()
    while d <= date(2027, 12, 31):
        services = tt.services_on(d)
        assert len(services) == 1, (d, services)
        seen[day_type(d)] += 1
        d += timedelta(days=1)
    assert sum(seen.values()) == 426
    assert not tt.services_on(date(2028, 1, 1))


# -- running times, blocks, shapes, stations --------------------------------------------------------------
def test_stop_times_are_realistic(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    for trip in tt.trips.values():
        c = calls[trip.trip_id]
        sts = tt.stop_times(trip.trip_id)
        for (_s1, _a1, d1, _i1), (_s2, a2, d2, _i2) in zip(c, c[1:], strict=False):
            assert a2 > d1 and d2 >= a2, trip.trip_id
        for st in sts[1:-1]:
            assert st.departure_s - st.arrival_s <= 60  # dwell 20-40 s, rounded to whole minutes
        km = (sts[-1].shape_dist_traveled or 0) / 1000
        hours = (sts[-1].arrival_s - sts[0].departure_s) / 3600
        speed = km / hours
        line = tt.route_of(trip.trip_id).short_name
        if line == "910":  # short, curvy, stops about 1 km apart (real: 7.8 km in about 17 min)
            assert 25 <= speed <= 50, (trip.trip_id, speed)
        elif line == "920E":
            assert 60 <= speed <= 80, (trip.trip_id, speed)
        elif tt.route_of(trip.trip_id).route_type == 2:
            assert 35 <= speed <= 70, (trip.trip_id, speed)
        else:
            assert 25 <= speed <= 60, (trip.trip_id, speed)


def test_blocks_chain_trips_of_one_vehicle(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    for dt, day in DAYS.items():
        blocks = tt.blocks_on(day)
        assert blocks
        in_blocks = 0
        for b in blocks:
            trips = tt.block_trips(b, day)
            in_blocks += len(trips)
            lines = {tt.route_of(t.trip_id).short_name for t in trips}
            assert len(lines) <= 2, (b, lines)  # 920R+920E or 950R+960R share vehicles
            for prev, nxt in zip(trips, trips[1:], strict=False):
                end, start = calls[prev.trip_id][-1], calls[nxt.trip_id][0]
                assert start[2] >= end[1] + 240, (b, prev.trip_id, nxt.trip_id)  # >= 4 min turnaround
                terminal = {"hundested_havn": "hundested"}
                assert terminal.get(start[0], start[0]) == terminal.get(end[0], end[0]), (b, prev.trip_id)
        assert in_blocks == len(tt.trips_on(day)), dt
        # Back and forth: most vehicles do several trips a day.
        assert in_blocks / len(blocks) > 5


def test_shapes_pass_through_the_stops(tt: Timetable) -> None:
    checked = set()
    for trip in tt.trips.values():
        if trip.shape_id in checked:
            continue
        checked.add(trip.shape_id)
        poly = tt.shape(trip.trip_id)
        assert len(poly.points) > 2 * len(tt.stop_times(trip.trip_id)) - 2  # curves between stops
        for st in tt.stop_times(trip.trip_id):
            s = tt.stops[st.stop_id]
            assert s.lat is not None and s.lon is not None
            lat, lon, _ = poly.point_at(st.shape_dist_traveled or 0.0)
            assert haversine_m(lat, lon, s.lat, s.lon) < 2.0, (trip.shape_id, st.stop_id)
        assert math.isclose(poly.length_m, tt.stop_times(trip.trip_id)[-1].shape_dist_traveled or 0, abs_tol=1.0)


def test_shared_stations_have_platforms_per_line(tt: Timetable) -> None:
    hil = tt.stops["hilleroed"]
    assert hil.location_type == 1 and hil.name == "Hillerød St."
    children = {tt.stops[c].platform_code for c in tt.children("hilleroed")}
    assert len(children) >= 5  # 920, 930, 950, 960 and the bus
    day = DAYS["mon-thu"]
    platform_by_line: dict[str, set[str]] = defaultdict(set)
    for trip in tt.trips_on(day):
        for st in tt.stop_times(trip.trip_id):
            if tt.station_of(st.stop_id) == "hilleroed":
                platform_by_line[tt.route_of(trip.trip_id).short_name].add(st.stop_id)
    assert platform_by_line["920R"] == platform_by_line["920E"]
    assert len({next(iter(v)) for v in platform_by_line.values()}) == 5
    assert all(len(v) == 1 for v in platform_by_line.values())
    for sid in ("helsingoer", "gilleleje", "fredensborg"):
        assert tt.stops[sid].location_type == 1 and len(tt.children(sid)) >= 2


def test_rbus_fixed_minutes_past_the_hour(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]]) -> None:
    bus = next(r.short_name for r in tt.routes.values() if r.route_type == 3)
    for direction in (0, 1):
        wd = sorted(calls[t][0][2] for t in trips_of(tt, DAYS["mon-thu"], bus, direction))
        day = [t for t in wd if hm("07:00") <= t < hm("19:00")]
        assert len(day) == 24 and len({(t // 60) % 30 for t in day}) == 1  # every 30 min, same minutes
        eve = [t for t in wd if hm("20:00") <= t < hm("23:00")]
        assert len(eve) == 3 and len({(t // 60) % 60 for t in eve}) == 1
        we = sorted(calls[t][0][2] for t in trips_of(tt, DAYS["sunday"], bus, direction))
        assert per_hour(we, "09:00", "19:00") == [1] * 10 and len({(t // 60) % 60 for t in we}) == 1
    # It passes through Hillerød St., a station served by local trains.
    t0 = trips_of(tt, DAYS["mon-thu"], bus, 0)[0]
    stations = [c[0] for c in calls[t0]]
    assert "hilleroed" in stations[1:-1]


def test_departures_query_at_a_shared_station(tt: Timetable) -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=COPENHAGEN)
    deps = tt.departures("hilleroed", start, start + timedelta(hours=1))
    lines = {d.route.short_name for d in deps if not d.is_last_stop}
    assert {"920R", "920E", "930R", "950R", "960R"} <= lines


@pytest.mark.parametrize("day", [date(2027, 3, 28), date(2027, 10, 31)])
def test_dst_sundays_keep_wall_clock_times(tt: Timetable, calls: dict[str, list[tuple[str, int, int, str]]],
                                           day: date) -> None:
    """Spring-forward (Easter Sunday 2027) and fall-back Sundays: GTFS noon-minus-12h semantics keep
    every daytime departure at its printed wall-clock time."""
    for tid in trips_of(tt, day, "910", 0):
        sched = tt.trip_schedule(tid, day)
        loc = sched[0].departure.astimezone(COPENHAGEN)
        printed = sched[0].departure_s
        if printed < hm("23:00"):
            assert (loc.date(), loc.hour * 3600 + loc.minute * 60) == (day, printed), tid
