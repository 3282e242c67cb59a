"""Simulator speed: a whole 920R trip recorded (all five files) must take under 30 s here."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parent.parent


@benchmark("sim_record")
def sim_record() -> list[Metric]:
    from sim_bus.record import record
    from sim_bus.scenario import load_scenario

    sc = load_scenario(REPO / "data" / "scenarios" / "920R-weekday.yaml")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.monotonic()
        sim = record(sc.file, Path(d), seed=1, scenario=sc, show_progress=False)
        elapsed = time.monotonic() - t0
        sizes = {p.name: p.stat().st_size for p in Path(d).iterdir()}
    simulated = sim.t_end - sim.t_start
    return [at_most("sim_record_920R_s", round(elapsed, 2), 30.0, "s",
                    simulated_s=round(simulated, 1), realtime_factor=round(simulated / elapsed, 1),
                    nmea_lines=len(sim.nmea.lines), gpio_edges=len(sim.gpio), bytes=sizes)]
