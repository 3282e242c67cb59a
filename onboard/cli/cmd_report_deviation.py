"""``python -m onboard report-deviation --what cancelled|turned_short|replacement ...``: the driver reports a
deviation of the trip ("indmeldes til vagtpladsen").

The report is dropped into ``<state_dir>/inbox`` (``onboard.service.inbox``); the running service turns it
into a ``deviation`` record through the outbox to the control room, and closes the registrations of the
stops no longer served as cancelled (the month's report counts them by the operator's policy). Exit 0 when
the report is queued, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
rettid-onboard report-deviation --what turned_short --from-stop hanehoved --reason "sporspærring"
rettid-onboard report-deviation --what cancelled --reason "defekt dør" --state-dir /var/lib/rettid
rettid-onboard report-deviation --what replacement --replacement bus --trip 920R_MT_0_0745
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=Path("/etc/rettid/onboard.yaml"),
                   help="onboard.yaml (for unit.state_dir; default /etc/rettid/onboard.yaml)")
    p.add_argument("--state-dir", type=Path, help="the running unit's state dir (instead of --config)")
    p.add_argument("--what", required=True, choices=("cancelled", "turned_short", "replacement"),
                   help="cancelled (not driven), turned_short (ends early), replacement (a bus/taxi runs it)")
    p.add_argument("--trip", help="GTFS trip_id (default: the trip being driven)")
    p.add_argument("--from-stop", help="first stop not served (turned_short: required)")
    p.add_argument("--to-stop", help="last stop not served")
    p.add_argument("--replacement", choices=("bus", "taxi"), help="the replacement transport in service")
    p.add_argument("--reason", default="", help="why, in a few words")


def run(args: argparse.Namespace) -> int:
    from onboard.service.inbox import DeviationRequest, write_request
    from transit.errors import ConfigError

    if args.what == "turned_short" and not args.from_stop:
        raise ConfigError("turned_short needs --from-stop (the first stop not served)", key="--from-stop")
    state = args.state_dir
    if state is None:
        from onboard.service.config import OnboardConfig

        state = OnboardConfig.load(args.config).unit.state_dir
    req = DeviationRequest(what=args.what, trip_id=args.trip, from_stop=args.from_stop, to_stop=args.to_stop,
                           replacement=args.replacement, reason=args.reason[:128])
    path = write_request(Path(state) / "inbox", req)
    print(f"deviation report queued for the unit: {path}")
    return 0
