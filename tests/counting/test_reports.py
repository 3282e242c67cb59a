"""Occupancy report and APC validation: pure functions and the command line."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from central.__main__ import COMMANDS
from central.reports.occupancy import Criteria, build_report, render_csv, render_html, render_markdown
from central.validate_apc import bias, read_counts, t_quantile, validate
from transit.cli import main
from transit.timeutil import COPENHAGEN, gtfs_datetime, iso_utc_ms, parse_gtfs_time

MONDAY = "2026-11-23"  # a school day (no school holiday configured)
SATURDAY = "2026-11-28"


def occ_records(route: str, oday: str, start: str, loads: list[int], seats: int = 10,
                gap_s: list[float] | None = None, trip: str = "T") -> list[dict[str, Any]]:
    from datetime import date, timedelta
    t = gtfs_datetime(date.fromisoformat(oday), parse_gtfs_time(start + ":00"))
    out = []
    gaps = gap_s or [120.0] * len(loads)
    for i, load in enumerate(loads):
        out.append({"event": "occupancy", "id": f"{trip}{i}", "tst": iso_utc_ms(t), "veh": "v", "oper": "o",
                    "oday": oday, "route": route, "dir": 0, "start": start, "trip_id": trip, "stop_id": f"S{i}",
                    "seq": i + 1, "vehicleload": load, "seats": seats, "countquality": "regular"})
        t += timedelta(seconds=gaps[i])
    return out


def test_time_weighted_average_and_rush_classification() -> None:
    recs = (occ_records("910", MONDAY, "07:30", [12, 12, 0], trip="A")  # rush: 120 % > 100 %
            + occ_records("910", MONDAY, "11:00", [5, 10, 0], gap_s=[300, 100, 0], trip="B")  # (5*300+10*100)/400
            + occ_records("910", SATURDAY, "07:30", [9, 9, 0], trip="C")  # Saturday: not rush, 90 % = limit
            + occ_records("920R", MONDAY, "15:00", [3, 0], trip="D"))
    rep = build_report(recs)
    s = rep.lines["910"]
    assert [d.trip_id for d in s.rush] == ["A"] and s.rush[0].exceeded
    other = {d.trip_id: d for d in s.other}
    assert other["B"].occupancy_pct == pytest.approx(62.5)
    assert other["C"].occupancy_pct == pytest.approx(90.0) and not other["C"].exceeded
    assert not rep.line_ok(s) and rep.line_ok(rep.lines["920R"])
    assert rep.lines["920R"].rush[0].occupancy_pct == pytest.approx(30.0)
    md = render_markdown(rep)
    assert "Departures over their limit: 2026-11-23 07:30." in md and "| 910 | 1 | 120.0 % |" in md
    csv_text = render_csv(rep)
    assert csv_text.splitlines()[0].startswith("route,direction,oday,start")
    assert len(csv_text.splitlines()) == 5
    html_text = render_html(rep)
    assert "<svg" in html_text and 'class="exc"' in html_text


def test_school_holiday_is_not_rush() -> None:
    from datetime import date
    recs = occ_records("910", MONDAY, "07:30", [12, 0])
    rep = build_report(recs, Criteria(school_holidays=((date(2026, 11, 23), date(2026, 11, 27)),)))
    assert not rep.lines["910"].rush and rep.lines["910"].other[0].exceeded


def test_departure_after_midnight_uses_gtfs_time() -> None:
    recs = occ_records("910", MONDAY, "24:30", [1, 0])
    d = build_report(recs).lines["910"].other[0]
    assert d.departure.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M") == "2026-11-24 00:30"


def test_cli_report_occupancy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ev = tmp_path / "events.jsonl"
    lines = [json.dumps(r) for r in occ_records("910", MONDAY, "07:30", [12, 12, 0])]
    ev.write_text("\n".join(lines + ["{broken", json.dumps({"event": "vp"})]) + "\n")
    assert main("central", "", COMMANDS, ["report", "occupancy", str(ev)]) == 0
    out = capsys.readouterr().out
    assert "| 910 | 1 | 120.0 % | 0 | - | EXCEEDED |" in out and "bad_json 1" in out
    html_out = tmp_path / "r.html"
    assert main("central", "", COMMANDS, ["report", "occupancy", str(ev), "--format", "html", "-o",
                                          str(html_out)]) == 0
    assert html_out.read_text().startswith("<!DOCTYPE html>")
    assert main("central", "", COMMANDS, ["report", "occupancy", str(tmp_path / "missing.jsonl")]) == 2


def test_t_quantile_against_tables() -> None:
    for df, p, want in ((3, 0.95, 2.3534), (5, 0.975, 2.5706), (10, 0.95, 1.8125), (30, 0.975, 2.0423)):
        assert t_quantile(p, df) == pytest.approx(want, abs=2e-3)


def test_bias_equivalence() -> None:
    rng = random.Random(5)
    ref = [rng.randint(0, 30) for _ in range(2000)]
    exact = bias([(r, r) for r in ref])
    assert exact.bias_pct == 0 and exact.equivalent
    plus5 = bias([(round(r * 1.05), r) for r in ref])
    assert 4 < plus5.bias_pct < 6 and not plus5.equivalent
    noisy = bias([(r + rng.choice([-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), r) for r in ref])
    assert noisy.ci_low_pct < noisy.bias_pct < noisy.ci_high_pct
    assert noisy.equivalent


def test_validate_cli_with_jsonl_counts_and_csv_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = tmp_path / "events.jsonl"
    recs = []
    ref_rows = ["trip_id,seq,door,in,out"]
    rng = random.Random(1)
    for seq in range(1, 200):
        for door in (1, 2):
            i, o = rng.randint(0, 20), rng.randint(0, 20)
            recs.append({"event": "apc", "oday": MONDAY, "trip_id": "T9", "seq": seq, "stop_id": f"S{seq}",
                         "door": door, "class": "adult", "in": i, "out": o})
            ref_rows.append(f"T9,{seq},{door},{i},{o}")
    recs.append({"event": "apc", "oday": MONDAY, "trip_id": "T9", "seq": 5, "door": 1, "class": "bulky",
                 "in": 1, "out": 0})
    counts.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    ref = tmp_path / "ref.csv"
    ref.write_text("\n".join(ref_rows) + "\n")
    res = validate(read_counts(counts), read_counts(ref))
    assert res["overall"].counted == res["overall"].reference + 1 and res["missing_in_counts"] == 0
    assert res["overall"].equivalent
    assert main("central", "", COMMANDS, ["validate-apc", str(counts), str(ref)]) == 0
    out = capsys.readouterr().out
    assert "Verdict: PASS" in out and "| 2026-11-23 | T9 | 5 | 1 | 20 (19) | 0 (0) |" in out
    ref.write_text("\n".join(ref_rows[:1] + [r[:-1] + str(int(r[-1]) + 3) for r in ref_rows[1:]]) + "\n")
    assert main("central", "", COMMANDS, ["validate-apc", str(counts), str(ref)]) == 1
