"""docs/getting-started.md: a newcomer's walk, each command run as written (issue 14).

Every ``sh`` block is run in order in a copy of the tree's data (``out/`` in a temporary directory), with
the project's console scripts on PATH, as after ``. .venv/bin/activate``. ``make venv sysdeps`` is
the set-up the test environment already is, so it is not run again; the demo (about a minute) is its own
test, marked slow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DOC = REPO / "docs" / "getting-started.md"
SETUP = ("make venv sysdeps", ". .venv/bin/activate")


def _commands() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [line.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.S)
            for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def _env() -> dict[str, str]:
    bindir = Path(sys.executable).parent
    if not (bindir / "rettid-onboard").exists():
        pytest.skip("console scripts not installed (pip install -e .)")
    return dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}", RETTID_PROGRESS="0")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("newcomer")
    shutil.copytree(REPO / "data", root / "data")
    return root


def _run(cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=880)


def test_the_document_has_the_walk() -> None:
    cmds = _commands()
    assert cmds[:2] == list(SETUP)
    for needle in ("rettid-demo", "rettid-sim record", "rettid-onboard replay", "check-config",
                   "rettid-central report punctuality"):
        assert any(needle in c for c in cmds), needle


def test_every_command_runs(tree: Path) -> None:
    ran = []
    for cmd in _commands():
        if cmd in SETUP or cmd.startswith("rettid-demo"):
            continue
        r = _run(cmd, tree)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        ran.append((cmd, r))
    out = tree / "out" / "rec"
    events = (out / "events.jsonl").read_text().splitlines()
    assert any('"event":"arr"' in x for x in events) and any('"event":"apc"' in x for x in events)
    assert (out / "occupancy.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert (out / "can.jsonl").stat().st_size > 0
    report = next(r.stdout for c, r in ran if "report punctuality" in c)
    assert "330R" in report


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~1 min alone; several times that on a machine busy with other test runs
def test_the_demo_command_runs(tree: Path) -> None:
    cmd = next(c for c in _commands() if c.startswith("rettid-demo"))
    r = _run(cmd, tree)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tree / "out" / "demo" / "countdown.gif").exists()
