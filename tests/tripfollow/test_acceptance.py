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
    rep = subprocess.run([py, "-m", "central", "report", "punctuality", str(events)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    route = evs[0]["route"] or next(e["route"] for e in evs if e.get("route"))
    stations = {x["station"] for x in logged}
    assert stations and all(st in rep for st in stations)
    assert f"| {route} |" in rep
    assert header["trips"]
    # Issue 6: the same replay counts passengers per stop visit within the APC targets.
    got: dict[tuple[str, int, str], int] = {}
    for e in evs:
        if e["event"] == "apc":
            for d in ("in", "out"):
                k = (str(e["trip_id"]), int(e["seq"]), d)
                got[k] = got.get(k, 0) + int(e[d])
    visits = [t for t in truth if t["kind"] == "visit"]
    true_in = sum(int(v["boardings"]) for v in visits)
    true_out = sum(int(v["alightings"]) for v in visits)
    got_in = sum(n for k, n in got.items() if k[2] == "in")
    got_out = sum(n for k, n in got.items() if k[2] == "out")
    assert true_in > 0
    assert abs(got_in - true_in) <= max(1, 0.01 * true_in), (got_in, true_in)
    assert abs(got_out - true_out) <= max(1, 0.01 * true_out), (got_out, true_out)
    errs = [abs(got.get((str(v["trip_id"]), int(v["seq"]), "in"), 0) - int(v["boardings"]))
            + abs(got.get((str(v["trip_id"]), int(v["seq"]), "out"), 0) - int(v["alightings"])) for v in visits]
    assert max(errs) <= 2 and sum(1 for x in errs if x == 0) >= 0.9 * len(errs), errs
    assert all(e["vehicleload"] >= 0 for e in evs if e["event"] == "occupancy")
    occ = subprocess.run([py, "-m", "central", "report", "occupancy", str(events)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert f"| {route} |" in occ or route in occ
    if scenario.stem == "910-rush":  # a school-day morning: the report names its rush-hour departures
        assert "rush" in occ.lower()
        rush_starts = {e["start"] for e in evs if e["event"] == "occupancy" and e.get("start", "") < "09:00"}
        assert rush_starts and all(s in occ for s in rush_starts), (rush_starts, occ)
