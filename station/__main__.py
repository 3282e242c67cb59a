"""``python -m station``: the stop display unit's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("check-config", "station.cmd_check_config", "check configuration, operator file, feed, "
               "certificates and the display without starting; every problem listed"),
    Subcommand("run", "station.cmd_run", "the stop display service: predictions + timetable -> countdown panel"),
    Subcommand("snapshot", "station.cmd_snapshot", "render the countdown display for one instant to a PNG"),
]

EXAMPLES = """\
rettid-station snapshot --config data/config/station-hilleroed.yaml --at 2026-11-23T07:55:00+01:00 -o board.png
rettid-station check-config --config /etc/rettid/station.yaml
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-station`` and ``python -m station``."""
    return cli_main("python -m station", "rettid stop display: countdown of departures from vehicle "
                  "predictions and the timetable.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
