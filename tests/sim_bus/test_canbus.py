"""CAN traffic model: rates, background load, on-change door frames, wheel calibration."""

from __future__ import annotations

import dataclasses
import math
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
    lat = sim.scenario.can.door_latency_ms / 1000.0  # the body controller learns of a change this late
    assert lat > 0  # the default is a realistic latency, not none
    changes = sorted({c.opened + lat for c in sim.motion.doors} | {c.closed + lat for c in sim.motion.doors})
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
    # an ideal sensor (no cutoff, no filter) refreshed every 100 ms: the truth at the last refresh x scale
    cfg = dataclasses.replace(sim.scenario.can, wheel_scale=1.05, background_fps=70.0, wheel_cutoff_kmh=0.0,
                              wheel_lag_ms=0.0, wheel_update_ms=100.0)
    track = sim.motion.track

    def refreshed(t: float) -> float:
        return track.at(track.t[0] + math.floor((t - track.t[0]) / 0.1) * 0.1).v

    last_odo = None
    for fr in frames(sim.motion, cfg, sim.scenario.vehicle, sim.scenario.seed):
        pgn = pgn_of(fr.can_id)
        if pgn == 0xFEF1:
            v = float(ccvs1.decode(fr.data)["WheelBasedVehicleSpeed"])
            assert v == pytest.approx(refreshed(fr.t_us / 1e6) * 3.6 * 1.05, abs=0.01)
        elif pgn == 0xFE6C:
            v = float(tco1.decode(fr.data)["TachographVehicleSpeed"])
            assert v == pytest.approx(refreshed(fr.t_us / 1e6) * 3.6 * 1.05, abs=0.01)
        elif pgn == 0xFEC1:
            last_odo = float(vdhr.decode(fr.data)["HighResTotalVehicleDistance"])
    driven = sim.motion.track.odo[-1] - sim.motion.track.odo[0]
    assert last_odo is not None
    assert last_odo - sim.motion.track.odo[0] == pytest.approx(driven * 1.05, abs=5.0)


def _ccvs1_speeds(sim: Simulation, **knobs: float) -> list[tuple[float, float]]:
    ccvs1 = next(m for m in load_dbc().messages if m.name == "CCVS1")
    cfg = dataclasses.replace(sim.scenario.can, background_fps=0.0, **knobs)
    return [(fr.t_us / 1e6, float(ccvs1.decode(fr.data)["WheelBasedVehicleSpeed"]) / 3.6)
            for fr in frames(sim.motion, cfg, sim.scenario.vehicle, sim.scenario.seed)
            if pgn_of(fr.can_id) == 0xFEF1]


def test_wheel_speed_cutoff(sim: Simulation) -> None:
    """Below the cutoff the wheel-speed sensor reads 0 although the vehicle still rolls; above it, it
    follows the truth (no filter here)."""
    cut = 3.0 / 3.6
    track = sim.motion.track
    rolling_zero = 0
    for t, v in _ccvs1_speeds(sim, wheel_cutoff_kmh=3.0, wheel_lag_ms=0.0, wheel_update_ms=10.0):
        true = track.at(t).v
        if v == 0.0:
            assert track.at(t - 0.01).v < cut + 0.01
            rolling_zero += true > 0.05
        else:
            assert v >= cut - 0.01
            assert v == pytest.approx(true, abs=0.02)
    assert rolling_zero > 10  # every stop and start has zero readings while still rolling


def test_wheel_speed_filter_lag(sim: Simulation) -> None:
    """A first-order filter makes the reported speed lag behind: while braking it reads high, while
    accelerating low, by about deceleration x time constant."""
    track = sim.motion.track
    lagged = _ccvs1_speeds(sim, wheel_cutoff_kmh=0.0, wheel_lag_ms=300.0, wheel_update_ms=20.0)
    braking = [v - track.at(t).v for t, v in lagged if track.accel_at(t) < -0.3 and track.at(t).v > 2.0]
    accelerating = [v - track.at(t).v for t, v in lagged if track.accel_at(t) > 0.3 and track.at(t).v > 2.0]
    assert braking and accelerating
    assert sum(braking) / len(braking) > 0.1
    assert sum(accelerating) / len(accelerating) < -0.1


def test_wheel_speed_held_between_updates(sim: Simulation) -> None:
    """Refreshed every 200 ms but sent every 100 ms: frames come in pairs with the same value."""
    speeds = [v for _t, v in _ccvs1_speeds(sim, wheel_cutoff_kmh=0.0, wheel_lag_ms=0.0, wheel_update_ms=200.0)]
    # while the speed changes, of three frames in a row exactly two carry the same refresh
    changing = [(a, b, c) for a, b, c in zip(speeds, speeds[1:], speeds[2:], strict=False)
                if a > 1.0 and abs(c - a) > 0.05]
    assert len(changing) > 100
    assert all((a == b) != (b == c) for a, b, c in changing)
