"""Record stores: where the collector keeps every unit's records, and what the reports query.

One small abstract surface (:class:`RecordStore`) with backends found by name, as python-can finds its
bus interfaces (STYLE.md §1): a table ``name -> "module:Class"``, extendable by the entry-point group
``rettid.central_store``, each backend imported only when chosen. ``sqlite`` is the embedded default
(zero set-up, one file); ``postgresql`` serves a fleet and several collectors at once.

Every store keeps each record once by its ``id`` (insert-if-absent), commits a whole batch in one
transaction and returns only after the commit: the collector acknowledges MQTT messages after
:meth:`RecordStore.put` returned, so a crash can duplicate work but never lose a record. The schema
is created and upgraded by versioned migrations shipped in ``central/store/migrations/<backend>/``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from central.records import Registration, RegRow, Rejected, StoredRecord, TripRun
from transit.errors import BackendError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: backend name -> "module:Class"; URL schemes map onto these names (:func:`backend_for_url`).
BACKENDS: dict[str, str] = {
    "sqlite": "central.store.sqlite:SqliteStore",
    "postgresql": "central.store.postgres:PostgresStore",
}
_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql", "": "sqlite"}


class RecordStore(ABC):
    """Records kept once by id, plus the projections the reports read."""

    #: the backend name this class is registered under
    backend: str = ""

    @abstractmethod
    def put(self, records: Sequence[StoredRecord], rejected: Sequence[Rejected] = ()) -> int:
        """Store a batch in one transaction (records already stored are skipped); returns only after
        the commit. Returns how many records were new."""

    @abstractmethod
    def registrations(self, first: date, last: date) -> Iterator[Registration]:
        """Punctuality registrations of operating days ``first``..``last``, ordered by operating day."""

    @abstractmethod
    def month_registrations(self, first: date, last: date, oper: str | None = None) -> Iterator[RegRow]:
        """The month report's view of the same registrations (of one operator's units when ``oper`` is
        given: a collector's database holds every operator's): plain tuples of the columns
        :data:`central.records.REG_ROW`, ordered by operating day, streamed (never a whole month in
        memory)."""

    @abstractmethod
    def registration_months(self) -> list[str]:
        """The months (``YYYY-MM``) that have punctuality registrations, sorted."""

    @abstractmethod
    def registration_operators(self, first: date, last: date) -> list[str]:
        """The operators with registrations on operating days ``first``..``last``, sorted."""

    @abstractmethod
    def trip_runs(self, first: date, last: date) -> Iterator[TripRun]:
        """Which unit reported which trip on which operating day (``observed``: it really ran it)."""

    @abstractmethod
    def records(self, first: date, last: date, events: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """The stored records (decoded payloads, without ``v``) of operating days ``first``..``last``,
        optionally only some events, ordered by operating day and data time. For reports to come
        (deviations, school buses) that need more than the projections."""

    @abstractmethod
    def count(self, event: str | None = None) -> int:
        """Stored records (of one event)."""

    @abstractmethod
    def ids(self) -> Iterator[str]:
        """Every stored record id (tests and audits)."""

    @abstractmethod
    def rejected(self) -> list[Rejected]:
        """Messages that were not stored as records, with the reason."""

    @abstractmethod
    def rejected_count(self) -> int:
        """How many messages were not stored as records."""

    @abstractmethod
    def schema_version(self) -> int:
        """The newest migration applied."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def migrations(backend: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of a backend's migrations, in order (files ``NNNN_name.sql``)."""
    out = []
    for p in sorted((MIGRATIONS / backend).glob("*.sql")):
        num, _, name = p.stem.partition("_")
        out.append((int(num), name, p.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in out]
    if versions != list(range(1, len(versions) + 1)):
        raise BackendError(f"migrations of {backend} are not numbered 1..n: {versions}")
    return out


def _table() -> dict[str, str]:
    table = dict(BACKENDS)
    for ep in entry_points(group="rettid.central_store"):
        table.setdefault(ep.name, ep.value)
    return table


def backend_for_url(url: str) -> str:
    scheme = urlsplit(url).scheme if "://" in url else ""
    name = _SCHEMES.get(scheme, scheme)
    if name not in _table():
        raise BackendError(f"no record store for {url.split('://')[0]!r}:// (choices: "
                           f"{', '.join(sorted(_table()))}; a plain path is an SQLite file)")
    return name


def open_store(url: str | Path, **options: Any) -> RecordStore:
    """Open (and migrate) a store: ``sqlite:///path/file.sqlite``, a plain path (SQLite), or
    ``postgresql://user@host:port/db`` (password from ``password_file=`` or ``PGPASSWORD``)."""
    text = str(url)
    name = backend_for_url(text)
    target = _table()[name]
    module, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"record store '{name}' ({target}) cannot be loaded: {exc}") from exc
    store: RecordStore = cls.open(text, **options)
    return store


__all__ = ["BACKENDS", "RecordStore", "backend_for_url", "migrations", "open_store"]
