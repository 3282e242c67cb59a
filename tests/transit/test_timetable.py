"""Timetable queries on the hand-made gtfs-mini feed: service days, DST, past midnight, exceptions."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA
from transit.errors import FeedError
from transit.timetable import Timetable
from transit.timeutil import COPENHAGEN

MINI = TEST_DATA / "gtfs-mini"


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(MINI)


def cph(y: int, mo: int, d: int, h: int, mi: int, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=COPENHAGEN, fold=fold).astimezone(UTC)


def test_loads_everything(tt: Timetable) -> None:
    assert tt.problems == ()
    assert set(tt.routes) == {"R1", "B1"}
    assert tt.routes["R1"].name == "950R"
    assert len(tt.trips) == 8
    assert tt.stops["AAL"].name == "Ålholm"  # UTF-8, BOM in agency.txt, extra columns in stops.txt
    assert tt.stops["HIL1"].parent_station == "HIL"
    assert tt.stops["HIL1"].platform_code == "1"
    assert tt.stops["HIL"].location_type == 1
    assert tt.agencies["MINI"].timezone == "Europe/Copenhagen"
    assert tt.feed_info is not None and tt.feed_info.version == "mini-1"
    assert tt.route_of("B1A").short_name == "301R"
    assert tt.stop_name("GRA") == "Græsted"
    assert sorted(tt.children("HIL")) == ["HIL1", "HIL2"]
    assert tt.station_of("HIL2") == "HIL"


def test_zip_feed_same_as_folder(tmp_path: Path, tt: Timetable) -> None:
    z = tmp_path / "mini.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in MINI.glob("*.txt"):
            zf.write(f, f"gtfs/{f.name}")  # files inside one folder, as some publishers ship them
    tz = Timetable.load(z)
    assert set(tz.trips) == set(tt.trips)
    assert tz.stop_times("TN") == tt.stop_times("TN")


def test_stop_times_past_midnight(tt: Timetable) -> None:
    st = tt.stop_times("TN")
    assert [s.stop_sequence for s in st] == [1, 2, 3, 4]
    assert st[1].arrival_s == 24 * 3600 + 4 * 60 and st[1].departure_s == 24 * 3600 + 5 * 60
    sched = tt.trip_schedule("TN", date(2026, 11, 4))  # a Wednesday
    assert sched[0].departure == cph(2026, 11, 4, 23, 50)
    assert sched[1].departure == cph(2026, 11, 5, 0, 5)  # 24:05 is next calendar day, same service day
    assert sched[-1].arrival == cph(2026, 11, 5, 0, 35)
    assert all(s.arrival.tzinfo is UTC for s in sched)


def test_dst_spring_forward(tt: Timetable) -> None:
    # 2027-03-28: clocks go 02:00 CET -> 03:00 CEST. Service-day origin is noon minus 12 h = 23:00 CET
    # on the 27th, so 01:30 is 00:30 CET, 02:30 is 01:30 CET (not 02:30, which does not exist).
    day = date(2027, 3, 28)
    assert tt.runs_on("TDST", day)
    s = tt.trip_schedule("TDST", day)
    assert s[0].departure == datetime(2027, 3, 27, 23, 30, tzinfo=UTC)
    assert s[0].departure.astimezone(COPENHAGEN).strftime("%H:%M") == "00:30"
    assert s[1].departure == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert s[1].departure.astimezone(COPENHAGEN).strftime("%H:%M %Z") == "01:30 CET"
    assert s[2].departure.astimezone(COPENHAGEN).strftime("%H:%M %Z") == "03:30 CEST"
    # Elapsed times stay what the timetable says: 60 min between each of the first three stops.
    assert s[1].departure - s[0].departure == timedelta(hours=1)
    assert s[2].departure - s[1].departure == timedelta(hours=1)


@pytest.mark.parametrize("day", [date(2026, 10, 25), date(2027, 10, 31)])
def test_dst_fall_back(tt: Timetable, day: date) -> None:
    # Clocks go 03:00 CEST -> 02:00 CET. Origin = noon CET minus 12 h = 01:00 CEST, so 01:30 is 02:30
    # CEST (first pass) and 02:30 is 02:30 CET (second pass), one hour later.
    s = tt.trip_schedule("TDST", day)
    prev = day - timedelta(days=1)
    origin = datetime(prev.year, prev.month, prev.day, 23, 0, tzinfo=UTC)  # 01:00 CEST
    assert s[0].departure == origin + timedelta(minutes=90)
    assert s[0].departure.astimezone(COPENHAGEN).strftime("%H:%M %Z") == "02:30 CEST"
    assert s[1].departure.astimezone(COPENHAGEN).strftime("%H:%M %Z") == "02:30 CET"
    assert s[1].departure - s[0].departure == timedelta(hours=1)
    assert s[2].departure.astimezone(COPENHAGEN).strftime("%H:%M %Z") == "03:30 CET"


def test_normal_day_origin_is_local_midnight(tt: Timetable) -> None:
    s = tt.trip_schedule("TDST", date(2026, 11, 8))
    assert s[0].departure == cph(2026, 11, 8, 1, 30)


def test_calendar_and_exceptions(tt: Timetable) -> None:
    assert tt.services_on(date(2026, 11, 4)) == {"WK", "EX"}  # EX only from calendar_dates
    assert tt.services_on(date(2026, 11, 5)) == {"WK"}
    assert tt.services_on(date(2026, 11, 7)) == {"SA"}
    assert tt.services_on(date(2026, 11, 8)) == {"SU"}
    # Christmas Day 2026 is a Friday: weekday service removed, Sunday service added.
    assert tt.services_on(date(2026, 12, 25)) == {"SU"}
    assert not tt.runs_on("T1", date(2026, 12, 25))
    assert tt.runs_on("TDST", date(2026, 12, 25))
    assert tt.runs_on("T1", date(2026, 12, 24))
    # Outside calendar range.
    assert tt.services_on(date(2028, 1, 3)) == frozenset()
    ids = {t.trip_id for t in tt.trips_on(date(2026, 11, 4))}
    assert ids == {"T1", "T2", "T3", "TN", "TEX", "B1A"}
    assert tt.calendar_range() == (date(2026, 1, 1), date(2027, 12, 31))
    assert date(2026, 12, 25) in tt.exception_dates()


def test_block_trips_in_driving_order(tt: Timetable) -> None:
    assert [t.trip_id for t in tt.block_trips("BLK1", date(2026, 11, 4))] == ["T1", "T2", "T3"]
    assert tt.block_trips("BLK1", date(2026, 11, 7)) == []  # Saturday: block does not run
    assert tt.block_trips("BLK1", date(2026, 12, 25)) == []
    assert tt.blocks_on(date(2026, 11, 4)) == ["BB1", "BLK1"]
    assert tt.trip_start_s("T2") == 6 * 3600 + 45 * 60


def test_departures_from_parent_station_include_platforms(tt: Timetable) -> None:
    deps = tt.departures("HIL", cph(2026, 11, 4, 0, 0), cph(2026, 11, 5, 0, 0))
    got = [(d.departure.astimezone(COPENHAGEN).strftime("%H:%M"), d.trip.trip_id, d.stop_id, d.is_last_stop)
           for d in deps]
    assert got == [("06:00", "T1", "HIL1", False), ("07:20", "T2", "HIL2", True),
                   ("07:30", "T3", "HIL1", False), ("10:00", "B1A", "HIL2", False),
                   ("12:00", "TEX", "HIL2", False), ("23:50", "TN", "HIL1", False)]
    assert deps[0].headsign == "Græsted" and deps[0].route.short_name == "950R"
    assert deps[0].service_day == date(2026, 11, 4)
    only_platform = tt.departures("HIL2", cph(2026, 11, 4, 0, 0), cph(2026, 11, 5, 0, 0))
    assert [d.trip.trip_id for d in only_platform] == ["T2", "B1A", "TEX"]
    no_children = tt.departures("HIL", cph(2026, 11, 4, 0, 0), cph(2026, 11, 5, 0, 0), include_children=False)
    assert no_children == []


def test_departures_window_across_midnight(tt: Timetable) -> None:
    # Friday night -> Saturday: TN (weekday service of Friday) leaves Ålholm at 24:05 = Sat 00:05.
    deps = tt.departures("AAL", cph(2026, 11, 6, 23, 30), cph(2026, 11, 7, 0, 30))
    assert [(d.trip.trip_id, d.service_day) for d in deps] == [("TN", date(2026, 11, 6))]
    assert deps[0].departure == cph(2026, 11, 7, 0, 5)
    assert deps[0].departure_s == 24 * 3600 + 5 * 60
    # Saturday night -> Sunday: the weekday trip does not run on Saturday, so nothing at 00:05 Sunday.
    assert tt.departures("AAL", cph(2026, 11, 7, 23, 30), cph(2026, 11, 8, 0, 30)) == []
    # Christmas Eve (Thursday) night: TN runs (WK on the 24th) even though WK is removed on the 25th.
    deps = tt.departures("AAL", cph(2026, 12, 24, 23, 30), cph(2026, 12, 25, 0, 30))
    assert [(d.trip.trip_id, d.service_day) for d in deps] == [("TN", date(2026, 12, 24))]
    # Half-open window: a departure exactly at the end is not included, exactly at the start is.
    assert tt.departures("AAL", cph(2026, 11, 7, 0, 5), cph(2026, 11, 7, 0, 6))[0].trip.trip_id == "TN"
    assert tt.departures("AAL", cph(2026, 11, 7, 0, 4), cph(2026, 11, 7, 0, 5)) == []


def test_departures_on_dst_night(tt: Timetable) -> None:
    # Fall-back night: Ålholm 02:30 (GTFS) is the second 02:30 wall-clock.
    deps = tt.departures("AAL", cph(2026, 10, 25, 2, 0, fold=1), cph(2026, 10, 25, 3, 0))
    assert [d.trip.trip_id for d in deps] == ["TDST"]
    assert deps[0].departure == cph(2026, 10, 25, 2, 30, fold=1)


def test_departures_rejects_naive_datetimes(tt: Timetable) -> None:
    with pytest.raises(ValueError):
        tt.departures("AAL", datetime(2026, 11, 7, 0, 0), datetime(2026, 11, 7, 1, 0))


def test_untimed_stop_is_interpolated_by_distance(tt: Timetable) -> None:
    st = tt.stop_times("B1A")
    assert st[1].timepoint == 0
    assert st[0].departure_s < st[1].arrival_s < st[2].arrival_s
    assert st[1].arrival_s == st[1].departure_s


def test_shape_and_stop_fallback(tt: Timetable) -> None:
    with_shape = tt.shape("T1")
    assert len(with_shape.points) == 6
    fallback = tt.shape("T2")
    assert fallback.points[0] == (tt.stops["GRA"].lat, tt.stops["GRA"].lon)
    assert len(fallback.points) == 4
    assert tt.shape("T3") is with_shape  # cached per shape


def test_first_last_departures(tt: Timetable) -> None:
    fl = tt.first_last_departures(date(2026, 11, 4))
    assert fl[("R1", 0)] == (6 * 3600, 23 * 3600 + 50 * 60, 4)
    assert fl[("R1", 1)] == (6 * 3600 + 45 * 60, 6 * 3600 + 45 * 60, 1)
    assert fl[("B1", 0)] == (10 * 3600, 10 * 3600, 1)


def test_missing_folder_is_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError) as ei:
        Timetable.load(tmp_path / "nope")
    assert "no such GTFS folder" in str(ei.value)


def test_strict_load_refuses_row_errors(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(MINI, feed)
    with (feed / "stop_times.txt").open("a", encoding="utf-8") as f:
        f.write("T1,06:40:00,06:40:00,NOWHERE,5,0,0,1\n")
    tt = Timetable.load(feed)  # lenient: the bad row is left out, the rest kept
    assert len(tt.stop_times("T1")) == 4
    assert [str(p) for p in tt.problems] == ["stop_times.txt:33: stop_id: trip T1: unknown stop_id 'NOWHERE'"]
    with pytest.raises(FeedError):
        Timetable.load(feed, strict=True)


def test_active_trips(tt: Timetable) -> None:
    got = tt.active_trips(cph(2026, 11, 4, 6, 15))
    assert [(t.trip_id, d) for t, d in got] == [("T1", date(2026, 11, 4))]
    # Between T1's arrival (06:35) and T2's departure (06:45) nothing runs, unless we allow slack.
    assert tt.active_trips(cph(2026, 11, 4, 6, 40)) == []
    slack = tt.active_trips(cph(2026, 11, 4, 6, 40), before_s=600, after_s=600)
    assert [t.trip_id for t, _ in slack] == ["T1", "T2"]
    # Past midnight: Friday's TN is under way on Saturday at 00:10 and belongs to Friday.
    got = tt.active_trips(cph(2026, 11, 7, 0, 10))
    assert [(t.trip_id, d) for t, d in got] == [("TN", date(2026, 11, 6))]
    # DST fall-back night: 02:45 CET (second pass) is inside TDST (01:30 .. 03:45 GTFS).
    assert [t.trip_id for t, _ in tt.active_trips(cph(2026, 10, 25, 2, 45, fold=1))] == ["TDST"]
