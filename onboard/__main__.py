"""``python -m onboard``: the vehicle computer's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("check-config", "onboard.cli.cmd_check_config", "check configuration, operator file, feed, "
               "certificates and devices without starting; every problem listed"),
    Subcommand("frieze", "onboard.cli.cmd_frieze", "render the frieze at an instant from events.jsonl; announcements"),
    Subcommand("publish", "onboard.cli.cmd_publish", "publish events.jsonl records through the outbox to MQTT"),
    Subcommand("replay", "onboard.cli.cmd_replay", "run trip following over recorded NMEA/CAN/GPIO inputs"),
    Subcommand("report-deviation", "onboard.cli.cmd_report_deviation",
               "the driver reports a deviation of the trip (cancelled, turned short, replacement) to the control room"),
    Subcommand("run", "onboard.cli.cmd_run", "the onboard service: GNSS, CAN, door counters, core, frieze, MQTT"),
    Subcommand("status", "onboard.cli.cmd_status", "print the running unit's latest health report"),
    Subcommand("update-timetable", "onboard.cli.cmd_update_timetable", "check a new GTFS feed and stage it "
               "for the running unit (installed atomically, running trip kept, rollback on failure)"),
]

EXAMPLES = """\
rettid-onboard replay --config REC/onboard.yaml --nmea REC/gnss.nmea --can REC/can.log -o events.jsonl
rettid-onboard check-config --config /etc/rettid/onboard.yaml
rettid-onboard run --config /etc/rettid/onboard.yaml -v
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-onboard`` and ``python -m onboard``."""
    return cli_main("python -m onboard", "rettid onboard unit: trip following, punctuality, passenger "
                  "counting, frieze and publishing.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
