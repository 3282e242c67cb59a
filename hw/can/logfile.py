"""CAN log files opened by extension: python-can's readers for its formats, rettid's for candump.

The suffix table is python-can's (``can.io.player.MESSAGE_READERS``: ``.asc``, ``.blf``, ``.csv``,
``.trc``, ``.mf4``, ``.db``, ...), each also ``.gz``, as ``can.LogReader`` does. A candump ``-l`` log
(``.log``, or a name python-can does not know) keeps rettid's own line reader
(:func:`hw.can.replay.parse_candump_line`): python-can's readers stop at the first malformed line, and a
log from the field can have a torn last line or noise in the middle; ours counts the line and goes on.
For the other formats a malformed record ends the file with one clear message and a counter (the
frames before it are kept): their readers cannot resynchronise.

The raw file is opened here, not by python-can, so progress is the byte position in the file on disk
(also through gzip) whatever the format.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import can
from can.io.canutils import CanutilsLogReader
from can.io.generic import BinaryIOMessageReader, TextIOMessageReader
from can.io.player import MESSAGE_READERS

from transit.errors import DeviceError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

CAN_ERR_FLAG = 0x20000000


def parse_candump_line(line: str) -> can.Message | None:
    """One candump ``-l`` line → message; None for a blank or comment line; ValueError if malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split()
    if len(parts) >= 3 and "#" in parts[2]:
        ident, _, payload = parts[2].partition("#")
        if len(ident) == 8 and int(ident, 16) & CAN_ERR_FLAG:
            if not parts[0].startswith("(") or not parts[0].endswith(")"):
                raise ValueError(f"bad timestamp {parts[0]!r}")
            return can.Message(timestamp=float(parts[0][1:-1]), is_error_frame=True,
                               arbitration_id=int(ident, 16) & 0x1FFFFFFF,
                               data=bytes.fromhex(payload[:16]), channel=parts[1])
    try:
        msgs = list(CanutilsLogReader(io.StringIO(text)))
    except (ValueError, IndexError) as exc:
        raise ValueError(str(exc) or "malformed line") from None
    if len(msgs) != 1:
        raise ValueError("malformed line")
    return msgs[0]


#: Suffixes read line by line by rettid's tolerant candump reader.
CANDUMP_SUFFIXES = (".log", ".candump", ".txt")


def log_format(path: str | Path) -> str:
    """The format suffix of ``path`` (``.asc``, ``.log`` ...), ``.gz`` looked through; ``.log`` when
    python-can does not know the suffix (candump logs come with any name)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = suffixes[-1] if suffixes else ""
    if fmt in CANDUMP_SUFFIXES or fmt not in MESSAGE_READERS:
        return ".log"
    return fmt


class CanLogFile:
    """Frames of a CAN log in file order: ``iter(log)``; ``bad_lines``, ``lines`` and ``position()``
    (fraction of the file read) for counters and progress bars."""

    def __init__(self, path: str | Path, *, log_interval_s: float = 10.0) -> None:
        self.path = Path(path)
        self.format = log_format(self.path)
        self.bad_lines = 0
        self.lines = 0
        self._rlog = RateLimitedLog(log, log_interval_s)
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            self._size = os.fstat(self._raw.fileno()).st_size
        except OSError as exc:
            raise DeviceError(f"cannot open CAN log {self.path}: {exc.strerror or exc}") from None
        self._bin: IO[bytes] = (gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
                                if self.path.suffix.lower() == ".gz" else self._raw)
        self._reader: Any = None

    def position(self) -> float:
        """How far through the file on disk (0..1)."""
        try:
            return min(1.0, self._raw.tell() / self._size) if self._size else 1.0
        except (OSError, ValueError):
            return 1.0

    def __iter__(self) -> Iterator[can.Message]:
        if self.format == ".log":
            yield from self._candump()
        else:
            yield from self._python_can()

    def _candump(self) -> Iterator[can.Message]:
        text = io.TextIOWrapper(self._bin, encoding="utf-8", errors="replace")
        last_t = 0.0
        for line in text:
            self.lines += 1
            try:
                msg = parse_candump_line(line)
            except ValueError as exc:
                self.bad_lines += 1
                self._rlog.warn("bad_line", "%s:%d: bad candump line (%s); skipped", self.path, self.lines,
                                exc, t=last_t)
                continue
            if msg is not None:
                last_t = msg.timestamp
                yield msg

    def _python_can(self) -> Iterator[can.Message]:
        cls = MESSAGE_READERS[self.format]
        kwargs: dict[str, Any] = {}
        if self.format == ".asc":
            kwargs["relative_timestamp"] = False  # absolute times from the log's date line
        try:
            if issubclass(cls, TextIOMessageReader):
                self._reader = cls(io.TextIOWrapper(self._bin, encoding="utf-8", errors="replace"), **kwargs)
            elif issubclass(cls, BinaryIOMessageReader):
                self._reader = cls(cast(BinaryIO, self._bin), **kwargs)
            else:  # a format that opens the file by name itself (SQLite)
                self._reader = cls(self.path, **kwargs)
        except ImportError as exc:
            raise DeviceError(f"{self.path}: reading {self.format} needs an optional library ({exc})") from None
        except (ValueError, OSError, EOFError) as exc:
            raise DeviceError(f"{self.path}: not a readable {self.format} log ({exc})") from None
        n = 0
        try:
            for msg in self._reader:
                n += 1
                self.lines = n
                yield msg
        except (ValueError, IndexError, KeyError, OSError, EOFError, TypeError) as exc:
            # python-can's readers cannot resynchronise after a bad record: keep what came before it
            self.bad_lines += 1
            log.error("%s: unreadable %s record after %d frame(s) (%s); the rest of the file is skipped",
                      self.path, self.format, n, exc)

    def close(self) -> None:
        try:
            if self._reader is not None:
                self._reader.stop()
        except Exception:  # noqa: BLE001 - closing a half-read file must not hide the real result
            pass
        self._bin.close()
        self._raw.close()


__all__ = ["CANDUMP_SUFFIXES", "CAN_ERR_FLAG", "CanLogFile", "log_format", "parse_candump_line"]
