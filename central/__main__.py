"""``python -m central``: the office side's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("run", "central.cmd_run", "the collector: every unit's records into the store, GTFS-Realtime out"),
    Subcommand("report", "central.cmd_report", "contract reports: report occupancy|punctuality EVENTS.jsonl..."),
    Subcommand("validate-apc", "central.validate_apc", "VDV 457-style check of counted vs reference passenger counts"),
]

EXAMPLES = """\
rettid-central report punctuality events.jsonl --month 2026-11 --format html -o punctuality.html
rettid-central validate-apc counts.csv reference.csv
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-central`` and ``python -m central``."""
    return cli_main("python -m central", "rettid central: the month's contract reports and the office tools.",
                COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
