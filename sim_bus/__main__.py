"""``python -m sim_bus``: the hardware simulator's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("record", "sim_bus.cmd_record", "simulate a scenario and write gnss.nmea, can.log, gpio.csv, "
               "truth.jsonl and onboard.yaml"),
    Subcommand("live", "sim_bus.cmd_live", "run a scenario in real time (x --time-warp): NMEA on a pty, CAN on a "
               "python-can bus or SLCAN pty, door beams on mock pins or a file"),
    Subcommand("check", "sim_bus.cmd_check", "validate scenarios and list the trips and stops they drive"),
    Subcommand("month", "sim_bus.cmd_month", "a synthetic fleet month of punctuality records (one log per "
               "vehicle) for the month report"),
]

EXAMPLES = """\
rettid-sim record data/scenarios/920R-weekday.yaml --seed 1 -o out/rec
rettid-sim live data/scenarios/920R-weekday.yaml --time-warp 10 --pty-link /tmp/gnss0
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-sim`` and ``python -m sim_bus``."""
    return cli_main("python -m sim_bus", "rettid hardware simulator: GNSS on a pty, CAN frames, GPIO "
                  "edges, passengers and ground truth from a scenario.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
