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


@pytest.fixture
def small_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 3 MB tmpfs (a full SD card in miniature): mounted when this process may (root, as in CI),
    else the test is skipped with the reason. Yields its mount point."""
    import subprocess

    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def fill_disk(path: Path, leave: int) -> Path:
    """Fill the filesystem of ``path`` with one file until ``leave`` bytes are free; returns the file."""
    import os

    filler = path / "filler.bin"
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler
