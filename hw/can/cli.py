"""``rettid-can decode FILE [--dbc FILE] [-o OUT]``: CAN log → JSON Lines of decoded signals.

Any log :mod:`hw.can.logfile` reads: candump ``-l`` (tolerant of bad lines), python-can's ``.asc``,
``.blf``, ``.trc``, ``.csv`` ..., each also ``.gz``. A progress bar on a terminal (a 30 s capture took
16 s with nothing on the screen).

One object per frame whose PGN the DBC knows: ``time`` (ISO UTC, ms), ``channel``, ``id`` (hex),
``pgn``, ``sa``, ``name``, ``signals`` (J1939 error / not available → null). Counts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hw.can.backends import open_bus
from hw.can.config import add_can_arguments, can_config_from_args
from hw.can.dbc import load_dbc
from hw.can.decode import J1939Decoder
from hw.can.replay import ReplayBus
from transit.cli import Progress, add_output_arguments, output_from_args
from transit.errors import ConfigError, DecodeError
from transit.timeutil import iso_utc_ms

EXAMPLES = """\
rettid-can decode can.log | head
rettid-can decode trace.blf --unknown -o trace.jsonl
rettid-can decode capture.asc.gz --dbc my-busfms.dbc
rettid-can decode --can-backend socketcan --can-channel can0 --duration 10   # what is on the bus now
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, nargs="?",
                   help="CAN log: candump -l (can.log), .asc, .blf, .trc, .csv ..., also .gz")
    add_can_arguments(p)
    p.add_argument("--duration", type=float, metavar="S", help="live bus: stop after this many seconds")
    p.add_argument("--dbc", type=Path, default=None, help="DBC file (default: the project's Bus-FMS DBC)")
    p.add_argument("--unknown", action="store_true", help="also print frames of PGNs the DBC lacks")
    add_output_arguments(p, help="write the JSON Lines here instead of standard output")


def run(args: argparse.Namespace) -> int:
    dec = J1939Decoder(load_dbc(args.dbc))
    live = can_config_from_args(args)
    if (live is None) == (args.file is None):
        raise ConfigError("give a log FILE or a live bus (--can-backend, --can-channel), not both", key="FILE")
    bus: Any = ReplayBus(file=args.file, speed=0.0) if live is None else _Live(open_bus(live), args.duration)
    counts: Counter[str] = Counter()
    path = output_from_args(args)
    out_cm = open(path, "w", encoding="utf-8") if path is not None else nullcontext(sys.stdout)  # noqa: SIM115
    bar = Progress(1.0, label=f"decode {args.file.name if args.file else live.channel}")  # type: ignore[union-attr]
    try:
        with out_cm as out:
            _decode(bus, dec, args, counts, out, bar)
    except BrokenPipeError:  # output piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")  # keep Python's exit flush from failing
        return 0
    finally:
        bar.close()
        bus.shutdown()
    counts["bad_lines"] = getattr(bus, "bad_lines", 0)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), file=sys.stderr)
    return 0


class _Live:
    """A live bus read until ``duration`` (or Ctrl-C) with the log replay's surface."""

    def __init__(self, bus: Any, duration: float | None) -> None:
        self.bus = bus
        self.t_end = None if duration is None else time.monotonic() + duration
        self.duration = duration

    def recv(self, _timeout: float) -> Any:
        while self.t_end is None or time.monotonic() < self.t_end:
            try:
                msg = self.bus.recv(0.2)
            except KeyboardInterrupt:
                return None
            if msg is not None:
                return msg
        return None

    def position(self) -> float:
        if self.t_end is None or not self.duration:
            return 0.0
        return min(1.0, 1.0 - (self.t_end - time.monotonic()) / self.duration)

    def shutdown(self) -> None:
        self.bus.shutdown()


def _decode(bus: Any, dec: J1939Decoder, args: argparse.Namespace, counts: Counter[str], out: Any,
            bar: Progress) -> None:
    while True:
        msg = bus.recv(0)
        if msg is None:
            break
        counts["frames"] += 1
        if counts["frames"] % 2000 == 0:
            bar.update(bus.position(), f"{counts['frames']} frames")
        if msg.is_error_frame:
            counts["error_frames"] += 1
            continue
        if not msg.is_extended_id or msg.is_remote_frame:
            counts["not_j1939"] += 1
            continue
        try:
            d = dec.decode(msg.arbitration_id, msg.data)
        except DecodeError as exc:
            counts["bad_frames"] += 1
            print(f"{args.file}: {exc}", file=sys.stderr)
            continue
        if d is None:
            counts["unknown_pgn"] += 1
            if not args.unknown:
                continue
        counts["decoded"] += d is not None
        t = datetime.fromtimestamp(msg.timestamp, UTC)
        can_id = msg.arbitration_id
        pgn = d.pgn if d is not None else None
        rec = {"time": iso_utc_ms(t), "channel": msg.channel, "id": f"{can_id:08X}",
               "pgn": pgn, "sa": can_id & 0xFF, "name": d.name if d else None,
               "signals": dict(d.signals) if d else None}
        out.write(json.dumps(rec) + "\n")
