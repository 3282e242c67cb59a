"""A synthetic GTFS feed of national size (issue 17), written by the bench and by tests, never stored.

The Danish national feed that Rejseplanen and the operators work with has about 1.5 M stop times, 50 k
stops and 134 k trips. This writes a feed of that shape: the sample network (``data/gtfs/lokaltog-sample``,
Lokaltog's lines and Movia's 330R, so the real operator files and unit configurations work against it)
plus synthetic agencies whose bus lines walk a jittered grid of stops over an area the size of Denmark
(about 300 x 240 km, stops 0.8-1.6 km apart), some stops grouped under stations with platforms, and a
few lines starting at a platform of the sample network's stations, so its hubs have connections as the
real ones do. Weekday, Saturday and Sunday services run from November to the end of June (a DST change
on 28 March 2027), public holidays as Sundays; late trips run past 24:00. Blocks alternate directions.

Deterministic for a seed (``random.Random``), written line by line in one pass per file with the time
strings precomputed: the national size takes a few seconds. ``scale`` shrinks it for tests.
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from transit.holidays import is_public_holiday

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"

#: The issue's national feed: stop_times, stops, trips.
NATIONAL = (1_503_368, 50_025, 134_530)
FIRST_DAY = date(2026, 11, 1)
LAST_DAY = date(2027, 6, 30)
AGENCIES = 30
SPACING_M = 1200.0
LAT0, LON0 = 54.80, 8.20  # south-west corner of the grid
_M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class FeedSize:
    """What was written (the sample network included)."""

    stop_times: int
    stops: int
    trips: int
    routes: int


def _fmt(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def write_national_feed(out: Path, *, seed: int = 17, scale: float = 1.0,
                        stop_times: int | None = None) -> FeedSize:
    """Write the feed into ``out`` (created; existing files replaced). ``scale`` < 1 makes a smaller
    feed of the same shape (tests); the counts are those of :data:`NATIONAL` times ``scale``."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for src in SAMPLE.glob("*.txt"):
        shutil.copyfile(src, out / src.name)
    target_st = int((stop_times or NATIONAL[0]) * (1 if stop_times else scale))
    target_stops = int(NATIONAL[1] * scale)
    target_trips = int(NATIONAL[2] * scale)
    sample_stops = _rows(SAMPLE / "stops.txt")
    sample_trips = _rows(SAMPLE / "trips.txt")
    sample_st = _rows(SAMPLE / "stop_times.txt")
    stations = _sample_stations(SAMPLE / "stops.txt")

    # -- stops: a grid, every 5th node in both directions a station with three platforms --------------
    n_syn = max(0, target_stops - sample_stops - len(stations))
    # about 280 km east-west at national size (8.2-12.7 deg E), narrower when scaled down
    width = max(4, min(int(280_000 / SPACING_M), int(math.sqrt(n_syn * 1.2))))
    m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(56.0))
    nodes: list[tuple[float, float, str]] = []  # lat, lon, the stop id routes use
    lines: list[str] = []
    made = 0
    k = 0
    while made < n_syn:
        i, j = divmod(k, width)
        k += 1
        lat = LAT0 + (i * SPACING_M + rng.uniform(-250, 250)) / _M_PER_DEG_LAT
        lon = LON0 + (j * SPACING_M + rng.uniform(-250, 250)) / m_per_deg_lon
        name = f"Knude {i}-{j}"
        if i % 5 == 0 and j % 5 == 0 and n_syn - made >= 4:
            sid = f"n{i}_{j}"
            lines.append(f"{sid},{name} St.,{lat:.6f},{lon:.6f},1,,,1\n")
            for p in (1, 2, 3):
                plat_lat, plat_lon = lat + p * 0.00003, lon + p * 0.00004
                lines.append(f"{sid}_{p},{name} St.,{plat_lat:.6f},{plat_lon:.6f},0,{sid},{p},1\n")
            nodes.append((lat, lon, f"{sid}_{rng.randint(1, 3)}"))
            made += 4
        else:
            sid = f"n{i}_{j}"
            lines.append(f"{sid},{name},{lat:.6f},{lon:.6f},0,,,1\n")
            nodes.append((lat, lon, sid))
            made += 1
    height = (len(nodes) + width - 1) // width
    hub_platforms = []
    for sid, (lat, lon, name) in stations.items():  # a bus platform at each sample station
        pid = f"{sid}_nat"
        lines.append(f"{pid},{name},{lat + 0.0004:.6f},{lon + 0.0004:.6f},0,{sid},N,1\n")
        hub_platforms.append((lat, lon, pid))
    with (out / "stops.txt").open("a", encoding="utf-8") as f:
        f.writelines(lines)

    # -- agencies, services ------------------------------------------------------------------------------
    with (out / "agency.txt").open("a", encoding="utf-8") as f:
        for a in range(AGENCIES):
            f.write(f"nat{a:02d},Trafikselskab {a:02d},https://example.invalid/nat{a:02d},Europe/Copenhagen,da\n")
    services = (("NWD", "1,1,1,1,1,0,0", 30), ("NSA", "0,0,0,0,0,1,0", 10), ("NSU", "0,0,0,0,0,0,1", 8))
    with (out / "calendar.txt").open("a", encoding="utf-8") as f:
        for sid, days, _ in services:
            f.write(f"{sid},{days},{FIRST_DAY:%Y%m%d},{LAST_DAY:%Y%m%d}\n")
    with (out / "calendar_dates.txt").open("a", encoding="utf-8") as f:
        d = FIRST_DAY
        while d <= LAST_DAY:
            if is_public_holiday(d) and d.weekday() != 6:
                f.write(f"{'NWD' if d.weekday() < 5 else 'NSA'},{d:%Y%m%d},2\nNSU,{d:%Y%m%d},1\n")
            d += timedelta(days=1)
    fi = (out / "feed_info.txt").read_text(encoding="utf-8").splitlines()
    head, row = fi[0], fi[1].split(",")
    row[0], row[3], row[4] = "rettid synthetic national feed (not an official timetable)", "20261101", "20270630"
    row[5] = f"national-synthetic-seed{seed}-scale{scale:g}"
    (out / "feed_info.txt").write_text(f"{head}\n{','.join(row)}\n", encoding="utf-8")

    # -- routes, trips, stop times ---------------------------------------------------------------------
    trips_left = max(0, target_trips - sample_trips)
    st_left = max(0, target_st - sample_st)
    avg_len = st_left / trips_left if trips_left else 10.0
    times = [_fmt(s) for s in range(0, 30 * 3600 + 1, 60)]
    rlines: list[str] = []
    n_trips = n_st = 0
    route_no = 0
    with (out / "trips.txt").open("a", encoding="utf-8") as ftrips, \
            (out / "stop_times.txt").open("a", encoding="utf-8") as fst:
        while n_trips < trips_left:
            rid = f"nat{route_no}"
            agency = f"nat{route_no % AGENCIES:02d}"
            # lengths around the average that is left, so the total lands near the target
            want = (st_left - n_st) / max(1, trips_left - n_trips)
            length = max(3, min(40, int(round(rng.gauss(want if route_no else avg_len, 2.5)))))
            hub = hub_platforms[route_no % len(hub_platforms)] if hub_platforms else None
            start = -1
            if hub is not None and route_no < 4 * len(hub_platforms):
                start = _nearest(hub[0], hub[1], width, height, m_per_deg_lon, nodes)
            if hub is not None and start >= 0:
                first = hub[2]
                pattern = [first] + [nodes[n][2] for n in _walk(rng, start, width, len(nodes), length - 1)]
            else:
                pattern = [nodes[n][2] for n in _walk(rng, rng.randrange(len(nodes)), width, len(nodes), length)]
            if len(pattern) < 2:
                route_no += 1
                continue
            rlines.append(f"{rid},{agency},{1000 + route_no},Linje {1000 + route_no},3\n")
            hops = [rng.choice((1, 2, 2, 3)) for _ in pattern[1:]]
            run_min = sum(hops)
            back = pattern[::-1]
            for svc, _, n in services:
                first_dep = 5 * 60 + rng.randrange(0, 30)
                last_dep = 24 * 60 + 40  # the last trips run past midnight, into the next GTFS hours
                step = max(1, (last_dep - first_dep) // n)
                nveh = max(1, (2 * run_min + 10) // step + 1)
                for t in range(n):
                    dep0 = first_dep + t * step
                    for direction, pat in ((0, pattern), (1, back)):
                        if n_trips >= trips_left:
                            break
                        tid = f"{rid}_{svc}_{direction}_{t}"
                        block = f"{rid}_{svc}_{t % nveh}"
                        ftrips.write(f"{rid},{svc},{tid},{pat[-1]},{direction},{block},,1\n")
                        m = dep0 + (run_min + 5 if direction else 0)
                        buf = []
                        hop = hops if direction == 0 else hops[::-1]
                        for seq, sid in enumerate(pat, 1):
                            ts = times[m]
                            buf.append(f"{tid},{ts},{ts},{sid},{seq},,1\n")
                            if seq < len(pat):
                                m += hop[seq - 1]
                        fst.write("".join(buf))
                        n_trips += 1
                        n_st += len(pat)
            route_no += 1
    with (out / "routes.txt").open("a", encoding="utf-8") as f:
        f.writelines(rlines)
    return FeedSize(n_st + sample_st, made + sample_stops + len(stations), n_trips + sample_trips,
                    len(rlines) + _rows(SAMPLE / "routes.txt"))


def _rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip()) - 1


def _sample_stations(path: Path) -> dict[str, tuple[float, float, str]]:
    import csv

    with path.open(encoding="utf-8") as f:
        return {r["stop_id"]: (float(r["stop_lat"]), float(r["stop_lon"]), r["stop_name"])
                for r in csv.DictReader(f) if r.get("location_type") == "1"}


def _nearest(lat: float, lon: float, width: int, height: int, m_per_deg_lon: float,
             nodes: list[tuple[float, float, str]]) -> int:
    """The grid node next to a point, or -1 when the grid does not reach it (a scaled-down feed)."""
    i = min(height - 2, max(0, int(round((lat - LAT0) * _M_PER_DEG_LAT / SPACING_M))))
    j = min(width - 1, max(0, int(round((lon - LON0) * m_per_deg_lon / SPACING_M))))
    k = i * width + j
    if k >= len(nodes):
        return -1
    dy = (nodes[k][0] - lat) * _M_PER_DEG_LAT
    dx = (nodes[k][1] - lon) * m_per_deg_lon
    return k if math.hypot(dx, dy) < 2500 else -1


def _walk(rng: random.Random, start: int, width: int, n: int, length: int) -> list[int]:
    """A self-avoiding walk over grid neighbours (a line's stops, 1-1.7 grid steps apart)."""
    out = [start]
    seen = {start}
    cur = start
    while len(out) < length:
        i, j = divmod(cur, width)
        options = [(i + di) * width + (j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)
                   if (di or dj) and 0 <= j + dj < width and 0 <= (i + di) * width + (j + dj) < n]
        options = [o for o in options if o not in seen]
        if not options:
            break
        cur = rng.choice(options)
        out.append(cur)
        seen.add(cur)
    return out


__all__ = ["NATIONAL", "FeedSize", "write_national_feed"]
