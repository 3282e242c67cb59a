"""``python -m central report punctuality [LOG.jsonl... | --db URL] --month YYYY-MM [--format ...]``.

The contract month (``central.reports.month``): regularity per strækning from the timetable, with the
operator's policy for unmeasured registrations printed in the report, drill-downs, coverage, the
deadline, bonus/penalty, the lists the operator hands in, and train-km production. Inputs are the
collector's database or units' own logs; bad input is one clear error line and exit 2, never a silently
wrong figure (a bad ``--month``, a record missing fields the report counts on, a file that is not JSON
Lines).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from transit.cli import add_output_arguments, open_output, output_from_args
from transit.errors import ConfigError
from transit.operator import bonus_pct, round_pct

DEFAULT_POINTS = ((86.0, -2.3), (93.0, 0.0), (100.0, 2.3))
OPERATORS = Path(__file__).resolve().parent.parent.parent / "data" / "operators"
FORMATS = ("md", "html", "csv", "csv-da", "json", "png")


def bonus_for(regularity_pct: float, points: Any = DEFAULT_POINTS) -> float:
    """Bonus (+) / penalty (-) % of the monthly fee, shown to one decimal as the contract does."""
    return round_pct(bonus_pct(regularity_pct, points))


def add_arguments(p: argparse.ArgumentParser) -> None:
    from central.reports.render import TABLES

    p.add_argument("logs", nargs="*", type=Path, help="units' events.jsonl / punctuality.jsonl file(s)")
    p.add_argument("--db", metavar="URL", help="the collector's record store instead of log files "
                   "(sqlite:///PATH or postgresql://USER@HOST/DB; password from --db-password-file or PGPASSWORD)")
    p.add_argument("--db-password-file", help="PostgreSQL password file")
    p.add_argument("--month", help="calendar month YYYY-MM (default: the month of the logs' records)")
    p.add_argument("--operator", type=Path, help="operator file (default data/operators/<oper>.yaml of the records)")
    p.add_argument("--format", choices=FORMATS, default="md",
                   help="md (terminal), html (Danish, for print), csv, csv-da (Danish Excel), json, png (the top "
                   "of the HTML page by headless Chromium; needs -o)")
    p.add_argument("--png-size", default="1250x1800", metavar="WxH", help="png: window size in pixels (1250x1800)")
    p.add_argument("--table", choices=sorted(TABLES), default="straekninger", help="CSV: which table (default straekninger)")
    add_output_arguments(p, help="write here instead of standard output (png: required)")


def _month_of(store: Any) -> str:
    """The logs' month when ``--month`` is not given: all records must be of one month."""
    months = store.registration_months()
    if not months:
        raise ConfigError("no punctuality records in the input: give --month to report a month without any",
                          key="--month")
    if len(months) > 1:
        raise ConfigError(f"the records span {', '.join(months)}: give --month", key="--month")
    return str(months[0])


def _operator_file(store: Any, month: str) -> Path:
    from central.reports.month import parse_month

    opers = store.registration_operators(*parse_month(month))
    if len(opers) != 1:
        raise ConfigError("cannot tell the operator from the records" + (f" ({', '.join(opers)})" if opers else "")
                          + ": give --operator", key="--operator")
    path = OPERATORS / f"{opers[0]}.yaml"
    if not path.exists():
        raise ConfigError(f"no operator file for '{opers[0]}' in {OPERATORS}: give --operator", key="--operator")
    return path


def _png_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
        if not (200 <= w <= 10_000 and 200 <= h <= 30_000):
            raise ValueError
    except ValueError:
        raise ConfigError(f"expected WIDTHxHEIGHT in pixels (e.g. 1250x1800), got {text!r}", key="--png-size") from None
    return w, h


def run(args: argparse.Namespace) -> int:
    from central.reports.month import build_month, parse_month
    from central.reports.render import render_html, render_md, write_csv, write_json
    from central.sources import open_source
    from transit.operator import load_operator
    from transit.timetable import Timetable

    if args.month is not None:
        parse_month(args.month)  # a bad month is refused before anything is read
    if args.format not in ("csv", "csv-da") and args.table != "straekninger":
        raise ConfigError("--table is for --format csv or csv-da", key="--table")
    png_size = _png_size(args.png_size) if args.format == "png" else None
    if args.format == "png" and output_from_args(args) is None:
        raise ConfigError("--format png needs -o FILE.png", key="--out")
    store, inputs = open_source(args.db, list(args.logs), password_file=args.db_password_file)
    try:
        month = args.month or _month_of(store)
        op_path = args.operator or _operator_file(store, month)
        op = load_operator(op_path)
        tt = Timetable.load(op.feed)
        rep = build_month(store, tt, op, month, inputs=inputs)
    finally:
        store.close()
    if png_size is not None:
        from central.reports.png import html_to_png

        path = output_from_args(args)
        assert path is not None
        html_to_png(render_html(rep), path, width=png_size[0], height=png_size[1])
        return 0
    try:
        with open_output(args) as out:  # a file is written whole (renamed at the end) or not at all
            if args.format == "json":
                write_json(rep, out)  # streamed: a fleet's lists are long
            elif args.format in ("csv", "csv-da"):
                write_csv(rep, args.table, out, danish=args.format == "csv-da")
            else:
                out.write(render_html(rep) if args.format == "html" else render_md(rep))
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", file=str(output_from_args(args))) from None
    return 0


__all__ = ["DEFAULT_POINTS", "add_arguments", "bonus_for", "run"]
