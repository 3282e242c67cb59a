"""Reading JSON Lines record files (``events.jsonl``, ``punctuality.jsonl``, count exports).

Every tool that reads records (reports, ``onboard publish``, snapshots, frieze replays) needs the same
tolerance: a torn last line after a power cut or a hand-edited file must not stop the run, and must not
vanish silently either. A line that is not a JSON object is counted and logged (rate-limited), the
good lines around it are all kept.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transit.errors import ConfigError
from transit.ratelimit import RateLimitedLog

__all__ = ["JsonlCounts", "parse_jsonl", "read_jsonl", "repair_torn_tail"]

log = logging.getLogger(__name__)


@dataclass
class JsonlCounts:
    """What a read saw; ``bad`` lines were skipped (or yielded as ``{}`` placeholders)."""

    lines: int = 0
    records: int = 0
    bad_json: int = 0  # not JSON at all (torn line, binary garbage, nesting too deep)
    not_object: int = 0  # valid JSON, but not an object (a list, a number, a string)
    recovered: int = 0  # good records found at the end of a bad line (a torn line glued to the next)

    @property
    def bad(self) -> int:
        return self.bad_json + self.not_object


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _glued_record(text: str) -> dict[str, Any] | None:
    """The complete JSON object a bad line ends with: a torn last line from a power cut, with the next
    record appended to it by a writer that did not know (as older units did). Only bad lines pay."""
    i = text.find("{", 1)
    tries = 0
    while i > 0 and tries < 256:  # bounded: a line of binary garbage must not cost quadratic time
        tries += 1
        try:
            obj, end = _DECODER.raw_decode(text, i)
        except (ValueError, RecursionError):
            obj, end = None, -1
        if end == len(text) and isinstance(obj, dict):
            return obj
        i = text.find("{", i + 1)
    return None


def repair_torn_tail(path: str | Path) -> int:
    """Before appending to a record file: a last line without its newline is the part of a record a
    power cut interrupted. It is cut off (so the next record starts on a line of its own) and kept
    beside the file as ``<name>.torn`` for forensics; returns the number of bytes cut (0: intact)."""
    p = Path(path)
    try:
        fh = open(p, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return 0
    with fh:
        size = fh.seek(0, 2)
        if size == 0:
            return 0
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        # find the last newline, reading backwards in blocks (records are short; the file may not be)
        pos, cut = size, 0
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            j = fh.read(step).rfind(b"\n")
            if j >= 0:
                cut = pos + j + 1
                break
        fh.seek(cut)
        torn = fh.read()
        with open(p.with_name(p.name + ".torn"), "ab") as side:
            side.write(torn + b"\n")
            side.flush()
            os.fsync(side.fileno())
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("%s ended in a torn line of %d byte(s) (power cut while writing?): cut off, kept in %s.torn",
                p, len(torn), p.name)
    return len(torn)


def parse_jsonl(lines: Iterable[str], source: str = "<input>", counts: JsonlCounts | None = None, *,
                placeholders: bool = False, ratelog: RateLimitedLog | None = None) -> Iterator[dict[str, Any]]:
    """JSON objects from ``lines``; blank lines are ignored, bad ones counted and logged.

    ``placeholders=True`` yields ``{}`` for a bad or blank line (one item per line) so a caller that
    remembers positions (the resume point of ``onboard publish``) stays aligned with the file. NaN/Infinity are refused: no record of
    ours contains them, and they would poison arithmetic downstream.
    """
    c = counts if counts is not None else JsonlCounts()
    rl = ratelog if ratelog is not None else RateLimitedLog(log)
    bad_before = c.bad
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            if placeholders:
                yield {}
            continue
        c.lines += 1
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            c.bad_json += 1
            obj = _glued_record(text)
            if obj is None:
                rl.warn("bad_json", "%s line %d skipped: not JSON (%s)", source, n, str(exc)[:80])
            else:
                c.recovered += 1
                rl.warn("glued", "%s line %d: a torn record (power cut while writing?) is followed by a "
                        "good one on the same line; the torn part skipped, the record kept", source, n)
        else:
            if not isinstance(obj, dict):
                c.not_object += 1
                rl.warn("not_object", "%s line %d skipped: a JSON %s, not a record object", source, n,
                        type(obj).__name__)
                obj = None
        if obj is None:
            if placeholders:
                yield {}
            continue
        c.records += 1
        yield obj
    if c.bad > bad_before:
        log.warning("%s: %d bad line(s) skipped", source, c.bad - bad_before)


def read_jsonl(paths: str | Path | Iterable[str | Path], counts: JsonlCounts | None = None, *,
               placeholders: bool = False) -> Iterator[dict[str, Any]]:
    """:func:`parse_jsonl` over one file or several, in order (undecodable bytes become U+FFFD); a file
    that cannot be opened is a :class:`ConfigError` naming it."""
    if isinstance(paths, str | Path):
        paths = [paths]
    rl = RateLimitedLog(log)
    for p in paths:
        try:
            fh = open(p, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        except OSError as exc:  # a missing or unreadable file is the caller's mistake, said in one line
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(p)) from None
        with fh:
            yield from parse_jsonl(fh, str(p), counts, placeholders=placeholders, ratelog=rl)


def read_records(paths: Iterable[str | Path], event: str = "punctuality") -> Iterator[dict[str, Any]]:
    """Records of one kind from JSON Lines files (:func:`read_jsonl`: bad lines counted, logged and
    skipped; a missing file is a ConfigError naming it)."""
    for rec in read_jsonl(paths):
        if rec.get("event") == event:
            yield rec

