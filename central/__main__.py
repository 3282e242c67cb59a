"""``python -m central``: the office side's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("report", "central.cmd_report", "contract reports: report occupancy|punctuality EVENTS.jsonl..."),
    Subcommand("validate-apc", "central.validate_apc", "VDV 457-style check of counted vs reference passenger counts"),
]


def run() -> int:
    return main("python -m central", "rettid central: the month's contract reports and the office tools.",
                COMMANDS)


if __name__ == "__main__":
    sys.exit(run())
