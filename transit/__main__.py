"""``python -m transit``: timetable tools."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("feed-check", "transit.cmd_feed_check", "validate a GTFS feed and print a summary"),
]


if __name__ == "__main__":
    sys.exit(main("python -m transit", "rettid timetable tools.", COMMANDS))
