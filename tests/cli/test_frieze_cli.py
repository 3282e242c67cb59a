"""``python -m onboard frieze``: the frieze at an instant from events.jsonl, with the operator file's
rejsegaranti rule and text as in service."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from PIL import Image

from tests.conftest import REPO
from transit.operator import load_operator
from transit.records import Departure, TripRef, encode
from transit.timetable import Timetable

FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
OPERATOR = REPO / "data" / "operators" / "lokaltog.yaml"
TRIP = TripRef("920R_MT_0_0715", "2026-11-23", "920R", 0, "07:15")


def _frieze(tmp_path: Path, delay_s: float) -> subprocess.CompletedProcess[str]:
    sched = Timetable.load(FEED).trip_schedule(TRIP.trip_id, date.fromisoformat(TRIP.oday))
    t_dep = sched[1].departure + timedelta(seconds=delay_s)
    rec = Departure.make(t_dep, veh="2051", oper="lokaltog", trip=TRIP, stop_id=sched[1].stop_id,
                         seq=sched[1].stop_sequence, loc="GPS", odo=None, drst=0, dl=delay_s)
    events = tmp_path / f"events-{int(delay_s)}.jsonl"
    events.write_bytes(encode(rec) + b"\n")
    out = tmp_path / f"frieze-{int(delay_s)}.png"
    r = subprocess.run([sys.executable, "-m", "onboard", "frieze", "--feed", str(FEED), "--operator", str(OPERATOR),
                        "--events", str(events), "--at", (t_dep + timedelta(seconds=30)).isoformat(), "-o", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (1920, 360)
    return r


def test_more_than_the_operators_threshold_late_shows_its_rejsegaranti_text(tmp_path: Path) -> None:
    rule = load_operator(OPERATOR)
    note = rule.display.rejsegaranti_text.replace("{min}", str(rule.punctuality.rejsegaranti_min))
    late = _frieze(tmp_path, rule.punctuality.rejsegaranti_min * 60 + 300.0)
    assert f"rejsegaranti: {note}" in late.stdout, late.stdout
    on_time = _frieze(tmp_path, rule.punctuality.rejsegaranti_min * 60 - 60.0)
    assert "rejsegaranti" not in on_time.stdout, on_time.stdout
