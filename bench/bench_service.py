"""Cost of the onboard service on the unit (issue 9): ``onboard run`` for 60 s against ``sim_bus live``
at real time, measured from ``/proc/<pid>`` of the service process.

Load: the 920R standing at Hillerød St. while passengers board through 4 counted doors (the first
simulated minute, 06:13-06:14), a 10 Hz multi-GNSS receiver at 115200 baud on a pty, CAN through the
emulated SLCAN adapter at 1,500 frames/s, the frieze on a framebuffer sink (RGB565 1920x360, into a
file; rendered when its picture changes, at most 1 frame/s), every record through the outbox to a
local Mosquitto.

What the simulator cannot give: ``sim_bus`` sends CCVS1 at most every 10 ms, DC1/DC2 at most every
50 ms and VDHR every 100 ms, so of the 1,500 frames/s only ~150 (10 %) are frames the unit needs, not
30 %. And there is no vcan here for SocketCAN: the frames go over the emulated SLCAN adapter, read in
chunks and filtered by J1939 identifier in the service's SLCAN reader (python-can's own reads byte by
byte: 0.25 CPU s/s at this load), where SocketCAN's kernel filters would drop them before the process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parent.parent
RUN_S = 60.0
START_S = 0.0  # the scenario starts with the train at Hillerød track 8, passengers boarding (edges 0-20 s)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(pred, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


@benchmark("service")
def service_cost() -> list[Metric]:
    from onboard.demo import LocalBroker, derive_scenario, live_onboard_config, write_yaml

    work = Path(tempfile.mkdtemp(prefix="rettid-bench-service-"))
    procs: list[subprocess.Popen[bytes]] = []
    broker = LocalBroker(work / "broker").start()
    try:
        # needed frames: CCVS1 every 10 ms, DC1/DC2 every 50 ms, VDHR every 100 ms (the simulator's limits) = 150/s
        scenario = derive_scenario(
            "920R-weekday", work / "scenario.yaml",
            gnss={"rate_hz": 10, "baud": 115200, "sentences": ["RMC", "VTG", "GGA", "GSA", "GST", "ZDA"],
                  "ttff_s": 0},
            can={"background_fps": 1340, "ccvs1_ms": 10, "dc1_ms": 50, "dc2_ms": 50, "vdhr_ms": 100})
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
        sim = subprocess.Popen([sys.executable, "-m", "sim_bus", "live", str(scenario), "--speed", "1",
                                "--start", str(START_S), "--duration", str(RUN_S + 15), "--pty-link", str(gnss),
                                "--can", f"slcan:{can}", "--gpio", f"file:{fifo}", "--no-progress"],
                               cwd=REPO, stdout=(work / "sim.log").open("wb"), stderr=subprocess.STDOUT)
        procs.append(sim)
        if not _wait(lambda: can.is_symlink() or sim.poll() is not None, 120) or sim.poll() is not None:
            raise RuntimeError(f"simulator did not start: {(work / 'sim.log').read_text()[-2000:]}")
        svc = subprocess.Popen([sys.executable, "-m", "onboard", "run", "--config", str(cfg), "--clock", "gnss",
                                "--broker", broker.url], cwd=REPO, stdout=(work / "onboard.log").open("wb"),
                               stderr=subprocess.STDOUT)
        procs.append(svc)
        time.sleep(3.0)  # start-up (imports, timetable) is not the steady state
        c0, t0 = _cpu_s(svc.pid), time.monotonic()
        time.sleep(RUN_S)
        c1, t1 = _cpu_s(svc.pid), time.monotonic()
        hwm = _hwm_mb(svc.pid)
        import json
        health = json.loads((work / "state" / "health.json").read_text())
        svc.terminate()
        rc = svc.wait(30)
        sim.terminate()
        sim.wait(30)
        frac = (c1 - c0) / (t1 - t0)
        can_c = health["can"]["counters"]
        extra = {"run_s": round(t1 - t0, 1), "exit": rc, "fixes": health["gnss"]["counters"].get("fixes"),
                 "can_frames_decoded": can_c.get("frames"), "door_edges": health["doors"]["edges"],
                 "records": {k[8:]: v for k, v in health["core"].items() if k.startswith("records_")},
                 "frieze_frames": health["display"]["frames"], "published": health["outbox"].get("acked"),
                 "can_path": "SLCAN pty, chunked reader with J1939 id filter (onboard.service)",
                 "can_filtered_in_reader": can_c.get("filtered_in_reader"),
                 "needed_can_share": "~10 % (simulator limit; issue asks 30 %)"}
        return [at_most("onboard_cpu_fraction", round(frac, 4), 0.05, "cpu_s/s", **extra),
                at_most("onboard_rss_mb", round(hwm, 1), 80, "MB", measured="VmHWM of the service process")]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
