"""Issue 12's kill test: ``onboard run`` against ``sim_bus live`` (920R from Hillerød, time-warp, real
Mosquitto) SIGKILLed during ten stop dwells — one of them the registration at Frederiksværk, right after
its arrival was recorded — at a seeded random moment inside each, and restarted each time; door edges
are lost while it is down (the simulator's GPIO FIFO has no reader then, as a real GPIO line has nobody
watching it).

Compared, after de-duplication by id, with an uninterrupted run of the same scenario (``sim_bus record``
+ ``onboard replay``, the same core): every stop has the same stop events (a departure the unit was down
for is estimated, ``loc: EST``, still a departure), no stop has a second arrival, the registrations have
the same verdicts (never a ``missing`` for one already measured), passengers per stop are at most the
reference's and at least it minus those the unit was down for, the load is never reset, and
``central report punctuality`` gives the same figure."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from demo.run import Collector, LocalBroker, derive_scenario, live_onboard_config, write_yaml
from tests.conftest import REPO

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SPEED = 25.0
#: the first 34 minutes: Hillerød .. past the departure from Frederiksværk (registration, stop 11)
DURATION_S = 2040.0
KILLED_STOPS = ("overdrevsvejen", "noerre_herlev", "goerloese", "uvelse", "skaevinge", "grimstrup", "oelsted",
                "kregme", "lille_kregme", "frederiksvaerk")
STOP_EVENTS = ("arr", "ars", "dep", "pas", "not_observed")


def _reference(scenario: Path, tmp: Path) -> list[dict[str, Any]]:
    rec = tmp / "rec"
    subprocess.run([sys.executable, "-m", "sim_bus", "record", str(scenario), "--out", str(rec), "--no-progress"],
                   check=True, cwd=REPO, capture_output=True, timeout=300)
    out = tmp / "reference.jsonl"
    subprocess.run([sys.executable, "-m", "onboard", "replay", "--config", str(rec / "onboard.yaml"), "--nmea",
                    str(rec / "gnss.nmea"), "--can", str(rec / "can.log"), "--gpio", str(rec / "gpio.csv"),
                    "--out", str(out), "--state-dir", str(tmp / "ref-state")],
                   check=True, cwd=REPO, capture_output=True, timeout=300)
    return [json.loads(x) for x in out.read_text().splitlines()]


def _dedup(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in recs:
        seen.setdefault(r["id"], r)
    return list(seen.values())


def test_sigkill_during_dwells_gives_the_records_of_an_uninterrupted_run(tmp_path: Path, broker: LocalBroker) -> None:
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml", can={"background_fps": 0})
    gnss, can, fifo = tmp_path / "gnss", tmp_path / "can", tmp_path / "gpio.fifo"
    os.mkfifo(fifo)
    state = tmp_path / "state"
    cfg = write_yaml(live_onboard_config(scenario, gnss_url=str(gnss), can_channel=str(can), gpio_file=fifo,
                                         state_dir=state), tmp_path / "onboard.yaml")
    collector = Collector(broker.url)
    assert collector.wait_ready()
    rng = random.Random(20261206)
    py = [sys.executable, "-m"]
    sim_log, unit_log = tmp_path / "sim.log", tmp_path / "onboard.log"
    unit_cmd = py + ["onboard", "run", "--config", str(cfg), "--clock", "gnss", "--time-warp", str(SPEED),
                     "--broker", broker.url, "--health-interval", "1"]
    sim = subprocess.Popen(py + ["sim_bus", "live", str(scenario), "--time-warp", str(SPEED), "--duration",
                                 str(DURATION_S), "--pty-link", str(gnss), "--can", f"slcan:{can}", "--gpio",
                                 f"file:{fifo}", "--no-progress"],
                           cwd=REPO, stdout=sim_log.open("wb"), stderr=subprocess.STDOUT)
    unit: subprocess.Popen[bytes] | None = None
    kills: list[tuple[str, float]] = []
    try:
        deadline = time.monotonic() + 60
        while not can.is_symlink() and sim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.poll() is None, sim_log.read_text()[-2000:]
        unit = subprocess.Popen(unit_cmd, cwd=REPO, stdout=unit_log.open("ab"), stderr=subprocess.STDOUT)
        for stop in KILLED_STOPS:
            # the dwell: once the unit's arrival at the stop has reached the subscriber, a random moment
            # of the next ~20 s of data (at Frederiksværk: right after the registration was stored)
            while not any(r["event"] == "ars" and r.get("stop_id") == stop for r in collector.records()):
                assert sim.poll() is None, f"the simulation ended before the arrival at {stop}"
                assert unit.poll() is None, unit_log.read_text()[-3000:]
                time.sleep(0.05)
            wait = rng.uniform(0.0, 1.0)
            time.sleep(wait)
            unit.send_signal(signal.SIGKILL)
            unit.wait()
            kills.append((stop, wait * SPEED))
            unit = subprocess.Popen(unit_cmd, cwd=REPO, stdout=unit_log.open("ab"), stderr=subprocess.STDOUT)
        assert sim.wait(180) == 0, sim_log.read_text()[-2000:]
        time.sleep(2.0)
        unit.send_signal(signal.SIGTERM)
        assert unit.wait(60) == 0, unit_log.read_text()[-3000:]
        unit = None
    finally:
        for p in (unit, sim):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        time.sleep(0.3)
        collector.stop()
    got = _dedup([r for r in collector.records() if r["event"] not in ("vp", "eta", "health")])
    log = unit_log.read_text()
    assert log.count("trip state restored") == len(KILLED_STOPS), log[-3000:]
    ref = _reference(scenario, tmp_path)
    # the stops the live window covered completely: up to Frederiksværk's departure
    ref_dep = {r["stop_id"]: r["seq"] for r in ref if r["event"] == "dep"}
    last_seq = ref_dep["frederiksvaerk"]
    window = [r for r in ref if r.get("seq") is not None and r["seq"] <= last_seq]

    def stop_events(recs: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
        return Counter((r["stop_id"], r["event"]) for r in recs if r["event"] in STOP_EVENTS
                       and r.get("seq") is not None and r["seq"] <= last_seq)

    got_ev, ref_ev = stop_events(got), stop_events(window)
    assert max(got_ev.values()) == 1, [k for k, n in got_ev.items() if n > 1]  # never a second arrival
    assert got_ev == ref_ev, (sorted(got_ev - ref_ev), sorted(ref_ev - got_ev), kills)

    def verdicts(recs: list[dict[str, Any]]) -> set[tuple[str, str, bool | None, bool]]:
        return {(r["station"], r["status"], r.get("late"), r["counted"]) for r in recs
                if r["event"] == "punctuality" and r["seq"] <= last_seq}

    assert verdicts(got) == verdicts(window)
    assert ("frederiksvaerk", "measured", False, True) in verdicts(got)

    def per_stop(recs: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        return {r["stop_id"]: (r.get("in", 0), r.get("out", 0)) for r in recs
                if r["event"] == "occupancy" and not r.get("terminus") and r["seq"] <= last_seq}

    got_pax, ref_pax = per_stop(got), per_stop(window)
    assert got_pax.keys() == ref_pax.keys()
    for sid, (n_in, n_out) in ref_pax.items():
        g_in, g_out = got_pax[sid]
        if sid in KILLED_STOPS:  # the unit was down for part of this dwell: only fewer, never more
            assert g_in <= n_in and g_out <= n_out, (sid, got_pax[sid], ref_pax[sid])
        else:
            assert (g_in, g_out) == (n_in, n_out), (sid, got_pax[sid], ref_pax[sid])
    loads = [r["vehicleload"] for r in sorted(got, key=lambda r: r["tst"]) if r["event"] == "occupancy"
             and r["seq"] <= last_seq]
    assert loads and min(loads) > 0  # never reset by a restart (the trip goes on)
    # the contract figure from what the subscriber received equals the uninterrupted run's
    for name, recs in (("got", got), ("ref", window)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs
                                                        if r["event"] == "punctuality"))
    reports = [subprocess.run(py + ["central", "report", "punctuality", str(tmp_path / f"{n}.jsonl")], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout for n in ("got", "ref")]
    figure = [[ln for ln in rep.splitlines() if "| 920R |" in ln] for rep in reports]
    assert figure[0] == figure[1] and figure[0], reports
