"""Real J1939 captures (CSS Electronics sample logs): our reader vs cantools with CSS's demo DBC.

Frame by frame, the project's replay + tracker must give the same EEC1 engine speed and CCVS1
wheel-based speed as the independent reference decoder.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import cantools
import pytest

from hw.can.config import CanConfig
from hw.can.j1939 import pgn_of
from hw.can.reader import CanReader
from hw.can.replay import ReplayBus
from hw.can.tracker import VehicleTracker
from tests.can.helpers import CAPTURE_11111111, CAPTURE_FCBF0606, CSS_DBC

CSS = cantools.database.load_file(str(CSS_DBC))
CSS_BY_PGN = {pgn_of(m.frame_id): m for m in CSS.messages}


def _compare(path: Path) -> tuple[list[float], list[float], dict[str, int]]:
    tr = VehicleTracker(extra_messages=["EEC1"])
    bus = ReplayBus(file=path, speed=0.0)
    rpms: list[float] = []
    speeds: list[float] = []
    try:
        while (msg := bus.recv(0)) is not None:
            state = tr.feed(msg)
            if msg.is_error_frame or not msg.is_extended_id:
                assert state is None
                continue
            ref = CSS_BY_PGN.get(pgn_of(msg.arbitration_id))
            if ref is None:
                continue
            expected = ref.decode(msg.data)
            assert state is not None, f"{msg} decoded by the reference but not by us"
            if ref.name == "EEC1":
                assert state.engine_rpm == pytest.approx(expected["EngineSpeed"], abs=1e-9), msg
                rpms.append(state.engine_rpm)
            else:
                assert ref.name == "CCVS1"
                assert state.speed_mps is not None
                assert state.speed_mps * 3.6 == pytest.approx(expected["WheelBasedVehicleSpeed"], abs=1e-9), msg
                speeds.append(state.speed_mps * 3.6)
    finally:
        bus.shutdown()
    assert bus.bad_lines == 0
    return rpms, speeds, tr.stats()


def test_idling_bus_11111111_matches_reference_frame_by_frame() -> None:
    rpms, speeds, stats = _compare(CAPTURE_11111111)
    assert len(rpms) > 2900 and len(speeds) > 290  # EEC1 100 Hz, CCVS1 10 Hz over 30 s
    assert 600 < statistics.mean(rpms) < 700  # idling at about 650 rpm
    assert max(speeds) == 0.0
    assert stats["standard_id"] == 1850  # the 11-bit frames on can1
    assert stats.get("bad_frames", 0) == 0


def test_stationary_truck_fcbf0606_matches_reference_frame_by_frame() -> None:
    rpms, speeds, _ = _compare(CAPTURE_FCBF0606)
    assert rpms and speeds
    assert max(rpms) == 0.0 and max(speeds) == 0.0


def test_reader_replay_with_filters_sees_only_needed_frames() -> None:
    cfg = CanConfig(backend="replay", channel="can0", file=CAPTURE_11111111, speed=0.0,
                    extra_messages=("EEC1",))
    with CanReader(cfg) as r:
        states = list(r.updates())
        stats = r.stats()
    eec1_ccvs1 = sum(1 for line in CAPTURE_11111111.read_text().splitlines()
                     if line.split()[2][2:6] in ("F004", "FEF1") and len(line.split()[2].split("#")[0]) == 8)
    assert len(states) == eec1_ccvs1 == stats["decoded"] == stats["frames"]
    assert stats.get("unknown_pgn", 0) == 0 and stats.get("standard_id", 0) == 0  # filtered before us
    last = states[-1]
    assert last.speed_mps == 0.0 and last.engine_rpm is not None and 600 < last.engine_rpm < 700
    assert last.parking_brake is True
    assert [s.t for s in states] == sorted(s.t for s in states)
