"""``python -m central report occupancy|punctuality|school ...``: the contract reports.

``occupancy`` is here (``central.reports.occupancy``); ``punctuality`` is ``central.reports.punctuality``'s
own ``add_arguments``/``run``.
"""

from __future__ import annotations

import argparse
import importlib
from datetime import date
from pathlib import Path

from transit.cli import add_output_arguments, open_output, sub_parser
from transit.errors import ConfigError

EXAMPLES = """\
rettid-central report punctuality --db sqlite:///var/lib/rettid/central.sqlite --month 2026-11 --format html -o nov.html
rettid-central report occupancy unit-*/events.jsonl --operator data/operators/lokaltog.yaml -o occ.md
"""
OCCUPANCY_EXAMPLES = """\
rettid-central report occupancy unit-*/events.jsonl --operator data/operators/lokaltog.yaml --format html -o occ.html
"""
SCHOOL_EXAMPLES = """\
rettid-central report school unit-*/events.jsonl --month 2026-11 --format html -o skolebus-2026-11.html
rettid-central report school unit-*/events.jsonl --month 2026-11 --format csv-da -o skolebus-2026-11.csv
"""
PUNCTUALITY_EXAMPLES = """\
rettid-central report punctuality --db sqlite:///var/lib/rettid/central.sqlite --month 2026-11 --format html -o nov.html
rettid-central report punctuality unit-*/events.jsonl --month 2026-11 --format csv-da --table late -o late.csv
rettid-central report punctuality --db postgresql://rettid@db/rettid --db-password-file /etc/rettid/db-password \\
    --month 2026-11 --format png -o nov.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="report", metavar="REPORT")
    sub.required = True
    occ = sub_parser(sub, "occupancy", help="average occupancy per line, rush hours vs other, vs the limits",
                     examples=OCCUPANCY_EXAMPLES)
    occ.add_argument("events", nargs="+", help="events.jsonl file(s) with occupancy records")
    occ.add_argument("--format", choices=("md", "csv", "html"), default="md", help="output format (md)")
    add_output_arguments(occ)
    occ.add_argument("--operator", help="operator file: school holidays, rush-hour windows and limits")
    occ.add_argument("--school-holidays", action="append", default=[], metavar="FIRST:LAST",
                     help="a school holiday period (YYYY-MM-DD:YYYY-MM-DD), repeatable")
    pun = sub_parser(sub, "punctuality", help="the contract month: regularity per strækning, lists, train-km",
                     examples=PUNCTUALITY_EXAMPLES)
    importlib.import_module("central.reports.punctuality").add_arguments(pun)
    sch = sub_parser(sub, "school", help="school buses: arrival at each school against its bell, ride time "
                     "(per school and route, runs outside the window)", examples=SCHOOL_EXAMPLES)
    sch.add_argument("events", nargs="+", help="events.jsonl file(s) with school_arrival/ride_time records")
    sch.add_argument("--month", required=True, help="calendar month YYYY-MM (by the runs' operating day)")
    sch.add_argument("--format", choices=("md", "html", "csv", "csv-da"), default="md",
                     help="md (terminal), html (Danish), csv, csv-da (Danish spreadsheet: ; and decimal comma)")
    add_output_arguments(sch)


def _periods(values: list[str]) -> tuple[tuple[date, date], ...]:
    out = []
    for v in values:
        try:
            a, b = v.split(":")
            out.append((date.fromisoformat(a), date.fromisoformat(b)))
        except ValueError:
            raise ConfigError(f"expected FIRST:LAST dates, got {v!r}", key="--school-holidays") from None
    return tuple(out)


def run(args: argparse.Namespace) -> int:
    if args.report == "punctuality":
        return int(importlib.import_module("central.reports.punctuality").run(args))
    if args.report == "school":
        return _school(args)
    from central.reports.occupancy import RENDERERS, Criteria, build_report, read_records

    holidays = _periods(args.school_holidays)
    criteria = Criteria(school_holidays=holidays)
    if args.operator:
        from transit.operator import load_operator

        op = load_operator(args.operator)
        criteria = Criteria(op.occupancy.rush_hours, op.occupancy.rush_limit_pct, op.occupancy.other_limit_pct,
                            tuple(op.school_holidays) + holidays)
    for f in args.events:
        if not Path(f).is_file():
            raise ConfigError("no such events file", file=f)
    skipped: dict[str, int] = {}
    rep = build_report(read_records(args.events, skipped), criteria, skipped)
    text = RENDERERS[args.format](rep)
    with open_output(args) as out:
        out.write(text)
    return 0


def _school(args: argparse.Namespace) -> int:
    import re

    from central.reports.school import RENDERERS as SCHOOL
    from central.reports.school import read_report

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        raise ConfigError(f"expected a month YYYY-MM, got {args.month!r}", key="--month")
    for f in args.events:
        if not Path(f).is_file():
            raise ConfigError("no such events file", file=f)
    rep = read_report(args.events, args.month)
    with open_output(args) as out:
        out.write(SCHOOL[args.format](rep))
    return 0
