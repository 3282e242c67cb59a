"""``python -m sim_bus month --operator OP.yaml --month YYYY-MM --out DIR``: a synthetic fleet month of
punctuality records (``sim_bus.month``), one ``unit-<veh>.jsonl`` per vehicle, for demonstrating the
month report (``python -m central report punctuality DIR/unit-*.jsonl``)."""

from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from pathlib import Path

from transit.cli import add_output_arguments
from transit.errors import ConfigError

EXAMPLES = """\
rettid-sim month --operator data/operators/lokaltog.yaml --month 2026-11 -o out/month
rettid-central report punctuality out/month/unit-*.jsonl --month 2026-11 --format html -o month.html
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--operator", type=Path, required=True, help="operator file (its GTFS feed and policy)")
    p.add_argument("--month", required=True, help="calendar month YYYY-MM")
    add_output_arguments(p, required=True, help="folder for the units' logs (unit-<veh>.jsonl)")
    p.add_argument("--seed", type=int, default=2611, help="random seed (same seed, same month)")


def run(args: argparse.Namespace) -> int:
    from sim_bus.month import MonthModel, synthetic_month, write_logs
    from transit.operator import load_operator
    from transit.timetable import Timetable

    m = re.match(r"^(\d{4})-(0[1-9]|1[0-2])$", args.month or "")
    if not m:
        raise ConfigError(f"expected a month as YYYY-MM, got {args.month!r}", key="--month")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    last = date(first.year + (first.month == 12), first.month % 12 + 1, 1) - timedelta(days=1)
    op = load_operator(args.operator)
    records, c = synthetic_month(Timetable.load(op.feed), op, first, last, MonthModel(seed=args.seed))
    paths = write_logs(records, args.out)
    print(f"{args.out}: {len(paths)} unit logs, {c.records} records of {c.trips} trips ({c.measured} counted "
          f"measurements, {c.late} late; {c.not_observed} not observed, {c.cancelled_trips} trips cancelled, "
          f"{c.lost} registrations lost on the way)")
    return 0
