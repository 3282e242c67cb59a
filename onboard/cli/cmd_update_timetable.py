"""``rettid-onboard update-timetable FEED --config CFG``: roll a new timetable onto this unit.

The feed (GTFS zip or folder, or this unit's timetable slice from ``rettid-central slice``) is checked here first — as feed-check does, then against the unit's
operator file and assignment — and, when it passes, staged in ``<state_dir>/timetable/incoming``. The
running service installs it within ``feed_poll_s`` (10 s) or at once on SIGHUP (``systemctl reload
rettid-onboard``): validated again, switched atomically, the trip being driven kept, rolled back if the
swap fails. ``--rollback`` goes back to the previous timetable (the service takes it at its next start).
Exit 0 staged, 2 refused (every problem listed).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from transit.cli import add_unit_arguments

EXAMPLES = """\
sudo -u rettid rettid-onboard update-timetable /tmp/gtfs-2026-12.zip --config /etc/rettid/onboard.yaml
sudo systemctl reload rettid-onboard        # install now instead of within 10 s
sudo -u rettid rettid-onboard update-timetable /tmp/gtfs-dk.zip --slice-days 14 --config /etc/rettid/onboard.yaml
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("feed", type=Path, nargs="?", help="the new GTFS feed: a zip file or a folder")
    add_unit_arguments(p, config_help="onboard.yaml of this unit (operator file, assignment, state dir)")
    p.add_argument("--rollback", action="store_true", help="switch back to the previous rolled-out timetable")
    p.add_argument("--slice-days", type=int, metavar="N",
                   help="cut this unit's slice from the (national) feed here, N service days from today, and "
                        "stage the slice instead of the feed (as rettid-central slice does at the office)")


def run(args: argparse.Namespace) -> int:
    from onboard.service.config import OnboardConfig
    from transit.errors import ConfigError, FeedError
    from transit.feedupdate import FeedStore
    from transit.operator import load_operator
    from transit.slice import check_horizon, open_timetable

    cfg = OnboardConfig.load(args.config)
    store = FeedStore((args.state_dir or cfg.unit.state_dir) / "timetable")
    if args.rollback:
        back = store.rollback()
        if back is None:
            raise ConfigError("no previous rolled-out timetable to go back to", key="--rollback")
        print(f"timetable {back.name} is current again; restart the service to follow it")
        return 0
    if args.feed is None:
        raise ConfigError("give the new feed (a GTFS zip or folder)", key="FEED")
    if args.slice_days is not None:
        if not 1 <= args.slice_days <= 400:
            raise ConfigError("expected 1..400 service days", key="--slice-days")
        from transit.slice import build_slice, selector_for

        unit, select = selector_for("onboard", args.config)
        built = store.root / "slice.built"
        try:
            info = build_slice(args.feed, built, kind="onboard", unit=unit, select=select,
                               first=datetime.now(cfg.unit.tz).date(), days=args.slice_days)
        except FeedError as exc:
            for p in exc.problems:
                print(f"{args.feed}: {p}")
            print("refused: no slice cut; nothing staged", file=sys.stderr)
            return 2
        print(f"cut {info.trips} trips for {unit}, service days {info.first} .. {info.last}")
        args.feed = built
    try:
        try:
            tt = open_timetable(args.feed, strict=True)  # a GTFS feed or this unit's slice
            # the system date of the unit (the operator runs this command): a slice must cover today
            check_horizon(tt, datetime.now(cfg.unit.tz).date())
            load_operator(cfg.unit.operator_file, tt)
            OnboardConfig.load(args.config, timetable=tt)
        except FeedError as exc:
            for p in exc.problems:
                print(f"{args.feed}: {p}")
            print(f"refused: {len(exc.problems)} problem(s); nothing staged", file=sys.stderr)
            return 2
        store.stage(args.feed)
    finally:
        if args.slice_days is not None:
            Path(args.feed).unlink(missing_ok=True)  # staged as a copy, or refused
    fi = tt.feed_info
    print(f"staged {args.feed} ({len(tt.trips)} trips, version {fi.version if fi else '-'}) in {store.incoming}; "
          "the running service installs it within 10 s, or now with: systemctl reload rettid-onboard")
    return 0
