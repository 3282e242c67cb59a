"""``python -m demo --out out/demo`` (what ``make demo`` runs): the whole system in simulation.

See :mod:`demo.run` for what runs. Needs Mosquitto (``make sysdeps`` installs it).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--out", type=Path, default=Path("out/demo"), help="where the results go (out/demo)")
    p.add_argument("--frame-step", type=float, default=60.0,
                   help="simulated seconds between countdown frames (default 60)")
    p.add_argument("--keep-work", action="store_true", help="keep the recordings and broker files (temp dir)")


def run(args: argparse.Namespace) -> int:
    from demo.run import print_summary, run_demo

    summary = run_demo(args.out.resolve(), frame_step_s=args.frame_step, keep_work=args.keep_work)
    print_summary(summary)
    return 0
