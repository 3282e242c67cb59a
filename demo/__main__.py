"""``python -m demo`` / ``rettid-demo`` (what ``make demo`` runs): the whole system in simulation,
results in out/demo."""

from __future__ import annotations

import argparse
import sys

from transit.cli import (
    EXIT_STATUS_HELP,
    common_parser,
    log_level_from_args,
    prog_name,
    run_guarded,
    setup_logging,
)


def main(argv: list[str] | None = None) -> int:
    from demo.cmd_demo import add_arguments, run

    ap = argparse.ArgumentParser(prog=prog_name("python -m demo"), description=__doc__,
                                 parents=[common_parser()], epilog=EXIT_STATUS_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    args = ap.parse_args(argv)
    setup_logging(log_level_from_args(args))
    return run_guarded(ap.prog, run, args)


if __name__ == "__main__":
    sys.exit(main())
