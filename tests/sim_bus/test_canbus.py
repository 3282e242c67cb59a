"""CAN traffic model: rates, background load, on-change door frames, wheel calibration."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from hw.can.dbc import load_dbc
from hw.can.j1939 import pgn_of, source_address
from sim_bus.canbus import frames
from sim_bus.engine import Simulation, build
from sim_bus.scenario import load_scenario

from .conftest import SHORT


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    p: Path = tmp_path_factory.mktemp("can") / "s.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return build(load_scenario(p))


def test_rates_and_load(sim: Simulation) -> None:
    cfg = dataclasses.replace(sim.scenario.can, background_fps=200.0)
    dur = sim.t_end - sim.t_start
    by_pgn: Counter[int] = Counter()
    n = 0
    for fr in frames(sim.motion, cfg, sim.scenario.vehicle, sim.scenario.seed):
        by_pgn[pgn_of(fr.can_id)] += 1
        n += 1
    assert by_pgn[0xFEF1] == pytest.approx(dur * 10, abs=2)  # CCVS1 100 ms
    assert by_pgn[0xFEC1] == pytest.approx(dur, abs=2)  # VDHR 1 s
    assert by_pgn[0xF004] == pytest.approx(dur * 50, abs=2)  # EEC1 20 ms, part of the background
    assert by_pgn[0xFE6C] == pytest.approx(dur * 20, abs=2)  # TCO1 50 ms, too
    fms = by_pgn[0xFEF1] + by_pgn[0xFEC1] + by_pgn[0xFE4E] + by_pgn[0xFDA5]
    assert (n - fms) / dur == pytest.approx(200.0, rel=0.02)


def test_door_frames_on_change(sim: Simulation) -> None:
    db = load_dbc()
    dc2 = next(m for m in db.messages if m.name == "DC2")
    changes = sorted({c.opened for c in sim.motion.doors} | {c.closed for c in sim.motion.doors})
    dc2_times = []
    for fr in sim.can_frames():
        if pgn_of(fr.can_id) == 0xFDA5:
            assert source_address(fr.can_id) == 0x21
            dc2_times.append(fr.t_us / 1e6)
            dc2.decode(fr.data)
    for t in changes:
        assert any(0 <= x - t <= 0.01 for x in dc2_times), f"no DC2 right after the door change at {t}"


def test_wheel_scale(sim: Simulation) -> None:
    db = load_dbc()
    ccvs1 = next(m for m in db.messages if m.name == "CCVS1")
    vdhr = next(m for m in db.messages if m.name == "VDHR")
    tco1 = next(m for m in db.messages if m.name == "TCO1")
    cfg = dataclasses.replace(sim.scenario.can, wheel_scale=1.05, background_fps=70.0)
    last_odo = None
    for fr in frames(sim.motion, cfg, sim.scenario.vehicle, sim.scenario.seed):
        pgn = pgn_of(fr.can_id)
        if pgn == 0xFEF1:
            v = float(ccvs1.decode(fr.data)["WheelBasedVehicleSpeed"])
            assert v == pytest.approx(sim.motion.track.at(fr.t_us / 1e6).v * 3.6 * 1.05, abs=0.01)
        elif pgn == 0xFE6C:
            v = float(tco1.decode(fr.data)["TachographVehicleSpeed"])
            assert v == pytest.approx(sim.motion.track.at(fr.t_us / 1e6).v * 3.6 * 1.05, abs=0.01)
        elif pgn == 0xFEC1:
            last_odo = float(vdhr.decode(fr.data)["HighResTotalVehicleDistance"])
    driven = sim.motion.track.odo[-1] - sim.motion.track.odo[0]
    assert last_odo is not None
    assert last_odo - sim.motion.track.odo[0] == pytest.approx(driven * 1.05, abs=5.0)
