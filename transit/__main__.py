"""``python -m transit``: timetable tools."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("feed-check", "transit.cmd_feed_check", "validate a GTFS feed and print a summary"),
]

EXAMPLES = """\
rettid-feed feed-check data/gtfs/lokaltog-sample
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-feed`` and ``python -m transit``."""
    return cli_main("python -m transit", "rettid timetable tools.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
