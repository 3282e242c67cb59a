"""Issue 17: stop_times.txt is read one trip at a time (grouped files), again keeping every row when a
trip's rows are split over the file, and only the selected trips with ``select``; the answers are those
of the whole-file read."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from tests.transit.test_feedcheck import SAMPLE
from transit.feedcheck import check_feed
from transit.timetable import FeedTables, Timetable


def _all_times(tt: Timetable) -> dict[str, list[object]]:
    return {t: [tuple(vars_of(st)) for st in tt.stop_times(t)] for t in tt.trips}


def vars_of(st: object) -> tuple[object, ...]:
    return tuple(getattr(st, k) for k in st.__slots__)  # type: ignore[attr-defined]


def test_shuffled_stop_times_load_the_same_timetable(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(SAMPLE, feed)
    lines = (feed / "stop_times.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    body = lines[1:]
    random.Random(3).shuffle(body)  # trips' rows all over the file, out of sequence order
    (feed / "stop_times.txt").write_text(lines[0] + "".join(body), encoding="utf-8")
    grouped, shuffled = Timetable.load(SAMPLE), Timetable.load(feed)
    assert _all_times(shuffled) == _all_times(grouped)
    assert not shuffled.problems


def test_split_trip_reports_each_problem_once(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(SAMPLE, feed)
    lines = (feed / "stop_times.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    bad = lines[5].split(",")
    bad[1] = "7:7:7"  # a malformed time in the first trip
    lines[5] = ",".join(bad)
    lines.append(lines[2])  # the first trip's row again at the end: not grouped, and a duplicate
    (feed / "stop_times.txt").write_text("".join(lines), encoding="utf-8")
    res = check_feed(feed)
    msgs = [str(p) for p in res.problems]
    assert sum("malformed GTFS time '7:7:7'" in m for m in msgs) == 1, msgs
    assert sum("duplicate stop_sequence" in m for m in msgs) == 1, msgs


def test_select_loads_only_the_chosen_trips_with_the_same_times() -> None:
    full = Timetable.load(SAMPLE)
    chosen = {t for t, trip in full.trips.items() if trip.route_id == "920R"}

    def pick(tables: FeedTables) -> set[str]:
        return {t for t, trip in tables.trips.items() if trip.route_id == "920R"}

    part = Timetable.load(SAMPLE, select=pick)
    assert set(part.trips) == chosen
    assert {t: v for t, v in _all_times(full).items() if t in chosen} == _all_times(part)
    assert not part.problems  # the other trips are not "without stop times"
