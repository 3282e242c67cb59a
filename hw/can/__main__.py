"""``python -m hw.can``: CAN tools (decode a candump log with the Bus-FMS DBC)."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    Subcommand("decode", "hw.can.cli", "decode a candump -l log into JSON Lines of J1939 signals"),
]

if __name__ == "__main__":
    sys.exit(main("python -m hw.can", "rettid CAN tools.", COMMANDS))
