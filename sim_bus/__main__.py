"""``python -m sim_bus``: the hardware simulator's command line."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    # name, module with add_arguments()/run(), help. Add a line when a command exists.
]


if __name__ == "__main__":
    sys.exit(main("python -m sim_bus", "rettid hardware simulator: GNSS on a pty, CAN frames, GPIO "
                  "edges, passengers and ground truth from a scenario.", COMMANDS))
