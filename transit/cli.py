"""Shared helpers for the thin command-line front ends (``python -m onboard|station|sim_bus|transit``).

A front end is a table of sub-commands. Each sub-command lives in its own module exposing
``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when chosen, so ``--help`` is
fast and a missing hardware library never breaks an unrelated command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TextIO, cast

from transit.errors import RettidError
from transit.timeutil import parse_iso


class SubcommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Subcommand:
    name: str
    module: str  # dotted module path with add_arguments() and run()
    help: str


def instant(text: str) -> datetime:
    """argparse ``type=`` for an instant (``--at``): ISO 8601 with a UTC offset or ``Z``, as aware UTC."""
    try:
        return parse_iso(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (e.g. 2026-11-23T07:55:00+01:00)") from None


def setup_logging(level: str = "INFO") -> None:
    """Logging to stderr (journald picks it up); only CLIs configure logging, never library code."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("INVOCATION_ID"):  # not under systemd: add a timestamp
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format=fmt, stream=sys.stderr)


def main(prog: str, description: str, commands: list[Subcommand], argv: list[str] | None = None) -> int:
    """Parse ``argv``, import the chosen sub-command's module and run it.

    A :class:`RettidError` (bad configuration, bad feed, missing device) is printed as one clear line
    with exit status 2; anything else is a bug and keeps its traceback.
    """
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--log-level", default=os.environ.get("RETTID_LOG_LEVEL", "INFO"),
                    choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (default INFO)")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    table = {c.name: c for c in commands}
    # Build parsers lazily: only the chosen command's module is imported.
    chosen = None
    args_list = list(sys.argv[1:] if argv is None else argv)
    for a in args_list:
        if a in table:
            chosen = a
            break
    for c in commands:
        p = sub.add_parser(c.name, help=c.help, description=c.help)
        if c.name == chosen:
            mod = cast(SubcommandModule, importlib.import_module(c.module))
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    args = ap.parse_args(args_list)
    setup_logging(args.log_level)
    try:
        return int(args._run(args))
    except RettidError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY (journald, CI, pipes)."""

    def __init__(self, total: float, label: str = "", stream: TextIO | None = None,
                 min_interval_s: float = 0.2) -> None:
        self.total = max(total, 1e-9)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._t0 = time.monotonic()
        self.done = 0.0

    def update(self, done: float, note: str = "") -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < self.total:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(f"\r{self.label} [{bar}] {frac * 100:5.1f}% {now - self._t0:6.1f}s {note}\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(self.total)
            self.stream.write("\n")
            self.stream.flush()
