"""Rough edges of issue 14 around feeds, each reproduced first:

- a Latin-1 feed buried its real cause under thousands of follow-on errors (unknown stop ids because
  stops.txt could not be read): the encoding is now said once and the check stops;
- feed-check and ``Timetable.load`` disagreed on what is an error (an implausible speed between two
  stops made feed-check say INVALID while ``Timetable.load(strict=True)`` accepted the feed);
- the summary's representative ("typical") days must never be public holidays.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.transit.test_feedcheck import MINI, SAMPLE, copy_feed, read_rows, write_rows
from transit.cmd_feed_check import representative_days
from transit.errors import FeedError
from transit.feedcheck import check_feed
from transit.holidays import is_public_holiday
from transit.timetable import Timetable


def _latin1(feed: Path) -> None:
    for f in feed.glob("*.txt"):
        f.write_bytes(f.read_text(encoding="utf-8").encode("cp1252", errors="replace"))


def test_latin1_feed_reports_the_encoding_once_and_stops(tmp_path: Path) -> None:
    feed = copy_feed(SAMPLE, tmp_path)
    _latin1(feed)
    stops = (feed / "stops.txt").read_bytes()
    first_bad_line = stops[:next(i for i, b in enumerate(stops) if b >= 0x80)].count(b"\n") + 1
    res = check_feed(feed)
    assert res.timetable is None and not res.valid
    assert len(res.problems) == 1, [str(p) for p in res.problems[:5]]
    p = res.problems[0]
    assert (p.file, p.row) == ("agency.txt", 2) or (p.file, p.row) == ("stops.txt", first_bad_line), str(p)
    assert "UTF-8" in p.message and "Windows-1252" in p.message and "iconv" in p.message
    with pytest.raises(FeedError) as exc:
        Timetable.load(feed)
    assert len(exc.value.problems) == 1
    out = subprocess.run([sys.executable, "-m", "transit", "feed-check", str(feed), "--no-summary"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2
    assert out.stdout.count("\n") < 6, out.stdout  # one problem and the verdict, not 26,890 lines


def test_latin1_in_a_zip_too(tmp_path: Path) -> None:
    import zipfile

    feed = copy_feed(MINI, tmp_path)
    rows = read_rows(feed / "stops.txt")
    rows[1][rows[0].index("stop_name")] = "Hillerød St."
    write_rows(feed / "stops.txt", rows)
    _latin1(feed)
    z = tmp_path / "feed.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(feed.glob("*.txt")):
            zf.write(f, f.name)
    res = check_feed(z)
    assert len(res.problems) == 1 and res.problems[0].file == "stops.txt" and res.problems[0].row == 2


def _implausible_speed(feed: Path) -> None:
    """Move one stop 300 km away: trips reaching it in minutes run faster than 250 km/h."""
    rows = read_rows(feed / "stops.txt")
    h = rows[0]
    used = {r[read_rows(feed / "stop_times.txt")[0].index("stop_id")] for r in read_rows(feed / "stop_times.txt")[1:]}
    for r in rows[1:]:
        if r[h.index("stop_id")] in used:
            r[h.index("stop_lat")] = str(float(r[h.index("stop_lat")]) + 3.0)
            break
    write_rows(feed / "stops.txt", rows)


def _bad_row(feed: Path) -> None:
    rows = read_rows(feed / "stop_times.txt")
    rows[2][rows[0].index("arrival_time")] = "25:6x:00"
    write_rows(feed / "stop_times.txt", rows)


def _no_trips_file(feed: Path) -> None:
    (feed / "trips.txt").unlink()


@pytest.mark.parametrize("breakage", [None, _implausible_speed, _bad_row, _no_trips_file],
                         ids=["valid", "implausible_speed", "bad_row", "missing_file"])
def test_feed_check_and_timetable_load_agree(tmp_path: Path, breakage) -> None:  # type: ignore[no-untyped-def]
    feed = copy_feed(MINI, tmp_path)
    if breakage is not None:
        breakage(feed)
    res = check_feed(feed)
    try:
        Timetable.load(feed, strict=True)
        strict_ok = True
    except FeedError as exc:
        strict_ok = False
        assert [str(p) for p in exc.problems] == [str(p) for p in res.problems]
    assert strict_ok == res.valid
    try:
        Timetable.load(feed)
        usable = True
    except FeedError:
        usable = False
    assert usable == (res.timetable is not None)
    if breakage is _implausible_speed:
        assert not res.valid and usable  # an error the service can live with, the rollout cannot


def test_representative_days_skip_public_holidays(tmp_path: Path) -> None:
    # a calendar from Christmas Eve: Friday 25 Dec and Friday 1 Jan are holidays, Saturday 26 Dec too
    feed = copy_feed(SAMPLE, tmp_path)
    rows = read_rows(feed / "calendar.txt")
    h = rows[0]
    for r in rows[1:]:
        r[h.index("start_date")] = "20261224"
    write_rows(feed / "calendar.txt", rows)
    tt = Timetable.load(feed)
    days = representative_days(tt)
    assert set(days) == {"Mon-Thu", "Friday", "Saturday", "Sunday"}
    for name, d in days.items():
        assert not is_public_holiday(d), (name, d)
        assert d not in tt.exception_dates(), (name, d)
    assert days["Friday"] == date(2027, 1, 8) and days["Saturday"] == date(2027, 1, 2)
