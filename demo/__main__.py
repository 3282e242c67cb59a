"""``python -m demo`` (what ``make demo`` runs): the whole system in simulation, results in out/demo."""

from __future__ import annotations

import argparse
import sys

from transit.cli import setup_logging


def main(argv: list[str] | None = None) -> int:
    from demo.cmd_demo import add_arguments, run

    ap = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    ap.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_arguments(ap)
    args = ap.parse_args(argv)
    setup_logging(args.log_level)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
