"""Issue 18 end to end: the simulator drives school route 12, the unit's core replays it with the school
monitor behind it. The faulty run (late start, long wait, a class over the approved capacity) gives the
ride-time warning, the late verdict and the capacity alarm; the clean run none of them; both give exactly
one notice per flagged pickup, 10 minutes +- 30 s before the simulator's TRUE arrival there."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import gpxpy
import pytest

from central.__main__ import main as central_main
from central.reports import occupancy
from central.reports.school import RENDERERS, read_report
from onboard.school.stage import build_monitor
from onboard.service.replay import load_setup, replay
from sim_bus.record import record
from transit.records import Alarm, Encoded, PickupNotice, Position, Record, RideTime, SchoolArrival
from transit.runfile import load_runfile
from transit.timeutil import parse_iso

ROOT = Path(__file__).resolve().parents[2]
RUNFILE = ROOT / "data" / "school" / "viborg-rute-12.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[Record], dict[str, float]]]:
    tmp = tmp_path_factory.mktemp("school")
    return {n: drive(n, tmp) for n in ("school-r12-late", "school-r12-clean")}


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


def test_faulty_run_warns_and_alarms(runs: dict[str, tuple[list[Record], dict[str, float]]]) -> None:
    recs, truth = runs["school-r12-late"]
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


def test_clean_run_says_nothing_wrong(runs: dict[str, tuple[list[Record], dict[str, float]]]) -> None:
    recs, truth = runs["school-r12-clean"]
    check_notices(recs, truth)
    assert not [r for r in recs if isinstance(r, RideTime) and r.kind == "warning"]
    longest = [r for r in recs if isinstance(r, RideTime) and r.kind == "longest"]
    assert len(longest) == 1 and not longest[0].exceeded and longest[0].ride_s < 3600.0
    verdicts = [r for r in recs if isinstance(r, SchoolArrival)]
    assert [(v.stop_id, v.verdict) for v in verdicts] == [("vestfjendsskolen", "in_window")]
    assert not [r for r in recs if isinstance(r, Alarm)]


def _write(recs: list[Record], path: Path) -> Path:
    path.write_bytes(b"".join(Encoded.of(r).line for r in recs))
    return path


def test_month_reports_of_the_runs(runs: dict[str, tuple[list[Record], dict[str, float]]], tmp_path: Path) -> None:
    late = _write(runs["school-r12-late"][0], tmp_path / "late.jsonl")
    clean = _write(runs["school-r12-clean"][0], tmp_path / "clean.jsonl")
    rep = read_report([late], "2026-11")
    (s,) = rep.schools.values()
    assert (s.school, s.route, len(s.runs), s.count("late")) == ("Vestfjendsskolen", "12", 1, 1)
    assert [r.trip_id for r in rep.outside] == ["r12-morgen"]
    assert rep.routes["12"].over and rep.warnings == 1
    page = RENDERERS["html"](rep)
    assert "for sent" in page and "Kørsler uden for vinduet" in page and "Hvam By" in page
    text = RENDERERS["csv-da"](rep)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][0] == "dato" and rows[1][9] == "for sent" and "," in rows[1][8]
    ok = read_report([clean], "2026-11")
    assert not ok.outside and not ok.routes["12"].over and ok.warnings == 0
    assert "Ingen" in RENDERERS["md"](ok)
    # the occupancy report lists the run above the approved capacity, with the stop where it began
    occ = occupancy.build_report(runs["school-r12-late"][0])
    (dep,) = occ.lines["12"].rush + occ.lines["12"].other
    assert dep.capacity == 35 and dep.over_capacity[0][0] == "sdr_rind" and dep.over_capacity[0][1] > 35
    assert "Departures above the approved capacity: " in occupancy.render_markdown(occ)
    clean_occ = occupancy.build_report(runs["school-r12-clean"][0])
    assert all(not d.over_capacity for s_ in clean_occ.lines.values() for d in s_.rush + s_.other)


def test_export_routes_gpx_and_csv(runs: dict[str, tuple[list[Record], dict[str, float]]], tmp_path: Path) -> None:
    recs = runs["school-r12-late"][0]
    ev = _write(recs, tmp_path / "events.jsonl")
    out = tmp_path / "routes"
    assert central_main(["export-routes", str(ev), "--feed", str(ROOT / "data/gtfs/viborg-school"),
                         "-o", str(out)]) == 0
    (gpx_path,) = out.glob("*.gpx")
    ns = "{http://www.topografix.com/GPX/1/1}"
    root = ET.parse(gpx_path).getroot()
    assert root.tag == f"{ns}gpx" and root.get("version") == "1.1"
    vps = [r for r in recs if isinstance(r, Position) and r.trip_id == "r12-morgen"]
    stops = [r for r in recs if r.event in ("arr", "ars", "dep", "pas")]
    assert len(root.findall(f"{ns}trk/{ns}trkseg/{ns}trkpt")) == len(vps)
    wpts = root.findall(f"{ns}wpt")
    assert len(wpts) == len(stops)
    # GPX 1.1 orders metadata, wpt, then trk
    kinds = [c.tag.removeprefix(ns) for c in root]
    assert kinds == ["metadata"] + ["wpt"] * len(wpts) + ["trk"]
    names = {w.findtext(f"{ns}name") for w in wpts}
    assert {"Hvam By", "Vestfjendsskolen", "Søndre Rind"} <= names
    parsed = gpxpy.parse(gpx_path.read_text(encoding="utf-8"))
    assert parsed.tracks[0].segments[0].points[0].time is not None
    with open(next(out.glob("*-stops.csv")), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(stops) and rows[0]["stop_name"] == "Hvam By" and rows[-1]["event"] == "ars"
    with open(next(out.glob("*-track.csv")), encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == len(vps) + 1
