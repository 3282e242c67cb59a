"""``rettid-central slice FEED --for onboard|station CONFIG -o FILE``: cut one unit's timetable slice.

The office has the national feed; each unit gets only what it serves and shows, for a horizon of service
days, as one SQLite file it opens in a fraction of a second (:mod:`transit.slice`). Roll it out like a
feed: ``rettid-onboard update-timetable FILE`` on the unit, or name it as the unit's ``feed``. Exit 0
written, 2 when the feed or the configuration does not allow a slice (the problems are listed).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path

from transit.errors import FeedError
from transit.timeutil import COPENHAGEN

EXAMPLES = """\
rettid-central slice gtfs-dk.zip --for onboard /etc/rettid/units/onboard-2091.yaml -o 2091.slice
rettid-central slice gtfs-dk --for station data/config/station-hilleroed.yaml -o hilleroed.slice --days 21
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("feed", type=Path, help="the whole GTFS feed (folder or zip)")
    p.add_argument("--for", dest="kind", choices=("onboard", "station"), required=True,
                   help="the kind of unit the slice is for")
    p.add_argument("config", type=Path, help="the unit's onboard.yaml or station.yaml")
    p.add_argument("-o", "--out", dest="output", metavar="FILE", type=Path, required=True,
                   help="the slice file to write")
    p.add_argument("--from", dest="first", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                   help="first service day (default: today in Europe/Copenhagen)")
    p.add_argument("--days", type=int, default=14, help="service days covered (default 14)")


def run(args: argparse.Namespace) -> int:
    from transit.slice import build_slice, selector_for

    if args.days < 1 or args.days > 400:
        print("--days must be 1..400", file=sys.stderr)
        return 2
    # the office machine's clock (kept by NTP) only picks the default first day of the horizon
    first = args.first or datetime.now(COPENHAGEN).date()
    unit, select = selector_for(args.kind, args.config)
    t0 = time.perf_counter()
    try:
        info = build_slice(args.feed, args.output, kind=args.kind, unit=unit, select=select, first=first,
                           days=args.days)
    except FeedError as exc:
        for p in exc.problems[:50]:
            print(f"{args.feed}: {p}")
        print(f"no slice written: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 2
    size = args.output.stat().st_size
    print(f"{args.output}: {args.kind} slice for {unit}: {info.trips} trips, service days {info.first} .. "
          f"{info.last}, feed {info.feed_version or '-'} ({info.feed_hash}), {size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s")
    return 0
