"""End to end: ``onboard run`` and ``station run`` as subprocesses against ``sim_bus live`` and a real
Mosquitto. The simulator plays the first 300 s of the 920R 07:15 from Hillerød at 20x: NMEA on a pty,
CAN through the emulated SLCAN adapter, door beams through a FIFO. A subscriber plays the central
system. SIGTERM must end both services with status 0 and an empty outbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from demo.run import (
    Collector,
    LocalBroker,
    derive_scenario,
    live_onboard_config,
    station_config,
    write_yaml,
)
from tests.conftest import REPO

SPEED = 20.0
DURATION_S = 300.0


def _wait_for(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen[bytes], log: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{proc.args} ignored SIGTERM:\n{log.read_text()[-3000:]}") from None


def test_services_against_the_live_simulator(tmp_path: Path, broker: LocalBroker) -> None:
    # The scenario without the 300 frames/s of unrelated CAN traffic: at 20x that would be 6,000
    # frames/s through python-can's byte-by-byte SLCAN reader (the load test is bench_service).
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml", can={"background_fps": 0})
    gnss, can, fifo = tmp_path / "gnss", tmp_path / "can", tmp_path / "gpio.fifo"
    os.mkfifo(fifo)
    onboard_yaml = write_yaml(live_onboard_config(scenario, gnss_url=str(gnss), can_channel=str(can), gpio_file=fifo,
                                                  state_dir=tmp_path / "onboard-state",
                                                  frieze_png=tmp_path / "frieze.png"), tmp_path / "onboard.yaml")
    station_yaml = write_yaml(station_config(state_dir=tmp_path / "station-state", png=tmp_path / "countdown.png"),
                              tmp_path / "station.yaml")
    collector = Collector(broker.url)
    assert collector.wait_ready()
    logs = {n: tmp_path / f"{n}.log" for n in ("sim", "onboard", "station")}
    py = [sys.executable, "-m"]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["sim"] = subprocess.Popen(
            py + ["sim_bus", "live", str(scenario), "--time-warp", str(SPEED), "--duration", str(DURATION_S),
                  "--pty-link", str(gnss), "--can", f"slcan:{can}", "--gpio", f"file:{fifo}", "--no-progress"],
            cwd=REPO, stdout=logs["sim"].open("wb"), stderr=subprocess.STDOUT)
        _wait_for(lambda: can.is_symlink() or procs["sim"].poll() is not None, 60, "the simulator's devices")
        assert procs["sim"].poll() is None, logs["sim"].read_text()
        procs["onboard"] = subprocess.Popen(
            py + ["onboard", "run", "--config", str(onboard_yaml), "--clock", "gnss", "--time-warp", str(SPEED),
                  "--broker", broker.url, "--health-interval", "1", "--health-publish", "2",
                  "--events", str(tmp_path / "events.jsonl")],
            cwd=REPO, stdout=logs["onboard"].open("wb"), stderr=subprocess.STDOUT)
        procs["station"] = subprocess.Popen(
            py + ["station", "run", "--config", str(station_yaml), "--clock", "data", "--time-warp", str(SPEED),
                  "--broker", broker.url, "--frame-interval", "0.5"],
            cwd=REPO, stdout=logs["station"].open("wb"), stderr=subprocess.STDOUT)
        assert procs["sim"].wait(90) == 0, logs["sim"].read_text()[-3000:]
        time.sleep(2.0)  # the reorder window and the last acknowledgements

        # the onboard unit's own health report, as `onboard status` shows it
        status = subprocess.run(py + ["onboard", "status", "--state-dir", str(tmp_path / "onboard-state"), "--json"],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
        health = json.loads(status.stdout)
        assert health["clock"]["source"] == "gnss" and health["clock"]["synced"]
        assert health["gnss"]["counters"]["fixes"] > 100
        assert health["can"]["counters"]["frames"] > 100 and not health["can"]["counters"].get("bad_timestamp")
        assert health["doors"]["edges"] > 0

        # the station shows a countdown (before SIGTERM blanks it)
        station_health = json.loads((tmp_path / "station-state" / "health.json").read_text())
        assert station_health["frames"] > 5 and station_health["clock"]["source"] == "predictions"
        with Image.open(tmp_path / "countdown.png") as im:
            assert im.size == (256, 64)
            assert im.convert("L").getbbox() is not None  # something is drawn

        rc_onboard = _stop(procs.pop("onboard"), logs["onboard"])
        rc_station = _stop(procs.pop("station"), logs["station"])
        assert rc_onboard == 0, logs["onboard"].read_text()[-3000:]
        assert rc_station == 0, logs["station"].read_text()[-3000:]
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
        time.sleep(0.3)
        collector.stop()

    records = collector.records()
    events = {r["event"] for r in records}
    at_hilleroed = {r["event"] for r in records if r.get("stop_id") == "hilleroed_8"}
    assert {"arr", "dep"} <= at_hilleroed, sorted(events)
    punct = [r for r in records if r["event"] == "punctuality"]
    assert punct and punct[0]["station"] == "hilleroed" and punct[0]["measured"] == "departure"
    # stamped with the simulated (GNSS) day, never the wall clock's
    assert all(r["tst"].startswith("2026-11-23T06:") for r in records), {r["tst"][:13] for r in records}
    assert any(r["event"] == "health" for r in records)
    # every record the unit stored reached the broker: the outbox is empty after SIGTERM
    db = sqlite3.connect(tmp_path / "onboard-state" / "outbox.sqlite")
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    db.close()
    final = json.loads((tmp_path / "onboard-state" / "health.json").read_text())
    assert final["outbox"]["drained_at_stop"] is True
    stored = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {r["id"] for r in stored if r["event"] != "eta"} <= {r["id"] for r in records}
    assert (tmp_path / "frieze.png").exists()
    # the punctuality record is also in the durable local log
    assert "hilleroed" in (tmp_path / "onboard-state" / "punctuality.jsonl").read_text()
