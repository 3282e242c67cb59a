"""Reading and writing JSON Lines record files (``events.jsonl``, ``punctuality.jsonl``, count exports).

Every tool that reads records (reports, ``onboard publish``, snapshots, frieze replays) needs the same
tolerance: a torn last line after a power cut or a hand-edited file must not stop the run, and must not
vanish silently either. A line that is not a JSON object is counted and logged (rate-limited), the
good lines around it are all kept.

Files that a running unit keeps appending to are rotated by size or age (:class:`JsonlWriter`), the
way logrotate names them: ``x.jsonl`` is being written, ``x.jsonl.1`` is the newest full one,
``x.jsonl.2`` the one before ... (``.gz`` allowed: rotated files may be compressed later). Rotation
renames and never deletes unless told to keep fewer, so nothing is lost, and the concatenation of
``x.jsonl.N ... x.jsonl.1, x.jsonl`` only ever grows at its end: a reader given ``x.jsonl`` reads its
rotated predecessors first (:func:`expand_rotated`), oldest first, and a position counted in lines of
that stream (``onboard publish``'s resume point) stays valid across rotations. Readers also accept
glob patterns (``'/var/lib/rettid/punctuality.jsonl*'``) and ``.gz`` files.

:func:`iter_records` / :func:`read_records` are the edge where onboard records come in typed: each line
is validated once by :func:`transit.records.decode_record` (a line that is JSON but no valid record is
counted as ``invalid``); :func:`read_jsonl` stays for files that are not records (count references).
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from transit.errors import ConfigError, DecodeError, InvalidRecordError
from transit.ratelimit import RateLimitedLog
from transit.records import Encoded, Record, decode_record

__all__ = ["JsonlCounts", "JsonlWriter", "RotatingAppendFile", "append_all", "expand_rotated", "iter_records",
           "open_text", "parse_jsonl", "parse_records", "read_jsonl", "read_records", "repair_torn_tail",
           "rotate_family"]

log = logging.getLogger(__name__)

_ROTATED = re.compile(r"^(?P<base>.+)\.(?P<n>\d+)(?:\.gz)?$")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class JsonlCounts:
    """What a read saw; ``bad`` lines were skipped (or yielded as ``{}`` placeholders)."""

    lines: int = 0
    records: int = 0
    bad_json: int = 0  # not JSON at all (torn line, binary garbage, nesting too deep)
    not_object: int = 0  # valid JSON, but not an object (a list, a number, a string)
    invalid: int = 0  # a JSON object, but not a valid record (typed readers only)
    recovered: int = 0  # good records found at the end of a bad line (a torn line glued to the next)

    @property
    def bad(self) -> int:
        return self.bad_json + self.not_object + self.invalid


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


def _rotation_key(p: Path) -> tuple[str, int]:
    """Sort key inside one rotated family: oldest (highest number) first, the live file last."""
    m = _ROTATED.match(p.name)
    if m:
        return m.group("base"), -int(m.group("n"))
    return p.name.removesuffix(".gz"), 0


def _family(p: Path) -> str:
    return str(p.parent / _rotation_key(p)[0])


def expand_rotated(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files to read for ``paths``, in record order.

    A plain ``x.jsonl`` stands for its rotated family: ``x.jsonl.N`` ... ``x.jsonl.1`` (``.gz`` too),
    then ``x.jsonl``. A glob pattern is expanded. A file named twice (``x.jsonl*`` expanded by the shell
    and ``x.jsonl``) is read once; families keep the order in which they were first named. A name that
    matches nothing is kept, so the reader reports it.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    order: list[str] = []
    members: dict[str, set[Path]] = {}
    for raw in paths:
        text = str(raw)
        if _GLOB_CHARS.search(text):
            found = [Path(x) for x in glob.glob(text)]
            if not found:
                found = [Path(text)]
        else:
            p = Path(text)
            found = [p]
            if _ROTATED.match(p.name) is None:  # x.jsonl: add x.jsonl.N[.gz]
                found += [Path(x) for x in glob.glob(glob.escape(text) + ".[0-9]*")
                          if _ROTATED.match(Path(x).name)]
        for f in found:
            fam = _family(f)
            if fam not in members:
                members[fam] = set()
                order.append(fam)
            members[fam].add(f)
    out: list[Path] = []
    for fam in order:
        out.extend(sorted(members[fam], key=lambda p: (_rotation_key(p)[1], p.suffix == ".gz")))
    return out


def open_text(path: str | Path) -> IO[str]:
    """A text file for reading, gunzipped when its name ends in ``.gz``; undecodable bytes become U+FFFD.
    A file that cannot be opened is a :class:`ConfigError` naming it."""
    p = Path(path)
    try:
        if p.suffix == ".gz":
            return gzip.open(p, "rt", encoding="utf-8", errors="replace")
        return open(p, encoding="utf-8", errors="replace")  # noqa: SIM115 - the caller closes it
    except OSError as exc:  # a missing or unreadable file is the caller's mistake, said in one line
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(p)) from None


def read_jsonl(paths: str | Path | Iterable[str | Path], counts: JsonlCounts | None = None, *,
               placeholders: bool = False, rotated: bool = True,
               progress: Callable[[float, str], None] | None = None) -> Iterator[dict[str, Any]]:
    """:func:`parse_jsonl` over one file or several, in order; with ``rotated`` (the default) each
    name stands for its rotated family and globs are expanded (:func:`expand_rotated`).

    ``progress(fraction, file)`` is called every few thousand lines with the share of the files' bytes
    read (a report's progress bar). A damaged ``.gz`` keeps the records read before the damage; it is
    counted as a bad line and logged, and the next file is read."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files = expand_rotated(paths) if rotated else [Path(p) for p in paths]
    rl = RateLimitedLog(log)
    c = counts if counts is not None else JsonlCounts()
    sizes = [_size(p) for p in files]
    total = max(1, sum(sizes))
    done = 0
    for p, size in zip(files, sizes, strict=True):
        with open_text(p) as fh:
            lines: Iterable[str] = fh if progress is None else _reporting(fh, done, total, str(p), progress)
            try:
                yield from parse_jsonl(lines, str(p), c, placeholders=placeholders, ratelog=rl)
            except (OSError, EOFError) as exc:  # a torn .gz: what was read is kept
                c.bad_json += 1
                log.error("%s: unreadable from here on (%s); the records before it are kept", p, exc)
        done += size
        if progress is not None:
            progress(done / total, str(p))


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _reporting(fh: IO[str], done: int, total: int, name: str,
               progress: Callable[[float, str], None]) -> Iterator[str]:
    raw: Any = getattr(fh, "buffer", None)
    raw = getattr(raw, "fileobj", raw)  # through gzip to the file on disk
    for n, line in enumerate(fh, 1):
        if n % 5000 == 0 and raw is not None:
            try:
                progress(min(1.0, (done + raw.tell()) / total), name)
            except (OSError, ValueError):
                pass
        yield line


def _glued_typed(raw: bytes) -> Encoded | None:
    """:func:`_glued_record` for the typed readers: the valid record a bad line ends with."""
    i = raw.find(b"{", 1)
    tries = 0
    while i > 0 and tries < 256:  # bounded, as above
        tries += 1
        try:
            return Encoded(decode_record(raw[i:]), raw[i:])
        except DecodeError:
            i = raw.find(b"{", i + 1)
    return None


def parse_records(lines: Iterable[bytes], source: str = "<input>", counts: JsonlCounts | None = None, *,
                  placeholders: bool = False, ratelog: RateLimitedLog | None = None) -> Iterator[Encoded | None]:
    """Typed records from JSON Lines ``lines`` (bytes, as read in binary): each validated once and kept
    with the bytes it was read as (``Encoded``: publishing reuses them). Blank lines are ignored; bad ones
    counted (``bad_json``, ``not_object``, ``invalid``) and logged — a valid record glued onto a torn line
    is kept (``recovered``); ``placeholders=True`` yields ``None`` for a bad or blank line so a caller that
    remembers positions stays aligned with the file."""
    c = counts if counts is not None else JsonlCounts()
    rl = ratelog if ratelog is not None else RateLimitedLog(log)
    bad_before = c.bad
    for n, line in enumerate(lines, 1):
        raw = line.strip()
        if not raw:
            if placeholders:
                yield None
            continue
        c.lines += 1
        try:
            rec = decode_record(raw)
        except DecodeError as exc:
            # msgspec validates while it parses: a torn line may fail on a field before its syntax does
            glued = _glued_typed(raw) if raw[:1] == b"{" else None
            if glued is not None:
                c.bad_json += 1
                c.recovered += 1
                c.records += 1
                rl.warn("glued", "%s line %d: a torn record (power cut while writing?) is followed by a "
                        "good one on the same line; the torn part skipped, the record kept", source, n)
                yield glued
                continue
            if isinstance(exc, InvalidRecordError):
                c.invalid += 1
                rl.warn("invalid", "%s line %d skipped: %s", source, n, str(exc)[:160])
            elif raw[:1] == b"{":
                c.bad_json += 1
                rl.warn("bad_json", "%s line %d skipped: not JSON (%s)", source, n, str(exc)[:80])
            else:
                c.not_object += 1
                rl.warn("not_object", "%s line %d skipped: not a record object", source, n)
        else:
            c.records += 1
            yield Encoded(rec, raw)
            continue
        if placeholders:
            yield None
    if c.bad > bad_before:
        log.warning("%s: %d bad line(s) skipped", source, c.bad - bad_before)


def open_binary(path: str | Path) -> IO[bytes]:
    """:func:`open_text` in binary (records keep the bytes they were read as)."""
    p = Path(path)
    try:
        if p.suffix == ".gz":
            return cast(IO[bytes], gzip.open(p, "rb"))  # a GzipFile reads like any binary file
        return open(p, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(p)) from None


def iter_records(paths: str | Path | Iterable[str | Path], counts: JsonlCounts | None = None, *,
                 placeholders: bool = False, rotated: bool = True) -> Iterator[Encoded | None]:
    """:func:`parse_records` over one file or several, in order; with ``rotated`` (the default) each
    name stands for its rotated family and globs are expanded (:func:`expand_rotated`); a file that
    cannot be opened is a :class:`ConfigError` naming it."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files = expand_rotated(paths) if rotated else [Path(p) for p in paths]
    rl = RateLimitedLog(log)
    for p in files:
        with open_binary(p) as fh:
            try:
                yield from parse_records(fh, str(p), counts, placeholders=placeholders, ratelog=rl)
            except (OSError, EOFError) as exc:  # a torn .gz: what was read is kept
                raise ConfigError(f"cannot read: {exc}", file=str(p)) from None


def read_records(paths: str | Path | Iterable[str | Path], event: str | None = None,
                 counts: JsonlCounts | None = None) -> Iterator[Record]:
    """Valid records (of one kind, when ``event`` is given) from JSON Lines files and their rotated
    families; bad lines are counted, logged and skipped; a missing file is a ConfigError naming it."""
    for enc in iter_records(paths, counts):
        if enc is not None and (event is None or enc.record.event == event):
            yield enc.record


def append_all(fd: int, data: bytes, *, fsync: bool = True) -> None:
    """Append ``data`` to an ``O_APPEND`` descriptor (and fsync); on any error the file is cut back to
    its size before the call (a full disk must not leave half a record to glue the next one onto)."""
    start = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
    except OSError:
        try:
            os.ftruncate(fd, start)
        except OSError as exc2:  # the torn tail is then repaired at the next open
            log.debug("cannot cut back a failed append: %s", exc2)
        raise


def rotate_family(path: str | Path, keep: int | None = None) -> None:
    """``x.N`` → ``x.N+1`` (highest first), ``x`` → ``x.1``: logrotate's names, by renames only. A
    crash between two renames leaves a gap in the numbers, never a lost or reordered file (readers sort
    by number). Files beyond ``keep`` rotated ones are deleted only when ``keep`` is given."""
    base = Path(path)
    rotated = sorted(((int(m.group("n")), Path(f)) for f in glob.glob(glob.escape(str(base)) + ".[0-9]*")
                      if (m := _ROTATED.match(Path(f).name)) and m.group("base") == base.name), reverse=True)
    for n, f in rotated:
        if keep is not None and n >= keep:
            f.unlink()
            continue
        f.rename(f.with_name(f"{base.name}.{n + 1}" + (".gz" if f.suffix == ".gz" else "")))
    if base.exists():
        if keep == 0:
            base.unlink()
        else:
            os.replace(base, base.with_name(base.name + ".1"))
    _fsync_dir(base.parent)


class RotatingAppendFile:
    """A record file a running unit appends to: ``O_APPEND``, the torn tail of a power cut repaired on
    open (:func:`repair_torn_tail`), whole lines appended and fsync'd and cut back on failure
    (:func:`append_all`), rotated by size and/or age (:func:`rotate_family`).

    ``max_bytes``: rotate before a line would take the file past this (a line is never split; a file
    holds at least one line). ``max_age_s``: rotate a non-empty file this long after it was started (by
    this process, or the file's modification time when an existing file is continued). ``keep``: rotated
    files to keep (``None``: all; a unit's records are collected centrally before anyone deletes them).
    ``clock`` is for housekeeping only (when to rotate), never for stamping records.
    """

    def __init__(self, path: str | Path, *, max_bytes: int | None = 64 * 1024 * 1024,
                 max_age_s: float | None = None, keep: int | None = None, fsync: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.keep = keep
        self.fsync = fsync
        self.clock = clock
        self.rotations = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.torn_bytes = repair_torn_tail(self.path)
        self.fd = -1
        self._open()

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        st = os.fstat(self.fd)
        self._started = st.st_mtime if st.st_size else self.clock()

    def append_line(self, data: bytes) -> None:
        """One or more whole lines (ending in a newline)."""
        size = os.fstat(self.fd).st_size
        if size and self._due(size, len(data)):
            self.rotate()
        append_all(self.fd, data, fsync=self.fsync)

    def _due(self, size: int, n: int) -> bool:
        if self.max_bytes is not None and size + n > self.max_bytes:
            return True
        return self.max_age_s is not None and self.clock() - self._started >= self.max_age_s

    def rotate(self) -> None:
        self.close()
        rotate_family(self.path, self.keep)
        self.rotations += 1
        self._open()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class JsonlWriter(RotatingAppendFile):
    """:class:`RotatingAppendFile` taking records: ``write(rec)`` appends one JSON object a line."""

    def __init__(self, path: str | Path, *, max_bytes: int | None = 64 * 1024 * 1024,
                 max_age_s: float | None = None, keep: int | None = None, fsync: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(path, max_bytes=max_bytes, max_age_s=max_age_s, keep=keep, fsync=fsync, clock=clock)

    def write(self, rec: Record | Encoded | dict[str, Any]) -> None:
        """One record: a typed one as its bytes (encoded once), a plain object as compact JSON."""
        if isinstance(rec, Encoded | Record):
            self.append_line((rec if isinstance(rec, Encoded) else Encoded.of(rec)).line)
        else:
            self.write_line(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))

    def write_line(self, line: str) -> None:
        self.append_line((line.rstrip("\n") + "\n").encode("utf-8"))

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    """Make the renames durable (a power cut must not bring back the old names)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
