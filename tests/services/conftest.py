"""The services tests' broker: a plain Mosquitto on loopback (the test fails under CI when it is missing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.run import LocalBroker
from tests.conftest import require_binary


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    m = LocalBroker(tmp_path / "broker", require_binary("mosquitto"))
    m.start()
    yield m
    m.stop()
