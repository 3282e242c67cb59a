"""``python -m onboard``: the vehicle computer's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("frieze", "onboard.cli.cmd_frieze", "render the frieze at an instant from events.jsonl; announcements"),
    Subcommand("publish", "onboard.cli.cmd_publish", "publish events.jsonl records through the outbox to MQTT"),
    Subcommand("replay", "onboard.cli.cmd_replay", "run trip following over recorded NMEA/CAN/GPIO inputs"),
    Subcommand("run", "onboard.cli.cmd_run", "the onboard service: GNSS, CAN, door counters, core, frieze, MQTT"),
    Subcommand("status", "onboard.cli.cmd_status", "print the running unit's latest health report"),
]


if __name__ == "__main__":
    sys.exit(main("python -m onboard", "rettid onboard unit: trip following, punctuality, passenger "
                  "counting, frieze and publishing.", COMMANDS))
