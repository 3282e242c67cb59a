"""``python -m station``: the stop display unit's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("run", "station.cmd_run", "the stop display service: predictions + timetable -> countdown panel"),
    Subcommand("snapshot", "station.cmd_snapshot", "render the countdown display for one instant to a PNG"),
]


if __name__ == "__main__":
    sys.exit(main("python -m station", "rettid stop display: countdown of departures from vehicle "
                  "predictions and the timetable.", COMMANDS))
