"""Shared test helpers: real programs (mosquitto, gpsd) and free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example time limit: on a 2-core machine shared with other test runs an example can take 0.5 s
# for no fault of the code (a hypothesis deadline is a timed unit test; speed targets live in bench/).
settings.register_profile("rettid", deadline=None)
settings.load_profile("rettid")

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (tests only ever talk to loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(name: str) -> str:
    """Path of a program the test needs. Under CI (CI=true) a missing program fails the test, since
    .ci/run installs it; on a developer laptop the test is skipped with what to install.
    """
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed, but CI must have it (make sysdeps)")
    pytest.skip(f"{name} not installed (apt-get install {name}); run `make sysdeps`")


@pytest.fixture
def repo_root() -> Path:
    return REPO
