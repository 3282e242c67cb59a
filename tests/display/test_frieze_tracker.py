"""FriezeTracker and ``python -m onboard frieze``: the frieze and the announcements driven by the records
trip following writes (eta, arr/ars/doo, dep/pas), on a trip of the sample feed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from onboard.passinfo.announce import Announcer
from onboard.passinfo.frieze import FriezeTracker
from tests.conftest import REPO, require_binary
from tests.typed import typed
from transit.jsonl import JsonlCounts, parse_records
from transit.records import Record, encode
from transit.timeutil import iso_utc_ms

FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def tt():
    from transit.timetable import Timetable

    return Timetable.load(FEED)


def trip_records(tt, delay_s: int = 200) -> tuple[str, list[Record]]:
    """A 920R trip driven ``delay_s`` late after its first stop: the records trip following would write
    (typed, validated as at the edge)."""
    trip = sorted(t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 0)[5]
    sched = tt.trip_schedule(trip, DAY)
    base = {"veh": "lint41-2061", "oper": "lokaltog", "oday": DAY.isoformat(), "route": "920R", "dir": 0,
            "start": "07:15", "trip_id": trip, "loc": "GPS"}
    recs: list[dict] = []

    def rec(event: str, t, **kw) -> None:
        recs.append({"event": event, "id": f"{event}{len(recs)}", "tst": iso_utc_ms(t), **base,
                     "stop_id": kw.pop("stop_id", None), "seq": kw.pop("seq", None), **kw})

    def eta(t, k: int, d: int) -> None:
        stops = [{"stop_id": s.stop_id, "seq": s.stop_sequence, "sched_arr": iso_utc_ms(s.arrival),
                  "sched_dep": iso_utc_ms(s.departure), "eta_arr": iso_utc_ms(s.arrival + timedelta(seconds=d)),
                  "eta_dep": iso_utc_ms(s.departure + timedelta(seconds=d)), "status": "SCHEDULED"}
                 for s in sched[k:]]
        rec("eta", t, headsign="Hundested Havn St.", occu=None, dl=d, stops=stops)

    first = sched[0]
    rec("ars", first.arrival - timedelta(minutes=2), stop_id=first.stop_id, seq=first.stop_sequence, dl=-120)
    eta(first.arrival - timedelta(minutes=2), 0, 0)
    for k, s in enumerate(sched):
        d = 0 if k == 0 else delay_s
        arr = s.arrival + timedelta(seconds=d)
        if k > 0:
            rec("arr", arr, stop_id=s.stop_id, seq=s.stop_sequence, dl=d)
            rec("doo", arr + timedelta(seconds=3), stop_id=s.stop_id, seq=s.stop_sequence)
        if k < len(sched) - 1:
            dep = max(s.departure + timedelta(seconds=d), arr + timedelta(seconds=30))  # doors cycle first
            rec("dep", dep, stop_id=s.stop_id, seq=s.stop_sequence, dl=d)
            eta(dep + timedelta(seconds=1), k + 1, delay_s)
    end = sched[-1].arrival + timedelta(seconds=delay_s, minutes=1)
    rec("eta", end, headsign="Hundested Havn St.", occu=None, stops=[], clear=[sched[-1].stop_id])
    recs.sort(key=lambda r: r["tst"])
    return trip, [typed(r) for r in recs]


def test_tracker_follows_the_trip_and_announces_each_stop_once(tt) -> None:
    trip, recs = trip_records(tt)
    sched = tt.trip_schedule(trip, DAY)
    tracker = FriezeTracker(tt, delay_threshold_s=120)
    ann = Announcer()
    said = []
    from transit.timeutil import parse_iso

    assert tracker.view(parse_iso(recs[0].tst)).state == "not_in_service"
    for r in recs:
        tracker.on_record(r)
        said += ann.update(tracker.view(parse_iso(r.tst)), trip=trip)
    assert said[0].kind == "origin" and said[0].text == f"Velkommen. Linje 920R mod {tt.headsign(trip, 0)}"
    nexts = [a for a in said if a.kind == "next_stop"]
    assert [a.stop_id for a in nexts] == [s.stop_id for s in sched[1:]]  # every stop once, in order
    assert "forsinket" in nexts[1].text  # 200 s late after the first stop, threshold 120 s
    stops = [a for a in said if a.kind != "connections"]
    assert stops[-1].kind == "terminus" and "Endestation" in stops[-1].text
    # mid-trip view: next stop, expected times from the eta records, delay shown
    mid = sched[5].departure + timedelta(seconds=230)
    t2 = FriezeTracker(tt)
    for r in recs:
        if parse_iso(r.tst) <= mid:
            t2.on_record(r)
    v = t2.view(mid)
    assert v.state == "in_service" and v.next_stop is not None and v.next_stop.stop_id == sched[6].stop_id
    assert v.next_stop.expected == sched[6].arrival + timedelta(seconds=200) and v.show_delay
    # terminus held for 5 min after arrival, then not in service
    arrival = sched[-1].arrival + timedelta(seconds=200)
    assert tracker.view(arrival + timedelta(minutes=4)).state == "terminus"
    assert tracker.view(arrival + timedelta(minutes=7)).state == "not_in_service"


def test_tracker_counts_bad_records_and_keeps_going(tt) -> None:
    trip, recs = trip_records(tt)
    tr = FriezeTracker(tt)
    bad_time = {**json.loads(encode(recs[1])), "tst": "garbage"}  # refused at the edge (the reader)
    unknown_trip = {**json.loads(encode(recs[0])), "trip_id": "no-such-trip"}  # valid, but not in the feed
    vp = typed({"event": "vp", "tst": recs[0].tst, "trip_id": trip, "oday": DAY.isoformat()})
    lines = [json.dumps(bad_time).encode(), json.dumps(unknown_trip).encode(), encode(vp),
             *(encode(r) for r in recs[:4])]
    counts = JsonlCounts()
    for enc in parse_records(lines, counts=counts):
        assert enc is not None
        tr.on_record(enc.record)
    assert (counts.invalid, counts.records) == (1, 6)
    assert tr.rejected == 1  # the unknown trip; other kinds (vp) are ignored, not errors
    assert tr.trip_id == trip


def test_cli_renders_the_frieze_and_speaks_announcements(tmp_path: Path, tt) -> None:
    espeak = require_binary("espeak-ng")
    assert espeak
    trip, recs = trip_records(tt)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(encode(r).decode() for r in recs) + "\n{broken\n", encoding="utf-8")
    sched = tt.trip_schedule(trip, DAY)
    at = (sched[3].departure + timedelta(seconds=260)).isoformat()
    out = tmp_path / "f.png"
    res = subprocess.run([sys.executable, "-m", "onboard", "frieze", "--feed", str(FEED), "--events", str(events),
                          "--at", at, "--out", str(out), "--announce", "--wav-dir", str(tmp_path / "wav")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert Image.open(out).size == (1920, 360)
    assert f"next {tt.stop_name(sched[4].stop_id)}" in res.stdout
    wavs = sorted((tmp_path / "wav").glob("*.wav"))
    assert len(wavs) == 5  # origin + next stops 2..5 up to --at
    led = tmp_path / "led.png"
    res = subprocess.run([sys.executable, "-m", "onboard", "frieze", "--feed", str(FEED), "--events", str(events),
                          "--at", at, "--out", str(led), "--size", "192x32"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert Image.open(led).size == (192, 32)
