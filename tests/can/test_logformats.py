"""CAN logs in python-can's formats (ASC, BLF, TRC, CSV, each also .gz where python-can can) replay and
decode like the candump original (issue 14: only the project's candump reader was accepted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import can
import pytest

from hw.can.logfile import CanLogFile, log_format
from hw.can.replay import ReplayBus
from tests.can.helpers import CAPTURE_FCBF0606
from tests.conftest import REPO

FORMATS = [".asc", ".blf", ".trc", ".csv", ".log.gz", ".asc.gz", ".trc.gz", ".csv.gz"]


def _frames(path: Path) -> list[can.Message]:
    log = CanLogFile(path)
    try:
        return list(log)
    finally:
        log.close()


@pytest.fixture(scope="module")
def original() -> list[can.Message]:
    frames = _frames(CAPTURE_FCBF0606)
    # python-can 4.6's ASC writer prints the start time's milliseconds unpadded (.84 for .084): start
    # on a whole 100 ms so that the round trip through .asc is exact
    shift = 0.2 - (frames[0].timestamp % 1.0)
    for m in frames:
        m.timestamp += shift
    return frames


@pytest.mark.parametrize("ext", FORMATS)
def test_each_format_replays_the_same_frames(ext: str, original: list[can.Message], tmp_path: Path) -> None:
    path = tmp_path / f"capture{ext}"
    with can.Logger(path) as out:  # python-can's writer for the suffix
        for m in original:
            out.on_message_received(m)
    got = _frames(path)
    assert len(got) == len(original)
    for a, b in zip(got, original, strict=True):
        assert (a.arbitration_id, bytes(a.data), a.is_extended_id) == (b.arbitration_id, bytes(b.data),
                                                                       b.is_extended_id)
        assert a.timestamp == pytest.approx(b.timestamp, abs=1e-5)
    bus = ReplayBus(file=path, speed=0.0)
    try:
        n = 0
        while bus.recv(0) is not None:
            n += 1
        assert n == len(original) and bus.bad_lines == 0 and bus.position() == 1.0
    finally:
        bus.shutdown()


def test_decode_command_reads_any_format(original: list[can.Message], tmp_path: Path) -> None:
    outs = {}
    for ext in (".log", ".blf"):
        path = tmp_path / f"c{ext}"
        with can.Logger(path) as out:
            for m in original:
                out.on_message_received(m)
        r = subprocess.run([sys.executable, "-m", "hw.can", "decode", str(path), "-o", str(tmp_path / f"{ext}.jsonl")],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        outs[ext] = [{k: v for k, v in json.loads(x).items() if k != "channel"}
                     for x in (tmp_path / f"{ext}.jsonl").read_text().splitlines()]
    assert outs[".log"] and outs[".log"] == outs[".blf"]


def test_a_bad_record_keeps_what_came_before(original: list[can.Message], tmp_path: Path) -> None:
    path = tmp_path / "torn.csv"
    with can.Logger(path) as out:
        for m in original[:100]:
            out.on_message_received(m)
    text = path.read_text().splitlines()
    text.insert(len(text) - 30, "1622547999.5,garbage,row,that,no,reader")
    path.write_text("\n".join(text) + "\n")
    log = CanLogFile(path)
    got = list(log)
    log.close()
    assert 60 <= len(got) < 100 and log.bad_lines == 1


def test_candump_stays_tolerant(tmp_path: Path) -> None:
    lines = CAPTURE_FCBF0606.read_text().splitlines()
    lines[10:10] = ["(garbage", "(1622547830.1) can0 XYZ#00"]
    path = tmp_path / "noisy.log"
    path.write_text("\n".join(lines) + "\n")
    log = CanLogFile(path)
    got = list(log)
    log.close()
    assert log.bad_lines == 2 and len(got) == len(_frames(CAPTURE_FCBF0606))


@pytest.mark.parametrize("name,fmt", [("a.log", ".log"), ("a.LOG.gz", ".log"), ("a.candump", ".log"),
                                      ("x.ASC", ".asc"), ("x.blf", ".blf"), ("can", ".log"), ("a.trc.gz", ".trc")])
def test_format_by_extension(name: str, fmt: str) -> None:
    assert log_format(name) == fmt


def test_decode_a_live_bus_named_on_the_command_line(original: list[can.Message], tmp_path: Path) -> None:
    """``add_can_arguments``: the same decode on python-can's virtual bus instead of a file."""
    import argparse
    import threading
    import time

    from hw.can import cli
    from hw.can.config import CanConfig, can_config_from_args

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args(["--can-backend", "virtual", "--can-channel", "rettid-live-test", "--duration", "2",
                         "-o", str(tmp_path / "live.jsonl")])
    assert can_config_from_args(args) == CanConfig(backend="virtual", channel="rettid-live-test")
    base = CanConfig(backend="socketcan", channel="can0", bitrate=500000)
    assert can_config_from_args(p.parse_args(["--can-channel", "can1"]), base) == CanConfig(
        backend="socketcan", channel="can1", bitrate=500000)

    def send() -> None:
        time.sleep(0.5)
        with can.Bus(interface="virtual", channel="rettid-live-test") as tx:
            for m in original[:200]:
                tx.send(can.Message(arbitration_id=m.arbitration_id, data=m.data, is_extended_id=True))

    t = threading.Thread(target=send)
    t.start()
    assert cli.run(args) == 0
    t.join()
    lines = (tmp_path / "live.jsonl").read_text().splitlines()
    assert lines and all(json.loads(x)["pgn"] is not None for x in lines)
