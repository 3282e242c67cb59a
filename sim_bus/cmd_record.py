"""``rettid-sim record SCENARIO --seed N -o DIR``: simulate a scenario into a recording."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim_bus.record import FILES, record
from sim_bus.scenario import load_scenario

EXAMPLES = """\
rettid-sim record data/scenarios/920R-weekday.yaml -o out/rec
rettid-sim record data/scenarios/910-rush.yaml --seed 7 -o out/rec-910
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML (data/scenarios/*.yaml)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("-o", "--out", required=True, type=Path, help="output directory (created if missing)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    sc = load_scenario(args.scenario)
    sim = record(args.scenario, args.out, seed=args.seed, scenario=sc, show_progress=not args.no_progress)
    print(f"recorded {sim.scenario.name} seed {sim.scenario.seed}: {len(sim.plans)} trip(s), "
          f"{sim.t_end - sim.t_start:.0f} s simulated in {time.monotonic() - t0:.1f} s -> "
          f"{args.out}/{{{','.join(FILES)}}}")
    return 0
