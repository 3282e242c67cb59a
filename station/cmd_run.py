"""``python -m station run --config /etc/rettid/station.yaml``: the stop display's long-running service.

What systemd starts (``systemd/rettid-station.service``, ``Type=notify``). Exit status 0 after
SIGTERM/SIGINT (the panel is blanked), 2 for a configuration or start-up error.
"""

from __future__ import annotations

import argparse

from transit.cli import (
    add_mqtt_arguments,
    add_time_arguments,
    add_unit_arguments,
    mqtt_from_args,
    positive_float,
    time_from_args,
)

EXAMPLES = """\
rettid-station run --config /etc/rettid/station.yaml            # what systemd starts
rettid-station run --config station.yaml --clock data --time-warp 10 --broker mqtt://127.0.0.1:1883
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_help="station.yaml (see docs/config.md)")
    add_time_arguments(p, clocks=("auto", "system", "data"),
                       clock_help="system clock once NTP has synchronised it, else the predictions' time "
                                  "(auto, default); system: the system clock at once, without waiting for "
                                  "NTP; data only (following a simulation)")
    add_mqtt_arguments(p)
    p.add_argument("--frame-interval", type=positive_float, default=0.5,
                   help="seconds between frames (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from station.config import StationConfig
    from station.service import StationOptions, run_service

    tm = time_from_args(args)
    cfg = StationConfig.load(args.config)
    mqtt_from_args(args, cfg.mqtt)  # checks --broker
    return run_service(cfg, StationOptions(clock=tm.clock, rate=tm.time_warp, mqtt_url=args.broker,
                                           state_dir=args.state_dir, frame_interval_s=args.frame_interval))
