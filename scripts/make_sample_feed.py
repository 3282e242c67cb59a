#!/usr/bin/env python3
"""Generate the rettid sample GTFS feed ``data/gtfs/lokaltog-sample/``.

SAMPLE data, not an official timetable: the service levels (departures per hour, first/last departures,
the 920E stopping pattern, stops served less often) follow Movia's purchase basis for Lokaltog
(``seeds/003``, timetable of 10.12.2023); stations, coordinates, running times, platforms and the R-bus
line are our approximation for simulation. Deterministic: the same script gives byte-identical files.

Usage: .venv/bin/python scripts/make_sample_feed.py [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transit.geo import haversine_m, offset_m  # noqa: E402
from transit.holidays import holidays_between  # noqa: E402

FEED_START = date(2026, 11, 1)
FEED_END = date(2027, 12, 31)
FEED_VERSION = "sample-2026.11-r1"

# Service ids per day type (rettid's day types: transit.calendar.day_type).
DAY_TYPES = ("mon-thu", "friday", "saturday", "sunday")
SERVICE_ID = {"mon-thu": "MT", "friday": "FR", "saturday": "SA", "sunday": "SU"}
CAL_DAYS = {
    "mon-thu": (1, 1, 1, 1, 0, 0, 0),
    "friday": (0, 0, 0, 0, 1, 0, 0),
    "saturday": (0, 0, 0, 0, 0, 1, 0),
    "sunday": (0, 0, 0, 0, 0, 0, 1),
}
WEEKDAY_TYPES = ("mon-thu", "friday")


def hm(text: str) -> int:
    """'24:15' -> minutes after the service-day origin."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def slug(name: str) -> str:
    out = name.lower()
    for a, b in (("æ", "ae"), ("ø", "oe"), ("å", "aa"), (".", ""), (",", ""), (" ", "_"), ("-", "_")):
        out = out.replace(a, b)
    return out


# --------------------------------------------------------------------------------------------------
# Stations (approximate WGS84). Rejseplanen names rail stops "<name> St.".
# kind: "st" staffed/major station (40 s dwell), "h" halt (20-30 s dwell)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Station:
    name: str
    lat: float
    lon: float
    kind: str = "h"


def _st(name: str, lat: float, lon: float, kind: str = "h", suffix: str = " St.") -> tuple[str, Station]:
    return slug(name), Station(name + suffix, lat, lon, kind)


STATIONS: dict[str, Station] = dict([
    # Nærumbanen 910
    _st("Jægersborg", 55.7574, 12.5232, "st"),
    _st("Nørgaardsvej", 55.7637, 12.5139),
    _st("Lyngby Lokal", 55.7702, 12.5077),
    _st("Fuglevad", 55.7851, 12.5031),
    _st("Brede", 55.7952, 12.5066),
    _st("Ørholm", 55.8040, 12.5098),
    _st("Ravnholm", 55.8107, 12.5166),
    _st("Nærum", 55.8163, 12.5275, "st"),
    # Frederiksværkbanen 920R/920E
    _st("Hillerød", 55.9270, 12.3107, "st"),
    _st("Overdrevsvejen", 55.9168, 12.2935),
    _st("Nørre Herlev", 55.8985, 12.2590),
    _st("Gørløse", 55.8868, 12.2106),
    _st("Uvelse", 55.8917, 12.1748),
    _st("Skævinge", 55.9083, 12.1495, "st"),
    _st("Grimstrup", 55.9124, 12.1075),
    _st("Ølsted", 55.9178, 12.0690, "st"),
    _st("Kregme", 55.9402, 12.0620),
    _st("Lille Kregme", 55.9521, 12.0482),
    _st("Frederiksværk", 55.9703, 12.0229, "st"),
    _st("Hanehoved", 55.9797, 12.0046),
    _st("Melby", 55.9950, 11.9830),
    _st("Dyssekilde", 56.0078, 11.9620),
    _st("Østerbjerg", 56.0149, 11.9450),
    _st("Amtsvejen", 56.0190, 11.9310),
    _st("Vibehus", 56.0228, 11.9195),
    _st("Hundested", 56.0279, 11.9082, "st"),
    _st("Hundested Havn", 56.0322, 11.9001),
    # Lille Nord 930R
    _st("Fredensborg", 55.9745, 12.3937, "st"),
    _st("Kratbjerg", 55.9858, 12.4262),
    _st("Kvistgård", 56.0001, 12.4893),
    _st("Duemose", 56.0007, 12.5236),
    _st("Mørdrup", 56.0021, 12.5500),
    _st("Snekkersten", 56.0062, 12.5876, "st"),
    _st("Helsingør", 56.0335, 12.6125, "st"),
    # Hornbækbanen 940R
    _st("Grønnehave", 56.0442, 12.6003),
    _st("Marienlyst", 56.0481, 12.5879),
    _st("Højstrup", 56.0530, 12.5682),
    _st("Julebæk", 56.0579, 12.5503),
    _st("Hellebæk", 56.0650, 12.5331),
    _st("Ålsgårde", 56.0729, 12.5172),
    _st("Odinshøj", 56.0778, 12.5051),
    _st("Skibstrup", 56.0829, 12.4951),
    _st("Saunte", 56.0878, 12.4852),
    _st("Karinebæk", 56.0926, 12.4776),
    _st("Hornbæk", 56.0936, 12.4622, "st"),
    _st("Horneby Sand", 56.1000, 12.4302),
    _st("Dronningmølle", 56.1001, 12.3948),
    _st("Villingebæk", 56.1041, 12.3702),
    _st("Stængehus", 56.1088, 12.3502),
    _st("Søborg", 56.1120, 12.3352),
    _st("Gilleleje Øst", 56.1198, 12.3198),
    _st("Gilleleje", 56.1237, 12.3030, "st"),
    # Gribskovbanen 950R/960R (shared Hillerød - Kagerup)
    _st("Slotspavillonen", 55.9381, 12.3021),
    _st("Grønnevang", 55.9462, 12.2951),
    _st("Troldebakkerne", 55.9688, 12.2802),
    _st("Gribsø", 55.9859, 12.2718),
    _st("Kagerup", 56.0040, 12.2452, "st"),
    _st("Mårum", 56.0301, 12.2500),
    _st("Saltrup", 56.0519, 12.2581),
    _st("Græsted", 56.0662, 12.2801, "st"),
    _st("Pårup", 56.0871, 12.2919),
    _st("Fjellenstrup", 56.1051, 12.2981),
    _st("Ørby", 56.0151, 12.2248),
    _st("Helsinge", 56.0228, 12.1972, "st"),
    _st("Kildekrog", 56.0331, 12.1652),
    _st("Vejby", 56.0480, 12.1400),
    _st("Godhavn", 56.0541, 12.1000),
    _st("Tisvildeleje", 56.0593, 12.0778, "st"),
])

# Bus stops of the R-bus (Movia). Names as on stop signs; Frederikssund St. is a bus-only stop here.
BUS_STOPS: dict[str, Station] = dict([
    _st("Frederikssund St.", 55.8395, 12.0655, "st", suffix=""),
    _st("Frederikssund, Ny Østergade", 55.8401, 12.0801, suffix=""),
    _st("Oppe Sundby", 55.8519, 12.1078, suffix=""),
    _st("Slangerup Bycenter", 55.8505, 12.1790, suffix=""),
    _st("Slangerup, Lystrup", 55.8582, 12.2003, suffix=""),
    _st("Hillerød, Milnersvej", 55.9101, 12.2950, suffix=""),
    _st("Hillerød, Trollesminde", 55.9371, 12.3249, suffix=""),
    _st("Asminderød", 55.9648, 12.3702, suffix=""),
])
BUS_STOPS = {"bus_" + k: v for k, v in BUS_STOPS.items()}

# Stations shared by several lines get a parent station and one platform stop per line.
# (station, line group) -> platform_code. Approximate track numbers.
PLATFORMS: dict[tuple[str, str], str] = {
    ("hilleroed", "930"): "5",
    ("hilleroed", "920"): "8",
    ("hilleroed", "950"): "9",
    ("hilleroed", "960"): "10",
    ("hilleroed", "bus"): "A",
    ("helsingoer", "930"): "4",
    ("helsingoer", "940"): "10",
    ("gilleleje", "940"): "1",
    ("gilleleje", "950"): "2",
    ("fredensborg", "930"): "1",
    ("fredensborg", "bus"): "B",
}
SHARED = sorted({s for s, _ in PLATFORMS})


def stop_id(station: str, group: str) -> str:
    """The GTFS stop_id a line group uses at a station."""
    code = PLATFORMS.get((station, group))
    return f"{station}_{code.lower()}" if code else station


def stop_point(station: str, group: str) -> tuple[float, float]:
    """Platforms sit a few tens of metres from their parent's point."""
    s = STATIONS.get(station) or BUS_STOPS.get(station) or STATIONS[station]
    code = PLATFORMS.get((station, group))
    if not code:
        return s.lat, s.lon
    k = zlib.crc32(f"{station}/{code}".encode()) % 360
    return offset_m(s.lat, s.lon, 40 * math.cos(math.radians(k)), 40 * math.sin(math.radians(k)))


# --------------------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Motion:
    """Running-time model: trapezoidal speed profile between stops plus a timetable supplement."""

    vmax_kmh: float
    accel: float = 0.7  # m/s^2
    decel: float = 0.7
    supplement: float = 0.06  # recovery margin on running time, as in real timetables
    dwell_st: int = 40
    dwell_h: int = 25

    def run_s(self, d: float) -> float:
        v = self.vmax_kmh / 3.6
        ramp = v * v / (2 * self.accel) + v * v / (2 * self.decel)
        if d >= ramp:
            t = d / v + v / (2 * self.accel) + v / (2 * self.decel)
        else:
            t = math.sqrt(2 * d * (self.accel + self.decel) / (self.accel * self.decel))
        return t * (1 + self.supplement)


LINT41 = Motion(vmax_kmh=75)
LINT41_FAST = Motion(vmax_kmh=100)  # Frederiksværkbanen: 100 km/h line speed since 2009
REGIOSPRINTER = Motion(vmax_kmh=60, accel=0.8, decel=0.8, supplement=0.10, dwell_st=30, dwell_h=20)  # curvy
BUS = Motion(vmax_kmh=60, accel=1.0, decel=1.1, supplement=0.12, dwell_st=30, dwell_h=15)


@dataclass
class Line:
    short: str
    group: str  # platform group and vehicle fleet
    agency: str
    long_name: str
    route_type: int
    stations: list[str]  # direction 0 order, all stations on the track
    motion: Motion
    registration: frozenset[str] = frozenset()


L910 = ["jaegersborg", "noergaardsvej", "lyngby_lokal", "fuglevad", "brede", "oerholm", "ravnholm",
        "naerum"]
L920 = ["hilleroed", "overdrevsvejen", "noerre_herlev", "goerloese", "uvelse", "skaevinge", "grimstrup",
        "oelsted", "kregme", "lille_kregme", "frederiksvaerk", "hanehoved", "melby", "dyssekilde",
        "oesterbjerg", "amtsvejen", "vibehus", "hundested", "hundested_havn"]
L920E_STOPS = {"hilleroed", "vibehus", "frederiksvaerk", "lille_kregme", "oelsted", "skaevinge", "hundested"}
L930 = ["hilleroed", "fredensborg", "kratbjerg", "kvistgaard", "duemose", "moerdrup", "snekkersten",
        "helsingoer"]
L940 = ["helsingoer", "groennehave", "marienlyst", "hoejstrup", "julebaek", "hellebaek", "aalsgaarde",
        "odinshoej", "skibstrup", "saunte", "karinebaek", "hornbaek", "horneby_sand", "dronningmoelle",
        "villingebaek", "staengehus", "soeborg", "gilleleje_oest", "gilleleje"]
GRIB_SHARED = ["hilleroed", "slotspavillonen", "groennevang", "troldebakkerne", "gribsoe", "kagerup"]
L950 = GRIB_SHARED + ["maarum", "saltrup", "graested", "paarup", "fjellenstrup", "gilleleje"]
L960 = GRIB_SHARED + ["oerby", "helsinge", "kildekrog", "vejby", "godhavn", "tisvildeleje"]
LBUS = ["bus_frederikssund_st", "bus_frederikssund_ny_oestergade", "bus_oppe_sundby",
        "bus_slangerup_bycenter", "bus_slangerup_lystrup", "bus_hilleroed_milnersvej", "hilleroed",
        "bus_hilleroed_trollesminde", "bus_asminderoed", "fredensborg"]

RBUS_SHORT = "330R"  # a fictional R-bus number for the sample network

LINES: dict[str, Line] = {
    "910": Line("910", "910", "lokaltog", "Nærumbanen (Jægersborg – Nærum)", 2, L910, REGIOSPRINTER,
                frozenset({"jaegersborg", "naerum"})),
    "920R": Line("920R", "920", "lokaltog", "Frederiksværkbanen (Hillerød – Hundested Havn)", 2, L920,
                 LINT41_FAST, frozenset({"hilleroed", "frederiksvaerk", "hundested"})),
    "920E": Line("920E", "920", "lokaltog", "Frederiksværkbanen ekspres (Hillerød – Hundested)", 2,
                 L920[:-1], LINT41_FAST, frozenset({"hilleroed", "frederiksvaerk", "hundested"})),
    "930R": Line("930R", "930", "lokaltog", "Lille Nord (Hillerød – Helsingør)", 2, L930, LINT41,
                 frozenset({"helsingoer", "fredensborg", "hilleroed"})),
    "940R": Line("940R", "940", "lokaltog", "Hornbækbanen (Helsingør – Gilleleje)", 2, L940, LINT41,
                 frozenset({"helsingoer", "hornbaek", "gilleleje"})),
    "950R": Line("950R", "950", "lokaltog", "Gribskovbanen (Hillerød – Gilleleje)", 2, L950, LINT41,
                 frozenset({"hilleroed", "graested", "gilleleje"})),
    "960R": Line("960R", "960", "lokaltog", "Gribskovbanen (Hillerød – Tisvildeleje)", 2, L960, LINT41,
                 frozenset({"hilleroed", "helsinge", "tisvildeleje"})),
    RBUS_SHORT: Line(RBUS_SHORT, "bus", "movia", "Frederikssund St. – Hillerød St. – Fredensborg St.", 3,
                     LBUS, BUS, frozenset({"bus_frederikssund_st", "hilleroed", "fredensborg"})),
}
# Vehicle fleets for blocks: vehicles of a fleet may take any trip of the fleet from where they stand.
FLEET = {"910": "910", "920R": "920", "920E": "920", "930R": "930", "940R": "940", "950R": "950",
         "960R": "950", RBUS_SHORT: "bus"}
# Termini a vehicle may move between for free when chaining trips (1 km apart).
TERMINAL_GROUP = {"hundested_havn": "hundested"}


# --------------------------------------------------------------------------------------------------
# Service levels from seeds/003 (Indkøbsgrundlag Lokaltog, køreplan 10.12.2023).
# Per line and direction: departures/hour in daytime and in the evening per day type, and the first
# departure "no later than" / last departure "no earlier than" (GTFS time of the service day).
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Level:
    day: tuple[int, int, int, int]  # mon-thu, friday, saturday, sunday
    evening: tuple[int, int, int, int]
    first: tuple[str, str, str, str]
    last: tuple[str, str, str, str]


LEVELS: dict[tuple[str, int], Level] = {
    ("930R", 0): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:45", "05:45", "05:30", "06:30"),
                       ("23:15", "24:15", "24:15", "23:15")),
    ("930R", 1): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:30", "05:30", "06:00", "07:00"),
                       ("23:45", "24:45", "24:45", "23:45")),
    ("940R", 0): Level((2, 2, 1, 1), (1, 1, 1, 1), ("06:00", "06:00", "07:00", "07:00"),
                       ("23:45", "23:45", "23:45", "23:45")),
    ("940R", 1): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:00", "05:00", "06:00", "07:00"),
                       ("23:45", "23:45", "23:45", "23:45")),
    ("920R", 0): Level((2, 2, 2, 1), (1, 1, 1, 1), ("05:30", "05:30", "06:30", "07:30"),
                       ("24:15", "24:15", "24:15", "24:15")),
    ("920R", 1): Level((2, 2, 2, 1), (1, 1, 1, 1), ("04:45", "04:45", "05:30", "06:15"),
                       ("23:15", "23:15", "23:15", "23:15")),
    ("950R", 0): Level((2, 2, 1, 1), (1, 1, 1, 1), ("06:00", "06:00", "06:30", "06:30"),
                       ("23:15", "23:15", "23:15", "23:15")),
    ("950R", 1): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:15", "05:15", "06:45", "07:45"),
                       ("23:30", "23:30", "23:30", "23:30")),
    ("960R", 0): Level((2, 2, 1, 1), (1, 1, 1, 1), ("06:00", "06:00", "06:45", "06:45"),
                       ("23:30", "23:30", "23:30", "23:30")),
    ("960R", 1): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:30", "05:30", "06:30", "07:30"),
                       ("23:00", "24:00", "24:00", "23:00")),
    # 910: 3-6/hour on weekdays (6 in the rush hours), 3 otherwise.
    ("910", 0): Level((3, 3, 3, 3), (3, 3, 3, 3), ("05:30", "05:30", "05:30", "07:30"),
                      ("24:45", "24:45", "25:15", "24:45")),
    ("910", 1): Level((3, 3, 3, 3), (3, 3, 3, 3), ("05:30", "05:30", "05:30", "06:45"),
                      ("25:00", "25:00", "25:00", "24:30")),
    # R-bus (DOMAIN.md): fixed minutes, every 30 min daytime, hourly evenings and weekends.
    (RBUS_SHORT, 0): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:35", "05:35", "06:35", "07:35"),
                           ("23:35", "23:35", "23:35", "23:35")),
    (RBUS_SHORT, 1): Level((2, 2, 1, 1), (1, 1, 1, 1), ("05:20", "05:20", "06:20", "07:20"),
                           ("23:50", "23:50", "23:50", "23:50")),
}
EVENING_START = {"mon-thu": hm("19:30"), "friday": hm("19:30"), "saturday": hm("19:00"),
                 "sunday": hm("19:00")}
RUSH = ((hm("07:00"), hm("09:00")), (hm("14:30"), hm("18:00")))  # contract rush hours (school days)
# 920E: one express per hour in daytime Mon-Fri, departing between these times from its origin.
EXPRESS_WINDOW = (hm("06:00"), hm("19:00"))
# Hundested Havn 1/hour in these windows (time at Hundested Havn).
HAVN_WINDOW = {"mon-thu": (hm("07:00"), hm("18:00")), "friday": (hm("07:00"), hm("18:00")),
               "saturday": (hm("08:00"), hm("19:00")), "sunday": (hm("09:00"), hm("19:00"))}
HAVN_SLACK = 10  # "fra ca. kl. 7.00": a call a few minutes before the window counts
PAARUP_WINDOW = (hm("11:55"), hm("16:25"))
GILLELEJE_OEST_WINDOW = (hm("13:00"), hm("18:00"))


def in_rush(t: int) -> bool:
    return any(a <= t < b for a, b in RUSH)


def departure_grid(level: Level, di: int, day_type: str) -> list[tuple[int, bool]]:
    """Origin departures (minutes) and whether each is on the hourly 'A' slot.

    The clock-face grid is aligned to the required last departure so the evening timetable ends exactly
    on it; the first departure is the latest grid time not after the required first departure.
    """
    n_day, n_eve = level.day[di], level.evening[di]
    first_req, last = hm(level.first[di]), hm(level.last[di])
    h_day, h_eve = 60 // n_day, 60 // n_eve
    switch = EVENING_START[day_type]
    first = last - math.ceil((last - first_req) / h_day) * h_day
    out: list[tuple[int, bool]] = []
    t = first
    while t < switch and t <= last:
        out.append((t, (last - t) % 60 == 0))
        t += h_day
    last_day = out[-1][0] if out else first - h_day
    eve = []
    t = last
    while t > last_day and t - last_day >= h_day:
        eve.append(t)
        t -= h_eve
    out.extend((x, True) for x in sorted(eve))
    return out


# --------------------------------------------------------------------------------------------------
# Geometry: one polyline per pair of neighbouring stations, shared by every line and direction.
# --------------------------------------------------------------------------------------------------
def section_points(a: tuple[float, float], b: tuple[float, float], key: str) -> list[tuple[float, float]]:
    """Intermediate points between two stops: a gentle S-curve whose size depends on the section."""
    d = haversine_m(*a, *b)
    n = 2 if d < 1500 else 4
    h = zlib.crc32(key.encode())
    amp = d * (0.03 + (h % 50) / 1000.0) * (1 if h & 1 else -1)
    north = (b[0] - a[0]) * 111_195.0
    east = (b[1] - a[1]) * 111_195.0 * math.cos(math.radians(a[0]))
    norm = math.hypot(north, east) or 1.0
    pn, pe = -east / norm, north / norm  # unit normal
    pts = []
    for i in range(1, n + 1):
        f = i / (n + 1)
        w = math.sin(math.pi * f) * (1 if i <= n // 2 or n == 2 else 0.6)
        lat = a[0] + (b[0] - a[0]) * f
        lon = a[1] + (b[1] - a[1]) * f
        pts.append(offset_m(lat, lon, amp * w * pn, amp * w * pe))
    return pts


@dataclass
class Shape:
    shape_id: str
    points: list[tuple[float, float]] = field(default_factory=list)
    dist: list[float] = field(default_factory=list)
    station_dist: dict[str, float] = field(default_factory=dict)


def build_shape(shape_id: str, line: Line, stations: list[str]) -> Shape:
    sh = Shape(shape_id)
    prev = None
    for s in stations:
        p = stop_point(s, line.group)
        if prev is not None:
            ps, pp = prev
            key = "|".join(sorted((ps, s)))
            mids = section_points(pp, p, key)
            if ps > s:  # same physical curve in both directions
                mids = section_points(p, pp, key)[::-1]
            for m in mids:
                _add_point(sh, m)
        _add_point(sh, p)
        sh.station_dist[s] = sh.dist[-1]
        prev = (s, p)
    return sh


def _add_point(sh: Shape, p: tuple[float, float]) -> None:
    if sh.points:
        sh.dist.append(sh.dist[-1] + haversine_m(*sh.points[-1], *p))
    else:
        sh.dist.append(0.0)
    sh.points.append(p)


# --------------------------------------------------------------------------------------------------
# Trips
# --------------------------------------------------------------------------------------------------
@dataclass
class Trip:
    trip_id: str
    line: Line
    service: str
    direction: int
    headsign: str
    shape: Shape
    stops: list[tuple[str, int, int, float, int]]  # stop_id, arr_s, dep_s, shape_dist, timepoint
    start_station: str
    end_station: str
    block: str = ""

    @property
    def dep(self) -> int:
        return self.stops[0][2]

    @property
    def arr(self) -> int:
        return self.stops[-1][1]


def dwell_s(line: Line, station: str) -> int:
    """20-40 s: longer at staffed stations and registration stations."""
    s = STATIONS.get(station) or BUS_STOPS[station]
    if station in line.registration or s.kind == "st":
        return line.motion.dwell_st
    return line.motion.dwell_h


def schedule(line: Line, shape: Shape, served: list[str], start_min: int,
             ) -> list[tuple[str, int, int, float, int]]:
    """Stop times for a trip along ``shape`` stopping at ``served``; whole minutes, like a public
    timetable; a train never arrives in the same minute it left the previous stop."""
    t = float(start_min * 60)
    out: list[tuple[str, int, int, float, int]] = []
    last_dep = None
    prev_dist = 0.0
    for i, s in enumerate(served):
        d = shape.station_dist[s]
        if i > 0:
            t += line.motion.run_s(d - prev_dist)
        arr = int(round(t / 60.0)) * 60
        if last_dep is not None and arr < last_dep + 60:
            arr = last_dep + 60
            t = max(t, float(arr))
        if i == 0 or i == len(served) - 1:
            dep = arr
        else:
            t += dwell_s(line, s)
            dep = max(arr, int(round(t / 60.0)) * 60)
        tp = 1 if (i == 0 or i == len(served) - 1 or s in line.registration) else 0
        out.append((stop_id(s, line.group), arr, dep, round(d, 1), tp))
        last_dep = dep
        prev_dist = d
    return out


def time_at(line: Line, shape: Shape, track: list[str], start_min: int, station: str) -> int:
    """Minutes at ``station`` on an all-stops run of ``track`` (to decide on skipped stops)."""
    for sid, arr, _dep, _d, _tp in schedule(line, shape, track, start_min):
        if sid == stop_id(station, line.group):
            return arr // 60
    raise KeyError(station)


def fmt(seconds: int) -> str:
    h, rem = divmod(seconds, 3600)
    return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}"


class Builder:
    def __init__(self) -> None:
        self.shapes: dict[str, Shape] = {}
        self.trips: list[Trip] = []

    def shape(self, line: Line, direction: int, track: list[str], tag: str) -> Shape:
        sid = f"{line.group}_{direction}{tag}"
        if sid not in self.shapes:
            self.shapes[sid] = build_shape(sid, line, track)
        return self.shapes[sid]

    def add(self, line: Line, day_type: str, direction: int, start: int, track: list[str],
            served: list[str], tag: str = "") -> None:
        shape = self.shape(line, direction, track, tag)
        stops = schedule(line, shape, served, start)
        end = served[-1]
        tid = f"{line.short}_{SERVICE_ID[day_type]}_{direction}_{start // 60:02d}{start % 60:02d}"
        self.trips.append(Trip(tid, line, SERVICE_ID[day_type], direction,
                               (STATIONS.get(end) or BUS_STOPS[end]).name, shape, stops, served[0], end))

    def build(self) -> None:
        for day_type in DAY_TYPES:
            di = DAY_TYPES.index(day_type)
            weekday = day_type in WEEKDAY_TYPES
            for (short, direction), level in LEVELS.items():
                line = LINES[short]
                track = line.stations if direction == 0 else line.stations[::-1]
                for start, slot_a in departure_grid(level, di, day_type):
                    self._trip(line, day_type, weekday, direction, track, start, slot_a)
                    if short == "910" and weekday and in_rush(start) and start < hm("24:00"):
                        # 6/hour in the rush hours: an extra departure between two regular ones,
                        # not calling at Nørgaardsvej (served 3/hour).
                        extra = start + 10
                        if in_rush(extra):
                            self.add(line, day_type, direction, extra, track,
                                     [s for s in track if s != "noergaardsvej"])
                if short == "920R" and weekday:
                    self._express(day_type, direction, level, di)
        self._blocks()

    def _trip(self, line: Line, day_type: str, weekday: bool, direction: int, track: list[str],
              start: int, slot_a: bool) -> None:
        served = list(track)
        tag = ""
        evening = start >= EVENING_START[day_type]
        if line.short == "920R":
            lo, hi = HAVN_WINDOW[day_type]
            every = slot_a or LEVELS[("920R", direction)].day[DAY_TYPES.index(day_type)] == 1 or evening
            if direction == 0:
                at_havn = time_at(line, self.shape(line, 0, track, "_havn"), track, start, "hundested_havn")
                havn = every and lo - HAVN_SLACK <= at_havn <= hi + HAVN_SLACK
            else:
                # Trips from the harbour start 3 min before the Hundested departure on the grid; the
                # train that arrived at the end of the window turns back from the harbour too.
                havn = every and lo - HAVN_SLACK <= start - 3 <= hi + HAVN_SLACK + 5
            if havn:
                tag = "_havn"
                if direction == 1:
                    start -= 3
            else:
                served = [s for s in served if s != "hundested_havn"]
                track = served
        elif line.short == "940R":
            sh = self.shape(line, direction, track, "")
            if weekday and not evening and not slot_a:
                served.remove("soeborg")
            t_oest = time_at(line, sh, track, start, "gilleleje_oest")
            if weekday and not slot_a and GILLELEJE_OEST_WINDOW[0] <= t_oest < GILLELEJE_OEST_WINDOW[1]:
                served.remove("gilleleje_oest")
        elif line.short == "950R":
            sh = self.shape(line, direction, track, "")
            served = [s for s in served if s not in ("troldebakkerne", "gribsoe")]
            t_sp = time_at(line, sh, track, start, "slotspavillonen")
            if weekday and t_sp < EVENING_START[day_type]:
                served.remove("slotspavillonen")
            t_pa = time_at(line, sh, track, start, "paarup")
            if weekday and not slot_a and PAARUP_WINDOW[0] <= t_pa <= PAARUP_WINDOW[1]:
                served.remove("paarup")
        elif line.short == "960R":
            sh = self.shape(line, direction, track, "")
            if weekday and not evening and not slot_a:
                served = [s for s in served if s not in ("troldebakkerne", "gribsoe", "oerby")]
            if weekday and "gribsoe" in served and in_rush(time_at(line, sh, track, start, "gribsoe")):
                served.remove("gribsoe")
        self.add(line, day_type, direction, start, track, served, tag)

    def _express(self, day_type: str, direction: int, level: Level, di: int) -> None:
        """920E: 1/hour daytime Mon-Fri, halfway between two 920R departures on the hourly A slot."""
        line = LINES["920E"]
        track = line.stations if direction == 0 else line.stations[::-1]
        served = [s for s in track if s in L920E_STOPS]
        for start, slot_a in departure_grid(level, di, day_type):
            t = start + 15
            if slot_a and EXPRESS_WINDOW[0] <= t <= EXPRESS_WINDOW[1] and t < EVENING_START[day_type]:
                self.add(line, day_type, direction, t, track, served)

    def _blocks(self, layover_s: int = 240) -> None:
        """Chain trips of one vehicle back and forth (greedy, earliest waiting vehicle first)."""
        by_key: dict[tuple[str, str], list[Trip]] = {}
        for tr in self.trips:
            by_key.setdefault((FLEET[tr.line.short], tr.service), []).append(tr)
        for (fleet, service), trips in sorted(by_key.items()):
            trips.sort(key=lambda x: (x.dep, x.trip_id))
            waiting: dict[str, list[tuple[int, str]]] = {}
            n = 0
            for tr in trips:
                here = TERMINAL_GROUP.get(tr.start_station, tr.start_station)
                pool = waiting.setdefault(here, [])
                pool.sort()
                if pool and pool[0][0] + layover_s <= tr.dep:
                    _, block = pool.pop(0)
                else:
                    n += 1
                    block = f"{fleet}_{service}_{n:02d}"
                tr.block = block
                there = TERMINAL_GROUP.get(tr.end_station, tr.end_station)
                waiting.setdefault(there, []).append((tr.arr, block))


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(r)
            n += 1
    return n


def write_feed(out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    b = Builder()
    b.build()
    counts: dict[str, int] = {}
    counts["agency"] = write_csv(out / "agency.txt",
                                 ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
                                 [["lokaltog", "Lokaltog", "https://www.lokaltog.dk", "Europe/Copenhagen", "da"],
                                  ["movia", "Movia", "https://www.moviatrafik.dk", "Europe/Copenhagen", "da"]])
    counts["stops"] = write_csv(out / "stops.txt", [
        "stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station", "platform_code",
        "wheelchair_boarding"], _stop_rows())
    counts["routes"] = write_csv(out / "routes.txt", [
        "route_id", "agency_id", "route_short_name", "route_long_name", "route_type"],
        [[ln.short, ln.agency, ln.short, ln.long_name, ln.route_type] for ln in LINES.values()])
    trips = sorted(b.trips, key=lambda t: t.trip_id)
    counts["trips"] = write_csv(out / "trips.txt", [
        "route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "block_id", "shape_id",
        "wheelchair_accessible"],
        [[t.line.short, t.service, t.trip_id, t.headsign, t.direction, t.block, t.shape.shape_id, 1]
         for t in trips])
    counts["stop_times"] = write_csv(out / "stop_times.txt", [
        "trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled",
        "timepoint"],
        ([t.trip_id, fmt(a), fmt(d), sid, i + 1, f"{dist:.1f}", tp]
         for t in trips for i, (sid, a, d, dist, tp) in enumerate(t.stops)))
    counts["shapes"] = write_csv(out / "shapes.txt", [
        "shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
        ([sh.shape_id, f"{lat:.6f}", f"{lon:.6f}", i + 1, f"{d:.1f}"]
         for sh in sorted(b.shapes.values(), key=lambda s: s.shape_id)
         for i, ((lat, lon), d) in enumerate(zip(sh.points, sh.dist, strict=True))))
    counts["calendar"] = write_csv(out / "calendar.txt", [
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "start_date", "end_date"],
        [[SERVICE_ID[dt], *CAL_DAYS[dt], FEED_START.strftime("%Y%m%d"), FEED_END.strftime("%Y%m%d")]
         for dt in DAY_TYPES])
    counts["calendar_dates"] = write_csv(out / "calendar_dates.txt",
                                         ["service_id", "date", "exception_type"], _holiday_rows())
    counts["feed_info"] = write_csv(out / "feed_info.txt", [
        "feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date",
        "feed_version", "feed_contact_url"],
        [["rettid sample data (not an official timetable)", "https://example.invalid/rettid-sample", "da",
          FEED_START.strftime("%Y%m%d"), FEED_END.strftime("%Y%m%d"),
          f"{FEED_VERSION} SAMPLE approximated from the Movia/Lokaltog purchase basis (køreplan 10.12.2023)",
          "https://example.invalid/rettid-sample/README"]])
    return counts


def _stop_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    used: set[tuple[str, str]] = set()
    for ln in LINES.values():
        for s in ln.stations:
            used.add((s, ln.group))
    for s in SHARED:
        st = STATIONS[s]
        rows.append([s, st.name, f"{st.lat:.6f}", f"{st.lon:.6f}", 1, "", "", 1])
    for (s, group), code in sorted(PLATFORMS.items()):
        lat, lon = stop_point(s, group)
        name = STATIONS[s].name
        rows.append([stop_id(s, group), name, f"{lat:.6f}", f"{lon:.6f}", 0, s, code, 1])
    seen = set()
    for s, _group in sorted(used):
        if s in SHARED or s in seen:
            continue
        seen.add(s)
        st = STATIONS.get(s) or BUS_STOPS[s]
        rows.append([s, st.name, f"{st.lat:.6f}", f"{st.lon:.6f}", 0, "", "", 1])
    return rows


def _holiday_rows() -> list[list[object]]:
    """Danish public holidays run the Sunday service (the contract counts "søn- og helligdage")."""
    rows: list[list[object]] = []
    for d in sorted(holidays_between(FEED_START, FEED_END)):
        wd = d.weekday()
        if wd == 6:
            continue
        normal = "MT" if wd <= 3 else "FR" if wd == 4 else "SA"
        rows.append([normal, d.strftime("%Y%m%d"), 2])
        rows.append(["SU", d.strftime("%Y%m%d"), 1])
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "data" / "gtfs" / "lokaltog-sample",
                    help="output folder (default: data/gtfs/lokaltog-sample)")
    args = ap.parse_args(argv)
    counts = write_feed(args.out)
    size = sum(p.stat().st_size for p in args.out.glob("*.txt"))
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())  # noqa: T201
          + f"; {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

