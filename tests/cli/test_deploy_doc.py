"""docs/deploy.md step 5 installs a configuration that loads: the operator file path was wrong (the example
config names ``../operators/...``, which from /etc/rettid/onboard.yaml is /etc/operators/)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from onboard.service.config import OnboardConfig
from tests.conftest import REPO

DEPLOY = REPO / "docs" / "deploy.md"


def _step(n: int) -> str:
    text = DEPLOY.read_text(encoding="utf-8")
    m = re.search(rf"^## {n}\. .*?(?=^## )", text, re.M | re.S)
    assert m, f"no step {n}"
    return m.group(0)


def _commands(section: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line for b in blocks for line in b.splitlines() if line.strip() and not line.startswith("#")]


def test_step5_configuration_install_loads(tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "rettid"
    ran = 0
    for cmd in _commands(_step(5)):
        # the steps that put files under /etc/rettid, run against a temporary /etc
        if "/etc/rettid" not in cmd or not re.search(r"\b(cp|mkdir|tee)\b", cmd) or "systemd" in cmd:
            continue
        local = cmd.replace("sudo ", "").replace("/etc/rettid", str(etc))
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", local], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, (cmd, r.stderr)
        ran += 1
    assert ran >= 3
    cfg = OnboardConfig.load(etc / "onboard.yaml")  # the operator file and its feed resolve
    assert cfg.operator_id == "lokaltog" and cfg.feed.is_dir()
    assert cfg.feed.resolve().is_relative_to(etc.resolve())
