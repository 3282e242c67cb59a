"""``python -m transit feed-check PATH``: validate a GTFS feed and summarise it.

Prints every problem as ``file:row: column: message`` and a summary (agency, feed info, stops, and per
line and direction the trips, first and last departure on a representative day of each weekday type).
Exit status 0 when the feed is valid, 2 when it is not.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from datetime import date, timedelta
from typing import TextIO

from transit.calendar import DAY_TYPES, DayType, day_type
from transit.cli import Progress
from transit.feedcheck import FeedCheck, check_feed
from transit.holidays import is_public_holiday
from transit.timetable import Timetable
from transit.timeutil import format_gtfs_time

#: Column titles for the day types of transit.calendar (the contract's timetable tables).
DAY_TYPE_TITLES: dict[DayType, str] = {"mon-thu": "Mon-Thu", "friday": "Friday", "saturday": "Saturday",
                                       "sunday": "Sunday"}


EXAMPLES = """\
rettid-feed feed-check data/gtfs/lokaltog-sample
rettid-feed feed-check gtfs.zip --no-summary --max-problems 50
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="GTFS feed: a folder or a zip file")
    parser.add_argument("--max-problems", type=int, default=500, metavar="N",
                        help="print at most N problems (default 500; all are counted)")
    parser.add_argument("--no-summary", action="store_true", help="only print the problems")


def run(args: argparse.Namespace) -> int:
    # The report below lists every problem; the loader's own warning summary would repeat them.
    logging.getLogger("transit.timetable").setLevel(logging.ERROR)
    with Progress(1.0, label="feed-check") as bar:
        result = check_feed(args.path, progress=lambda frac, name: bar.update(frac, name))
    print_report(result, sys.stdout, max_problems=args.max_problems, summary=not args.no_summary)
    return 0 if result.valid else 2


def representative_days(tt: Timetable) -> dict[str, date]:
    """One ordinary date per day type (Mon-Thu, Friday, Saturday, Sunday) inside the feed's calendar.

    Ordinary means not a public holiday and without calendar_dates exceptions (holidays and special
    timetables are listed there), so the day shows the regular timetable of its type. Falls back to a
    day with exceptions when the calendar has no ordinary one.
    """
    rng = tt.calendar_range()
    if rng is None:
        return {}
    first, last = rng
    special = tt.exception_dates()
    found: dict[DayType, date] = {}
    fallback: dict[DayType, date] = {}
    d = first
    while d <= last and d <= first + timedelta(days=366) and len(found) < len(DAY_TYPES):
        if tt.services_on(d):
            kind = day_type(d, ())  # by weekday: a holiday is skipped below, not counted as Sunday
            if d not in special and not is_public_holiday(d):
                found.setdefault(kind, d)
            else:
                fallback.setdefault(kind, d)
        d += timedelta(days=1)
    return {DAY_TYPE_TITLES[k]: found.get(k) or fallback[k] for k in DAY_TYPES if k in found or k in fallback}


def _hhmm(seconds: int) -> str:
    return format_gtfs_time(seconds)[:5]


def print_report(result: FeedCheck, out: TextIO, *, max_problems: int = 500, summary: bool = True) -> None:
    errors = result.errors
    warnings = len(result.problems) - len(errors)
    for p in result.problems[:max_problems]:
        print(str(p), file=out)
    if len(result.problems) > max_problems:
        print(f"... and {len(result.problems) - max_problems} more problem(s)", file=out)
    tt = result.timetable
    if summary and tt is not None:
        _summary(tt, out)
    verdict = "VALID" if result.valid else ("INVALID" if tt is not None else "UNUSABLE")
    print(f"\n{result.path}: {verdict}: {len(errors)} error(s), {warnings} warning(s)", file=out)


def _summary(tt: Timetable, out: TextIO) -> None:
    w = out.write
    w(f"\nFeed {tt.source}\n")
    for a in tt.agencies.values():
        w(f"  agency     {a.name} ({a.agency_id or '-'}), {a.timezone}, {a.url}\n")
    fi = tt.feed_info
    if fi is None:
        w("  feed_info  none (publisher, version and validity unknown)\n")
    else:
        w(f"  publisher  {fi.publisher_name} <{fi.publisher_url}>, language {fi.lang or '-'}\n")
        valid = f"{fi.start_date or '?'} .. {fi.end_date or '?'}"
        w(f"  version    {fi.version or '-'}, valid {valid}\n")
    rng = tt.calendar_range()
    if rng is not None:
        w(f"  calendar   {rng[0]} .. {rng[1]}, {len(tt.exception_dates())} day(s) with exceptions\n")
    platforms = sum(1 for s in tt.stops.values() if s.location_type == 0)
    stations = sum(1 for s in tt.stops.values() if s.location_type == 1)
    w(f"  stops      {platforms} stops/platforms, {stations} stations\n")
    w(f"  routes     {len(tt.routes)} lines, {len(tt.trips)} trips\n")

    days = representative_days(tt)
    if not days:
        w("  (no service day in the calendar)\n")
        return
    w("\n  representative days: " + ", ".join(f"{k} {v.isoformat()}" for k, v in days.items()) + "\n")
    per_day = {name: tt.first_last_departures(d) for name, d in days.items()}
    heads: dict[tuple[str, int | None], Counter[str]] = {}
    for trip_id, trip in tt.trips.items():
        heads.setdefault((trip.route_id, trip.direction_id), Counter())[tt.headsign(trip_id)] += 1
    cols = list(days)
    w("\n  {:<6} {:<44} {:>3}  {:<24}".format("line", "name", "dir", "towards")
      + "".join(f" {c:>17}" for c in cols) + "\n")
    routes = sorted(tt.routes.values(), key=lambda r: (_natural(r.name), r.route_id))
    for r in routes:
        for key in sorted((k for k in heads if k[0] == r.route_id), key=lambda k: (k[1] is None, k[1] or 0)):
            towards = heads[key].most_common(1)[0][0]
            cells = []
            for c in cols:
                v = per_day[c].get(key)
                cells.append("-" if v is None else f"{v[2]}x {_hhmm(v[0])}-{_hhmm(v[1])}")
            direction = "-" if key[1] is None else str(key[1])
            w(f"  {r.name:<6} {r.long_name[:44]:<44} {direction:>3}  {towards[:24]:<24}"
              + "".join(f" {c:>17}" for c in cells) + "\n")
    w("  (cells: trips, first-last departure from the first stop; GTFS times, 24:15 = 00:15 next day)\n")


def _natural(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 1_000_000, name)
