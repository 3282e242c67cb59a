"""Each shipped scenario through the counting core: the simulator's beam edges, its door cycles as the
CAN gate and its stop visits as stop events (trip following is tested elsewhere) -> per-stop counts
against the ground truth, and the occupancy report names the rush-hour departures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from central.reports.occupancy import build_report, render_markdown
from hw.can.state import DoorState, VehicleState
from onboard.counting.occupancy import VehicleCapacity
from onboard.counting.passengers import CountingConfig, DoorConfig, PassengerCounter
from tests.typed import typed
from transit.timeutil import COPENHAGEN, format_gtfs_time, from_epoch, iso_utc_ms

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "data" / "scenarios").glob("*.yaml"))


def run_scenario(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    from sim_bus.engine import load_timetable
    from sim_bus.motion import simulate
    from sim_bus.paxlink import passenger_fn
    from sim_bus.plan import build_plans
    from sim_bus.scenario import load_scenario

    sc = load_scenario(path)
    tt = load_timetable(sc)
    plans = build_plans(sc, tt)
    motion = simulate(sc, plans, passenger_fn(sc))
    v = sc.vehicle
    cfg = CountingConfig(tuple(DoorConfig(d.index, tuple(tuple(b) for b in d.beams), "can") for d in v.doors))
    cap = VehicleCapacity(v.seats, v.folding_seats, v.capacity)
    counter = PassengerCounter(cfg, cap, veh=v.id, oper="sim")
    plan_by_trip = {p.trip_id: p for p in plans}
    inputs: list[tuple[float, int, Any]] = [(t, 2, (t, pin, lvl)) for t, pin, lvl in motion.gpio]
    for dc in motion.doors:
        inputs.append((dc.enabled, 1, (dc.enabled, dc.door, True)))
        inputs.append((dc.closed, 1, (dc.closed, dc.door, False)))
    visits = [r for r in motion.truth if r.get("kind") == "visit"]
    for r in visits:
        p = plan_by_trip[str(r["trip_id"])]
        start = format_gtfs_time(int((p.first_departure - _origin(sc.service_day)).total_seconds()))[:5]
        base = {"trip_id": r["trip_id"], "stop_id": r["stop_id"], "seq": r["seq"], "route": p.route,
                "dir": p.direction, "start": start, "oday": sc.service_day.isoformat(), "loc": "GPS"}
        inputs.append((float(r["arrival"]), 0, typed({**base, "event": "ars",
                                                     "tst": iso_utc_ms(from_epoch(float(r["arrival"])))})))
        if r["departure"] is not None:
            inputs.append((float(r["departure"]), 0, typed({**base, "event": "dep",
                                                            "tst": iso_utc_ms(from_epoch(float(r["departure"])))})))
    inputs.sort(key=lambda x: (x[0], x[1]))
    records: list[dict[str, Any]] = []
    for _t, kind, item in inputs:
        if kind == 2:
            records += counter.on_edge(*item)
        elif kind == 1:
            t, door, state = item
            records += counter.on_vehicle_state(VehicleState(from_epoch(t), doors=(DoorState(door, state, state),)))
        else:
            records += counter.on_stop_event(item)
    records += counter.finish()
    return records, visits, counter


def _origin(day: Any) -> Any:
    from transit.timeutil import service_day_origin
    return service_day_origin(day)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_counts_match_truth(path: Path) -> None:
    records, visits, counter = run_scenario(path)
    got: Counter[tuple[str, Any, str]] = Counter()
    for r in records:
        if r.event == "apc":
            got[(str(r.trip_id), r.seq, "in")] += r.in_
            got[(str(r.trip_id), r.seq, "out")] += r.out
    true_in = sum(int(v["boardings"]) for v in visits)
    true_out = sum(int(v["alightings"]) for v in visits)
    got_in = sum(n for k, n in got.items() if k[2] == "in")
    got_out = sum(n for k, n in got.items() if k[2] == "out")
    assert true_in > 0
    assert abs(got_in - true_in) <= max(1, 0.01 * true_in)
    assert abs(got_out - true_out) <= max(1, 0.01 * true_out)
    # Per stop: nearly every visit exact, none off by more than 2.
    errs = [abs(got[(str(v["trip_id"]), v["seq"], "in")] - int(v["boardings"]))
            + abs(got[(str(v["trip_id"]), v["seq"], "out")] - int(v["alightings"])) for v in visits]
    assert max(errs) <= 2
    assert sum(1 for e in errs if e == 0) >= 0.9 * len(errs)
    occ = [r for r in records if r.event == "occupancy"]
    assert all(r.vehicleload >= 0 for r in occ)
    assert counter.diagnostics()["gated_out"] == 0


def test_rush_scenario_report_names_rush_departures() -> None:
    path = REPO / "data" / "scenarios" / "910-rush.yaml"
    records, _visits, _c = run_scenario(path)
    rep = build_report(records)
    rush = [d for s in rep.lines.values() for d in s.rush]
    assert rush, "a rush-hour scenario must produce rush-hour departures"
    md = render_markdown(rep)
    for d in rush:
        local = d.departure.astimezone(COPENHAGEN)
        assert local.weekday() < 5 and (7 <= local.hour < 9 or (14, 30) <= (local.hour, local.minute) < (18, 0))
        assert f"| {local:%Y-%m-%d %H:%M} | {d.trip_id} |" in md
