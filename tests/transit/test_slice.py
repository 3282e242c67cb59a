"""Issue 17: a unit's timetable slice answers like the whole feed for the unit's trips and departures
(times past 24:00, a DST day included), is refused when stale, damaged or of another schema version, and
rolls out through the timetable update path atomically."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bench.national_feed import write_national_feed
from tests.conftest import REPO
from transit.feedupdate import FeedStore
from transit.slice import (
    SliceError,
    build_slice,
    check_horizon,
    is_slice,
    load_slice,
    onboard_selector,
    open_timetable,
    station_selector,
)
from transit.timetable import Timetable

SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"
DST = date(2027, 3, 28)  # Europe/Copenhagen goes to summer time: a 23-hour service day


@pytest.fixture(scope="module")
def small_national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feed = tmp_path_factory.mktemp("national") / "feed"
    write_national_feed(feed, scale=0.01)
    return feed


def _windows(first: date, days: int) -> list[tuple[datetime, datetime]]:
    out = []
    for k in range(days):
        d = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(days=k)
        out += [(d + timedelta(hours=h), d + timedelta(hours=h + 3)) for h in (-2, 3, 7, 15, 21)]
    return out


def test_station_slice_departures_equal_the_full_feed(tmp_path: Path, small_national: Path) -> None:
    full = Timetable.load(small_national)
    station = next(s.stop_id for s in full.stops.values() if s.location_type == 1 and full.children(s.stop_id)
                   and full.departures(s.stop_id, datetime(2027, 3, 26, tzinfo=UTC),
                                       datetime(2027, 3, 27, tzinfo=UTC)))
    out = tmp_path / "station.slice"
    first = DST - timedelta(days=2)
    build_slice(small_national, out, kind="station", unit="s1", select=station_selector([station]),
                first=first, days=5)
    sl = open_timetable(out)
    assert sl.slice is not None and sl.slice.first == first and sl.slice.last == first + timedelta(days=4)
    assert len(sl.trips) < len(full.trips) / 5
    assert max(full.trip_end_s(t) for t in sl.trips) > 24 * 3600  # trips past midnight are in it
    n = 0
    for lo, hi in _windows(first, 5):
        want = full.departures(station, lo, hi)
        assert sl.departures(station, lo, hi) == want, (lo, hi)
        n += len(want)
    assert n > 50


def test_onboard_slice_trips_blocks_and_connections_equal_the_full_feed(tmp_path: Path) -> None:
    full = Timetable.load(SAMPLE)
    out = tmp_path / "920.slice"
    first = DST - timedelta(days=1)
    build_slice(SAMPLE, out, kind="onboard", unit="onboard-2091", select=onboard_selector(["920R", "920E"]),
                first=first, days=3)
    sl = load_slice(out)
    days = (first, DST, DST + timedelta(days=1))
    own = {t for t, trip in full.trips.items() if full.routes[trip.route_id].short_name in ("920R", "920E")
           and any(full.runs_on(t, d) for d in days)}  # the horizon's trips: Saturday to Monday
    assert own <= set(sl.trips)
    assert len(sl.trips) < len(full.trips)  # trips of days outside the horizon are left out
    for day in days:
        for tid in own:
            if full.runs_on(tid, day):
                assert sl.runs_on(tid, day)
                assert sl.trip_schedule(tid, day) == full.trip_schedule(tid, day)
        for block in {full.trips[t].block_id for t in own if full.trips[t].block_id}:
            assert block is not None
            assert sl.block_trips(block, day) == full.block_trips(block, day)
    # connections at Hillerød (the frieze asks the station's departures): the other lines are there too
    lo = datetime(2027, 3, 29, 5, tzinfo=UTC)
    want = full.departures("hilleroed", lo, lo + timedelta(hours=4))
    assert {d.route.name for d in want} - {"920R", "920E"}
    assert sl.departures("hilleroed", lo, lo + timedelta(hours=4)) == want
    instant = datetime(2027, 3, 28, 8, 30, tzinfo=UTC)
    assert [x for x in full.active_trips(instant) if x[0].trip_id in own] == \
        [x for x in sl.active_trips(instant) if x[0].trip_id in own]


def _slice(tmp_path: Path, first: date = date(2026, 12, 1)) -> Path:
    out = tmp_path / "u.slice"
    build_slice(SAMPLE, out, kind="station", unit="s", select=station_selector(["hilleroed"]), first=first,
                days=7)
    return out


def test_stale_slice_is_refused_with_its_horizon(tmp_path: Path) -> None:
    tt = load_slice(_slice(tmp_path))
    check_horizon(tt, date(2026, 12, 7))
    with pytest.raises(SliceError, match=r"covers service days 2026-12-01 \.\. 2026-12-07, not 2026-12-08"):
        check_horizon(tt, date(2026, 12, 8))


def test_damaged_slice_is_refused(tmp_path: Path) -> None:
    path = _slice(tmp_path)
    con = sqlite3.connect(path)
    con.execute("UPDATE trip_times SET arr = dep WHERE rowid = 3")  # a valid SQLite file, wrong contents
    con.commit()
    con.close()
    with pytest.raises(SliceError, match="checksum does not match"):
        load_slice(path)
    data = bytearray(_slice(tmp_path).read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a torn page
    path.write_bytes(bytes(data))
    assert is_slice(path)
    with pytest.raises(SliceError, match="damaged|checksum"):
        load_slice(path)


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    path = _slice(tmp_path)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(SliceError, match="schema version 99, this software reads version 1"):
        load_slice(path)


def test_a_gtfs_feed_or_other_sqlite_file_is_no_slice(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert not is_slice(other) and not is_slice(SAMPLE)
    assert open_timetable(SAMPLE).slice is None


def test_update_path_installs_a_slice_and_refuses_a_damaged_one(tmp_path: Path) -> None:
    store = FeedStore(tmp_path / "timetable")
    good = _slice(tmp_path / "a")
    store.stage(good)
    res = store.install(check=lambda tt: check_horizon(tt, date(2026, 12, 3)))
    assert res.ok and res.timetable is not None and res.timetable.slice is not None
    cur = store.current()
    assert cur is not None and is_slice(cur)
    assert set(open_timetable(cur).trips) == set(load_slice(good).trips)
    stale = store.stage(_slice(tmp_path / "b"))
    res = store.install(check=lambda tt: check_horizon(tt, date(2027, 1, 1)))
    assert not res.ok and "covers service days" in res.summary
    assert store.current() == cur and not stale.exists()
    bad = tmp_path / "bad.slice"
    bad.write_bytes(good.read_bytes()[:20000])
    store.stage(bad)
    assert not store.install().ok and store.current() == cur


def test_central_slice_command(tmp_path: Path) -> None:
    out = tmp_path / "hilleroed.slice"
    cmd = [sys.executable, "-m", "central", "slice", str(SAMPLE), "--for", "station",
           str(REPO / "data" / "config" / "station-hilleroed.yaml"), "-o", str(out), "--from", "2026-12-01"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "station slice for station-hilleroed-1" in r.stdout and is_slice(out)
    r = subprocess.run(cmd[:-2] + ["--days", "0"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2 and "--days" in r.stderr


def test_operator_file_checks_only_the_lines_a_station_slice_holds(tmp_path: Path) -> None:
    from transit.operator import load_operator

    ops = REPO / "data" / "operators" / "lokaltog.yaml"
    out = tmp_path / "naerum.slice"
    build_slice(SAMPLE, out, kind="station", unit="s", select=station_selector(["naerum"]),
                first=date(2026, 12, 1), days=7)
    sl = load_slice(out)
    assert {r.short_name for r in sl.routes.values()} == {"910"}  # Nærumbanen only
    load_operator(ops, sl)  # 920R etc. are rightly absent from this display's slice
    onboard = tmp_path / "910.slice"
    build_slice(SAMPLE, onboard, kind="onboard", unit="o", select=onboard_selector(["910"]),
                first=date(2026, 12, 1), days=7)
    with pytest.raises(Exception, match="is not in the timetable"):
        load_operator(ops, load_slice(onboard))  # an onboard slice must hold its operator's lines
