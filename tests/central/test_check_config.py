"""``rettid-central check-config`` (issue 14: the collector had none): the record store, operator files,
certificates and listen address checked without starting the collector or writing to its store."""

from __future__ import annotations

import io
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from central.cmd_check_config import check_central
from central.store import migrations, open_store
from tests.conftest import REPO

OPERATOR = REPO / "data" / "operators" / "lokaltog.yaml"


def _config(tmp_path: Path, db: str, *, listen: str | None = None, operators: bool = True) -> Path:
    lines = ["database:", f"  url: {db}"]
    if operators:
        lines += ["collector:", f"  operators: [{OPERATOR}]"]
    if listen:
        lines += ["http:", f'  listen: "{listen}"']
    p = tmp_path / "central.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def _run(cfg: Path, **kw: object) -> tuple[int, str]:
    out = io.StringIO()
    rc = check_central(cfg, out=out, **kw)  # type: ignore[arg-type]
    return rc, out.getvalue()


def test_a_current_sqlite_store_and_the_operator_feed_pass_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "central.sqlite"
    open_store(f"sqlite:///{db}").close()
    before = db.read_bytes()
    rc, text = _run(_config(tmp_path, f"sqlite:///{db}"))
    assert rc == 0, text
    expected = len(migrations("sqlite"))
    assert f"schema {expected} (current)" in text
    assert "8 lines, 1849 trips" in text and "lines and stops found in the feed" in text
    assert db.read_bytes() == before


def test_a_missing_store_in_a_writable_directory_is_fine_and_not_created(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    rc, text = _run(_config(tmp_path, f"sqlite:///{db}", operators=False))
    assert rc == 0, text
    assert "does not exist yet; the collector creates it" in text
    assert not db.exists()


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    corrupt = tmp_path / "central.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = _config(tmp_path, f"sqlite:///{corrupt}", listen=f"127.0.0.1:{port}")
        cfg.write_text(cfg.read_text() + "mqtt:\n  url: mqtts://127.0.0.1:8883\n  tls: {ca: "
                       f"{tmp_path}/none.crt}}\n")
        rc, text = _run(cfg)
    assert rc == 2
    for needle in ("not a usable SQLite record store", "mqtt.tls.ca", f"cannot listen on 127.0.0.1:{port}"):
        assert needle in text, (needle, text)


def test_a_store_written_by_a_newer_collector_is_named(tmp_path: Path) -> None:
    db = tmp_path / "central.sqlite"
    open_store(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    rc, text = _run(_config(tmp_path, f"sqlite:///{db}", operators=False))
    assert rc == 2
    assert "schema 999, newer than this collector knows" in text


def test_postgres_store_is_read_not_migrated(postgres: object, tmp_path: Path) -> None:
    url = postgres.url  # type: ignore[attr-defined]
    pw = postgres.password_file  # type: ignore[attr-defined]
    cfg = _config(tmp_path, url, operators=False)
    cfg.write_text(cfg.read_text() + f"  password_file: {pw}\n  schema: checkcfg\n")
    rc, text = _run(cfg)
    assert rc == 0, text
    assert "schema 0, the collector migrates it" in text
    open_store(url, password_file=pw, schema="checkcfg").close()
    rc, text = _run(cfg)
    assert rc == 0 and f"schema {len(migrations('postgresql'))} (current)" in text, text
    bad = tmp_path / "wrong-pw"
    bad.write_text("wrong\n")
    cfg.write_text(cfg.read_text().replace(str(pw), str(bad)))
    rc, text = _run(cfg)
    assert rc == 2 and "cannot read PostgreSQL" in text, text


def test_the_command_line_exit_status(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "central", "check-config", "--config",
                        str(_config(tmp_path, f"sqlite:///{tmp_path}/nodir/x.sqlite", operators=False))],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "nodir does not exist" in r.stdout
