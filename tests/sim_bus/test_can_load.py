"""The CAN load knob (``can.total_fps`` + ``can.needed_share``) and the live player's counts: the bus
carries the requested frames/s, that share of them are the Bus-FMS frames a unit needs, and ``sim_bus
live --stats`` reports what was sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim_bus.canbus import NEEDED_ORDERS, Frame
from sim_bus.engine import build
from sim_bus.live import LiveStats, play
from sim_bus.scenario import load_scenario
from transit.errors import ScenarioError

from .conftest import REPO, SHORT


def _scenario(tmp_path: Path, can: str) -> Path:
    p = tmp_path / "load.yaml"
    p.write_text(SHORT.replace("can: {background_fps: 60}", f"can: {{{can}}}"), encoding="utf-8")
    return p


def _err(tmp_path: Path, can: str) -> str:
    with pytest.raises(ScenarioError) as ei:
        load_scenario(_scenario(tmp_path, can))
    return str(ei.value)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


class _Count:
    def __init__(self) -> None:
        self.frames = 0
        self.needed = 0

    def send(self, frame: Frame) -> None:
        self.frames += 1
        self.needed += frame.order in NEEDED_ORDERS

    def close(self) -> None:
        pass


def test_total_and_share_give_the_load_on_the_bus(tmp_path: Path) -> None:
    sc = load_scenario(_scenario(tmp_path, "bitrate: 500000, total_fps: 1500, needed_share: 0.3"))
    c = sc.can
    assert c.background_fps == pytest.approx(1050.0)
    # the Bus-FMS periods keep the defaults' ratios (CCVS1 100 ms : DC1, DC2, VDHR 1000 ms)
    assert c.dc1_ms == pytest.approx(10 * c.ccvs1_ms) == pytest.approx(c.vdhr_ms) == pytest.approx(c.dc2_ms)
    assert sum(1000 / p for p in (c.ccvs1_ms, c.dc1_ms, c.dc2_ms, c.vdhr_ms)) == pytest.approx(450.0)
    sim = build(sc)
    sink, clk = _Count(), _Clock()
    stats = play(sim, speed=1.0, nmea=None, can_sink=sink, gpio_sink=None, start_s=60.0, duration_s=20.0,
                 clock=clk.clock, sleep=clk.sleep)
    assert stats.can_frames == sink.frames and stats.can_needed == sink.needed
    assert sink.frames / 20.0 == pytest.approx(1500, rel=0.02)
    # door state changes add a few DC1/DC2 frames beyond the periodic ones
    assert sink.needed / sink.frames == pytest.approx(0.30, abs=0.01)
    assert stats.as_dict()["can_needed"] == sink.needed


def test_load_knob_errors_name_the_key(tmp_path: Path) -> None:
    assert "needed_share" in _err(tmp_path, "needed_share: 0.3")  # total_fps missing
    assert "total_fps and needed_share go together" in _err(tmp_path, "total_fps: 500")
    assert "background_fps" in _err(tmp_path, "total_fps: 500, needed_share: 0.3, background_fps: 10")
    # 1,500 frames/s are more than 80 % of a 250 kbit/s J1939 bus
    assert "does not fit" in _err(tmp_path, "bitrate: 250000, total_fps: 1500, needed_share: 0.3")
    assert "under 1 ms" in _err(tmp_path, "bitrate: 1000000, total_fps: 5000, needed_share: 0.9")


def test_default_scenarios_unchanged(tmp_path: Path) -> None:
    c = load_scenario(_scenario(tmp_path, "background_fps: 60")).can
    assert (c.background_fps, c.ccvs1_ms, c.dc1_ms, c.dc2_ms, c.vdhr_ms) == (60.0, 100.0, 1000.0, 1000.0, 1000.0)


def test_live_stats_file(tmp_path: Path) -> None:
    scen = _scenario(tmp_path, "background_fps: 60")
    out = tmp_path / "stats.json"
    r = subprocess.run([sys.executable, "-m", "sim_bus", "live", str(scen), "--time-warp", "50", "--start", "60",
                        "--duration", "10", "--can", "none", "--no-progress", "--stats", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    assert got["nmea_bytes"] > 0 and got["can_frames"] == 0 and got["sim_s"] == pytest.approx(10, abs=1.0)
    assert not (tmp_path / "stats.json.tmp").exists()
    assert set(got) == set(LiveStats().as_dict())
