"""Shared helpers for the thin command-line front ends (``rettid-onboard``, ``python -m onboard`` ...).

A front end is a table of sub-commands. Each sub-command lives in its own module exposing
``add_arguments(parser)`` and ``run(args) -> int`` (and optionally ``EXAMPLES``, shown under ``--help``)
and is imported only when chosen, so ``--help`` is fast and a missing hardware library never breaks an
unrelated command.

One flag means one thing everywhere (python-can's ``can/cli.py`` shape): the option groups below are
added by helpers and read back by ``..._from_args`` functions, so ``--broker``, ``--time-warp``,
``--config``, ``--state-dir`` and ``-o/--out`` are spelled and checked in one place. ``--log-level`` and
``-v`` come from a parent parser on the front end and on every sub-command, so they are accepted
anywhere on the line.

Exit status, for every command (:data:`EXIT_STATUS_HELP`): 0 done, 1 a runtime failure or a failed
check (records left unacknowledged, a validation test that failed), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from transit.errors import ConfigError, RettidError
from transit.timeutil import parse_iso

if TYPE_CHECKING:
    from transit.config import MqttConfig

EXIT_OK = 0
EXIT_FAILURE = 1  # a runtime failure or a check that failed
EXIT_BAD_INPUT = 2  # bad input or configuration (argparse's own usage errors are 2 too)

EXIT_STATUS_HELP = """exit status:
  0  done (a service: stopped cleanly after SIGTERM)
  1  a runtime failure or a failed check (e.g. records left unacknowledged)
  2  bad input or configuration: one line naming file, line and key"""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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


def positive_float(text: str) -> float:
    """argparse ``type=`` for a finite number > 0 (``--time-warp``, intervals)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return v


# -- logging: a parent parser on every (sub-)command ---------------------------------------------------


def common_parser() -> argparse.ArgumentParser:
    """The options every parser accepts (``parents=[common_parser()]``): ``--log-level``, ``-v``.

    Defaults are suppressed so that a sub-command's parser does not overwrite a value given before the
    sub-command's name; :func:`log_level_from_args` resolves what was given where.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("logging (anywhere on the line)")
    g.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=argparse.SUPPRESS,
                   help="logging level (default INFO, or $RETTID_LOG_LEVEL)")
    g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                   help="more detail: -v is DEBUG")
    return p


def log_level_from_args(args: argparse.Namespace) -> str:
    level = str(getattr(args, "log_level", None) or os.environ.get("RETTID_LOG_LEVEL", "INFO")).upper()
    if level not in LOG_LEVELS:
        level = "INFO"
    for _ in range(int(getattr(args, "verbose", 0) or 0)):
        level = LOG_LEVELS[max(0, LOG_LEVELS.index(level) - 1)]
    return level


def under_systemd() -> bool:
    """Started by systemd (journald adds its own timestamps; no terminal, no progress bars)."""
    return bool(os.environ.get("INVOCATION_ID") or os.environ.get("JOURNAL_STREAM"))


def setup_logging(level: str = "INFO") -> None:
    """Logging to stderr (journald picks it up and rotates it); only CLIs configure logging."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not under_systemd():  # not under systemd: add a timestamp
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format=fmt, stream=sys.stderr,
                        force=True)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs (examples) keep their line breaks."""


def _epilog(examples: str | None) -> str:
    parts = []
    if examples:
        parts.append("examples:\n" + "\n".join("  " + line if line.strip() else line
                                               for line in examples.strip("\n").splitlines()))
    parts.append(EXIT_STATUS_HELP)
    return "\n\n".join(parts)


def sub_parser(sub: Any, name: str, *, help: str, examples: str | None = None,
               description: str | None = None) -> argparse.ArgumentParser:
    """A sub-command parser with the common options, examples and exit status in its ``--help``
    (also for nested sub-commands such as ``report punctuality``)."""
    return cast(argparse.ArgumentParser,
                sub.add_parser(name, help=help, description=description or help, epilog=_epilog(examples),
                               formatter_class=_Formatter, parents=[common_parser()]))


def prog_name(default: str) -> str:
    """``rettid-onboard`` when started as that console script, else ``default`` (``python -m onboard``)."""
    base = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return base if base.startswith("rettid-") else default


def main(prog: str, description: str, commands: list[Subcommand], argv: list[str] | None = None, *,
         examples: str | None = None) -> int:
    """Parse ``argv``, import the chosen sub-command's module and run it.

    A :class:`RettidError` (bad configuration, bad feed, missing device) is printed as one clear line
    with exit status 2; anything else is a bug and keeps its traceback.
    """
    ap = argparse.ArgumentParser(prog=prog_name(prog), description=description, epilog=_epilog(examples),
                                 formatter_class=_Formatter, parents=[common_parser()])
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
        if c.name == chosen:
            mod = cast(SubcommandModule, importlib.import_module(c.module))
            p = sub_parser(sub, c.name, help=c.help, examples=getattr(mod, "EXAMPLES", None))
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
        else:
            sub.add_parser(c.name, help=c.help, description=c.help)
    args = ap.parse_args(args_list)
    setup_logging(log_level_from_args(args))
    return run_guarded(ap.prog, args._run, args)


def run_guarded(prog: str, func: Any, args: argparse.Namespace) -> int:
    """Run a command: a RettidError is one line on stderr and exit 2, Ctrl-C is 130."""
    try:
        return int(func(args))
    except RettidError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


# -- shared option groups --------------------------------------------------------------------------


class _DeprecatedAlias(argparse.Action):
    """An old spelling kept working for a while: sets the new option's value and says so once."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str = "", **kw: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated, use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_unit_arguments(p: argparse.ArgumentParser, *, config_required: bool = True,
                       config_help: str = "the unit's YAML file (see docs/config.md)",
                       state_dir: bool = True) -> None:
    """``--config FILE`` and ``--state-dir DIR`` (overrides the config's ``unit.state_dir``)."""
    p.add_argument("--config", required=config_required, type=Path, metavar="FILE", help=config_help)
    if state_dir:
        p.add_argument("--state-dir", type=Path, metavar="DIR",
                       help="override unit.state_dir (outbox, logs, health.json)")


def add_mqtt_arguments(p: argparse.ArgumentParser, *, tls: bool = False,
                       broker_help: str = "override mqtt.url (e.g. mqtt://127.0.0.1:1883)") -> None:
    """``--broker URL`` (old spelling ``--publish`` hidden); with ``tls`` also ``--ca/--cert/--key``,
    ``--client-id`` and ``--topic-prefix``. Read back with :func:`mqtt_from_args`."""
    g = p.add_argument_group("MQTT")
    g.add_argument("--broker", metavar="URL", help=broker_help)
    g.add_argument("--publish", dest="broker", metavar="URL", action=_DeprecatedAlias, new="--broker",
                   help=argparse.SUPPRESS)
    if tls:
        g.add_argument("--ca", type=Path, metavar="FILE", help="CA certificate (mqtts)")
        g.add_argument("--cert", type=Path, metavar="FILE", help="client certificate (mqtts)")
        g.add_argument("--key", type=Path, metavar="FILE", help="client key (mqtts)")
        g.add_argument("--client-id", default="", help="MQTT client id (default: the unit's)")
        g.add_argument("--topic-prefix", metavar="PREFIX", help="topic prefix (default rettid/v1)")
        g.add_argument("--prefix", dest="topic_prefix", action=_DeprecatedAlias, new="--topic-prefix",
                       help=argparse.SUPPRESS)


def mqtt_from_args(args: argparse.Namespace, base: MqttConfig | None = None) -> MqttConfig:
    """The configured broker connection with the command line's overrides applied (checked)."""
    from transit.config import MqttConfig, TlsConfig, mqtt_url_problem

    cfg = base if base is not None else MqttConfig()
    url = getattr(args, "broker", None)
    changes: dict[str, Any] = {}
    if url:
        why = mqtt_url_problem(url)
        if why:
            raise ConfigError(why, key="--broker")
        changes["url"] = url
    files = {k: getattr(args, k, None) for k in ("ca", "cert", "key")}
    if any(v is not None for v in files.values()):
        tls = cfg.tls
        changes["tls"] = TlsConfig(**{k: (v if v is not None else getattr(tls, k)) for k, v in files.items()})
    if getattr(args, "client_id", None):
        changes["client_id"] = args.client_id
    if getattr(args, "topic_prefix", None):
        changes["topic_prefix"] = args.topic_prefix
    return dataclasses.replace(cfg, **changes) if changes else cfg


@dataclass(frozen=True)
class TimeOptions:
    clock: str
    time_warp: float


def add_time_arguments(p: argparse.ArgumentParser, *, clocks: Sequence[str] = (), default_clock: str = "auto",
                       clock_help: str = "") -> None:
    """``--time-warp X`` (old spelling ``--speed`` hidden) and, with ``clocks``, ``--clock``."""
    g = p.add_argument_group("time")
    g.add_argument("--time-warp", type=positive_float, default=1.0, metavar="X",
                   help="data seconds per real second (default 1: real time)")
    g.add_argument("--speed", dest="time_warp", type=positive_float, action=_DeprecatedAlias,
                   new="--time-warp", help=argparse.SUPPRESS)
    if clocks:
        g.add_argument("--clock", choices=tuple(clocks), default=default_clock,
                       help=clock_help or f"time source (default {default_clock})")


def time_from_args(args: argparse.Namespace) -> TimeOptions:
    return TimeOptions(clock=str(getattr(args, "clock", "auto")), time_warp=float(args.time_warp))


def add_output_arguments(p: argparse.ArgumentParser, *, required: bool = False,
                         help: str = "write to this file instead of standard output") -> None:
    """``-o/--out FILE``; ``-`` or nothing (when not required) is standard output."""
    p.add_argument("-o", "--out", required=required, type=Path, metavar="FILE", help=help)


def output_from_args(args: argparse.Namespace) -> Path | None:
    """The output path, or None for standard output."""
    out = getattr(args, "out", None)
    return None if out is None or str(out) == "-" else Path(out)


@contextmanager
def open_output(args: argparse.Namespace) -> Iterator[TextIO]:
    """The ``-o/--out`` file (written whole: a temporary file renamed at the end), or standard output."""
    path = output_from_args(args)
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        yield fh
    os.replace(tmp, path)


# -- progress --------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY (journald, CI, pipes) or
    under systemd. ``with Progress(n, "decode") as bar: ... bar.update(done)``."""

    def __init__(self, total: float, label: str = "", stream: TextIO | None = None,
                 min_interval_s: float = 0.2) -> None:
        self.total = max(total, 1e-9)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = (hasattr(self.stream, "isatty") and self.stream.isatty() and not under_systemd()
                        and os.environ.get("RETTID_PROGRESS", "1") != "0")
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._t0 = time.monotonic()
        self.done = 0.0

    def update(self, done: float, note: str = "") -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.min_interval_s and done < self.total:
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

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
