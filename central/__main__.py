"""``python -m central``: the office side's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("run", "central.cmd_run", "the collector: every unit's records into the store, GTFS-Realtime out"),
    Subcommand("report", "central.cmd_report", "contract reports: report occupancy|punctuality|school EVENTS.jsonl..."),
    Subcommand("deviation", "central.cmd_deviation",
               "the control room's deviations: deviation publish|list|withdraw|ingest"),
    Subcommand("check-config", "central.cmd_check_config",
               "check the collector's configuration, record store, operator files and certificates"),
    Subcommand("export-routes", "central.cmd_export_routes",
               "each run's recorded track and stop times as GPX 1.1 and CSV (for the authority)"),
    Subcommand("slice", "central.cmd_slice", "one unit's timetable slice from the whole feed: slice FEED --for KIND CONFIG -o FILE"),
    Subcommand("validate-apc", "central.validate_apc", "VDV 457-style check of counted vs reference passenger counts"),
]

EXAMPLES = """\
rettid-central report punctuality events.jsonl --month 2026-11 --format html -o punctuality.html
rettid-central validate-apc counts.csv reference.csv
rettid-central deviation publish cancel --trip 920R_MT_0_0745 --oday 2026-11-23 --text "Aflyst: signalfejl"
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-central`` and ``python -m central``."""
    return cli_main("python -m central", "rettid central: the month's contract reports and the office tools.",
                COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
