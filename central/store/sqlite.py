"""The embedded record store: one SQLite file in WAL mode, ``synchronous=FULL``.

WAL with FULL fsyncs the log at every commit, so a batch the collector acknowledged survives kill -9
and power loss (NORMAL would survive only a process crash). The cost of that fsync is why the
collector commits batches, not single messages. Readers (a month report while the collector runs) do
not block the writer in WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from central.records import REG_ROW, Registration, RegRow, Rejected, StoredRecord, TripRun
from central.store import RecordStore, migrations
from transit.errors import ConfigError

_REG_COLS = ("id, oday, oper, veh, route, trip_id, stop_id, station, station_name, status, measured, "
             "counted, sched, actual, dl, reason, tst")


def sqlite_path(url: str) -> str:
    """``sqlite:///abs/path``, ``sqlite://rel/path``, ``sqlite://:memory:`` or a plain path."""
    if "://" not in url:
        return url
    u = urlsplit(url)
    path = unquote(u.netloc + u.path)
    if not path:
        raise ConfigError(f"no file in the SQLite URL {url!r} (e.g. sqlite:///var/lib/rettid/central.sqlite)",
                          key="database.url")
    return path


class SqliteStore(RecordStore):
    backend = "sqlite"

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "EXTRA", "NORMAL", "OFF"):
            raise ConfigError(f"synchronous must be FULL, EXTRA, NORMAL or OFF, not {synchronous!r}")
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if path != ":memory:":
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise ConfigError(f"cannot enable WAL mode on {path} (got {mode})")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the record store: {exc}", file=path) from exc

    @classmethod
    def open(cls, url: str, **options: Any) -> SqliteStore:
        return cls(sqlite_path(url), **options)

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                       "name TEXT NOT NULL)")
            have = {int(r[0]) for r in db.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in migrations("sqlite"):
                if version in have:
                    continue
                # one statement at a time inside our transaction (executescript would commit first);
                # migrations keep ';' out of comments and strings
                body = "\n".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
                for stmt in (s.strip() for s in body.split(";")):
                    if stmt:
                        db.execute(stmt)
                db.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])

    def put(self, records: Sequence[StoredRecord], rejected: Sequence[Rejected] = ()) -> int:
        db = self._db
        runs: dict[tuple[str, str, str], TripRun] = {}
        for r in records:
            if r.run is not None:
                key = (r.run.oday, r.run.trip_id, r.run.veh)
                old = runs.get(key)
                if old is None or (r.run.observed and not old.observed):
                    runs[key] = r.run
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO records (id, event, oper, veh, oday, trip_id, tst, topic, payload) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [r[:9] for r in records])
            new = db.total_changes - before
            regs = [r.registration for r in records if r.registration is not None]
            if regs:
                db.executemany(f"INSERT OR IGNORE INTO registrations ({_REG_COLS}) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", regs)
            if runs:
                db.executemany("INSERT INTO trip_runs (oday, trip_id, veh, route, observed) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT (oday, trip_id, veh) DO UPDATE SET "
                               "observed = MAX(observed, excluded.observed)", list(runs.values()))
            if rejected:
                db.executemany("INSERT INTO rejected (topic, payload, reason) VALUES (?, ?, ?)", rejected)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(new)

    def registrations(self, first: date, last: date) -> Iterator[Registration]:
        cur = self._db.execute(f"SELECT {_REG_COLS} FROM registrations WHERE oday BETWEEN ? AND ? "
                               "ORDER BY oday", (first.isoformat(), last.isoformat()))
        for row in cur:
            yield Registration._make((*row[:11], bool(row[11]), *row[12:]))

    def month_registrations(self, first: date, last: date, oper: str | None = None) -> Iterator[RegRow]:
        args = [first.isoformat(), last.isoformat()] + ([oper] if oper is not None else [])
        cur = self._db.execute(f"SELECT {', '.join(REG_ROW)} FROM registrations WHERE oday BETWEEN ? AND ? "
                               + ("AND oper = ? " if oper is not None else "") + "ORDER BY oday", args)
        cur.arraysize = 2000
        while rows := cur.fetchmany():
            yield from rows

    def registration_months(self) -> list[str]:
        return [m for (m,) in self._db.execute("SELECT DISTINCT substr(oday, 1, 7) AS m FROM registrations ORDER BY m")]

    def registration_operators(self, first: date, last: date) -> list[str]:
        return [o for (o,) in self._db.execute("SELECT DISTINCT oper FROM registrations WHERE oday BETWEEN ? AND ? "
                                               "ORDER BY oper", (first.isoformat(), last.isoformat()))]

    def trip_runs(self, first: date, last: date) -> Iterator[TripRun]:
        cur = self._db.execute("SELECT oday, trip_id, veh, route, observed FROM trip_runs "
                               "WHERE oday BETWEEN ? AND ? ORDER BY oday, trip_id, veh",
                               (first.isoformat(), last.isoformat()))
        for oday, trip, veh, route, observed in cur:
            yield TripRun(oday, trip, veh, route, bool(observed))

    def records(self, first: date, last: date, events: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        sql = "SELECT payload FROM records WHERE oday BETWEEN ? AND ?"
        args: list[Any] = [first.isoformat(), last.isoformat()]
        if events:
            sql += f" AND event IN ({', '.join('?' * len(events))})"
            args += list(events)
        for (payload,) in self._db.execute(sql + " ORDER BY oday, tst, id", args):
            rec = json.loads(payload)
            rec.pop("v", None)
            yield rec

    def count(self, event: str | None = None) -> int:
        if event is None:
            return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM records WHERE event = ?", (event,)).fetchone()[0])

    def ids(self) -> Iterator[str]:
        for (rid,) in self._db.execute("SELECT id FROM records"):
            yield rid

    def rejected(self) -> list[Rejected]:
        return [Rejected(t, bytes(p), r) for t, p, r in
                self._db.execute("SELECT topic, payload, reason FROM rejected ORDER BY n")]

    def rejected_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def close(self) -> None:
        self._db.close()


__all__ = ["SqliteStore", "sqlite_path"]
