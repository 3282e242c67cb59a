"""Property: ``departures()`` equals a brute-force walk over every trip on every service day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, TEST_DATA
from transit.timetable import Timetable

MINI = Timetable.load(TEST_DATA / "gtfs-mini")
SAMPLE_DIR = REPO / "data" / "gtfs" / "lokaltog-sample"
SAMPLE = Timetable.load(SAMPLE_DIR)  # generated and committed (scripts/make_sample_feed.py)


def brute_force(tt: Timetable, stop_ids: set[str], start: datetime, end: datetime) -> list[tuple[str, date, str]]:
    out = []
    d = start.date() - timedelta(days=3)
    while d <= end.date() + timedelta(days=1):
        for trip in tt.trips_on(d):
            for s in tt.trip_schedule(trip.trip_id, d):
                if s.stop_id in stop_ids and start <= s.departure < end:
                    out.append((trip.trip_id, d, s.stop_id))
        d += timedelta(days=1)
    return sorted(out)


def check(tt: Timetable, stop: str, start: datetime, hours: float) -> None:
    end = start + timedelta(hours=hours)
    ids = {stop, *tt.children(stop)}
    got = tt.departures(stop, start, end)
    assert [d.departure for d in got] == sorted(d.departure for d in got)
    assert sorted((d.trip.trip_id, d.service_day, d.stop_id) for d in got) == brute_force(tt, ids, start, end)


# Around the DST changes and Christmas, where service days and wall clocks disagree.
instants = st.sampled_from([datetime(2026, 10, 24, 20, tzinfo=UTC), datetime(2026, 12, 24, 20, tzinfo=UTC),
                            datetime(2027, 3, 27, 20, tzinfo=UTC), datetime(2026, 11, 6, 20, tzinfo=UTC)])


@settings(max_examples=60, deadline=None)
@given(base=instants, offset_min=st.integers(0, 12 * 60), hours=st.floats(0.1, 8),
       stop=st.sampled_from(["HIL", "HIL1", "HIL2", "AAL", "KAG", "GRA", "TRO"]))
def test_mini_departures_match_brute_force(base: datetime, offset_min: int, hours: float, stop: str) -> None:
    check(MINI, stop, base + timedelta(minutes=offset_min), hours)


@settings(max_examples=15, deadline=None)
@given(base=instants, offset_min=st.integers(0, 12 * 60), hours=st.floats(0.1, 3),
       stop=st.sampled_from(["hilleroed", "hilleroed_a", "helsingoer", "naerum", "gilleleje"]))
def test_sample_departures_match_brute_force(base: datetime, offset_min: int, hours: float, stop: str) -> None:
    check(SAMPLE, stop, base + timedelta(minutes=offset_min), hours)


@settings(max_examples=60, deadline=None)
@given(base=instants, offset_min=st.integers(0, 16 * 60), slack=st.integers(0, 1800))
def test_active_trips_match_brute_force(base: datetime, offset_min: int, slack: int) -> None:
    at = base + timedelta(minutes=offset_min)
    want = []
    d = at.date() - timedelta(days=3)
    while d <= at.date() + timedelta(days=1):
        for trip in MINI.trips_on(d):
            s = MINI.trip_schedule(trip.trip_id, d)
            if s[0].departure - timedelta(seconds=slack) <= at <= s[-1].arrival + timedelta(seconds=slack):
                want.append((trip.trip_id, d))
        d += timedelta(days=1)
    got = [(t.trip_id, d) for t, d in MINI.active_trips(at, before_s=slack, after_s=slack)]
    assert sorted(got) == sorted(want)
