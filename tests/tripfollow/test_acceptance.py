"""Acceptance per shipped scenario: ``sim_bus record`` then ``onboard replay`` gives one ``ars`` per true
stop visit and one ``pas`` per true pass, and the punctuality report lists the registration stations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_tripfollow import load_jsonl, score
from transit.operator import load_operator
from transit.timetable import Timetable

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_record_replay_report(scenario: Path, tmp_path: Path) -> None:
    py = sys.executable
    rec = tmp_path / "rec"
    subprocess.run([py, "-m", "sim_bus", "record", str(scenario), "--out", str(rec)], check=True, cwd=ROOT,
                   capture_output=True)
    events = tmp_path / "events.jsonl"
    state = tmp_path / "state"
    r = subprocess.run([py, "-m", "onboard", "replay", "--config", str(rec / "onboard.yaml"), "--nmea",
                        str(rec / "gnss.nmea"), "--can", str(rec / "can.log"), "--gpio", str(rec / "gpio.csv"),
                        "--out", str(events), "--state-dir", str(state)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    truth = load_jsonl(rec / "truth.jsonl")
    evs = load_jsonl(events)
    header = truth[0]
    tt = Timetable.load(ROOT / "data" / "gtfs" / "lokaltog-sample")
    oper = evs[0]["oper"]
    op = load_operator(ROOT / "data" / "operators" / f"{oper}.yaml")

    def reg(route: str, sid: str, _s: str) -> bool:
        return op.is_registration_stop(route, sid, tt.station_of(sid))

    s = score(truth, evs, reg)
    assert s.visits > 0 and s.registrations > 0
    assert (s.missed_arrivals, s.false_arrivals, s.pass_misclassified, s.missed_registrations) == (0, 0, 0, 0), s.notes
    n_ars = sum(1 for e in evs if e["event"] == "ars")
    n_pas = sum(1 for e in evs if e["event"] == "pas")
    assert n_ars == s.visits and n_pas == s.passes
    assert max(s.errors) < 1.0
    # the punctuality records went to the append-only log too, and the report lists the stations
    logged = load_jsonl(state / "punctuality.jsonl")
    assert [x["id"] for x in logged] == [e["id"] for e in evs if e["event"] == "punctuality"]
    rep = subprocess.run([py, "-m", "onboard", "report", "punctuality", str(events)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    route = evs[0]["route"] or next(e["route"] for e in evs if e.get("route"))
    stations = {x["station"] for x in logged}
    assert stations and all(st in rep for st in stations)
    assert f"| {route} |" in rep
    assert header["trips"]
