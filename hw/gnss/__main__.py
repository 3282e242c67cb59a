"""``python -m hw.gnss``: GNSS tools (decode recorded NMEA)."""

from __future__ import annotations

import sys

from transit.cli import Subcommand, main

COMMANDS: list[Subcommand] = [
    Subcommand("decode", "hw.gnss.decode_cmd", "decode an NMEA file: one JSON object (gpsd TPV names) per "
               "fix epoch"),
]


if __name__ == "__main__":
    sys.exit(main("python -m hw.gnss", "rettid GNSS tools.", COMMANDS))
