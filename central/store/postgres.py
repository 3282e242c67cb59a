"""The fleet record store: PostgreSQL through psycopg 3, all tables in one schema (``rettid`` unless
configured), shared by any number of collectors.

Credentials never come from the repository: the URL names user, host and database; the password comes
from ``password_file`` (a file readable only by the service) or libpq's own ``PGPASSWORD`` /
``~/.pgpass``. A URL with a password in it is refused, since a URL ends up in configuration files and
logs. Migrations run under an advisory lock, so collectors started together migrate once.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from central.records import REG_ROW, Registration, RegRow, Rejected, StoredRecord, TripRun
from central.store import RecordStore, migrations
from transit.errors import ConfigError

_REG_COLS = ("id, oday, oper, veh, route, trip_id, stop_id, station, station_name, status, measured, "
             "counted, sched, actual, dl, reason, tst")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_ID = 0x72657474  # advisory lock key for migrations ("rett")
_cursor_names = itertools.count()


class PostgresStore(RecordStore):
    backend = "postgresql"

    def __init__(self, url: str, *, password_file: str | Path | None = None, schema: str = "rettid",
                 connect_timeout_s: int = 10) -> None:
        import psycopg  # imported only when this backend is chosen

        u = urlsplit(url)
        if u.password:
            raise ConfigError("the PostgreSQL URL must not contain a password: use database.password_file "
                              "or PGPASSWORD", key="database.url")
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"schema name {schema!r} must be lower-case letters, digits and '_'",
                              key="database.schema")
        kwargs: dict[str, Any] = {"connect_timeout": connect_timeout_s, "autocommit": False}
        if password_file:
            try:
                kwargs["password"] = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the database password file: {exc.strerror or exc}",
                                  file=str(password_file), key="database.password_file") from None
        self.schema = schema
        self.url = url
        try:
            self._db = psycopg.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to PostgreSQL at {u.hostname}:{u.port or 5432}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}",
                              key="database.url") from None
        self._migrate()

    @classmethod
    def open(cls, url: str, **options: Any) -> PostgresStore:
        return cls(url, **options)

    def _migrate(self) -> None:
        with self._db.transaction(), self._db.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            cur.execute(f"SET LOCAL search_path TO {self.schema}")
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                        "name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())")
            cur.execute("SELECT version FROM schema_migrations")
            have = {int(r[0]) for r in cur.fetchall()}
            for version, name, sql in migrations("postgresql"):
                if version in have:
                    continue
                cur.execute(sql.encode("utf-8"))
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
        with self._db.cursor() as cur:
            cur.execute(f"SET search_path TO {self.schema}")
        self._db.commit()

    def schema_version(self) -> int:
        with self._db.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            row = cur.fetchone()
        self._db.commit()
        return int(row[0]) if row else 0

    def put(self, records: Sequence[StoredRecord], rejected: Sequence[Rejected] = ()) -> int:
        runs: dict[tuple[str, str, str], TripRun] = {}
        for r in records:
            if r.run is not None:
                key = (r.run.oday, r.run.trip_id, r.run.veh)
                old = runs.get(key)
                if old is None or (r.run.observed and not old.observed):
                    runs[key] = r.run
        new = 0
        with self._db.transaction(), self._db.cursor() as cur:
            if records:
                # one round trip for the batch: unnest the columns, skip ids already stored
                cols = list(zip(*[r[:9] for r in records], strict=True))
                cur.execute(
                    "INSERT INTO records (id, event, oper, veh, oday, trip_id, tst, topic, payload) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], "
                    "%s::text[], %s::text[], %s::text[], %s::bytea[]) ON CONFLICT (id) DO NOTHING",
                    [list(c) for c in cols])
                new = max(cur.rowcount, 0)
            regs = [r.registration for r in records if r.registration is not None]
            if regs:
                cols = list(zip(*regs, strict=True))
                cur.execute(
                    f"INSERT INTO registrations ({_REG_COLS}) SELECT * FROM unnest(%s::text[], %s::date[], "
                    "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
                    "%s::text[], %s::text[], %s::boolean[], %s::text[], %s::text[], %s::float8[], %s::text[], "
                    "%s::text[]) ON CONFLICT (id) DO NOTHING", [list(c) for c in cols])
            if runs:
                cols = list(zip(*runs.values(), strict=True))
                cur.execute(
                    "INSERT INTO trip_runs (oday, trip_id, veh, route, observed) SELECT * FROM "
                    "unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::boolean[]) "
                    "ON CONFLICT (oday, trip_id, veh) DO UPDATE SET observed = trip_runs.observed OR "
                    "excluded.observed", [list(c) for c in cols])
            if rejected:
                cur.executemany("INSERT INTO rejected (topic, payload, reason) VALUES (%s, %s, %s)",
                                [tuple(r) for r in rejected])
        return int(new)

    def _query(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        # a server-side cursor streams a month (a million rows) without holding it in memory
        # (a name per cursor: a report reads a day's trip runs while the month's registrations stream)
        with self._db.transaction(), self._db.cursor(name=f"rettid_q{next(_cursor_names)}") as cur:
            cur.itersize = 10_000
            cur.execute(sql, args)
            yield from cur

    def registrations(self, first: date, last: date) -> Iterator[Registration]:
        for row in self._query(f"SELECT {_REG_COLS} FROM registrations WHERE oday BETWEEN %s AND %s "
                               "ORDER BY oday", (first, last)):
            yield Registration(row[0], row[1].isoformat(), *row[2:])

    def month_registrations(self, first: date, last: date, oper: str | None = None) -> Iterator[RegRow]:
        cols = ", ".join("oday::text" if c == "oday" else c for c in REG_ROW)
        args: list[Any] = [first, last] + ([oper] if oper is not None else [])
        yield from self._query(f"SELECT {cols} FROM registrations WHERE oday BETWEEN %s AND %s "
                               + ("AND oper = %s " if oper is not None else "") + "ORDER BY oday", args)

    def registration_months(self) -> list[str]:
        return [m for (m,) in self._query("SELECT DISTINCT to_char(oday, 'YYYY-MM') AS m FROM registrations "
                                          "ORDER BY m", ())]

    def registration_operators(self, first: date, last: date) -> list[str]:
        return [o for (o,) in self._query("SELECT DISTINCT oper FROM registrations WHERE oday BETWEEN %s AND %s "
                                          "ORDER BY oper", (first, last))]

    def trip_runs(self, first: date, last: date) -> Iterator[TripRun]:
        for oday, trip, veh, route, observed in self._query(
                "SELECT oday, trip_id, veh, route, observed FROM trip_runs WHERE oday BETWEEN %s AND %s "
                "ORDER BY oday, trip_id, veh", (first, last)):
            yield TripRun(oday.isoformat(), trip, veh, route, bool(observed))

    def records(self, first: date, last: date, events: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        sql = "SELECT payload FROM records WHERE oday BETWEEN %s AND %s"
        args: list[Any] = [first, last]
        if events:
            sql += " AND event = ANY(%s)"
            args.append(list(events))
        for (payload,) in self._query(sql + " ORDER BY oday, tst, id", args):
            rec = json.loads(bytes(payload))
            rec.pop("v", None)
            yield rec

    def _scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._db.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone()
        self._db.commit()
        return row[0] if row else None

    def count(self, event: str | None = None) -> int:
        if event is None:
            return int(self._scalar("SELECT COUNT(*) FROM records"))
        return int(self._scalar("SELECT COUNT(*) FROM records WHERE event = %s", (event,)))

    def ids(self) -> Iterator[str]:
        for (rid,) in self._query("SELECT id FROM records", ()):
            yield rid

    def rejected(self) -> list[Rejected]:
        return [Rejected(t, bytes(p), r) for t, p, r in
                self._query("SELECT topic, payload, reason FROM rejected ORDER BY n", ())]

    def rejected_count(self) -> int:
        return int(self._scalar("SELECT COUNT(*) FROM rejected"))

    def close(self) -> None:
        self._db.close()


__all__ = ["PostgresStore"]
