"""``python -m hw.can``: CAN tools (decode a candump log with the Bus-FMS DBC)."""

from __future__ import annotations

import sys

from transit.cli import Subcommand
from transit.cli import main as cli_main

COMMANDS: list[Subcommand] = [
    Subcommand("decode", "hw.can.cli", "decode a candump -l log into JSON Lines of J1939 signals"),
]


EXAMPLES = """\
rettid-can decode can.log | head
rettid-can decode trace.asc --dbc my.dbc
"""


def main(argv: list[str] | None = None) -> int:
    """Console script ``rettid-can`` and ``python -m hw.can``."""
    return cli_main("python -m hw.can", "rettid CAN tools.", COMMANDS, argv,
                    examples=EXAMPLES)


if __name__ == "__main__":
    sys.exit(main())
