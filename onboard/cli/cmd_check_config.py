"""``rettid-onboard check-config --config /etc/rettid/onboard.yaml``: check a unit's set-up without
starting it — configuration, operator file, feed, assignment against the timetable, certificates, state
directory and devices — and list every problem. Exit 0 when all is well, 2 when anything is wrong."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from transit.checks import CheckReport, certificate_problems, state_dir_problem
from transit.cli import add_unit_arguments

EXAMPLES = """\
rettid-onboard check-config --config /etc/rettid/onboard.yaml
sudo -u rettid rettid-onboard check-config --config /etc/rettid/onboard.yaml   # as the service's user
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_help="onboard.yaml to check")
    p.add_argument("--no-devices", action="store_true",
                   help="skip the device checks (checking a configuration on another machine)")


def run(args: argparse.Namespace) -> int:
    return check_onboard(args.config, state_dir=args.state_dir, devices=not args.no_devices, out=sys.stdout)


def check_onboard(path: Path, *, state_dir: Path | None = None, devices: bool = True, out: Any = None) -> int:
    from hw import devices as dev
    from onboard.service.config import OnboardConfig
    from transit.operator import load_operator
    from transit.slice import open_timetable

    rep = CheckReport(out if out is not None else sys.stdout)
    cfg = rep.check(f"configuration {path}", lambda: OnboardConfig.load(path),
                    lambda c: f"vehicle {c.vehicle_id} ({c.mode}), operator {c.operator_id}")
    if cfg is None:
        rep.note("configuration", "the other checks need a configuration that loads")
        return rep.finish("check-config")
    tt = rep.check(f"feed {cfg.feed}", lambda: open_timetable(cfg.feed, strict=True),
                   lambda t: f"{len(t.routes)} lines, {len(t.trips)} trips")
    if tt is not None:
        rep.check(f"operator file {cfg.unit.operator_file}", lambda: load_operator(cfg.unit.operator_file, tt),
                  lambda o: "lines and stops found in the feed")
        rep.check("assignment", lambda: OnboardConfig.load(path, timetable=tt),
                  lambda c: f"{c.assignment.mode}" + (f" {c.assignment.block}" if c.assignment.block else ""))
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
        sections: list[tuple[str, Any, Any]] = [("gnss", cfg.gnss, dev.gnss_problems)]
        if cfg.can is not None:
            sections.append(("can", cfg.can, dev.can_problems))
        if cfg.gpio is not None:
            sections.append(("gpio", cfg.gpio, dev.gpio_problems))
        sections += [(f"displays.{name}", node, dev.display_problems) for name, node in cfg.displays.items()]
        for name, node, func in sections:
            problems = func(node)
            for p in problems:
                rep.problem(f"device {name}", p)
            if not problems:
                rep.ok(f"device {name}", node.child("backend").as_str())
        if cfg.announce.enabled:
            from hw.audio.espeak import Espeak

            ac = cfg.announce
            speech = Espeak(ac.speech).problems()
            for p in speech:
                rep.problem("speech", p)
            if not speech:
                rep.ok("speech", f"espeak-ng voice {ac.speech.voice}")
            sound = dev.audio_problems(ac.sink)
            for p in sound:
                rep.problem("device announce.sink", p)
            if not sound:
                rep.ok("device announce.sink", "alsa default" if ac.sink is None else ac.sink.child("backend").as_str())
    return rep.finish("check-config")
