"""``python -m onboard run --config /etc/rettid/onboard.yaml``: the onboard unit's long-running service.

What systemd starts (``systemd/rettid-onboard.service``, ``Type=notify``). Logs go to stderr (journald).
Exit status: 0 after SIGTERM/SIGINT with the outbox flushed as far as the broker allowed; 2 for a
configuration or start-up error (the message names file, line and key).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from transit.cli import (
    add_mqtt_arguments,
    add_time_arguments,
    add_unit_arguments,
    mqtt_from_args,
    time_from_args,
)

log = logging.getLogger(__name__)


EXAMPLES = """\
rettid-onboard run --config /etc/rettid/onboard.yaml            # what systemd starts
rettid-onboard run --config sim.yaml --clock gnss --time-warp 10 --broker mqtt://127.0.0.1:1883 -v
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_help="onboard.yaml (see docs/config.md)")
    add_time_arguments(p, clocks=("auto", "gnss", "system"),
                       clock_help="time source for records: GNSS, else the NTP-synchronised system clock "
                                  "(auto, default); gnss only (simulations whose data are not 'now'); system: "
                                  "the system clock at once, without waiting for NTP")
    add_mqtt_arguments(p)
    p.add_argument("--no-publish", action="store_true", help="keep records in the outbox, do not connect")
    p.add_argument("--events", type=Path, help="also append every record to this JSON Lines file")
    p.add_argument("--rotate-size", type=float, default=64.0, metavar="MB",
                   help="rotate the JSON Lines files (punctuality log, --events) at this size: x.jsonl -> "
                        "x.jsonl.1 ...; nothing is deleted (default 64; 0: never)")
    p.add_argument("--rotate-age", type=float, default=0.0, metavar="HOURS",
                   help="also rotate them this long after they were started (default 0: by size only)")
    p.add_argument("--frame-interval", type=float, default=1.0, help="seconds between frieze frames")
    p.add_argument("--health-interval", type=float, default=5.0, help="seconds between health.json writes")
    p.add_argument("--health-publish", type=float, default=30.0, help="seconds between health messages")
    p.add_argument("--drain-timeout", type=float, default=10.0,
                   help="seconds to wait for the broker to acknowledge the outbox at shutdown")


def run(args: argparse.Namespace) -> int:
    from onboard.service.config import OnboardConfig
    from onboard.service.unit import ServiceOptions, run_service

    tm = time_from_args(args)
    cfg = OnboardConfig.load(args.config)
    mqtt_from_args(args, cfg.mqtt)  # checks --broker
    opts = ServiceOptions(clock=tm.clock, rate=tm.time_warp, events=args.events, state_dir=args.state_dir,
                          mqtt_url=args.broker, publish=not args.no_publish,
                          frame_interval_s=args.frame_interval, health_interval_s=args.health_interval,
                          health_publish_s=args.health_publish, drain_timeout_s=args.drain_timeout,
                          rotate_bytes=int(args.rotate_size * 1024 * 1024) if args.rotate_size > 0 else None,
                          rotate_age_s=args.rotate_age * 3600 if args.rotate_age > 0 else None)
    return run_service(cfg, opts)
