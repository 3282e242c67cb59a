"""Golden tests of the contract month: one figure per strækning (920R + 920E), the policy variants for
unmeasured registrations, the lists, the deadline with Danish holidays, the formats, bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.reports.month import build_month, parse_month, report_deadline
from central.reports.render import num, render_csv, render_html, render_json, render_md
from central.sources import load_logs
from tests.central.feed import write_feed, write_operator
from tests.central.records import as_dict
from tests.conftest import REPO
from transit.errors import ConfigError
from transit.operator import load_operator
from transit.records import Punctuality, TripRef, decode_record
from transit.timetable import Timetable
from transit.timeutil import iso_utc_ms, service_day_origin

DAY = date(2026, 11, 3)
ORIGIN = service_day_origin(DAY)


def reg(trip: str, route: str, station: str, sched_s: int, dl: float | None, *, reason: str = "",
        veh: str = "2051", counted: bool = True) -> dict[str, Any]:
    ref = TripRef(trip, DAY.isoformat(), route, 0, "06:00")
    sched = ORIGIN + timedelta(seconds=sched_s)
    t = sched + timedelta(seconds=dl or 0)
    extra = {"reason": reason} if reason else {}
    return as_dict(Punctuality.make(
        t, veh=veh, oper="lokaltog", trip=ref, stop_id=station, seq=2, loc="GPS",
        status="measured" if dl is not None else "missing", station=station,
        station_name={"FRV": "Frederiksværk St.", "HUN": "Hundested St.", "HIL": "Hillerød St."}[station],
        measured="arrival", counted=counted, sched=iso_utc_ms(sched), actual=iso_utc_ms(t) if dl is not None else None,
        dl=dl, late=dl is not None and dl >= 180, policy="rail", **extra))


def basic_records() -> list[dict[str, Any]]:
    h = 3600
    return [
        reg("R1", "920R", "HIL", 6 * h, 400.0, counted=False),  # origin departure: information only
        reg("R1", "920R", "FRV", 6 * h + 1800, 60.0),  # punctual
        reg("R1", "920R", "HUN", 6 * h + 2700, 200.0),  # late 3:20
        reg("E1", "920E", "FRV", 7 * h + 1500, 1300.0),  # late, rejsegaranti (> 20 min)
        reg("E1", "920E", "HUN", 7 * h + 2200, None, reason="not observed: the unit had no position"),
        reg("R2", "920R", "FRV", 8 * h + 900, None, reason="trip not driven (cancelled)", veh="2052"),
        # R2 at Hillerød: no record at all (missing)
        reg("RL", "920R", "FRV", 21 * h + 1800, 3700.0),  # more than 60 min: replacement transport
        reg("RL", "920R", "HUN", 22 * h, 900.0),  # 15 min late: lost the 22:10 bus, the day's last
    ]


def month_of(tmp_path: Path, records: list[dict[str, Any]], *, unmeasured: str = "late", **feed_kw: Any):  # type: ignore[no-untyped-def]
    feed = write_feed(tmp_path, **feed_kw)
    op = load_operator(write_operator(tmp_path, feed, unmeasured=unmeasured))
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    store = load_logs([log])
    return build_month(store, Timetable.load(feed), op, "2026-11")


@pytest.mark.parametrize("policy, counted, punctual, regularity, bonus", [
    ("late", 8, 1, 12.5, -2.3),  # every unmeasured registration counts as late
    ("exclude", 5, 1, 20.0, -2.3),  # only the 5 measured ones count
    ("punctual", 8, 4, 50.0, -2.3),  # unmeasured ones count as punctual
])
def test_one_figure_per_straekning_and_policy_variants(tmp_path: Path, policy: str, counted: int, punctual: int,
                                                       regularity: float, bonus: float) -> None:
    rep = month_of(tmp_path, basic_records(), unmeasured=policy)
    [s] = rep.straekninger
    assert s.name == "Frederiksværkbanen" and s.lines == ("920R", "920E")
    t = s.total
    # R1: FRV HUN; E1: FRV HUN; R2: FRV HIL; RL: FRV HUN  (no arrival at an origin)
    assert t.scheduled == 8
    assert t.n == {"punctual": 1, "late": 4, "not_observed": 1, "missing": 1, "cancelled": 1}
    assert (t.counted, t.punctual) == (counted, punctual)
    assert round(t.regularity or 0, 1) == regularity and s.bonus_pct == bonus and s.below_target
    assert round(t.coverage or 0, 1) == 87.5  # 7 of 8 have a record
    assert set(s.by_line) == {"920R", "920E"} and s.by_line["920E"].scheduled == 2
    assert rep.policy["unmeasured"]["missing"] == policy
    assert rep.inputs["records_not_counted"] == 1


def test_lists_the_operator_needs(tmp_path: Path) -> None:
    rep = month_of(tmp_path, basic_records())
    assert [(i.trip_id, i.station, round((i.dl or 0) / 60, 1)) for i in rep.late] == [
        ("R1", "HUN", 3.3), ("E1", "FRV", 21.7), ("RL", "FRV", 61.7), ("RL", "HUN", 15.0)]
    assert [(i.trip_id, i.station) for i in rep.rejsegaranti] == [("E1", "FRV"), ("RL", "FRV")]
    assert [(i.trip_id, i.station) for i in rep.replacement] == [("RL", "FRV"), ("RL", "HUN")]
    lost = rep.replacement[1]
    assert lost.note.startswith("mistede sidste forbindelse: 940B") and "22:10" in lost.note
    un = {(i.trip_id, i.station): (i.kind, i.veh) for i in rep.unmeasured}
    assert un == {("E1", "HUN"): ("not_observed", "2051"), ("R2", "FRV"): ("cancelled", "2052"),
                  ("R2", "HIL"): ("missing", "2052")}  # the vehicle that reported the trip, if any


def test_bonus_arithmetic_9650_gives_plus_12(tmp_path: Path) -> None:
    recs = []
    for i in range(100):
        recs.append(reg(f"XR{i}", "920R", "HUN", 10 * 3600 + 60 * i, 300.0 if i < 7 else 30.0))
        recs.append(reg(f"XE{i}", "920E", "HUN", 10 * 3600 + 60 * i + 30, 10.0))
    rep = month_of(tmp_path, recs, basic=False, n_r=100, n_e=100)
    [s] = rep.straekninger
    assert (s.total.scheduled, s.total.n["late"]) == (200, 7)
    assert s.total.regularity == 96.5 and s.bonus_pct == 1.2 and not s.below_target
    assert s.by_line["920R"].regularity == 93.0 and s.by_line["920E"].regularity == 100.0


def test_duplicates_and_a_measurement_beat_a_missing_record(tmp_path: Path) -> None:
    recs = basic_records()
    again = dict(recs[2])  # the same record twice (log + events file): once
    later_measured = reg("E1", "920E", "HUN", 7 * 3600 + 2200, 30.0, veh="2053")  # another unit measured it
    rep = month_of(tmp_path, [*recs, again, later_measured])
    t = rep.straekninger[0].total
    assert t.n["not_observed"] == 0 and t.n["punctual"] == 2
    assert rep.inputs["registrations_with_several_records"] == 1


@pytest.mark.parametrize("month, due", [("2026-11", date(2026, 12, 14)), ("2026-12", date(2027, 1, 15)),
                                        ("2026-03", date(2026, 4, 17)), ("2027-04", date(2027, 5, 18))])
def test_deadline_ten_working_days_with_danish_holidays(month: str, due: date) -> None:
    # Dec 2026: 1 Jan is a holiday; Mar 2026: Easter (2, 3 and 6 April); Apr 2027: Kristi Himmelfartsdag
    # 6 May and 2. pinsedag 17 May
    assert report_deadline(parse_month(month)[1], 10) == due


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "nov", "", "2026-11-01", "0000-01"])
def test_bad_month_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="YYYY-MM"):
        parse_month(bad)


def test_danish_csv_opens_with_danish_settings(tmp_path: Path) -> None:
    rep = month_of(tmp_path, basic_records())
    text = render_csv(rep, "straekninger", danish=True)
    assert text.startswith("\ufeff")
    raw = text.encode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0]["straekning"] == "Frederiksværkbanen" and rows[0]["lines"] == "920R + 920E"
    assert float(rows[0]["regularity_pct"].replace(",", ".")) == 12.5 and "," in rows[0]["regularity_pct"]
    assert rows[0]["below_target"] == "ja"
    late = list(csv.DictReader(io.StringIO(render_csv(rep, "late", danish=True).lstrip("\ufeff")), delimiter=";"))
    assert [r["minutes_late"] for r in late] == ["3,3", "21,7", "61,7", "15,0"]
    plain = list(csv.DictReader(io.StringIO(render_csv(rep, "straekninger"))))
    assert plain[0]["regularity_pct"] == "12.5"


def test_html_is_danish_with_an_honest_axis(tmp_path: Path) -> None:
    rep = month_of(tmp_path, basic_records())
    page = render_html(rep)
    assert '<html lang="da">' in page and "Rettidighed og togkilometer" in page
    assert "mandag 14. december 2026" in page and "12,5 %" in page and "−2,3 %" in page
    assert ">0 %</text>" in page and ">100 %</text>" in page and "krav 93 %" in page
    for english in ("Punctuality", "Late", "Missing", "Regularity", "Month"):
        assert english not in page
    assert "tæller som forsinket" in page  # the policy is printed
    assert json.loads(render_json(rep))["straekninger"][0]["regularity_pct"] == 12.5
    assert "| Frederiksværkbanen | 920R + 920E | 8 |" in render_md(rep)
    assert num(1234.5, 1) == "1.234,5" and num(1234.5, 1, da=False) == "1234.5"


def test_trainkm_counts_run_trips_against_the_timetable(tmp_path: Path) -> None:
    recs = basic_records()
    rep = month_of(tmp_path, recs)
    k = rep.straekninger[0].trainkm
    assert k.scheduled_trips == 4  # the bus is not on the strækning
    assert k.run_trips == 3 and k.not_run_trips == 1 and k.no_data_trips == 0  # R2 reported not driven
    assert 10 < k.scheduled_km / 4 < 40 and abs(k.run_km + k.not_run_km - k.scheduled_km) < 1e-6
    assert k.standard_year_km == pytest.approx(k.km_by_daytype["weekday"] / k.days_by_daytype["weekday"] * 251)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central", "report", "punctuality", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_bad_inputs_are_one_line_and_exit_2(tmp_path: Path) -> None:
    good = tmp_path / "e.jsonl"
    good.write_text(json.dumps(basic_records()[1]) + "\n")
    notjsonl = tmp_path / "x.csv"
    notjsonl.write_text("t,pin,level\n1,2,3\n")
    incomplete = tmp_path / "i.jsonl"
    rec = basic_records()[1]
    del rec["trip_id"]
    incomplete.write_text(json.dumps(rec) + "\n")
    no_status = tmp_path / "s.jsonl"
    rec2 = basic_records()[2]
    del rec2["status"]  # has a delay, but nothing says it was measured: refused, not counted as measured
    no_status.write_text(json.dumps(rec2) + "\n")
    empty_punct = tmp_path / "p.jsonl"
    empty_punct.write_text('{"event":"punctuality"}\n')
    for args, words in [((str(good), "--month", "2026-13"), "YYYY-MM"), ((str(notjsonl),), "not a JSON Lines"),
                        ((str(incomplete),), "trip_id"), ((str(no_status),), "s.jsonl:1"), ((str(empty_punct),), "i.jsonl" if False else "p.jsonl:1"),
                        ((str(tmp_path / "absent.jsonl"),), "cannot read")]:
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and words in r.stderr, (args, r.stderr)


def test_torn_last_line_is_skipped_and_said(tmp_path: Path) -> None:
    log = tmp_path / "e.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in basic_records()) + '{"event":"punctuality","id":"ab')
    from central.sources import LogCounts
    c = LogCounts()
    load_logs([log], c)
    assert c.torn_last_lines == 1 and c.records == len(basic_records())


def test_report_from_the_sample_feed_via_cli(tmp_path: Path) -> None:
    """The shipped operator file and feed: every strækning appears; a trip reported punctual is in it."""
    ref = TripRef("920R_MT_0_0555", "2026-11-23", "920R", 0, "05:55")
    tt = Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")
    trip = next(t for t in tt.trips_on(date(2026, 11, 23)) if tt.route_of(t.trip_id).name == "920R")
    sched = tt.trip_schedule(trip.trip_id, date(2026, 11, 23))
    last = sched[-1]
    rec = as_dict(Punctuality.make(
        last.arrival + timedelta(seconds=20), veh="2051", oper="lokaltog",
        trip=TripRef(trip.trip_id, "2026-11-23", "920R", 0, "05:55"), stop_id=last.stop_id, seq=9, status="measured",
        station=tt.station_of(last.stop_id), measured="arrival", counted=True, sched=iso_utc_ms(last.arrival),
        actual=iso_utc_ms(last.arrival + timedelta(seconds=20)), dl=20.0, late=False, policy="rail"))
    assert ref.route == "920R"
    log = tmp_path / "e.jsonl"
    log.write_text(json.dumps(rec) + "\n")
    r = _cli(str(log), "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = [s["name"] for s in out["straekninger"]]
    assert names == ["Nærumbanen", "Frederiksværkbanen", "Lille Nord", "Hornbækbanen", "Gribskovbanen"]
    assert out["deadline"] == "2026-12-14" and out["straekninger"][1]["punctual"] == 1
    r = _cli(str(log), "--format", "csv-da", "--table", "late")
    assert r.returncode == 0 and r.stdout.startswith("\ufeff")
    assert datetime.now(UTC).year >= 2026


def test_the_same_month_from_either_database(tmp_path: Path, store: Any) -> None:
    """The collector's database (SQLite and a real PostgreSQL) gives the report the logs give: the
    month's registrations stream while each day's trip runs are read inside that query."""
    from central.records import to_stored
    from central.reports.render import to_json

    recs = basic_records()
    from_logs = month_of(tmp_path, recs)
    store.put([to_stored(decode_record(json.dumps(r)), f"rettid/v1/record/punctuality/train/lokaltog/{r['veh']}/x")
               for r in recs])
    feed = tmp_path / "feed"
    from_db = build_month(store, Timetable.load(feed), load_operator(tmp_path / "op.yaml"), "2026-11")
    assert to_json(from_db) == to_json(from_logs) and from_db.straekninger[0].total.scheduled == 8


def test_records_no_registration_took_are_counted_not_figured(tmp_path: Path) -> None:
    extra = reg("ZZ9", "920R", "FRV", 9 * 3600, 30.0)  # a trip the feed does not have
    at_origin = reg("R1", "920R", "HIL", 6 * 3600, 10.0)  # counted=True, but an origin has no arrival
    rep = month_of(tmp_path, [*basic_records()[1:], extra, at_origin])
    assert rep.inputs["records_outside_timetable"] == 1 and rep.inputs["records_not_registrations"] == 1
    assert rep.straekninger[0].total.scheduled == 8


def test_hours_on_the_day_the_clocks_go_back(tmp_path: Path) -> None:
    """GTFS times count from noon minus 12 h: on 25 October 2026 that is 01:00 summer time, so the
    night trip's 01:30 (GTFS) arrival is 02:30 summer time and its 02:10 is 02:10 winter time — both in
    hour 02 of the drill-down; on an ordinary night they are 01 and 02."""
    def hours(day: str, month: str) -> dict[int, int]:
        root = tmp_path / day
        feed = write_feed(root, day=day, night=True)
        op = load_operator(write_operator(root, feed))
        rep = build_month(load_logs([]), Timetable.load(feed), op, month)
        s = rep.straekninger[0]
        assert sum(t.scheduled for t in s.by_hour.values()) == s.total.scheduled == 10
        return {h: t.scheduled for h, t in s.by_hour.items() if h < 5}

    assert hours("20261025", "2026-10") == {2: 2}
    assert hours("20261103", "2026-11") == {1: 1, 2: 1}


def test_streamed_json_is_the_report_object(tmp_path: Path) -> None:
    from central.reports.render import to_json

    rep = month_of(tmp_path, basic_records())
    assert json.loads(render_json(rep)) == json.loads(json.dumps(to_json(rep)))
    empty = month_of(tmp_path / "e", [])
    assert json.loads(render_json(empty))["late"] == [] and render_csv(empty, "late").startswith("oday,")


def test_png_of_the_html_by_headless_chromium(tmp_path: Path) -> None:
    """``--format png``: the top of the Danish HTML page as Chromium draws it (make docs-img)."""
    import os

    from PIL import Image

    from central.reports.png import find_chromium

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed, but CI must have it (make sysdeps)")
        pytest.skip("Chromium not installed (apt-get install chromium); run `make sysdeps`")
    log = tmp_path / "e.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in basic_records()), encoding="utf-8")
    write_operator(tmp_path, write_feed(tmp_path))
    out = tmp_path / "month.png"
    r = _cli(str(log), "--operator", str(tmp_path / "op.yaml"), "--format", "png", "--png-size", "900x700",
             "-o", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (900, 700)
        hist = im.convert("L").histogram()
        dark = sum(hist[:100])
        assert dark > 2000  # text and bars, not a blank page
    r = _cli(str(log), "--operator", str(tmp_path / "op.yaml"), "--format", "png")
    assert r.returncode == 2 and "needs -o" in r.stderr
    r = _cli(str(log), "--format", "png", "--png-size", "big", "-o", str(out))
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr


def test_a_blind_unit_s_not_observed_status_is_not_observed(tmp_path: Path) -> None:
    """Issue 13's units say ``status: not_observed`` (blind there, an estimate at most): not observed,
    whatever the reason says, and the trip counts as run."""
    recs = basic_records()
    blind = dict(recs[4], status="not_observed", est_actual=recs[4]["sched"], est_dl=40.0, unc_s=90.0)
    del blind["reason"]
    rep = month_of(tmp_path, [*recs[:4], blind, *recs[5:]])
    t = rep.straekninger[0].total
    assert t.n == {"punctual": 1, "late": 4, "not_observed": 1, "missing": 1, "cancelled": 1}
    assert [(i.trip_id, i.kind) for i in rep.unmeasured if i.trip_id == "E1"] == [("E1", "not_observed")]
