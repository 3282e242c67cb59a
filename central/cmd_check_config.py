"""``rettid-central check-config --config /etc/rettid/central.yaml``: check the collector's set-up without
starting it — configuration, record store (reachable, schema version, integrity, nothing written), operator
files with their feeds, certificates and the GTFS-Realtime listen address — and list every problem at once.
Exit 0 when all is well, 2 when not."""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from transit.checks import CheckReport, certificate_problems
from transit.cli import add_unit_arguments
from transit.errors import ConfigError

EXAMPLES = """\
rettid-central check-config --config /etc/rettid/central.yaml
rettid-central check-config --config central.yaml --db postgresql://rettid@db.example.dk:5432/rettid
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_required=False, state_dir=False,
                       config_help="collector configuration to check (default: the built-in defaults)")
    p.add_argument("--db", metavar="URL", help="check this record store instead of database.url")


def run(args: argparse.Namespace) -> int:
    return check_central(args.config, db=args.db, out=sys.stdout)


def _sqlite_state(path: Path, expected: int) -> str:
    """The store's schema version and a quick integrity check, read-only: a check never migrates or
    creates a file (the collector does that at start)."""
    if not path.exists():
        parent = path.parent
        if not parent.is_dir():
            raise OSError(f"directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise OSError(f"directory {parent} is not writable: the collector cannot create {path.name}")
        return f"{path} does not exist yet; the collector creates it (schema {expected})"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise ConfigError(f"integrity check failed: {ok}", file=str(path))
            have = db.execute("SELECT name FROM sqlite_master WHERE name='schema_migrations'").fetchone()
            version = int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]) \
                if have else 0
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"not a usable SQLite record store: {exc}", file=str(path)) from None
    return _version_note(str(path), version, expected)


def _postgres_state(url: str, password_file: Path | None, schema: str, expected: int) -> str:
    import psycopg

    kwargs: dict[str, Any] = {"connect_timeout": 10}
    if password_file is not None:  # an unreadable file is an OSError: CheckReport names it
        kwargs["password"] = password_file.read_text(encoding="utf-8").strip()
    u = urlsplit(url)
    try:
        with psycopg.connect(url, **kwargs) as db, db.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{schema}.schema_migrations",))
            row = cur.fetchone()
            version = 0
            if row and row[0] is not None:
                cur.execute(f"SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_migrations")
                got = cur.fetchone()
                version = int(got[0]) if got else 0
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read PostgreSQL at {u.hostname}:{u.port or 5432}: {first}",
                          key="database.url") from None
    return _version_note(f"{u.hostname}:{u.port or 5432}{u.path}, schema {schema}", version, expected)


def _version_note(where: str, version: int, expected: int) -> str:
    if version > expected:
        raise ConfigError(f"{where} has schema {version}, newer than this collector knows ({expected}): "
                         "a newer collector wrote it — install that version")
    if version < expected:
        return f"{where}: schema {version}, the collector migrates it to {expected} at start"
    return f"{where}: schema {version} (current)"


def _listen_problem(host: str, port: int) -> str | None:
    """Whether the GTFS-Realtime address can be bound now (another process on it is the usual cause)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def check_central(path: Path | None, *, db: str | None = None, out: Any = None) -> int:
    from central.config import CollectorConfig, check_db_url, load_collector_config
    from central.store import backend_for_url, migrations
    from transit.operator import load_operator
    from transit.timetable import Timetable

    rep = CheckReport(out if out is not None else sys.stdout)
    if path is None:
        cfg: CollectorConfig | None = CollectorConfig()
        rep.note("configuration", "no --config: the built-in defaults")
    else:
        cfg = rep.check(f"configuration {path}", lambda: load_collector_config(path),
                        lambda c: f"client id {c.mqtt.client_id}")
    if cfg is None:
        rep.note("configuration", "the other checks need a configuration that loads")
        return rep.finish("check-config")
    cfg = cfg.with_env()
    url = db or cfg.database.url

    def backend_of(url: str) -> str:
        check_db_url(url)
        return backend_for_url(url)

    backend = rep.check("record store URL", lambda: backend_of(url), lambda b: f"{b}: {url}")
    if backend is not None:
        expected = len(migrations(backend))
        if backend == "sqlite":
            from central.store.sqlite import sqlite_path

            rep.check("record store", lambda: _sqlite_state(Path(sqlite_path(url)), expected), str)
        else:
            db_cfg = cfg.database
            rep.check("record store",
                      lambda: _postgres_state(url, db_cfg.password_file, db_cfg.schema, expected), str)
    for op_path in cfg.operators:
        op = rep.check(f"operator file {op_path}", lambda p=op_path: load_operator(p),  # type: ignore[misc]
                       lambda o: f"operator {o.operator_id}, feed {o.feed}")
        if op is None:
            continue
        tt = rep.check(f"feed {op.feed}", lambda f=op.feed: Timetable.load(f, strict=True),  # type: ignore[misc]
                       lambda t: f"{len(t.routes)} lines, {len(t.trips)} trips")
        if tt is not None:
            rep.check(f"operator file {op_path} against its feed", lambda p=op_path, t=tt: load_operator(p, t),  # type: ignore[misc]
                      lambda o: "lines and stops found in the feed")
    if not cfg.operators:
        rep.note("operator files", "none configured: GTFS-Realtime has no route_ids")
    tls = certificate_problems(cfg.mqtt)
    for p in tls:
        rep.problem("certificates", p)
    if not tls:
        rep.ok("certificates", "TLS files load" if cfg.mqtt.use_tls else "no TLS configured")
    if cfg.http_listen is not None:
        why = _listen_problem(*cfg.http_listen)
        if why:
            rep.problem("GTFS-Realtime address", why)
        else:
            rep.ok("GTFS-Realtime address", "{}:{}".format(*cfg.http_listen))
    return rep.finish("check-config")
