"""The shipped systemd units verify cleanly and are hardened (exposure <= 3.0); every group they name
exists on plain Debian once the shipped sysusers.d file is applied (216/GROUP otherwise)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_binary

UNITS = sorted((REPO / "systemd").glob("*.service"))
SYSUSERS = REPO / "systemd" / "sysusers.d" / "rettid.conf"
INSTALL_BIN = "/opt/rettid/bin/"  # the venv the units' ExecStart= runs (docs/deploy.md)


def test_units_exist() -> None:
    names = {u.name for u in UNITS}
    assert {"rettid-onboard.service", "rettid-station.service"} <= names


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_verify_clean(unit: Path, tmp_path: Path) -> None:
    exe = require_binary("systemd-analyze")
    # verify wants ExecStart= to exist: point it at a stand-in for the installed console script
    text = unit.read_text()
    assert INSTALL_BIN in text
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for script in re.findall(re.escape(INSTALL_BIN) + r"(\S+)", text):
        (bindir / script).write_text("#!/bin/sh\n")
        (bindir / script).chmod(0o755)
    copy = tmp_path / unit.name
    copy.write_text(text.replace(INSTALL_BIN, f"{bindir}/"))
    r = subprocess.run([exe, "verify", str(copy)], capture_output=True, text=True, timeout=60)
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


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_supplementary_groups_exist_on_plain_debian(unit: Path, tmp_path: Path) -> None:
    """Debian's base groups plus what systemd-sysusers creates from the shipped file."""
    exe = require_binary("systemd-sysusers")
    master = Path("/usr/share/base-passwd/group.master")
    if not master.is_file():
        pytest.skip("base-passwd's group.master not installed")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "group").write_text(master.read_text())
    (etc / "passwd").write_text(Path("/usr/share/base-passwd/passwd.master").read_text())
    r = subprocess.run([exe, f"--root={tmp_path}", str(SYSUSERS)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    groups = {line.split(":")[0]: line.rstrip("\n").split(":")[3].split(",")
              for line in (etc / "group").read_text().splitlines() if line}
    text = unit.read_text()
    m = re.search(r"^SupplementaryGroups=(.*)$", text, re.M)
    assert m
    for g in m.group(1).split():
        assert g in groups, f"{unit.name}: group {g} missing on plain Debian"
        assert "rettid" in groups[g], f"{unit.name}: rettid is not a member of {g}"
    for key in ("User", "Group"):
        name = re.search(rf"^{key}=(\S+)", text, re.M)
        assert name and name.group(1) == "rettid"
    assert "rettid" in {line.split(":")[0] for line in (etc / "passwd").read_text().splitlines()}
