"""The shipped systemd units verify cleanly and are hardened (exposure <= 3.0)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_binary

UNITS = sorted((REPO / "systemd").glob("*.service"))


def test_units_exist() -> None:
    names = {u.name for u in UNITS}
    assert {"rettid-onboard.service", "rettid-station.service"} <= names


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_verify_clean(unit: Path) -> None:
    exe = require_binary("systemd-analyze")
    r = subprocess.run([exe, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_security_exposure(unit: Path) -> None:
    exe = require_binary("systemd-analyze")
    r = subprocess.run([exe, "security", "--offline=true", str(unit)], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 3.0, r.stdout


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_is_notify_with_watchdog(unit: Path) -> None:
    text = unit.read_text()
    for line in ("Type=notify", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "DevicePolicy=closed", "StateDirectory=rettid"):
        assert line in text, f"{unit.name} lacks {line}"
    assert re.search(r"^WatchdogSec=\d+", text, re.M)
    assert re.search(r"^RestrictAddressFamilies=", text, re.M)
