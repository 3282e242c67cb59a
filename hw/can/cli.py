"""``python -m hw.can decode FILE.log [--dbc FILE]``: candump log → JSON Lines of decoded signals.

One object per frame whose PGN the DBC knows: ``time`` (ISO UTC, ms), ``channel``, ``id`` (hex),
``pgn``, ``sa``, ``name``, ``signals`` (J1939 error / not available → null). Counts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from hw.can.dbc import load_dbc
from hw.can.decode import J1939Decoder
from hw.can.replay import ReplayBus
from transit.errors import DecodeError
from transit.timeutil import iso_utc_ms


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="candump -l log (e.g. can.log)")
    p.add_argument("--dbc", type=Path, default=None, help="DBC file (default: the project's Bus-FMS DBC)")
    p.add_argument("--unknown", action="store_true", help="also print frames of PGNs the DBC lacks")


def run(args: argparse.Namespace) -> int:
    dec = J1939Decoder(load_dbc(args.dbc))
    bus = ReplayBus(file=args.file, speed=0.0)
    counts: Counter[str] = Counter()
    out = sys.stdout
    try:
        while True:
            msg = bus.recv(0)
            if msg is None:
                break
            counts["frames"] += 1
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
    except BrokenPipeError:  # output piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")  # keep Python's exit flush from failing
        return 0
    finally:
        bus.shutdown()
    counts["bad_lines"] = bus.bad_lines
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), file=sys.stderr)
    return 0
