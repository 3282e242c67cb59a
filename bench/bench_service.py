"""Cost of the onboard service on the unit (issue 9): ``onboard run`` for 60 s against ``sim_bus live``
at real time, measured from ``/proc/<pid>`` of the service process.

Load (the issue's): the 920R standing at Hillerød St. while passengers board through 4 counted doors
(the first simulated minute, 06:13-06:14); a 10 Hz multi-GNSS receiver (GPS, GLONASS, Galileo, BeiDou;
RMC VTG GGA GSA GST ZDA, no GSV: at 10 Hz receivers send it at 1 Hz, and four systems' GSV every
epoch would not fit 115200 baud) at 115200 baud on a pty; 1,500 CAN frames/s of which 30 % are the
Bus-FMS frames the unit needs (``can.total_fps``/``can.needed_share``, 500 kbit/s: 1,500 frames/s are
over 80 % of a 250 kbit/s bus) through the emulated SLCAN adapter; the frieze on a framebuffer sink
(RGB565 1920x360, into a file; rendered when its picture changes, at most 1 frame/s); every record
through the outbox to a local Mosquitto. The rates the simulator really sent during the measurement
are reported (``sim_bus live --stats``).

There is no vcan here for SocketCAN: the frames go over the emulated SLCAN adapter, read by
``hw.can.slcan.ChunkedSlcanBus`` which drops unneeded identifiers before parsing them, where SocketCAN's
kernel filters would drop them before the process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parent.parent
RUN_S = 60.0
START_S = 0.0  # the scenario starts with the train at Hillerød track 8, passengers boarding (edges 0-20 s)
GNSS_LOAD = {"rate_hz": 10, "baud": 115200, "talker": "GN", "constellations": ["GP", "GL", "GA", "GB"],
             "sentences": ["RMC", "VTG", "GGA", "GSA", "GST", "ZDA"], "ttff_s": 0}
CAN_LOAD = {"bitrate": 500000, "total_fps": 1500, "needed_share": 0.3}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


@dataclass
class Setup:
    """The files and command lines of one run (also used to profile the service by hand)."""

    work: Path
    sim_cmd: list[str]
    svc_cmd: list[str]
    can_link: Path
    sim_stats: Path
    state_dir: Path


def prepare(work: Path, broker_url: str, run_s: float = RUN_S) -> Setup:
    """Scenario, unit file, framebuffer file and FIFO in ``work``; the two command lines."""
    import yaml

    from demo.run import derive_scenario, live_onboard_config, write_yaml

    scenario = derive_scenario("920R-weekday", work / "scenario.yaml", gnss=GNSS_LOAD, can=CAN_LOAD)
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["can"].pop("background_fps", None)  # the background is what total_fps leaves
    write_yaml(doc, scenario)
    gnss, can, fifo = work / "gnss", work / "can", work / "gpio.fifo"
    os.mkfifo(fifo)
    # the frieze on a framebuffer as on the unit (RGB565, 1920x360), here a file of that size
    fb = work / "fb0"
    fb.write_bytes(bytes(1920 * 360 * 2))
    display = {"backend": "framebuffer", "device": str(fb), "format": "rgb565", "width": 1920, "height": 360,
               "sysfs": str(work / "no-sysfs")}
    cfg = write_yaml(live_onboard_config(scenario, gnss_url=str(gnss), can_channel=str(can), gpio_file=fifo,
                                         state_dir=work / "state", display=display, baudrate=115200),
                     work / "onboard.yaml")
    stats = work / "sim-stats.json"
    sim = [sys.executable, "-m", "sim_bus", "live", str(scenario), "--time-warp", "1", "--start", str(START_S),
           "--duration", str(run_s + 15), "--pty-link", str(gnss), "--can", f"slcan:{can}", "--gpio",
           f"file:{fifo}", "--no-progress", "--stats", str(stats)]
    svc = [sys.executable, "-m", "onboard", "run", "--config", str(cfg), "--clock", "gnss", "--broker", broker_url]
    return Setup(work, sim, svc, can, stats, work / "state")


def _sim_stats(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _rates(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What the simulator sent per second between two ``--stats`` readings."""
    dt = b.get("mono", 0.0) - a.get("mono", 0.0)
    if not a or not b or dt <= 0:
        return {"error": "no simulator stats"}
    r = {k: (b[k] - a[k]) / dt for k in ("can_frames", "can_needed", "nmea_bytes", "gpio_edges")}
    return {"over_s": round(dt, 1), "can_frames_per_s": round(r["can_frames"], 1),
            "can_needed_per_s": round(r["can_needed"], 1),
            "can_needed_share": round(r["can_needed"] / r["can_frames"], 3) if r["can_frames"] else None,
            "nmea_bytes_per_s": round(r["nmea_bytes"], 1), "door_edges_per_s": round(r["gpio_edges"], 2),
            "sim_worst_lag_ms": round(b.get("late_max_s", 0.0) * 1000, 1)}


@benchmark("service")
def service_cost() -> list[Metric]:
    from transit.localbroker import LocalBroker

    work = Path(tempfile.mkdtemp(prefix="rettid-bench-service-"))
    procs: list[subprocess.Popen[bytes]] = []
    broker = LocalBroker(work / "broker").start()
    try:
        s = prepare(work, broker.url)
        sim = subprocess.Popen(s.sim_cmd, cwd=REPO, stdout=(work / "sim.log").open("wb"), stderr=subprocess.STDOUT)
        procs.append(sim)
        if not _wait(lambda: s.can_link.is_symlink() or sim.poll() is not None, 120) or sim.poll() is not None:
            raise RuntimeError(f"simulator did not start: {(work / 'sim.log').read_text()[-2000:]}")
        svc = subprocess.Popen(s.svc_cmd, cwd=REPO, stdout=(work / "onboard.log").open("wb"),
                               stderr=subprocess.STDOUT)
        procs.append(svc)
        time.sleep(3.0)  # start-up (imports, timetable) is not the steady state
        c0, t0, s0 = _cpu_s(svc.pid), time.monotonic(), _sim_stats(s.sim_stats)
        time.sleep(RUN_S)
        c1, t1, s1 = _cpu_s(svc.pid), time.monotonic(), _sim_stats(s.sim_stats)
        hwm = _hwm_mb(svc.pid)
        health = json.loads((s.state_dir / "health.json").read_text())
        svc.terminate()
        rc = svc.wait(30)
        sim.terminate()
        sim.wait(30)
        frac = (c1 - c0) / (t1 - t0)
        can_c = health["can"]["counters"]
        extra = {"run_s": round(t1 - t0, 1), "exit": rc, "load_sent": _rates(s0, s1),
                 "fixes": health["gnss"]["counters"].get("fixes"),
                 "can_frames_decoded": can_c.get("frames"), "can_filtered_in_reader": can_c.get("filtered_in_reader"),
                 "door_edges": health["doors"]["edges"],
                 "records": {k[8:]: v for k, v in health["core"].items() if k.startswith("records_")},
                 "frieze_frames": health["display"]["frames"], "published": health["outbox"].get("acked"),
                 "can_path": "SLCAN pty, hw.can.slcan chunked reader with J1939 id filter"}
        return [at_most("onboard_cpu_fraction", round(frac, 4), 0.05, "cpu_s/s", **extra),
                at_most("onboard_rss_mb", round(hwm, 1), 80, "MB", measured="VmHWM of the service process")]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
