"""``python -m onboard run --config /etc/rettid/onboard.yaml``: the onboard unit's long-running service.

What systemd starts (``systemd/rettid-onboard.service``, ``Type=notify``). Logs go to stderr (journald).
Exit status: 0 after SIGTERM/SIGINT with the outbox flushed as far as the broker allowed; 2 for a
configuration or start-up error (the message names file, line and key).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, type=Path, help="onboard.yaml (see docs/config.md)")
    p.add_argument("--clock", choices=("auto", "gnss", "system"), default="auto",
                   help="time source for records: GNSS, else the NTP-synchronised system clock (auto, "
                        "default); gnss only (simulations whose data are not 'now'); system only")
    p.add_argument("--time-warp", type=float, default=1.0, metavar="X",
                   help="data seconds per real second (the --speed of a simulator run; default 1)")
    p.add_argument("--state-dir", type=Path, help="override unit.state_dir (outbox, logs, health.json)")
    p.add_argument("--broker", metavar="URL", help="override mqtt.url (e.g. mqtt://127.0.0.1:1883)")
    p.add_argument("--no-publish", action="store_true", help="keep records in the outbox, do not connect")
    p.add_argument("--events", type=Path, help="also append every record to this JSON Lines file")
    p.add_argument("--frame-interval", type=float, default=1.0, help="seconds between frieze frames")
    p.add_argument("--health-interval", type=float, default=5.0, help="seconds between health.json writes")
    p.add_argument("--health-publish", type=float, default=30.0, help="seconds between health messages")
    p.add_argument("--drain-timeout", type=float, default=10.0,
                   help="seconds to wait for the broker to acknowledge the outbox at shutdown")


def run(args: argparse.Namespace) -> int:
    from onboard.service.config import OnboardConfig
    from onboard.service.unit import ServiceOptions, run_service

    if args.time_warp <= 0:
        print("--time-warp must be positive", file=sys.stderr)
        return 2
    cfg = OnboardConfig.load(args.config)
    opts = ServiceOptions(clock=args.clock, rate=args.time_warp, events=args.events, state_dir=args.state_dir,
                          mqtt_url=args.broker, publish=not args.no_publish,
                          frame_interval_s=args.frame_interval, health_interval_s=args.health_interval,
                          health_publish_s=args.health_publish, drain_timeout_s=args.drain_timeout)
    return run_service(cfg, opts)
