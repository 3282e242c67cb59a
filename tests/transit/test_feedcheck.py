"""Feed validation: every problem named with file, row and column; ``feed-check`` exit codes."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_DATA
from transit.errors import FeedError
from transit.feedcheck import FeedProblem, check_feed
from transit.timetable import Timetable

MINI = TEST_DATA / "gtfs-mini"
SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"


def copy_feed(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "feed"
    shutil.copytree(src, dst)
    return dst


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def break_feed(feed: Path) -> dict[str, int]:
    """The acceptance breakage: drop stop_times' departure_time column, put ``25:6x:00`` in one row's
    arrival_time and an unknown stop_id in another. Returns the line numbers of the broken rows."""
    path = feed / "stop_times.txt"
    rows = read_rows(path)
    header = rows[0]
    dep = header.index("departure_time")
    rows = [r[:dep] + r[dep + 1:] for r in rows]
    header = rows[0]
    arr, stop = header.index("arrival_time"), header.index("stop_id")
    # Rows are 0-based in the list; line numbers are 1-based with the header on line 1.
    bad_time_idx, bad_stop_idx = 3, len(rows) - 2
    rows[bad_time_idx][arr] = "25:6x:00"
    rows[bad_stop_idx][stop] = "NO_SUCH_STOP"
    write_rows(path, rows)
    return {"time": bad_time_idx + 1, "stop": bad_stop_idx + 1}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transit", "feed-check", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_mini_feed_is_valid() -> None:
    res = check_feed(MINI)
    assert res.valid, [str(p) for p in res.problems]
    assert res.timetable is not None


def test_problem_format() -> None:
    assert str(FeedProblem("stop_times.txt", 14, "arrival_time", "bad")) == "stop_times.txt:14: arrival_time: bad"
    assert str(FeedProblem("stops.txt", None, None, "required file is missing")) == \
        "stops.txt: required file is missing"
    assert str(FeedProblem("trips.txt", None, "trip_id", "odd", "warning")) == "trips.txt: trip_id: odd (warning)"


@pytest.mark.parametrize("feed_dir", [MINI, SAMPLE], ids=["mini", "sample"])
def test_acceptance_broken_copy(tmp_path: Path, feed_dir: Path) -> None:
    feed = copy_feed(feed_dir, tmp_path)
    lines = break_feed(feed)
    res = check_feed(feed)
    got = [str(p) for p in res.problems]
    assert "stop_times.txt:1: departure_time: required column is missing" in got
    assert any(s.startswith(f"stop_times.txt:{lines['time']}: arrival_time: ") and "25:6x:00" in s for s in got), got
    assert any(s.startswith(f"stop_times.txt:{lines['stop']}: stop_id: ") and "unknown stop_id 'NO_SUCH_STOP'" in s
               for s in got), got
    assert not res.valid and res.timetable is None  # a required column missing: unusable
    with pytest.raises(FeedError) as ei:
        Timetable.load(feed)
    assert len(ei.value.problems) == len(res.problems)

    proc = run_cli(str(feed), "--no-summary")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "stop_times.txt:1: departure_time: required column is missing" in proc.stdout
    assert f"stop_times.txt:{lines['time']}: arrival_time:" in proc.stdout
    assert f"stop_times.txt:{lines['stop']}: stop_id:" in proc.stdout
    assert "UNUSABLE" in proc.stdout


def test_cli_valid_feed_summary() -> None:
    proc = run_cli(str(MINI))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Mini Lokaltog" in out
    assert "hand-made sample data" in out and "mini-1" in out
    assert "6 stops/platforms, 1 stations" in out
    # 950R towards Græsted on a Mon-Thu day: T1, T3, TN (TEX runs only on 2026-11-04).
    row = next(line for line in out.splitlines() if line.strip().startswith("950R") and "Græsted  " in line)
    assert "3x 06:00-23:50" in row
    assert "VALID: 0 error(s)" in out


def test_cli_missing_path() -> None:
    proc = run_cli("/nonexistent/feed")
    assert proc.returncode == 2
    assert "no such GTFS folder or zip file" in proc.stdout


def _edit(feed: Path, name: str, fn: object) -> None:
    path = feed / name
    rows = read_rows(path)
    assert callable(fn)
    fn(rows)
    write_rows(path, rows)


def test_collects_all_reference_and_row_problems(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)

    def trips(rows: list[list[str]]) -> None:
        rows.append(["NOROUTE", "WK", "TX1", "x", "0", "", ""])      # line 10
        rows.append(["R1", "NOSERVICE", "TX2", "x", "0", "", ""])     # line 11
        rows.append(["R1", "WK", "T1", "dup", "0", "", ""])           # line 12
        rows.append(["R1", "WK", "TX3", "x", "0", "", "NOSHAPE"])     # line 13
        rows.append(["R1", "WK", "TBACK", "x", "1", "", ""])          # line 14

    def stop_times(rows: list[list[str]]) -> None:
        rows.append(["TBACK", "08:00:00", "08:00:00", "HIL1", "1", "0", "0", "1"])   # 33
        rows.append(["TBACK", "07:50:00", "07:50:00", "AAL", "2", "0", "0", "1"])    # 34 backwards
        rows.append(["GHOST", "08:00:00", "08:00:00", "HIL1", "1", "0", "0", "1"])   # 35
        rows.append(["GHOST", "08:10:00", "08:10:00", "AAL", "2", "0", "0", "1"])    # 36 (once only)
        rows.append(["TX3", "09:00:00", "08:59:00", "HIL1", "1", "0", "0", "1"])     # 37 dep < arr
        rows.append(["TX3", "09:10:00", "09:10:00", "HIL", "2", "0", "0", "1"])      # 38 station

    def stops(rows: list[list[str]]) -> None:
        rows.append(["Bad", "BAD", "95.1", "12.0", "0", "", "", "", ""])              # 9
        rows.append(["Zero", "ZERO", "0", "0", "0", "", "", "", ""])                  # 10
        rows.append(["Dup", "AAL", "55.9", "12.2", "0", "", "", "", ""])              # 11
        rows.append(["Orphan", "ORP", "55.9", "12.2", "0", "NOPARENT", "", "", ""])   # 12
        rows.append(["Child", "CHI", "55.9", "12.2", "0", "AAL", "", "", ""])         # 13

    def calendar_dates(rows: list[list[str]]) -> None:
        rows.append(["WK", "2026-12-31", "2"])  # 5
        rows.append(["WK", "20261231", "3"])    # 6

    _edit(feed, "trips.txt", trips)
    _edit(feed, "stop_times.txt", stop_times)
    _edit(feed, "stops.txt", stops)
    _edit(feed, "calendar_dates.txt", calendar_dates)
    res = check_feed(feed)
    got = {str(p) for p in res.problems}
    expected = {
        "trips.txt:10: route_id: trip TX1: unknown route_id 'NOROUTE'",
        "trips.txt:11: service_id: trip TX2: unknown service_id 'NOSERVICE'",
        "trips.txt:12: trip_id: duplicate trip_id 'T1'",
        "trips.txt:13: shape_id: trip TX3: unknown shape_id 'NOSHAPE'",
        "stop_times.txt:34: arrival_time: trip TBACK: time goes backwards at stop_sequence 2 (07:50:00 after 08:00:00)",
        "stop_times.txt:35: trip_id: unknown trip_id 'GHOST'",
        "stop_times.txt:37: departure_time: trip TX3: departure 08:59:00 before arrival 09:00:00 at stop_sequence 1",
        "stop_times.txt:38: stop_id: trip TX3: stop_id 'HIL' is not a stop or platform (location_type 1)",
        "stops.txt:9: stop_lat: stop BAD: coordinates out of range: 95.1, 12.0",
        "stops.txt:10: stop_lat: stop ZERO: coordinates are 0, 0 (missing position)",
        "stops.txt:11: stop_id: duplicate stop_id 'AAL'",
        "stops.txt:12: parent_station: stop ORP: unknown parent_station 'NOPARENT'",
        "stops.txt:13: parent_station: stop CHI: parent_station 'AAL' is not a station (location_type 1)",
        "calendar_dates.txt:5: date: malformed date '2026-12-31' (expected YYYYMMDD)",
        "calendar_dates.txt:6: exception_type: expected one of 1, 2, got 3",
    }
    assert expected <= got, sorted(expected - got)
    assert not any("stop_times.txt:36" in s for s in got)  # an unknown trip is named once
    assert not res.valid
    # Usable despite the errors: good data kept, bad trips left out.
    tt = res.timetable
    assert tt is not None
    assert "TBACK" not in tt.trips and "TX1" not in tt.trips and "T1" in tt.trips
    assert tt.trips["T1"].headsign == "Græsted"  # the first of the duplicates wins
    with pytest.raises(FeedError):
        Timetable.load(feed, strict=True)


def test_missing_required_file_and_empty_file(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    (feed / "routes.txt").unlink()
    (feed / "agency.txt").write_text("", encoding="utf-8")
    res = check_feed(feed)
    got = [str(p) for p in res.problems]
    assert "routes.txt: required file is missing" in got
    assert "agency.txt: file is empty (no header line)" in got
    assert res.timetable is None


def test_no_calendar_at_all(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    (feed / "calendar.txt").unlink()
    (feed / "calendar_dates.txt").unlink()
    got = [str(p) for p in check_feed(feed).problems]
    assert got[0] == ("calendar.txt: required file is missing (a feed needs calendar.txt or "
                      "calendar_dates.txt)")


def test_warnings_do_not_make_a_feed_invalid(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    with (feed / "stops.txt").open("a", encoding="utf-8") as f:
        f.write("Unused,UNUSED,55.95,12.30,0,,,,\n")
    res = check_feed(feed)
    assert [str(p) for p in res.problems] == [
        "stops.txt: stop_id: stop UNUSED (Unused) is not served by any trip (warning)"]
    assert res.valid


def test_implausible_speed_between_stops(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    text = (feed / "stops.txt").read_text(encoding="utf-8")
    # Move Græsted 300 km north: 15 min from Kagerup would need 1200 km/h.
    (feed / "stops.txt").write_text(text.replace("56.06500,12.28000", "58.76500,12.28000"), encoding="utf-8")
    res = check_feed(feed)
    assert any("faster than 250 km/h" in str(p) and "KAG to GRA" in str(p) for p in res.problems)


def test_malformed_csv_quoting_is_reported(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    buf = io.StringIO()
    buf.write((feed / "routes.txt").read_text(encoding="utf-8"))
    buf.write('R9,MINI,"99,Broken,3,\n')  # quote never closed: swallows the rest of the file
    (feed / "routes.txt").write_text(buf.getvalue(), encoding="utf-8")
    res = check_feed(feed)
    # csv treats the unterminated quote as running to the end of the file: the row is malformed
    # (route_type is missing), not silently accepted.
    assert any(p.file == "routes.txt" and p.row == 4 for p in res.problems), [str(p) for p in res.problems]


def test_cli_sample_feed_is_valid_and_lists_all_line_variants() -> None:
    proc = run_cli(str(SAMPLE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {row.split()[0] for row in proc.stdout.splitlines()
             if row.startswith("  ") and len(row.split()) > 1 and row.split()[0][:1].isdigit()}
    assert {"910", "920R", "920E", "930R", "940R", "950R", "960R"} <= lines
    assert "sample" in proc.stdout.lower()  # feed_info says it is sample data
    assert "Mon-Thu" in proc.stdout and "Sunday" in proc.stdout


def test_frequencies_are_reported_as_unsupported(tmp_path: Path) -> None:
    feed = copy_feed(MINI, tmp_path)
    (feed / "frequencies.txt").write_text("trip_id,start_time,end_time,headway_secs\nT1,06:00:00,09:00:00,600\n",
                                          encoding="utf-8")
    res = check_feed(feed)
    assert [str(p) for p in res.problems] == [
        "frequencies.txt: frequency-based service is not supported: trips run only at the times listed in "
        "stop_times.txt (warning)"]
    assert res.valid
