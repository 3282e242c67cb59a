"""Live mode: pacing, the emulated SLCAN adapter, python-can's virtual bus, gpiozero mock pins, and
gpsd as a referee reading the simulator's pty."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import can
import pytest

from hw.can.dbc import load_dbc
from hw.can.j1939 import pgn_of
from sim_bus.engine import Simulation, build
from sim_bus.live import MockPinSink, PtyWriter, SlcanPtySink, VirtualCanSink, play
from sim_bus.scenario import load_scenario
from transit.geo import haversine_m

from ..conftest import free_port, require_binary
from .conftest import REPO, SHORT


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    p = tmp_path_factory.mktemp("live") / "test-910.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return build(load_scenario(p))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s
        self.slept += s


class Recorder:
    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.edges: list[tuple[float, int, int]] = []

    def send(self, frame: Any) -> None:
        self.frames.append(frame)

    def edge(self, t: float, pin: int, level: int) -> None:
        self.edges.append((t, pin, level))

    def close(self) -> None:
        pass


def test_play_paces_by_simulated_time(sim: Simulation) -> None:
    fc = FakeClock()
    rec = Recorder()
    first_open = min(c.opened for c in sim.motion.doors)
    start = first_open - sim.t_start
    stats = play(sim, speed=4.0, nmea=None, can_sink=rec, gpio_sink=rec, start_s=start, duration_s=40.0,
                 clock=fc.clock, sleep=fc.sleep)
    assert stats.can_frames == len(rec.frames) > 40 * 60
    ts = [f.t_us for f in rec.frames]
    assert ts == sorted(ts)
    assert rec.edges and rec.edges == sorted(rec.edges, key=lambda e: e[0])
    assert all(first_open <= e[0] <= first_open + 40 for e in rec.edges)
    # 40 simulated seconds at x4 take about 10 s of (fake) monotonic time
    assert 9.5 <= fc.now - 100.0 <= 10.1


def test_nmea_on_pty_arrives_paced_and_intact(sim: Simulation) -> None:
    pty = PtyWriter()
    fd = os.open(pty.path, os.O_RDONLY | os.O_NOCTTY)
    got = bytearray()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            got.extend(chunk)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        stats = play(sim, speed=20.0, nmea=pty, can_sink=None, gpio_sink=None, start_s=10.0, duration_s=20.0)
    finally:
        time.sleep(0.2)
        stop.set()
        pty.close()
        os.close(fd)
    lines = bytes(got).decode("ascii").split("\r\n")
    expect = [sim.nmea.lines[i] for t, a, b in sim.nmea.epochs
              if sim.t_start + 10 <= t <= sim.t_start + 30 for i in range(a, b)]
    assert stats.nmea_bytes == sum(len(x) + 2 for x in expect)
    assert lines[:-1] == expect  # raw pty: no CR/LF translation, nothing lost while someone reads


def test_virtual_bus_receives_simulated_timestamps(sim: Simulation) -> None:
    sink = VirtualCanSink("sim-test-vcan")
    rx = can.Bus(interface="virtual", channel="sim-test-vcan")
    try:
        play(sim, speed=50.0, nmea=None, can_sink=sink, gpio_sink=None, start_s=60.0, duration_s=5.0)
        msgs = []
        while (m := rx.recv(0.05)) is not None:
            msgs.append(m)
    finally:
        rx.shutdown()
        sink.close()
    assert len(msgs) > 5 * 60
    assert sim.t_start + 60 <= msgs[0].timestamp <= msgs[-1].timestamp <= sim.t_start + 65.001
    names = {m.name for m in load_dbc().messages}
    pgns = {pgn_of(m.arbitration_id) for m in msgs}
    assert {0xFEF1, 0xFE4E, 0xFDA5, 0xFEC1} <= pgns and "CCVS1" in names


def test_slcan_adapter_on_pty_talks_to_python_can(sim: Simulation) -> None:
    sink = SlcanPtySink()
    db = load_dbc()
    by_pgn = {pgn_of(m.frame_id): m for m in db.messages}
    bus = can.Bus(interface="slcan", channel=sink.path, bitrate=250000, sleep_after_open=0.1)
    got: list[can.Message] = []
    try:
        deadline = time.monotonic() + 5
        while not sink.is_open and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.is_open, "python-can did not open the emulated adapter"
        th = threading.Thread(target=play, kwargs={"sim": sim, "speed": 20.0, "nmea": None, "can_sink": sink,
                                                   "gpio_sink": None, "start_s": 200.0, "duration_s": 10.0})
        th.start()
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            m = bus.recv(0.1)
            if m is not None:
                got.append(m)
        th.join()
    finally:
        bus.shutdown()
        sink.close()
    assert len(got) > 300
    ccvs1 = [by_pgn[0xFEF1].decode(m.data) for m in got if pgn_of(m.arbitration_id) == 0xFEF1]
    assert ccvs1 and all(0 <= float(c["WheelBasedVehicleSpeed"]) <= 61 for c in ccvs1)


def test_mock_pins_follow_beam_edges(sim: Simulation) -> None:
    from gpiozero import DigitalInputDevice
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    pins = sorted({p for _, p, _ in sim.gpio})
    sink = MockPinSink(pins, factory)
    devs = {p: DigitalInputDevice(p, pull_up=None, active_state=True, pin_factory=factory) for p in pins}
    count = dict.fromkeys(pins, 0)
    for p, d in devs.items():
        def hit(p: int = p) -> None:
            count[p] += 1
        d.when_activated = hit
    first_open = min(c.opened for c in sim.motion.doors)
    play(sim, speed=200.0, nmea=None, can_sink=None, gpio_sink=sink,
         start_s=first_open - sim.t_start, duration_s=60.0)
    want = {p: sum(1 for t, q, v in sim.gpio if q == p and v == 1 and first_open <= t <= first_open + 60)
            for p in pins}
    assert count == want and sum(want.values()) > 10
    for d in devs.values():
        d.close()


@pytest.mark.gpsd
@pytest.mark.slow
def test_gpsd_reads_the_simulator_pty(sim: Simulation, tmp_path: Path) -> None:
    gpsd = require_binary("gpsd")
    scen = tmp_path / "test-910.yaml"
    scen.write_text(SHORT, encoding="utf-8")
    link = tmp_path / "gnss0"
    start_s, speed = 20.0, 10.0
    live = subprocess.Popen([sys.executable, "-m", "sim_bus", "live", str(scen), "--time-warp", str(speed),
                             "--start", str(start_s), "--duration", "200", "--pty-link", str(link),
                             "--can", "none", "--no-progress"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = free_port()
    daemon = None
    tpv: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 20
        while not link.is_symlink() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert link.is_symlink(), live.stderr.read().decode() if live.poll() is not None else "no pty"
        daemon = subprocess.Popen([gpsd, "-N", "-n", "-b", "-S", str(port), str(link)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sock = None
        while time.monotonic() < deadline and sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                time.sleep(0.1)
        assert sock is not None, "gpsd did not listen"
        sock.sendall(b'?WATCH={"enable":true,"json":true}\n')
        buf = b""
        end = time.monotonic() + 12
        sock.settimeout(0.5)
        while time.monotonic() < end and len(tpv) < 40:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            buf += data
            *done, buf = buf.split(b"\n")
            for line in done:
                msg = json.loads(line)
                # gpsd reports fixes without "time" until it has seen a date (RMC/ZDA): those cannot be
                # matched to the simulation's epochs, so only timed fixes are compared.
                if msg.get("class") == "TPV" and msg.get("mode", 0) >= 2 and "lat" in msg and "time" in msg:
                    tpv.append(msg)
        sock.close()
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(5)
        live.terminate()
        live.wait(10)
    assert len(tpv) >= 20, f"gpsd reported only {len(tpv)} fixes"
    outliers = {round(r["t"]) + k for r in sim.nmea.truth if r["kind"] == "outlier" for k in range(r["epochs"])}
    by_time = {}
    for t, a, b in sim.nmea.epochs:
        by_time[round(t)] = [sim.nmea.lines[i] for i in range(a, b)]
    for m in tpv:
        t = datetime.fromisoformat(m["time"].replace("Z", "+00:00")).timestamp()
        assert sim.t_start + start_s <= t <= sim.t_end
        gga = next(x for x in by_time[round(t)] if x.startswith("$GNGGA"))
        f = gga.split(",")
        lat = int(f[2][:2]) + float(f[2][2:]) / 60
        lon = int(f[4][:3]) + float(f[4][3:]) / 60
        assert m["lat"] == pytest.approx(lat, abs=1e-7) and m["lon"] == pytest.approx(lon, abs=1e-7)
        p = sim.motion.track.at(t)
        tlat, tlon, _ = sim.plans[p.trip].shape.point_at(p.x)
        err = haversine_m(m["lat"], m["lon"], tlat, tlon)
        assert err < (100 if round(t) in outliers else 12)
        if "speed" in m:
            assert m["speed"] == pytest.approx(p.v, abs=0.3)


def test_slcan_emulation_answers_and_survives_garbage() -> None:
    sink = SlcanPtySink()
    fd = os.open(sink.path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"V\rX123\r" + b"z" * 300)  # a command, an unknown one, then line noise
        time.sleep(0.2)
        os.write(fd, b"O\r")
        deadline = time.monotonic() + 3
        got = b""
        while time.monotonic() < deadline and not sink.is_open:
            time.sleep(0.02)
        time.sleep(0.05)
        os.set_blocking(fd, False)
        try:
            got = os.read(fd, 1024)
        except BlockingIOError:
            pass
        assert sink.is_open
        assert got.startswith(b"V1013\r\a") and sink.unknown_commands >= 1
    finally:
        sink.close()
        os.close(fd)


def test_pty_link_never_replaces_a_real_file(tmp_path: Path) -> None:
    from transit.errors import DeviceError

    f = tmp_path / "important"
    f.write_text("keep me")
    with pytest.raises(DeviceError, match="not a symlink"):
        PtyWriter(f)
    assert f.read_text() == "keep me"
    link = tmp_path / "gnss0"
    link.symlink_to("/nonexistent")  # stale link from a crashed run
    w = PtyWriter(link)
    assert os.readlink(link) == w.path
    w.close()
    assert not link.exists() and not link.is_symlink()
