"""Timetable benchmarks: how long the sample feed takes to load and how much memory the load needs.

The onboard and station units load the feed at start-up on a Raspberry Pi, so the target here (a
laptop/CI core) is a third of the "few seconds" a Pi may take.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.registry import Metric, at_most, benchmark
from transit.timetable import Timetable

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "gtfs" / "lokaltog-sample"


@benchmark("timetable")
def bench_timetable() -> list[Metric]:
    # Best of three for time (the first run pays for imports and disk cache), memory measured apart:
    # tracemalloc slows allocation down several times.
    times = []
    tt = None
    for _ in range(3):
        gc.collect()
        t0 = time.perf_counter()
        tt = Timetable.load(SAMPLE)
        times.append(time.perf_counter() - t0)
    assert tt is not None
    stop_times = sum(len(tt.stop_times(t)) for t in tt.trips)
    del tt
    gc.collect()
    tracemalloc.start()
    tt = Timetable.load(SAMPLE)
    _, peak = tracemalloc.get_traced_memory()
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # Departure-board query: a busy station, 2 hours ahead, as the stop display asks every few seconds.
    start = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    tt.departures("hilleroed", start, start + timedelta(hours=2))  # builds the stop index once
    n = 200
    t0 = time.perf_counter()
    for i in range(n):
        s = start + timedelta(minutes=i)
        tt.departures("hilleroed", s, s + timedelta(hours=2))
    dep_ms = (time.perf_counter() - t0) / n * 1000
    return [
        at_most("feed_load_s", round(min(times), 3), 3.0, "s", trips=len(tt.trips), stop_times=stop_times,
                runs=[round(t, 3) for t in times]),
        at_most("feed_load_mb", round(peak / 1e6, 1), 50.0, "MB", retained_mb=round(kept / 1e6, 1)),
        at_most("departures_query_ms", round(dep_ms, 2), 50.0, "ms", stop="hilleroed", window_h=2),
    ]
