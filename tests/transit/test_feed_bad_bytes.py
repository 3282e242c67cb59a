"""Issue 12 item 6: one 0xFF byte in a GTFS file. The loader decoded 8 kB blocks, so the first bad byte
ended the file there: with the byte in row 2,014 of stop_times.txt only 1,647 of 1,849 trips kept stop
times (a warning), feed-check named a line ~100 rows before the real one, and ``onboard run`` with an
assigned trip that lost its rows died with a KeyError traceback. Now each line is decoded on its own:
the problem names file, row and byte offset, every other row is kept, and an assigned trip that cannot
be used is one clear line and exit status 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from transit.errors import FeedError
from transit.feedcheck import check_feed
from transit.timetable import Timetable

SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"


def _damage(feed: Path, name: str, row: int, column: int) -> int:
    """Put 0xFF at ``column`` (0-based) of line ``row`` (1-based) of ``name``; returns its byte offset."""
    path = feed / name
    data = bytearray(path.read_bytes())
    start = 0
    for _ in range(row - 1):
        start = data.index(b"\n", start) + 1
    data[start + column] = 0xFF
    path.write_bytes(bytes(data))
    return start + column


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "feed"))


def test_a_bad_byte_costs_one_row_and_names_row_and_offset(feed: Path) -> None:
    whole = Timetable.load(SAMPLE)
    off = _damage(feed, "stop_times.txt", 2014, 3)
    with pytest.raises(FeedError) as err:
        Timetable.load(feed, strict=True)
    assert f"stop_times.txt:2014: not UTF-8: byte 0xFF at byte offset {off}" in str(err.value)
    tt = Timetable.load(feed)
    assert len(tt.trips) == len(whole.trips) == 1849
    with_times = [t for t in tt.trips if tt.stop_times(t)]
    assert len(with_times) == 1849
    lost = sum(len(whole.stop_times(t)) - len(tt.stop_times(t)) for t in tt.trips)
    assert lost == 1  # only the damaged row


def test_feed_check_names_the_right_line(feed: Path) -> None:
    _damage(feed, "stop_times.txt", 10331, 0)
    problems = [p for p in check_feed(feed).problems if "UTF-8" in p.message]
    assert [(p.file, p.row) for p in problems] == [("stop_times.txt", 10331)]


def test_assigned_trip_lost_to_a_bad_byte_is_one_clear_line(feed: Path, tmp_path: Path) -> None:
    from demo.run import derive_scenario, live_onboard_config, write_yaml

    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    doc = live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                              state_dir=tmp_path / "state")
    trip = doc["assignment"]["trips"][0]
    lines = (feed / "trips.txt").read_bytes().split(b"\n")
    row = next(i for i, ln in enumerate(lines, 1) if trip.encode() in ln)
    _damage(feed, "trips.txt", row, lines[row - 1].index(trip.encode()))
    doc["feed"] = str(feed)
    cfg = write_yaml(doc, tmp_path / "onboard.yaml")
    p = subprocess.run([sys.executable, "-m", "onboard", "run", "--config", str(cfg), "--no-publish"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr[-2000:]
    assert "Traceback" not in p.stderr and "KeyError" not in p.stderr
    assert f"assigned trip {trip} is not in the timetable" in p.stderr
