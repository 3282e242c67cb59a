"""``python -m sim_bus``: the hardware simulator's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
    Subcommand("record", "sim_bus.cmd_record", "simulate a scenario and write gnss.nmea, can.log, gpio.csv, "
               "truth.jsonl and onboard.yaml"),
    Subcommand("live", "sim_bus.cmd_live", "run a scenario in real time (x --speed): NMEA on a pty, CAN on a "
               "python-can bus or SLCAN pty, door beams on mock pins or a file"),
    Subcommand("check", "sim_bus.cmd_check", "validate scenarios and list the trips and stops they drive"),
]


if __name__ == "__main__":
    sys.exit(main("python -m sim_bus", "rettid hardware simulator: GNSS on a pty, CAN frames, GPIO "
                  "edges, passengers and ground truth from a scenario.", COMMANDS))
