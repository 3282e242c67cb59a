"""``rettid-station check-config --config /etc/rettid/station.yaml``: check a stop display's set-up
without starting it — configuration, operator file, feed, stops against the timetable, certificates,
state directory and the display — and list every problem. Exit 0 when all is well, 2 when not."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from transit.checks import CheckReport, certificate_problems, state_dir_problem
from transit.cli import add_unit_arguments

EXAMPLES = """\
rettid-station check-config --config /etc/rettid/station.yaml
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_help="station.yaml to check")
    p.add_argument("--no-devices", action="store_true", help="skip the display check")


def run(args: argparse.Namespace) -> int:
    return check_station(args.config, state_dir=args.state_dir, devices=not args.no_devices, out=sys.stdout)


def check_station(path: Path, *, state_dir: Path | None = None, devices: bool = True, out: Any = None) -> int:
    from hw.devices import display_problems
    from station.config import StationConfig
    from transit.operator import load_operator
    from transit.slice import open_timetable

    rep = CheckReport(out if out is not None else sys.stdout)
    cfg = rep.check(f"configuration {path}", lambda: StationConfig.load(path),
                    lambda c: f"display {c.display_id}, operator {c.operator_id}")
    if cfg is None:
        rep.note("configuration", "the other checks need a configuration that loads")
        return rep.finish("check-config")
    tt = rep.check(f"feed {cfg.feed}", lambda: open_timetable(cfg.feed, strict=True),
                   lambda t: f"{len(t.routes)} lines, {len(t.trips)} trips")
    if tt is not None:
        rep.check(f"operator file {cfg.unit.operator_file}", lambda: load_operator(cfg.unit.operator_file, tt),
                  lambda o: "lines and stops found in the feed")
        rep.check("stops", lambda: StationConfig.load(path, timetable=tt),
                  lambda c: ", ".join(c.stops.ids))
    tls = certificate_problems(cfg.mqtt)
    for p in tls:
        rep.problem("certificates", p)
    if not tls:
        rep.ok("certificates", "TLS files load" if cfg.mqtt.use_tls else "no TLS configured")
    sd = state_dir or cfg.unit.state_dir
    why = state_dir_problem(sd)
    if why:
        rep.problem("state directory", why)
    else:
        rep.ok("state directory", str(sd))
    if devices:
        problems = display_problems(cfg.sink)
        for p in problems:
            rep.problem("device sink", p)
        if not problems:
            rep.ok("device sink", cfg.sink.child("backend").as_str())
    return rep.finish("check-config")
