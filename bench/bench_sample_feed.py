"""Sample network benchmarks: feed size, generation time, operator-file load with the timetable check.

The feed ships in the repo and on every unit, so it must stay a few MB; the operator file is validated
against the timetable at every start-up of an onboard or station unit.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from bench.registry import Metric, at_most, benchmark
from transit.operator import load_operator
from transit.timetable import Timetable

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"
SCRIPT = REPO / "scripts" / "make_sample_feed.py"
OPERATORS = REPO / "data" / "operators"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_feed", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need their module registered while it loads
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    return mod


@benchmark("sample_feed")
def bench_sample_feed() -> list[Metric]:
    size = sum(p.stat().st_size for p in SAMPLE.glob("*.txt"))
    gen = _generator()
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            t0 = time.perf_counter()
            gen.write_feed(Path(tmp))
            best = min(best, time.perf_counter() - t0)
    tt = Timetable.load(SAMPLE)
    checks = []
    for _ in range(3):
        t0 = time.perf_counter()
        for f in ("lokaltog.yaml", "movia-rbus.yaml"):
            load_operator(OPERATORS / f, tt)
        checks.append(time.perf_counter() - t0)
    return [
        at_most("sample_feed.size", round(size / 1e6, 3), 4.0, "MB", trips=len(tt.trips)),
        at_most("sample_feed.generate_s", round(best, 3), 5.0, "s"),
        at_most("operator.load_with_timetable_check_ms", round(min(checks) / 2 * 1000, 1), 500.0, "ms",
                note="per operator file, lines and stop ids checked against the sample feed"),
    ]
