"""Punctuality records, the append-only log, the report and its bonus curve."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from central.reports.punctuality import bonus_for
from onboard.records.punctuality import PunctualityLog
from tests.tripfollow.drive import T0, Drive, core_for, events, inputs, plan, stop
from tests.tripfollow.drive import run as drive_run
from transit.jsonl import JsonlCounts, iter_records, read_jsonl, read_records
from transit.operator import load_operator
from transit.records import ArrivalStopped, DoorsOpen, Punctuality, TripRef, encode

ROOT = Path(__file__).resolve().parents[2]
LOKALTOG = load_operator(ROOT / "data" / "operators" / "lokaltog.yaml")
RBUS = load_operator(ROOT / "data" / "operators" / "movia-rbus.yaml")


@pytest.mark.parametrize(("reg", "bonus"), [(100.0, 2.3), (96.5, 1.2), (93.0, 0.0), (89.5, -1.2), (86.0, -2.3),
                                            (80.0, -2.3)])
def test_bonus_matches_the_source_examples(reg: float, bonus: float) -> None:
    assert bonus_for(reg, LOKALTOG.punctuality.bonus_points) == bonus


def bus_plan():  # type: ignore[no-untyped-def]
    stops = [stop("bus_frederikssund_st", 0.0, T0 + 60, T0 + 60), stop("hilleroed", 2000.0, T0 + 200, T0 + 320, seq=2),
             stop("fredensborg", 5000.0, T0 + 500, T0 + 500, seq=3)]
    return plan(stops, route="330R")


def test_bus_policy_measures_departures_and_counts_leaving_early() -> None:
    # leaves Hillerød 80 s before its scheduled departure
    d = Drive().stand(60).drive_to(2000, vmax=13).stand(10, doors=(1, 6)).drive_to(5000, vmax=13).stand(30, doors=(1, 10))
    recs = drive_run(core_for([bus_plan()], operator=RBUS, mode="bus"), inputs(d))
    p = {r.stop_id: r for r in events(recs, "punctuality")}
    assert p["hilleroed"].measured == "departure" and p["hilleroed"].early is True
    assert p["hilleroed"].punctual is False and p["hilleroed"].dl < -60
    assert p["fredensborg"].measured == "arrival"  # the terminus has no departure
    assert p["bus_frederikssund_st"].measured == "departure"


def test_cancelled_trip_gives_missing_records() -> None:
    core = core_for([plan([stop("hilleroed", 0.0, T0 + 60, T0 + 60), stop("frederiksvaerk", 5000.0, T0 + 400, T0 + 400, seq=2)])],
                    operator=LOKALTOG)
    late = Drive(t=T0 + 400 + 1800 + 10).stand(5)
    recs = drive_run(core, inputs(late))
    p = events(recs, "punctuality")
    assert {r.stop_id for r in p} == {"hilleroed", "frederiksvaerk"}
    assert all(r.status == "missing" and "cancelled" in r.reason for r in p)
    assert not events(recs, "ars")


def test_log_is_append_only_and_read_back(tmp_path: Path) -> None:
    a = _p("920R", "2026-11-23", 0, late=True, dl=200.0)
    with PunctualityLog(tmp_path) as log:
        log.append(a)
    with PunctualityLog(tmp_path) as log:
        log.append(msgspec.structs.replace(a, stop_id="frederiksvaerk", id="x2"))
    lines = (tmp_path / "punctuality.jsonl").read_text().splitlines()
    assert [json.loads(x)["stop_id"] for x in lines] == ["hundested", "frederiksvaerk"]
    (tmp_path / "punctuality.jsonl").open("a").write("{torn line\n")
    assert len(list(read_records([tmp_path / "punctuality.jsonl"]))) == 2


def test_torn_last_line_is_cut_on_open_and_glued_lines_are_recovered(tmp_path: Path) -> None:
    """Issue 12 item 5: a power cut mid-write leaves a torn last line; the next fsynced record glued
    onto it and the reader and report then saw 0 records. Now the log cuts the torn tail on open (and
    keeps it in .torn), and a reader of an old file with a glued line keeps the good record."""
    a = _p("920R", "2026-11-23", 0, dl=20.0)
    b = msgspec.structs.replace(a, stop_id="frederiksvaerk", id="x2")
    path = tmp_path / "punctuality.jsonl"
    with PunctualityLog(tmp_path) as log:
        log.append(a)
    whole = encode(b).decode()
    with path.open("a") as fh:  # the power cut: half a record, no newline
        fh.write(whole[: len(whole) // 2])
    with PunctualityLog(tmp_path) as log:
        assert log.torn_bytes == len(whole) // 2
        log.append(b)
    assert [r.stop_id for r in read_records([path])] == ["hundested", "frederiksvaerk"]
    assert (tmp_path / "punctuality.jsonl.torn").read_text() == whole[: len(whole) // 2] + "\n"
    with PunctualityLog(tmp_path) as log:  # intact now: nothing cut
        assert log.torn_bytes == 0
    # a file written by an older unit: the torn part and the next record on one line
    old = tmp_path / "old.jsonl"
    c = msgspec.structs.replace(a, id="x3")
    old.write_text(encode(a).decode() + "\n" + whole[:40] + whole + "\n" + encode(c).decode() + "\n")
    counts = JsonlCounts()
    got = list(read_jsonl(old, counts))
    assert [r["id"] for r in got] == [a.id, "x2", "x3"]
    assert counts.recovered == 1 and counts.records == 3
    typed_counts = JsonlCounts()  # the typed reader keeps it too, with the bytes of the good record
    encs = [e for e in iter_records(old, typed_counts) if e is not None]
    assert [e.record.id for e in encs] == [a.id, "x2", "x3"] and encs[1].json == whole.encode()
    assert typed_counts.recovered == 1 and typed_counts.records == 3


def test_record_ids_are_deterministic() -> None:
    ref = TripRef("T1", "2026-11-23", "920R", 0, "07:15")
    a = ArrivalStopped.make(T0, veh="v", oper="o", trip=ref, stop_id="s", seq=3, loc="GPS", odo=None, drst=0)
    b = ArrivalStopped.make(T0, veh="v", oper="o", trip=ref, stop_id="s", seq=3, loc="GPS", odo=None, drst=0)
    c = ArrivalStopped.make(T0 + 0.001, veh="v", oper="o", trip=ref, stop_id="s", seq=3, loc="GPS", odo=None,
                            drst=0)
    d = ArrivalStopped.make(T0, veh="v", oper="o", trip=ref, stop_id="s", seq=4, loc="GPS", odo=None, drst=0)
    # one arrival per stop visit: its id is what it is (issue 12), the same re-emitted at another moment
    assert a.id == b.id == c.id != d.id and len(a.id) == 16
    e = DoorsOpen.make(T0, veh="v", oper="o", trip=ref, stop_id="s", seq=3, drst=1)
    f = DoorsOpen.make(T0 + 0.001, veh="v", oper="o", trip=ref, stop_id="s", seq=3, drst=1)
    assert e.id != f.id  # doors open many times at a stop: time is part of the id
    assert a.tst == "2026-11-23T06:00:00.000Z" and a.oday == "2026-11-23" and a.start == "07:15"


def _p(route: str, day: str, n: int, *, late: bool = False, missing: bool = False, dl: float = 0.0) -> Punctuality:
    ref = TripRef(f"T{n}", day, route, 0, "07:00")
    return Punctuality.make(T0 + n, veh="v", oper="lokaltog", trip=ref, stop_id="hundested", seq=1,
                            status="missing" if missing else "measured", station="hundested", measured="arrival",
                            counted=True, sched=None, actual=None, late=late, early=False, dl=dl,
                            rejsegaranti=dl > 1200, replacement=dl > 3600, policy="rail")


def test_origin_departure_is_recorded_but_not_counted(tmp_path: Path) -> None:
    d = Drive().stand(60 + 400).drive_to(5000).stand(30, doors=(2, 20))  # leaves the origin 400 s late
    stops = [stop("hilleroed", 0.0, T0 + 60, T0 + 60), stop("frederiksvaerk", 5000.0, T0 + 900, T0 + 900, seq=2)]
    recs = drive_run(core_for([plan(stops)], operator=LOKALTOG), inputs(d))
    p = {r.stop_id: r for r in events(recs, "punctuality")}
    assert p["hilleroed"].late is True and p["hilleroed"].counted is False
    assert p["frederiksvaerk"].counted is True and p["frederiksvaerk"].late is False
    # the month report leaves the origin departure out of the figure (tests/central/test_month.py)
