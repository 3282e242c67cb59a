"""Fixtures for the central side: a real PostgreSQL (Debian's package, started here on a free loopback
port in a temporary directory), stores of both backends, and the MQTT fixtures of tests/mqtt."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.store import RecordStore, open_store
from tests.mqtt.conftest import Mosquitto, broker, test_ca, tls_broker  # noqa: F401 - fixtures
from transit.localpostgres import LocalPostgres, find_pg_bin

_schemas = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    if find_pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, but CI must have it (make sysdeps)")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql); run `make sysdeps`")
    pg = LocalPostgres()
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    """A fresh store of each backend (PostgreSQL: a schema of its own in the session's server)."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/central.sqlite")
    else:
        pg: LocalPostgres = request.getfixturevalue("postgres")
        s = open_store(pg.url, password_file=pg.password_file, schema=f"t{next(_schemas)}")
    yield s
    s.close()
