"""``python -m station run --config /etc/rettid/station.yaml``: the stop display's long-running service.

What systemd starts (``systemd/rettid-station.service``, ``Type=notify``). Exit status 0 after
SIGTERM/SIGINT (the panel is blanked), 2 for a configuration or start-up error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, type=Path, help="station.yaml (see docs/config.md)")
    p.add_argument("--clock", choices=("auto", "system", "data"), default="auto",
                   help="system clock once NTP has synchronised it, else the predictions' time (auto, "
                        "default); system only; data only (following a simulation)")
    p.add_argument("--time-warp", type=float, default=1.0, metavar="X",
                   help="data seconds per real second (the --speed of a simulator run; default 1)")
    p.add_argument("--broker", metavar="URL", help="override mqtt.url (e.g. mqtt://127.0.0.1:1883)")
    p.add_argument("--state-dir", type=Path, help="override unit.state_dir (health.json)")
    p.add_argument("--frame-interval", type=float, default=0.5, help="seconds between frames (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from station.config import StationConfig
    from station.service import StationOptions, run_service

    if args.time_warp <= 0 or args.frame_interval <= 0:
        print("--time-warp and --frame-interval must be positive", file=sys.stderr)
        return 2
    cfg = StationConfig.load(args.config)
    return run_service(cfg, StationOptions(clock=args.clock, rate=args.time_warp, mqtt_url=args.broker,
                                           state_dir=args.state_dir, frame_interval_s=args.frame_interval))
