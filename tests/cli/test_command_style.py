"""One command style (issue 14): console scripts, the same flags everywhere, ``--log-level``/``-v``
anywhere on the line, examples and exit status in every ``--help``, old spellings kept as hidden aliases."""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO
from transit.cli import (
    Subcommand,
    add_mqtt_arguments,
    add_time_arguments,
    common_parser,
    main,
    mqtt_from_args,
)
from transit.errors import ConfigError

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS: dict[str, str] = PYPROJECT["project"]["scripts"]
FRONT_ENDS = ["onboard", "station", "central", "sim_bus", "transit", "hw.can", "hw.gnss"]


def _commands(front: str) -> list[Subcommand]:
    return list(importlib.import_module(f"{front}.__main__").COMMANDS)


def test_console_scripts_name_every_front_end() -> None:
    targets = {v.split(":")[0].removesuffix(".__main__") for v in SCRIPTS.values()}
    assert set(FRONT_ENDS) | {"demo", "bench"} <= targets
    for name, target in SCRIPTS.items():
        assert name.startswith("rettid-")
        mod, func = target.split(":")
        assert callable(getattr(importlib.import_module(mod), func))


def test_installed_script_runs_and_names_itself() -> None:
    exe = Path(sys.executable).parent / "rettid-feed"
    if not exe.exists():
        pytest.skip("console scripts not installed in this environment (pip install -e .)")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("usage: rettid-feed")
    r = subprocess.run([sys.executable, "-m", "transit", "--help"], capture_output=True, text=True, timeout=60,
                       cwd=REPO)
    assert r.returncode == 0 and r.stdout.startswith("usage: python -m transit")


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_every_help_has_examples_and_exit_status(front: str, capsys: pytest.CaptureFixture[str]) -> None:
    mod = importlib.import_module(f"{front}.__main__")
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status:" in out and "--log-level" in out
    for c in _commands(front):
        with pytest.raises(SystemExit) as e:
            mod.main([c.name, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert "exit status:" in out and "2  bad input or configuration" in out, (front, c.name)
        assert "examples:" in out, (front, c.name)
        assert "--log-level" in out and "-v, --verbose" in out, (front, c.name)
        # one spelling per meaning: the old ones are hidden aliases at most
        for old in ("--publish", "--speed", "--prefix "):
            assert old not in out, (front, c.name, old)
        if front == "central" and c.name == "report":  # its nested sub-commands too
            for r in ("occupancy", "punctuality"):
                with pytest.raises(SystemExit) as e:
                    mod.main([c.name, r, "--help"])
                nested = capsys.readouterr().out
                assert "examples:" in nested and "exit status:" in nested and "--log-level" in nested, r
                assert "-o FILE, --out FILE" in nested, r
        if "--out" in out:
            assert "-o FILE, --out FILE" in out or "-o OUT, --out OUT" in out, (front, c.name)


def _level_after(argv: list[str], tmp_path: Path) -> int:
    seen: list[int] = []

    def run(_args: argparse.Namespace) -> int:
        seen.append(logging.getLogger().level)
        return 0

    mod = tmp_path / "cmd_probe.py"
    mod.write_text("def add_arguments(p):\n    p.add_argument('x', nargs='?')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import cmd_probe  # type: ignore[import-not-found]

        cmd_probe.run = run
        assert main("probe", "", [Subcommand("probe", "cmd_probe", "p")], argv) == 0
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cmd_probe", None)
    return seen[0]


@pytest.mark.parametrize("argv,level", [
    (["probe"], logging.INFO),
    (["--log-level", "WARNING", "probe"], logging.WARNING),
    (["probe", "--log-level", "warning"], logging.WARNING),
    (["probe", "x", "-v"], logging.DEBUG),
    (["-v", "probe", "x"], logging.DEBUG),
    (["--log-level", "ERROR", "probe", "-v"], logging.WARNING),
])
def test_log_level_anywhere_on_the_line(argv: list[str], level: int, tmp_path: Path) -> None:
    assert _level_after(argv, tmp_path) == level


def test_old_spellings_still_work_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser(prog="x", parents=[common_parser()])
    add_mqtt_arguments(p, tls=True)
    add_time_arguments(p, clocks=("auto", "gnss"))
    args = p.parse_args(["--publish", "mqtt://127.0.0.1:1884", "--speed", "5", "--prefix", "a/b"])
    assert (args.broker, args.time_warp, args.topic_prefix) == ("mqtt://127.0.0.1:1884", 5.0, "a/b")
    err = capsys.readouterr().err
    assert "--publish is deprecated, use --broker" in err and "--speed is deprecated, use --time-warp" in err
    cfg = mqtt_from_args(args)
    assert (cfg.url, cfg.topic_prefix) == ("mqtt://127.0.0.1:1884", "a/b")


def test_bad_values_are_exit_2_naming_the_flag(tmp_path: Path) -> None:
    p = argparse.ArgumentParser(prog="x")
    add_mqtt_arguments(p)
    add_time_arguments(p)
    with pytest.raises(ConfigError, match="--broker"):
        mqtt_from_args(p.parse_args(["--broker", "http://example"]))
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--time-warp", "0"])
    assert e.value.code == 2
    r = subprocess.run([sys.executable, "-m", "onboard", "publish", str(tmp_path / "none.jsonl"), "--broker",
                        "tcp://x", "--state-dir", str(tmp_path), "--mode", "bus"], capture_output=True, text=True,
                       cwd=REPO, timeout=60)
    assert r.returncode == 2 and "--broker" in r.stderr and "Traceback" not in r.stderr


def test_systemd_units_call_the_console_scripts() -> None:
    for unit in sorted((REPO / "systemd").glob("rettid-*.service")):
        m = re.search(r"^ExecStart=(\S+)", unit.read_text(), re.M)
        assert m, unit
        assert Path(m.group(1)).name in SCRIPTS, (unit.name, m.group(1))


def test_luma_extra_brings_spi_and_gpio() -> None:
    """luma.core 2.6 put spidev and RPi.GPIO behind its extras: ``rettid[luma]`` must ask for them."""
    luma = " ".join(PYPROJECT["project"]["optional-dependencies"]["luma"])
    assert re.search(r"luma\.core\[[^\]]*\bspi\b[^\]]*\]", luma) or "spidev" in luma
    assert re.search(r"luma\.core\[[^\]]*\bgpio\b[^\]]*\]", luma) or re.search(r"RPi\.GPIO|rpi-lgpio", luma)
