"""``python -m hw.gnss``: GNSS tools (decode recorded NMEA)."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    Subcommand("decode", "hw.gnss.decode_cmd", "decode an NMEA file: one JSON object (gpsd TPV names) per "
               "fix epoch"),
]

EXAMPLES = """\
rettid-gnss decode gnss.nmea | head
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-gnss`` and ``python -m hw.gnss``."""
    return cli_main("python -m hw.gnss", "rettid GNSS tools.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
