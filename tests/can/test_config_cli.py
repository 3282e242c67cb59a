"""``can:`` configuration (errors name file, line, key), ``open_can``, and ``python -m hw.can decode``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import can
import pytest

from hw.can.backends import open_can
from hw.can.config import CanConfig
from hw.can.fms import FmsEncoder
from hw.can.tracker import VehicleTracker
from tests.can.helpers import CAPTURE_11111111, CSS_DBC, T0, write_candump
from transit.errors import ConfigError, DeviceError
from transit.yamlconf import load_yaml, parse_yaml

REPO = Path(__file__).resolve().parents[2]


def _cfg(text: str) -> CanConfig:
    return CanConfig.from_node(parse_yaml(text, "onboard.yaml").child("can"))


def test_full_config_parses() -> None:
    c = _cfg("can:\n  backend: slcan\n  channel: /dev/ttyACM0\n  bitrate: 500000\n  tty_baudrate: 921600\n"
             "  doors: 3\n  source_address: 0x21\n  speed_source: tco1\n  extra_messages: [EEC1]\n")
    assert (c.backend, c.channel, c.bitrate, c.tty_baudrate, c.doors, c.source_address, c.speed_source,
            c.extra_messages) == ("slcan", "/dev/ttyACM0", 500000, 921600, 3, 0x21, "tco1", ("EEC1",))


@pytest.mark.parametrize("text, where", [
    ("can:\n  backend: kvaser\n  channel: x\n", "onboard.yaml:2: can.backend: expected one of"),
    ("can:\n  backend: virtual\n  chanel: x\n", "onboard.yaml:3: can.chanel: unknown key"),
    ("can:\n  backend: socketcan\n", "can.channel: missing required key"),
    ("can:\n  backend: replay\n", "can.file"),
    ("can:\n  backend: slcan\n  channel: /dev/ttyACM0\n  bitrate: 300000\n", "onboard.yaml:4: can.bitrate"),
    ("can:\n  backend: virtual\n  channel: x\n  doors: 12\n", "onboard.yaml:4: can.doors: must be at most 10"),
    ("can:\n  backend: virtual\n  channel: x\n  extra_messages: [FOO]\n", "can.extra_messages[0]"),
    ("can:\n  backend: socketcan\n  channel: can0\n  speed: 2\n", "can.speed: unknown key"),
])
def test_config_errors_name_file_line_and_key(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as ei:
        _cfg(text)
    assert where in str(ei.value)


def test_replay_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "onboard.yaml").write_text("can:\n  backend: replay\n  file: rec/can.log\n  speed: 0\n")
    c = CanConfig.from_node(load_yaml(tmp_path / "onboard.yaml").child("can"))
    assert c.file == tmp_path / "rec" / "can.log" and c.speed == 0.0


def test_open_can_gives_a_filtered_python_can_bus(tmp_path: Path) -> None:
    enc = FmsEncoder()
    log = tmp_path / "can.log"
    write_candump(log, [enc.eec1(800.0, timestamp=T0), enc.ccvs1(2.0, timestamp=T0 + 0.01)])
    node = parse_yaml(f"can:\n  backend: replay\n  file: {log}\n  speed: 0\n", "x.yaml").child("can")
    bus = open_can(node)
    try:
        got = []
        while not getattr(bus, "exhausted", True):  # recv(0) also returns None for a filtered frame
            m = bus.recv(0)
            if m is not None:
                got.append(m)
    finally:
        bus.shutdown()
    assert isinstance(bus, can.BusABC)
    assert [m.arbitration_id for m in got] == [enc.ccvs1(0).arbitration_id]  # EEC1 filtered out


def test_missing_device_is_a_device_error() -> None:
    node = parse_yaml("can:\n  backend: slcan\n  channel: /nonexistent/ttyACM9\n  sleep_after_open: 0\n",
                      "x.yaml").child("can")
    with pytest.raises(DeviceError):
        open_can(node)


def _decode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hw.can", "decode", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)


def test_decode_cli_prints_json_lines_matching_the_tracker() -> None:
    r = _decode(str(CAPTURE_11111111))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert {tuple(sorted(row)) for row in rows} == {("channel", "id", "name", "pgn", "sa", "signals", "time")}
    assert {row["name"] for row in rows} == {"EEC1", "CCVS1"}
    first = rows[0]
    assert first["time"] == "2021-10-25T19:00:55.029Z" and first["id"] == "0CF00400"
    assert first["pgn"] == 0xF004 and first["sa"] == 0 and first["channel"] == "can0"
    assert first["signals"]["EngineSpeed"] == 649.0
    ccvs = [row for row in rows if row["name"] == "CCVS1"]
    assert all(row["signals"]["WheelBasedVehicleSpeed"] == 0.0 for row in ccvs)
    assert "decoded=3299" in r.stderr and "unknown_pgn=7448" in r.stderr


def test_decode_cli_with_another_dbc() -> None:
    r = _decode(str(CAPTURE_11111111), "--dbc", str(CSS_DBC))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(set(row["signals"]) <= {"EngineSpeed", "WheelBasedVehicleSpeed"} for row in rows)


def test_decode_cli_bad_dbc_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dbc"
    bad.write_text("BO_ nonsense\n")
    r = _decode(str(CAPTURE_11111111), "--dbc", str(bad))
    assert r.returncode == 2 and "bad.dbc" in r.stderr and "Traceback" not in r.stderr


def test_tracker_rejects_bad_options() -> None:
    with pytest.raises(ConfigError):
        VehicleTracker(speed_source="gps")
    with pytest.raises(ConfigError):
        VehicleTracker(extra_messages=["FOO"])
