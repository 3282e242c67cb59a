"""``python -m hw.gnss decode FILE``: one JSON object per fix epoch on stdout, counters on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import date

from hw.gnss.config import GnssConfig
from hw.gnss.decoder import DEFAULT_NOT_BEFORE, NmeaConfig
from hw.gnss.file_source import FileSource

EXAMPLES = """\
rettid-gnss decode gnss.nmea | head
rettid-gnss decode old-receiver.log --not-before 2010-01-01 --all
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="NMEA file (lines starting with # are skipped)")
    parser.add_argument("--no-checksum-ok", action="store_true",
                        help="accept sentences without a checksum (rejected by default)")
    parser.add_argument("--not-before", type=date.fromisoformat, default=DEFAULT_NOT_BEFORE,
                        metavar="YYYY-MM-DD",
                        help="GPS week-rollover guard: earlier dates are moved forward by 1024 weeks "
                        f"(default {DEFAULT_NOT_BEFORE}); give an earlier date for older recordings")
    parser.add_argument("--all", action="store_true", help="also print epochs without a position")


def run(args: argparse.Namespace) -> int:
    nmea = NmeaConfig(require_checksum=not args.no_checksum_ok, not_before=args.not_before)
    src = FileSource(replace(GnssConfig(backend="file"), path=args.file, nmea=nmea))
    out = sys.stdout
    printed = 0
    try:
        while not src.finished:
            for fix in src.read():
                if fix.has_position or args.all:
                    out.write(json.dumps(_rounded(fix.to_tpv())) + "\n")
                    printed += 1
        out.flush()
    except BrokenPipeError:  # e.g. piped into head: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        src.close()
    stats = src.stats()
    sys.stderr.write(json.dumps({"printed": printed, **stats}) + "\n")
    return 0


# Decimals as gpsd prints them (lat/lon 9 digits is ~0.1 mm, far below receiver precision).
_DECIMALS = {"lat": 9, "lon": 9, "altMSL": 3, "speed": 3, "track": 4, "eph": 3}


def _rounded(tpv: dict[str, object]) -> dict[str, object]:
    return {k: round(v, _DECIMALS[k]) if isinstance(v, float) and k in _DECIMALS else v
            for k, v in tpv.items()}
