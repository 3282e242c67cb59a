"""A Pi Zero 2 W budget (issue 17): ``onboard run`` and ``station run`` through a whole time-warped
scenario under CPUQuota=25 % of one core and MemoryMax=256 MiB each (``tests.resourcelimit``: a systemd
scope, a cgroup v2 or v1 child, or prlimit/taskset/duty cycle where there are no cgroups; the one used
is logged), while an unlimited run of the same scenario goes beside it.

At time warp ``W`` a 25 % quota gives a service 25/W % of this machine's core per second of data time:
with W = 10 that is 2.5 %, which on a Pi Zero 2 W (cores 4-6x slower than this one) is 10-15 % of one of
its four cores — so a pass here means the unit runs in real time on a Pi Zero with room to spare.

Asserted: no stall logged, the watchdog pinged (``WATCHDOG=1`` on the ``NOTIFY_SOCKET`` the test
provides, ``WATCHDOG_USEC`` from the shipped unit files) at least every WatchdogSec/2 and never missed,
no OOM kill, and the stop events the limited unit recorded equal the unlimited one's.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from demo.run import LocalBroker, derive_scenario, live_onboard_config, station_config, write_yaml
from tests.conftest import REPO, free_port, require_binary
from tests.resourcelimit import Limited, detect
from transit.timeutil import parse_iso

pytestmark = [pytest.mark.broker, pytest.mark.slow]
log = logging.getLogger(__name__)

SCENARIO = "920E-express"  # the whole 06:30 Hillerød - Hundested express, 29 min
WARP = 10.0
CPU_QUOTA = 0.25
MEMORY_MAX = 256 << 20
STOP_EVENTS = frozenset({"due", "arr", "ars", "pde", "dep", "pas", "wait", "not_observed"})


def _watchdog_sec(unit: str) -> float:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.read(REPO / "systemd" / unit)
    text = cp["Service"]["WatchdogSec"].strip()
    assert text.endswith("s"), text
    return float(text[:-1])


class NotifySocket:
    """What systemd would get from ``Type=notify`` services: every datagram, on our monotonic clock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            now = time.monotonic()
            self.messages.extend((now, line) for line in data.decode().splitlines())

    def times(self, field: str) -> list[float]:
        return [t for t, m in self.messages if m == field]

    def close(self) -> None:
        self._stop.set()
        self._th.join(2)
        self.sock.close()


def _run(tmp: Path, name: str, broker: LocalBroker, limited: bool) -> dict[str, Any]:
    """One unit (simulator, onboard, station) through the scenario; what it recorded and how it ran."""
    d = tmp / name
    d.mkdir()
    scenario = derive_scenario(SCENARIO, d / "scenario.yaml", can={"background_fps": 0})
    gnss, can, fifo = d / "gnss", d / "can", d / "gpio.fifo"
    os.mkfifo(fifo)
    onboard_yaml = write_yaml(live_onboard_config(scenario, gnss_url=str(gnss), can_channel=str(can), gpio_file=fifo,
                                                  state_dir=d / "onboard-state", frieze_png=d / "frieze.png"),
                              d / "onboard.yaml")
    sdoc = station_config(state_dir=d / "station-state", png=d / "countdown.png")
    sdoc["web"]["listen"] = f"127.0.0.1:{free_port()}"  # its page too, on a port of its own
    station_yaml = write_yaml(sdoc, d / "station.yaml")
    py = [sys.executable, "-m"]
    logs = {n: d / f"{n}.log" for n in ("sim", "onboard", "station")}
    sockets = {n: NotifySocket(d / f"{n}.notify") for n in ("onboard", "station")}
    wd = {"onboard": _watchdog_sec("rettid-onboard.service"), "station": _watchdog_sec("rettid-station.service")}
    procs: dict[str, Any] = {}
    t_end: dict[str, float] = {}
    try:
        procs["sim"] = subprocess.Popen(
            py + ["sim_bus", "live", str(scenario), "--time-warp", str(WARP), "--pty-link", str(gnss), "--can",
                  f"slcan:{can}", "--gpio", f"file:{fifo}", "--no-progress"],
            cwd=REPO, stdout=logs["sim"].open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not can.is_symlink() and procs["sim"].poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert procs["sim"].poll() is None and can.is_symlink(), logs["sim"].read_text()[-2000:]
        cmds = {
            "onboard": py + ["onboard", "run", "--config", str(onboard_yaml), "--clock", "gnss", "--time-warp", str(WARP),
                             "--broker", broker.url, "--events", str(d / "events.jsonl")],
            "station": py + ["station", "run", "--config", str(station_yaml), "--clock", "data", "--time-warp",
                             str(WARP), "--broker", broker.url],
        }
        for n, cmd in cmds.items():
            env = dict(os.environ, NOTIFY_SOCKET=str(sockets[n].path), WATCHDOG_USEC=str(int(wd[n] * 1e6)))
            env.pop("WATCHDOG_PID", None)
            popen: dict[str, Any] = dict(cwd=REPO, stdout=logs[n].open("wb"), stderr=subprocess.STDOUT, env=env)
            procs[n] = (Limited(cmd, cpu_quota=CPU_QUOTA, memory_max=MEMORY_MAX, **popen) if limited
                        else subprocess.Popen(cmd, **popen))
        assert procs["sim"].wait(29 * 60 / WARP + 180) == 0, logs["sim"].read_text()[-3000:]
        time.sleep(3.0)  # the last inputs through the unit, the last frames
        out: dict[str, Any] = {"limits": {}}
        for n in ("onboard", "station"):
            p = procs[n]
            popen_ = p.proc if isinstance(p, Limited) else p
            t_end[n] = time.monotonic()
            if isinstance(p, Limited):
                out["limits"][n] = p.report()
            popen_.send_signal(signal.SIGTERM)
            assert popen_.wait(60) == 0, logs[n].read_text()[-3000:]
    finally:
        for p in procs.values():
            if isinstance(p, Limited):
                p.close()
            elif p.poll() is None:
                p.kill()
                p.wait()
        for s in sockets.values():
            s.close()
    out["events"] = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines() if x.strip()]
    out["logs"] = {n: f.read_text(errors="replace") for n, f in logs.items()}
    out["notify"] = {n: s.messages for n, s in sockets.items()}
    out["watchdog_sec"] = wd
    out["t_end"] = t_end
    out["station_health"] = json.loads((d / "station-state" / "health.json").read_text())
    return out


def _stop_events(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in run["events"] if r["event"] in STOP_EVENTS]


def _check_watchdog(run: dict[str, Any], name: str) -> float:
    """Every WATCHDOG=1 within WatchdogSec/2 (+ one turn of the loop) of the last one, from READY=1 to
    the end; returns the longest interval."""
    msgs = run["notify"][name]
    ready = [t for t, m in msgs if m == "READY=1"]
    assert ready, f"{name}: no READY=1"
    pings = [t for t, m in msgs if m == "WATCHDOG=1"]
    half = run["watchdog_sec"][name] / 2
    stopping = [t for t, m in msgs if m == "STOPPING=1"]
    marks = [ready[0], *pings, stopping[0] if stopping else run["t_end"][name]]
    gaps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    assert len(pings) >= 2, f"{name}: {len(pings)} watchdog ping(s) in {marks[-1] - marks[0]:.0f} s"
    assert max(gaps) <= half + 1.5, f"{name}: watchdog intervals {[round(g, 1) for g in gaps]} (WatchdogSec/2 = {half})"
    return max(gaps)


@pytest.mark.timeout(900)  # two whole scenarios side by side: about 200 s here
def test_onboard_and_station_within_a_pi_zero_budget(tmp_path: Path) -> None:
    require_binary("mosquitto")
    how = detect()
    log.warning("Pi budget: limiting with %s (CPU %.0f %%, memory %d MiB)", how, CPU_QUOTA * 100, MEMORY_MAX >> 20)
    brokers = [LocalBroker(tmp_path / f"broker-{k}", require_binary("mosquitto")) for k in range(2)]
    for b in brokers:
        b.start()
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def one(name: str, broker: LocalBroker, limited: bool) -> None:
        try:
            results[name] = _run(tmp_path, name, broker, limited)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=one, args=("limited", brokers[0], True)),
                   threading.Thread(target=one, args=("unlimited", brokers[1], False))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        for b in brokers:
            b.stop()
    if errors:
        raise errors[0]
    lim, ref = results["limited"], results["unlimited"]
    for name in ("onboard", "station"):
        assert "stall" not in lim["logs"][name], lim["logs"][name][-3000:]
        assert lim["limits"][name].get("oom_kill", 0) == 0, lim["limits"][name]
        longest = _check_watchdog(lim, name)
        log.warning("Pi budget %s (%s): longest watchdog interval %.1f s; %s", name, how, longest, lim["limits"][name])
    assert lim["station_health"]["frames"] > 0 and lim["station_health"]["predictions"]["accepted"] > 0
    got, want = _stop_events(lim), _stop_events(ref)
    assert want, "the unlimited unit recorded no stop events"
    # the same events at the same stops of the same trip, at the same data time (from GNSS/CAN time stamps)
    assert [(r["event"], r["trip_id"], r["stop_id"], r["seq"]) for r in got] == \
        [(r["event"], r["trip_id"], r["stop_id"], r["seq"]) for r in want]
    # at the same data time within the rig's jitter: CAN frames are stamped when the unit reads them, so
    # a wall-clock delay (up to one 100 ms CFS period when throttled) is WARP times as much data time
    diffs = [abs((parse_iso(a["tst"]) - parse_iso(b["tst"])).total_seconds()) for a, b in zip(got, want, strict=True)]
    log.warning("Pi budget: %d stop events equal; largest time difference %.3f s", len(got), max(diffs))
    assert max(diffs) <= 0.1 * WARP, diffs
    # and the same registrations with the same outcome
    def regs(run: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(r["station"], r["status"], r["late"]) for r in run["events"] if r["event"] == "punctuality"]
    assert regs(lim) == regs(ref) and regs(ref)
