"""Reading GTFS files: the feed source (folder or zip), tables with their CSV line numbers, the row
rules (dates, coordinates, enums) and the problem log both the loader and feed-check use.

Shared by :mod:`transit.timetable` (which builds the timetable row by row and leaves bad rows out) and
:mod:`transit.feedcheck` (which adds whole-feed checks), so a problem is found once and a feed that
loads is exactly the feed that was checked. Row numbers are the line numbers an editor shows: the
header is line 1, the first record line 2.
"""


from __future__ import annotations

import csv
import io
import logging
import math
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from pathlib import Path
from typing import IO, Any, TextIO

log = logging.getLogger(__name__)

ERROR = "error"
WARNING = "warning"

#: Files a usable feed must have, with the columns each must have (GTFS Schedule reference).
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name", "agency_url", "agency_timezone"),
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
}
#: Optional files and the columns they must have when present.
OPTIONAL_FILES: dict[str, tuple[str, ...]] = {
    "calendar.txt": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday", "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "shapes.txt": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
    "feed_info.txt": ("feed_publisher_name", "feed_publisher_url", "feed_lang"),
}



@dataclass(frozen=True, slots=True)
class FeedProblem:
    """One problem in a feed. ``row`` is the CSV line number (header = 1); ``None`` for a whole file."""

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        col = f" {self.column}:" if self.column else ""
        tag = "" if self.severity == ERROR else f" ({self.severity})"
        return f"{where}:{col} {self.message}{tag}"


class ProblemLog:
    """Collects problems while loading; ``fatal`` marks a feed that cannot be used at all."""

    def __init__(self) -> None:
        self.problems: list[FeedProblem] = []
        self.fatal = False

    def add(self, file: str, row: int | None, column: str | None, message: str, *,
            severity: str = ERROR, fatal: bool = False) -> None:
        self.problems.append(FeedProblem(file, row, column, message, severity))
        if fatal:
            self.fatal = True

    @property
    def errors(self) -> list[FeedProblem]:
        return [p for p in self.problems if p.severity == ERROR]


# -- reading CSV from a folder or a zip --------------------------------------------------------------


#: What reading a damaged feed can raise: a torn or bit-flipped zip fails in zipfile or zlib, possibly
#: only at the end of a member (CRC check), after its rows were read; a damaged header can claim an
#: unsupported method or encryption (NotImplementedError, RuntimeError from zipfile).
READ_ERRORS = (OSError, csv.Error, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, EOFError,
               NotImplementedError, RuntimeError)


class NotUtf8Error(Exception):
    """A feed file is not UTF-8 text. Raised out of the loader: every row after it would be a follow-on
    error (unknown stop ids because stops.txt is unreadable), so the cause is said once and loading stops."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class FeedSource:
    """A GTFS feed as a folder or a zip file (files at the top level or inside one folder).

    ``exists`` is False when the path is neither; ``unreadable`` then says why when it is a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        self.unreadable: str | None = None
        if self.path.is_dir():
            self._names = {p.name: str(p) for p in self.path.iterdir() if p.is_file()}
        elif self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except READ_ERRORS as exc:
                self.unreadable = f"not a readable zip file: {exc}"
                return
            for info in self._zip.infolist():
                if not info.filename or info.filename.endswith("/"):  # a folder (is_dir() fails on "")
                    continue
                base = info.filename.rsplit("/", 1)[-1]
                # Prefer a top-level file over one in a sub-folder.
                if base not in self._names or "/" not in info.filename:
                    self._names[base] = info.filename

    @property
    def exists(self) -> bool:
        return self.path.is_dir() or self._zip is not None

    def has(self, name: str) -> bool:
        return name in self._names

    def open(self, name: str) -> TextIO:
        """The file as text (UTF-8, a BOM dropped), whole; a bad byte raises UnicodeDecodeError.
        Loaders use :meth:`open_lines`, which decodes each line on its own."""
        if self._zip is not None:
            raw = self._zip.open(self._names[name])
            return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        return open(self._names[name], encoding="utf-8-sig", newline="")

    def open_lines(self, name: str) -> DecodedLines:
        """The file's lines, each decoded on its own (see :class:`DecodedLines`)."""
        raw: IO[bytes] = self._zip.open(self._names[name]) if self._zip is not None else open(self._names[name], "rb")
        return DecodedLines(raw)

    def read_bytes(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._names[name])
        return Path(self._names[name]).read_bytes()

    def encoding_problem(self, name: str) -> tuple[int, str]:
        """Where ``name`` stops being UTF-8 and what it looks like: ``(line, message)``."""
        try:
            data = self.read_bytes(name)
        except READ_ERRORS as exc:
            return 1, f"not UTF-8 text, and unreadable as a whole ({exc}); nothing more was checked"
        try:
            data.decode("utf-8-sig")
            return 1, "not UTF-8 text"  # decodes as a whole: the reader failed mid-character at a chunk edge
        except UnicodeDecodeError as exc:
            pos = exc.start
        line = data.count(b"\n", 0, pos) + 1
        byte = data[pos]
        guess = "an unknown encoding"
        try:
            text = data.decode("cp1252")
            if any(ch in text for ch in "æøåÆØÅéüö"):
                guess = "Windows-1252 / Latin-1 (Danish letters as single bytes)"
        except UnicodeDecodeError:
            pass
        return line, (f"not UTF-8: byte 0x{byte:02x} at line {line}; it looks like {guess}. GTFS files must "
                      f"be UTF-8 (convert with: iconv -f cp1252 -t utf-8 {name} > {name}.utf8); "
                      "nothing more was checked")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


#: letters a Windows-1252 / Latin-1 file of Danish names shows where UTF-8 fails: such a byte means the
#: file was saved in another encoding, any other byte (0xFF, a bit flip) a damaged row
_LEGACY_LETTERS = frozenset("æøåÆØÅéèüöäÄÖÜÉ")


class DecodedLines:
    """A GTFS file's lines decoded one by one (UTF-8), so one bad byte costs its own row, not the rest of
    the file: a text stream decodes 8 kB blocks, and the first bad byte ended the file there with the
    CSV reader's line number of the last complete row before the block (a 0xFF in row 2,014 of
    stop_times.txt left 202 of 1,849 trips with stop times, and feed-check named a line 103 rows off).

    A line that is not UTF-8 becomes an empty line (line numbers stay those an editor shows, and the
    CSV reader skips it) and is recorded in :attr:`bad` as (line, byte offset in the file, message) —
    unless the byte reads as a Danish letter in Windows-1252: then the file is in the wrong encoding and
    the ``UnicodeDecodeError`` goes to the loader, which says so once (:class:`NotUtf8Error`)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.line = 0
        self.offset = 0
        self.bad: list[tuple[int, int, str]] = []

    #: Bytes decoded at once: a block of whole lines that is valid UTF-8 (nearly always) is decoded in
    #: one call and split in C; only a block with a bad byte is decoded line by line (national feed:
    #: 1.7 M lines, the per-line decode and generator cost a third of reading stop_times.txt).
    BLOCK = 1 << 20

    def __iter__(self) -> Iterator[str]:
        raw = self._raw
        while True:
            block = raw.read(self.BLOCK)
            if not block:
                return
            if not block.endswith(b"\n"):
                block += raw.readline()
            if self.line == 0 and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
                self.offset += 3
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError:
                pieces = block.split(b"\n")  # lines end at \n only, as a file's lines do
                tail = pieces.pop()
                yield from self._lines([p + b"\n" for p in pieces] + ([tail] if tail else []))
                continue
            parts = text.split("\n")
            last = parts.pop()  # "" after a final newline, else the file's last line without one
            self.line += len(parts)
            self.offset += len(block)
            yield from map(str.__add__, parts, repeat("\n"))
            if last:
                self.line += 1
                yield last

    def _lines(self, chunks: list[bytes]) -> Iterator[str]:
        for chunk in chunks:
            self.line += 1
            start = self.offset
            self.offset += len(chunk)
            if self.line == 1 and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
                start += 3
            try:
                yield chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                if chunk[exc.start:exc.start + 1].decode("cp1252", "replace") in _LEGACY_LETTERS:
                    # a Danish letter in a single-byte encoding: the whole file is in another
                    # encoding, said once by the loader (NotUtf8Error), not a damaged row
                    raise
                self.bad.append((self.line, start + exc.start,
                                 f"not UTF-8: byte 0x{chunk[exc.start]:02X} at byte offset {start + exc.start}"
                                 f" (column {exc.start + 1} of the line); row skipped"))
                yield "\n"

    def close(self) -> None:
        self._raw.close()


class Table:
    """One CSV file: its column positions and an iterator of (line number, fields)."""

    def __init__(self, name: str, header: list[str], reader: Any, handle: TextIO | DecodedLines) -> None:
        self.name = name
        self.columns = {c.strip(): i for i, c in enumerate(header)}
        self.missing: frozenset[str] = frozenset()
        self._reader = reader
        self._handle = handle

    def col(self, name: str) -> int:
        """Index of a column, or -1 when the file lacks it."""
        return self.columns.get(name, -1)

    def rows(self, log_: ProblemLog) -> Iterator[tuple[int, list[str]]]:
        """Records with their line numbers; blank lines are skipped, short rows padded."""
        width = len(self.columns)
        reader = self._reader
        bad = self._handle.bad if isinstance(self._handle, DecodedLines) else []
        try:
            for fields in reader:
                line = int(reader.line_num)
                if bad:
                    for n, _off, msg in bad:
                        log_.add(self.name, n, None, msg)
                    bad.clear()
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) < width:
                    fields = fields + [""] * (width - len(fields))
                yield line, fields
        except UnicodeDecodeError:
            raise NotUtf8Error(self.name) from None
        except READ_ERRORS as exc:
            log_.add(self.name, getattr(reader, "line_num", None), None, f"unreadable CSV: {exc}")
        finally:
            for n, _off, msg in bad:  # a bad last line
                log_.add(self.name, n, None, msg)
            bad.clear()
            self._handle.close()


def open_table(src: FeedSource, name: str, required: tuple[str, ...], log_: ProblemLog, *,
               must_exist: bool) -> Table | None:
    """Open ``name`` and check its header; a missing required file or column is fatal."""
    if not src.has(name):
        if must_exist:
            log_.add(name, None, None, "required file is missing", fatal=True)
        return None
    try:
        handle = src.open_lines(name)  # a damaged zip header can fail here, with a UnicodeDecodeError too
    except READ_ERRORS as exc:
        log_.add(name, None, None, f"cannot read: {exc}", fatal=must_exist)
        return None
    try:
        reader = csv.reader(iter(handle))
        header = next(reader, None)
    except UnicodeDecodeError:
        handle.close()
        raise NotUtf8Error(name) from None
    except READ_ERRORS as exc:
        handle.close()
        log_.add(name, None, None, f"cannot read: {exc}", fatal=must_exist)
        return None
    if handle.bad and handle.bad[0][0] == 1:
        log_.add(name, 1, None, f"header line {handle.bad[0][2].replace('; row skipped', '')}", fatal=must_exist)
        handle.close()
        return None
    if header is None:
        log_.add(name, None, None, "file is empty (no header line)", fatal=must_exist)
        handle.close()
        return None
    table = Table(name, header, reader, handle)
    # A missing column makes the feed unusable, but the rows are still read so that every other
    # problem in the file is reported too; rules on the missing column stay quiet.
    table.missing = frozenset(c for c in required if c not in table.columns)
    for c in sorted(table.missing, key=required.index):
        log_.add(name, 1, c, "required column is missing", fatal=True)
    return table


# -- field rules -----------------------------------------------------------------------------------


def parse_date(text: str) -> date:
    """GTFS ``YYYYMMDD``; ``ValueError`` when malformed."""
    t = text.strip()
    if len(t) != 8 or not t.isdigit():
        raise ValueError(f"malformed date '{text}' (expected YYYYMMDD)")
    return date(int(t[:4]), int(t[4:6]), int(t[6:]))


def parse_coordinate(lat_text: str, lon_text: str) -> tuple[float, float]:
    """Latitude and longitude in degrees; ``ValueError`` naming what is wrong."""
    try:
        lat = float(lat_text)
        lon = float(lon_text)
    except ValueError:
        raise ValueError(f"bad coordinates '{lat_text}', '{lon_text}' (expected decimal degrees)") from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError(f"coordinates out of range: {lat}, {lon}")
    if lat == 0 and lon == 0:
        raise ValueError("coordinates are 0, 0 (missing position)")
    return lat, lon


def parse_enum(text: str, allowed: range | tuple[int, ...], default: int) -> int:
    t = text.strip()
    if not t:
        return default
    try:
        v = int(t)
    except ValueError:
        raise ValueError(f"expected one of {', '.join(map(str, allowed))}, got '{text}'") from None
    if v not in allowed:
        raise ValueError(f"expected one of {', '.join(map(str, allowed))}, got {v}")
    return v
