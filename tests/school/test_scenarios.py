"""Issue 18 end to end: the simulator drives school route 12, the unit's core replays it with the school
monitor behind it. The faulty run (late start, long wait, a class over the approved capacity) gives the
ride-time warning, the late verdict and the capacity alarm; the clean run none of them; both give exactly
one notice per flagged pickup, 10 minutes +- 30 s before the simulator's TRUE arrival there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onboard.school.stage import build_monitor
from onboard.service.replay import load_setup, replay
from sim_bus.record import record
from transit.records import Alarm, PickupNotice, Record, RideTime, SchoolArrival
from transit.runfile import load_runfile
from transit.timeutil import parse_iso

ROOT = Path(__file__).resolve().parents[2]
RUNFILE = ROOT / "data" / "school" / "viborg-rute-12.yaml"

pytestmark = pytest.mark.slow


def drive(name: str, tmp: Path) -> tuple[list[Record], dict[str, float]]:
    out = tmp / name
    record(ROOT / "data" / "scenarios" / f"{name}.yaml", out)
    setup = load_setup(out / "onboard.yaml")
    mon = build_monitor([RUNFILE], operator=setup.operator, capacity=setup.capacity, feed=setup.feed)
    recs: list[Record] = []

    def emit(r: Record) -> None:
        recs.append(r)
        recs.extend(mon.on_record(r))

    replay(setup, out / "gnss.nmea", out / "can.log", out / "gpio.csv", emit)
    recs.extend(mon.finish())
    truth = {}
    for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        v = json.loads(line)
        if v.get("kind") == "visit":
            truth[v["stop_id"]] = float(v["arrival"])
    return recs, truth


def _t(s: str) -> float:
    return parse_iso(s).timestamp()


def check_notices(recs: list[Record], truth: dict[str, float]) -> None:
    flagged = load_runfile(RUNFILE).school_runs()["r12-morgen"].notice
    notices = [r for r in recs if isinstance(r, PickupNotice)]
    assert sorted(n.stop_id or "" for n in notices) == sorted(flagged), notices
    for n in notices:
        assert not n.resend
        assert n.stop_id is not None
        err = _t(n.tst) + 600.0 - truth[n.stop_id]
        assert abs(err) <= 30.0, f"notice for {n.stop_id} {err:+.1f} s off 10 min before the true arrival"
        assert _t(n.tst) < truth[n.stop_id]  # never for a pickup already reached
        assert n.ref == flagged[n.stop_id].ref


def test_faulty_run_warns_and_alarms(tmp_path: Path) -> None:
    recs, truth = drive("school-r12-late", tmp_path)
    check_notices(recs, truth)
    warnings = [r for r in recs if isinstance(r, RideTime) and r.kind == "warning"]
    assert len(warnings) == 1, warnings
    w = warnings[0]
    assert w.stop_id == "hvam_by" and w.exceeded and w.ride_s > 3600.0
    boarded = _t(w.boarded)
    # before the pupil reaches 60 minutes, and at most the lead (10 min) before
    assert boarded + 3000.0 - 1.0 <= _t(w.tst) < boarded + 3600.0
    longest = [r for r in recs if isinstance(r, RideTime) and r.kind == "longest"]
    assert len(longest) == 1 and longest[0].exceeded and longest[0].stop_id == "hvam_by"
    assert longest[0].ride_s == pytest.approx(truth["vestfjendsskolen"] - truth["hvam_by"], abs=5.0)
    verdicts = [r for r in recs if isinstance(r, SchoolArrival)]
    assert [(v.stop_id, v.verdict) for v in verdicts] == [("vestfjendsskolen", "late")]
    assert verdicts[0].before_bell_s < 0
    alarms = [r for r in recs if isinstance(r, Alarm)]
    assert alarms and alarms[0].stop_id == "sdr_rind" and alarms[0].capacity == 35
    assert alarms[0].vehicleload > 35


def test_clean_run_says_nothing_wrong(tmp_path: Path) -> None:
    recs, truth = drive("school-r12-clean", tmp_path)
    check_notices(recs, truth)
    assert not [r for r in recs if isinstance(r, RideTime) and r.kind == "warning"]
    longest = [r for r in recs if isinstance(r, RideTime) and r.kind == "longest"]
    assert len(longest) == 1 and not longest[0].exceeded and longest[0].ride_s < 3600.0
    verdicts = [r for r in recs if isinstance(r, SchoolArrival)]
    assert [(v.stop_id, v.verdict) for v in verdicts] == [("vestfjendsskolen", "in_window")]
    assert not [r for r in recs if isinstance(r, Alarm)]
