"""A national timetable on a unit (issue 17): the bench writes a synthetic national-size GTFS feed
(:mod:`bench.national_feed`: 1.5 M stop times, 50 k stops, 134 k trips) into a temporary folder and
measures the real commands on it as child processes — wall time from start to exit (or to the
service's "started" line) and peak RSS from ``os.wait4``'s rusage of that child.

Reference in the same run: a bare ``csv.reader`` pass over every file of the same feed (the least any
Python reader of the CSV does, no checks, nothing kept) and the full ``Timetable.load`` a workstation does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parent.parent

_CSV_PASS = """
import csv, sys
from pathlib import Path
n = 0
for f in sorted(Path(sys.argv[1]).glob('*.txt')):
    with f.open(encoding='utf-8', newline='') as fh:
        for row in csv.reader(fh):
            n += 1
print(n)
"""
_FULL_LOAD = """
import sys
from transit.timetable import Timetable
tt = Timetable.load(sys.argv[1])
print(len(tt.trips))
"""


def run_child(cmd: list[str], *, timeout: float = 600.0) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit status, output) of one child process, RSS from its own rusage."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.stdout is not None
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return wall, usage.ru_maxrss / 1024, p.returncode, out.decode(errors="replace")


def national_feed(work: Path) -> tuple[Path, dict[str, float]]:
    from bench.national_feed import write_national_feed

    feed = work / "national"
    t0 = time.perf_counter()
    size = write_national_feed(feed)
    return feed, {"stop_times": size.stop_times, "stops": size.stops, "trips": size.trips,
                  "routes": size.routes, "generate_s": round(time.perf_counter() - t0, 2)}


@benchmark("national")
def bench_national() -> list[Metric]:
    work = Path(tempfile.mkdtemp(prefix="rettid-bench-national-"))
    try:
        feed, size = national_feed(work)
        py = sys.executable
        csv_s, csv_mb, _, _ = run_child([py, "-c", _CSV_PASS, str(feed)])
        full_s, full_mb, rc_full, out_full = run_child([py, "-c", _FULL_LOAD, str(feed)])
        if rc_full != 0:
            raise RuntimeError(f"full load failed: {out_full[-2000:]}")
        chk_s, chk_mb, rc, out = run_child([py, "-m", "transit", "feed-check", str(feed)])
        verdict = out.strip().splitlines()[-1] if out.strip() else ""
        ref = {"reference_csv_reader_s": round(csv_s, 2), "reference_csv_reader_mb": round(csv_mb, 1),
               "full_load_s": round(full_s, 2), "full_load_mb": round(full_mb, 1)}
        return [
            at_most("national_feed_check_s", round(chk_s, 2), 10.0, "s", exit=rc, verdict=verdict[-80:],
                    ratio_to_csv_reader=round(chk_s / csv_s, 2), **size, **ref),
            at_most("national_feed_check_rss_mb", round(chk_mb, 1), 400.0, "MB",
                    ratio_to_csv_reader=round(chk_mb / csv_mb, 2), **ref),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
