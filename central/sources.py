"""Where a report's records come from: the collector's database, or units' own JSON Lines logs.

Both end up behind the same :class:`~central.store.RecordStore` query interface: logs are read into an
in-memory SQLite store through the same :func:`central.records.to_stored` the collector uses, so a
report from the database and one from the units' logs of the same records are the same report.

Reading logs is strict where a report would otherwise count wrong, tolerant where the file is merely
torn: a last line cut off by a power failure is skipped and counted (the report says so); a bad line
anywhere else means the file is not a record log, and a record missing a field the report counts on
(a punctuality record without trip, station or delay) is an error naming file and line — nothing is
silently counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.records import StoredRecord, to_stored
from central.store import RecordStore, open_store
from central.store.sqlite import SqliteStore, sqlite_path
from transit.errors import ConfigError, DecodeError, InvalidRecordError
from transit.messages import record_payload
from transit.records import Eta, decode_record

log = logging.getLogger(__name__)
BATCH = 5000


@dataclass
class LogCounts:
    files: int = 0
    lines: int = 0
    records: int = 0
    torn_last_lines: int = 0
    by_event: dict[str, int] = field(default_factory=dict)


def load_logs(paths: Iterable[str | Path], counts: LogCounts | None = None) -> RecordStore:
    """An in-memory store with every record of the given ``events.jsonl`` / ``punctuality.jsonl`` files
    (duplicates across files count once, by id)."""
    c = counts if counts is not None else LogCounts()
    store = SqliteStore(":memory:", synchronous="OFF")
    batch: list[StoredRecord] = []
    for p in paths:
        path = Path(p)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
        c.files += 1
        with fh:
            lines = fh.read().split(b"\n")
        last = len(lines)
        while last > 0 and not lines[last - 1].strip():
            last -= 1
        for n, raw in enumerate(lines[:last], 1):
            text = raw.strip()
            if not text:
                continue
            c.lines += 1
            try:
                rec = decode_record(text)  # the one decoder (transit.records)
            except DecodeError as exc:
                if n == last and c.records and not text.endswith(b"}"):
                    # a line cut off mid-write (power failure): skipped, counted (msgspec may refuse a
                    # field of it before it reaches the cut, so the kind of error does not tell)
                    c.torn_last_lines += 1
                    log.warning("%s:%d: torn last line skipped", path, n)
                    continue
                if isinstance(exc, InvalidRecordError):  # JSON, but not a record a report can count
                    raise ConfigError(f"bad record: {str(exc)[:200]}", file=str(path), line=n) from None
                raise ConfigError(f"not a JSON Lines record log: {str(exc)[:100]}", file=str(path), line=n) from None
            if isinstance(rec, Eta):
                continue  # predictions are state, not records
            try:
                batch.append(to_stored(rec, f"file:{path.name}", record_payload(text)))
            except DecodeError as exc:
                raise ConfigError(f"bad record: {exc}", file=str(path), line=n) from None
            c.records += 1
            c.by_event[rec.event] = c.by_event.get(rec.event, 0) + 1
            if len(batch) >= BATCH:
                store.put(batch)
                batch = []
    if batch:
        store.put(batch)
    return store


def open_source(db: str | None, logs: list[Path], *, password_file: str | None = None,
                schema: str = "rettid") -> tuple[RecordStore, dict[str, Any]]:
    """The records behind a report and a description of them for the report's footer."""
    if db and logs:
        raise ConfigError("give either --db or log files, not both")
    if db:
        opts: dict[str, Any] = {}
        if db.startswith(("postgresql://", "postgres://")):
            opts = {"password_file": password_file, "schema": schema}
        elif not Path(sqlite_path(db)).is_file():  # a report never creates an empty database
            raise ConfigError("no such database file", file=sqlite_path(db))
        store = open_store(db, **opts)
        return store, {"source": "database", "database": db.split("@")[-1], "rejected_messages": store.rejected_count()}
    if not logs:
        raise ConfigError("give the units' log files (events.jsonl, punctuality.jsonl) or --db URL")
    counts = LogCounts()
    store = load_logs(logs, counts)
    return store, {"source": "logs", "files": [str(p) for p in logs], "lines": counts.lines,
                   "records": counts.records, "torn_last_lines": counts.torn_last_lines}


__all__ = ["LogCounts", "load_logs", "open_source"]
