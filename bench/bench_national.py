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


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_to_started(cmd: list[str], marker: str, log: Path, *, timeout: float = 300.0) -> tuple[float, float]:
    """Seconds from spawning a service to its ``started`` log line, and its peak RSS (VmHWM) then; the
    service is stopped afterwards."""
    t0 = time.perf_counter()
    with log.open("wb") as out:
        p = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        while time.perf_counter() - t0 < timeout:
            if marker in log.read_text(errors="replace"):
                took = time.perf_counter() - t0
                return took, _hwm_mb(p.pid)
            if p.poll() is not None:
                raise RuntimeError(f"{cmd[2:4]} exited: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)
        raise RuntimeError(f"{cmd[2:4]} did not start in {timeout} s")
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def unit_configs(work: Path, feed: Path) -> tuple[Path, Path]:
    """An onboard unit of Frederiksværkbanen and the Hillerød St. display (the repository's examples),
    with their state in ``work``, no hardware (a GNSS port that does not exist, a PNG panel), feed ``feed``."""
    import yaml

    ops = REPO / "data" / "operators" / "lokaltog.yaml"
    onboard = {"unit": {"id": "onboard-2091", "vehicle": "2091", "operator": str(ops),
                        "state_dir": str(work / "onboard-state"), "timezone": "Europe/Copenhagen"},
               "feed": str(feed), "vehicle": {"type": "lint41"}, "assignment": "auto",
               "gnss": {"backend": "serial", "url": str(work / "no-gnss")}}
    station = yaml.safe_load((REPO / "data" / "config" / "station-hilleroed.yaml").read_text(encoding="utf-8"))
    station["unit"].update(operator=str(ops), state_dir=str(work / "station-state"))
    station["feed"] = str(feed)
    station["sink"] = {"backend": "png", "path": str(work / "panel.png"), "width": 256, "height": 64}
    station.pop("web", None)
    a, b = work / f"onboard-{feed.stem}.yaml", work / f"station-{feed.stem}.yaml"
    a.write_text(yaml.safe_dump(onboard), encoding="utf-8")
    b.write_text(yaml.safe_dump(station), encoding="utf-8")
    return a, b


def _services(work: Path, feed: Path) -> dict[str, tuple[float, float]]:
    ob, st = unit_configs(work, feed)
    py = sys.executable
    return {
        "onboard": start_to_started([py, "-m", "onboard", "run", "--config", str(ob), "--clock", "gnss",
                                     "--no-publish"], ") started:", work / "onboard.log"),
        "station": start_to_started([py, "-m", "station", "run", "--config", str(st), "--clock", "data",
                                     "--broker", "mqtt://127.0.0.1:1"], ") started:", work / "station.log"),
    }


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
        # one slice per unit, as the office cuts them (two weeks from a day inside the feed's calendar)
        builds = {}
        slices = {}
        for kind in ("onboard", "station"):
            cfg = unit_configs(work, feed)[0 if kind == "onboard" else 1]
            slices[kind] = work / f"{kind}.slice"
            b_s, b_mb, b_rc, b_out = run_child([py, "-m", "central", "slice", str(feed), "--for", kind, str(cfg),
                                                "-o", str(slices[kind]), "--from", "2026-12-01", "--days", "14"])
            if b_rc != 0:
                raise RuntimeError(f"slice for {kind} failed: {b_out[-2000:]}")
            builds[kind] = (b_s, b_mb, b_out.strip().splitlines()[-1][-160:])
        with_slice = {k: _services(work, slices[k])[k] for k in ("onboard", "station")}
        with_feed = _services(work, feed)
        ref = {"reference_csv_reader_s": round(csv_s, 2), "reference_csv_reader_mb": round(csv_mb, 1),
               "full_load_s": round(full_s, 2), "full_load_mb": round(full_mb, 1)}
        out_m = []
        for kind in ("onboard", "station"):
            t_s, rss = with_slice[kind]
            f_s, f_rss = with_feed[kind]
            out_m += [
                at_most(f"national_{kind}_start_s", round(t_s, 2), 1.5, "s", slice_mb=round(
                    slices[kind].stat().st_size / 1e6, 2), reference_full_feed_s=round(f_s, 2),
                    ratio_to_full_feed=round(t_s / f_s, 3), measured="spawn to the 'started' log line"),
                at_most(f"national_{kind}_rss_mb", round(rss, 1), 120.0, "MB", reference_full_feed_mb=round(f_rss, 1),
                        ratio_to_full_feed=round(rss / f_rss, 3), measured="VmHWM at 'started'"),
            ]
        b_s, b_mb, b_out = max(builds.values())
        out_m += [
            at_most("national_slice_build_s", round(b_s, 2), 30.0, "s", slowest=b_out,
                    **{f"{k}_s": round(v[0], 2) for k, v in builds.items()},
                    ratio_to_full_load=round(b_s / full_s, 2)),
            at_most("national_slice_build_rss_mb", round(max(v[1] for v in builds.values()), 1), 400.0, "MB",
                    **{f"{k}_mb": round(v[1], 1) for k, v in builds.items()},
                    ratio_to_full_load=round(max(v[1] for v in builds.values()) / full_mb, 2)),
        ]
        return out_m + [
            at_most("national_feed_check_s", round(chk_s, 2), 10.0, "s", exit=rc, verdict=verdict[-80:],
                    ratio_to_csv_reader=round(chk_s / csv_s, 2), **size, **ref),
            at_most("national_feed_check_rss_mb", round(chk_mb, 1), 400.0, "MB",
                    ratio_to_csv_reader=round(chk_mb / csv_mb, 2), **ref),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
