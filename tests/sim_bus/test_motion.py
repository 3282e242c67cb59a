"""The kinematic model on hand-made plans: limits, stops, dwell, holds, passes, signals, odometer."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim_bus.motion import MotionResult, StopPassengers, simulate
from sim_bus.plan import PlannedStop, TripPlan
from sim_bus.scenario import Scenario, SpeedLimit, parse_scenario
from transit.geo import Polyline, offset_m

from .conftest import SHORT

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
LAT, LON = 55.9, 12.3


def _line(length_m: float) -> Polyline:
    end = offset_m(LAT, LON, 0.0, length_m)
    return Polyline([(LAT, LON), end])


def _stop(sid: str, x: float, dep_min: float | None, *, here: bool = True) -> PlannedStop:
    lat, lon = offset_m(LAT, LON, 0.0, x)
    t = None if dep_min is None else T0 + timedelta(minutes=dep_min)
    return PlannedStop(sid, sid, 0 if not here else 1, x, lat, lon, t, t, here, True)


def _plan(stops: list[PlannedStop], length: float = 6000.0) -> TripPlan:
    return TripPlan("T", "910", "910", 0, "End", "MT", None, _line(length), tuple(stops))


def _scenario(**changes: object) -> Scenario:
    sc = parse_scenario(SHORT, Path("."), "t.yaml")
    return dataclasses.replace(sc, **changes)  # type: ignore[arg-type]


def _nobody(rng: random.Random, t_open: float, board: int, alight: int) -> StopPassengers:
    return StopPassengers([], [], t_open + 2.0 * (board + alight))


def _run(sc: Scenario, plan: TripPlan) -> MotionResult:
    return simulate(sc, [plan], _nobody)


def _visits(res: MotionResult) -> list[dict[str, object]]:
    return [r for r in res.truth if r["kind"] == "visit"]


def test_drives_to_every_stop_within_limits() -> None:
    sc = _scenario()
    plan = _plan([_stop("A", 0, 0), _stop("B", 2000, 4), _stop("C", 5900, 9)])
    res = _run(sc, plan)
    tr = res.track
    vmax = sc.vehicle.max_speed_mps
    assert max(tr.v) <= vmax + 1e-9
    # acceleration and braking stay within the vehicle's capability (1.5 x braking reserve)
    for i in range(1, len(tr.t)):
        dt = tr.t[i] - tr.t[i - 1]
        if 0 < dt <= 0.11 and not (tr.v[i] == 0.0 and tr.v[i - 1] < 0.1):  # final one-step snap
            a = (tr.v[i] - tr.v[i - 1]) / dt
            assert -1.5 * sc.vehicle.braking_mps2 - 0.05 <= a <= sc.vehicle.accel_mps2 + 0.05
    visits = _visits(res)
    assert [v["stop_id"] for v in visits] == ["A", "B", "C"]
    # the train's middle halts exactly at the platform centre
    for v, x in zip(visits, (0.0, 2000.0, 5900.0), strict=True):
        p = tr.at(float(v["arrival"]) + 0.5)  # type: ignore[arg-type]
        assert p.v == 0.0 and p.x == pytest.approx(x, abs=0.01)
    # odometer counts exactly the distance driven
    assert tr.odo[-1] - tr.odo[0] == pytest.approx(5900.0, abs=0.01)
    assert visits[-1]["departure"] is None


def test_never_departs_before_schedule_when_holding() -> None:
    sc = _scenario()
    plan = _plan([_stop("A", 0, 0), _stop("B", 1000, 5), _stop("C", 2000, 10)])
    for v in _visits(_run(sc, plan))[:-1]:
        assert v["departure"] is not None and v["scheduled_departure"] is not None
        assert float(v["departure"]) >= float(v["scheduled_departure"])  # type: ignore[arg-type]
        assert float(v["doors_closed"]) <= float(v["departure"])  # type: ignore[arg-type]
        assert float(v["arrival"]) < float(v["doors_open"]) < float(v["doors_closed"])  # type: ignore[arg-type]


def test_doors_stay_shut_at_empty_stop_when_configured() -> None:
    sc = _scenario()
    sc = dataclasses.replace(
        sc, dwell=dataclasses.replace(sc.dwell, open_when_idle=False),
        passengers=dataclasses.replace(sc.passengers, random=False, stops={},
                                       default=dataclasses.replace(sc.passengers.default, board=0, alight=0)))
    res = _run(sc, _plan([_stop("A", 0, 0), _stop("B", 1500, 3), _stop("C", 3000, 6)]))
    b = _visits(res)[1]
    assert b["doors_open"] is None and b["doors_closed"] is None
    assert not [c for c in res.doors if c.opened >= float(b["arrival"]) and  # type: ignore[arg-type]
                c.opened <= float(b["departure"])]  # type: ignore[arg-type]


def test_passes_stations_without_stopping() -> None:
    sc = _scenario()
    plan = _plan([_stop("A", 0, 0), _stop("P", 1800, None, here=False), _stop("C", 4000, 8)])
    res = _run(sc, plan)
    passes = [r for r in res.truth if r["kind"] == "pass"]
    assert len(passes) == 1 and passes[0]["stop_id"] == "P"
    p = res.track.at(float(passes[0]["t"]))  # type: ignore[arg-type]
    assert p.x == pytest.approx(1800.0, abs=1.0) and p.v > 5.0
    assert [v["stop_id"] for v in _visits(res)] == ["A", "C"]


def test_signal_stop_before_station() -> None:
    sc = _scenario()  # SHORT has a 20 s signal stop 200 m before 'brede'
    plan = _plan([_stop("A", 0, 0), _stop("brede", 3000, 6), _stop("C", 5000, 10)])
    res = _run(sc, plan)
    sig = [r for r in res.truth if r["kind"] == "signal_stop"]
    assert len(sig) == 1
    assert float(sig[0]["end"]) - float(sig[0]["start"]) == pytest.approx(20.0, abs=0.02)  # type: ignore[arg-type]
    half = sc.vehicle.length_m / 2
    assert float(sig[0]["x"]) == pytest.approx(3000 - half - 200, abs=0.06)  # type: ignore[arg-type]
    # the signal stop is not a visit: the visit begins at the platform
    assert [v["stop_id"] for v in _visits(res)] == ["A", "brede", "C"]


def test_deterministic_and_seed_dependent() -> None:
    plan = _plan([_stop("A", 0, 0), _stop("B", 2000, 3), _stop("C", 4000, 6)])
    a, b = _run(_scenario(), plan), _run(_scenario(), plan)
    assert a.truth == b.truth and a.track.t == b.track.t and a.track.x == b.track.x
    c = _run(_scenario(seed=99), plan)
    assert [v["boardings"] for v in _visits(c)] != [v["boardings"] for v in _visits(a)] or \
        [v["departure"] for v in _visits(c)] != [v["departure"] for v in _visits(a)]


def test_late_running_departs_as_soon_as_ready() -> None:
    sc = _scenario()
    sc = dataclasses.replace(sc, delays=dataclasses.replace(sc.delays, origin_s=300.0))
    res = _run(sc, _plan([_stop("A", 0, 0), _stop("B", 2000, 3), _stop("C", 4000, 6)]))
    v = _visits(res)
    assert float(v[0]["departure"]) - float(v[0]["scheduled_departure"]) >= 300  # type: ignore[arg-type]
    late_b = float(v[1]["departure"]) - float(v[1]["scheduled_departure"])  # type: ignore[arg-type]
    assert 0 < late_b < 400


@settings(max_examples=20, deadline=None)
@given(gaps=st.lists(st.floats(min_value=150.0, max_value=4000.0), min_size=1, max_size=5),
       slack=st.floats(min_value=-60.0, max_value=240.0),
       limit_kmh=st.floats(min_value=20.0, max_value=80.0), seed=st.integers(0, 10_000))
def test_invariants_on_random_plans(gaps: list[float], slack: float, limit_kmh: float, seed: int) -> None:
    """Whatever the spacing, schedule tightness and speed limit: every stop is reached, in order,
    limits hold, time and odometer only go forward, and holds are respected."""
    x, t, stops = 0.0, 0.0, [_stop("S0", 0.0, 0.0)]
    for i, g in enumerate(gaps, 1):
        x += g
        t += (g / (limit_kmh / 3.6) + 30 + slack) / 60  # minutes
        stops.append(_stop(f"S{i}", x, t))
    sc = _scenario(seed=seed)
    limit = SpeedLimit(0.0, x + 100.0, limit_kmh / 3.6)
    sc = dataclasses.replace(sc, motion=dataclasses.replace(sc.motion, speed_limits=(limit,)))
    res = _run(sc, _plan(stops, length=x + 100.0))
    tr = res.track
    assert tr.t == sorted(tr.t) and tr.odo == sorted(tr.odo)
    assert max(tr.v) <= limit_kmh / 3.6 * sc.motion.cruise_factor + 1e-6
    visits = _visits(res)
    assert [v["stop_id"] for v in visits] == [s.stop_id for s in stops]
    for v, s in zip(visits, stops, strict=True):
        p = tr.at(float(v["arrival"]) + 0.05)  # type: ignore[arg-type]
        assert p.x == pytest.approx(s.chainage_m, abs=0.01)
        if v["departure"] is not None:
            assert float(v["departure"]) >= s.departure.timestamp()  # type: ignore[arg-type,union-attr]
    assert tr.odo[-1] - tr.odo[0] == pytest.approx(x, abs=0.05)


def test_request_stop_without_demand_is_passed() -> None:
    sc = _scenario()
    pax = dataclasses.replace(sc.passengers, random=False,
                              stops={"B": dataclasses.replace(sc.passengers.default, board=0, alight=0)})
    sc = dataclasses.replace(sc, passengers=pax, dwell=dataclasses.replace(sc.dwell, skip_when_idle=True),
                             motion=dataclasses.replace(sc.motion, hold_at="timepoints"))
    b = dataclasses.replace(_stop("B", 1500, 3), timepoint=False)
    res = _run(sc, _plan([_stop("A", 0, 0), b, _stop("C", 3000, 6)]))
    assert [v["stop_id"] for v in _visits(res)] == ["A", "C"]
    passes = [r for r in res.truth if r["kind"] == "pass"]
    assert [(p["stop_id"], p["reason"]) for p in passes] == [("B", "no_request")]
    assert float(passes[0]["speed"]) > 5  # type: ignore[arg-type]
    # a held timing point is never skipped
    res2 = _run(sc, _plan([_stop("A", 0, 0), _stop("B", 1500, 3), _stop("C", 3000, 6)]))
    assert [v["stop_id"] for v in _visits(res2)] == ["A", "B", "C"]


def test_turn_back_in_a_block() -> None:
    """Two trips, the second back the same way: its first stop's arrival is the first one's last."""
    sc = _scenario()
    out = _plan([_stop("A", 0, 0), _stop("B", 2000, 4)], length=2000.0)
    end = offset_m(LAT, LON, 0.0, 2000.0)
    back_line = Polyline([end, (LAT, LON)])
    b2 = PlannedStop("B", "B", 1, 0.0, end[0], end[1], T0 + timedelta(minutes=15), T0 + timedelta(minutes=15),
                     True, True)
    a2 = PlannedStop("A", "A", 2, 2000.0, LAT, LON, T0 + timedelta(minutes=20), T0 + timedelta(minutes=20),
                     True, True)
    back = TripPlan("T2", "910", "910", 1, "A", "MT", None, back_line, (b2, a2))
    res = simulate(sc, [out, back], _nobody)
    visits = _visits(res)
    assert [(v["trip_id"], v["stop_id"]) for v in visits] == [("T", "A"), ("T", "B"), ("T2", "B"), ("T2", "A")]
    assert visits[2]["arrival"] == visits[1]["arrival"]
    assert float(visits[2]["departure"]) >= b2.departure.timestamp()  # type: ignore[arg-type,union-attr]
    assert res.track.odo[-1] - res.track.odo[0] == pytest.approx(4000.0, abs=0.05)


@pytest.mark.parametrize("jerk", [0.0, 0.4, 1.0])
def test_brake_eased_off_at_the_stop(jerk: float) -> None:
    """With stop_jerk_mps3 the last second before a stop decelerates far less than the service brake;
    without it the vehicle brakes at b to the end. Either way it halts exactly at the platform."""
    sc = _scenario()
    sc = dataclasses.replace(sc, motion=dataclasses.replace(sc.motion, stop_jerk_mps3=jerk))
    res = _run(sc, _plan([_stop("A", 0, 0), _stop("B", 2000, 4), _stop("C", 5900, 9)]))
    b = sc.vehicle.braking_mps2
    for v in _visits(res)[1:]:
        t_arr = float(v["arrival"])  # type: ignore[arg-type]
        v_before = res.track.at(t_arr - 1.0).v  # speed 1 s before: the mean deceleration of that second
        if jerk == 0.0:
            assert v_before == pytest.approx(b, abs=0.05)
        else:
            # decel falling linearly to 0 over its last second: v = j/2 * 1^2 (the last 0.01 mm snaps)
            assert v_before == pytest.approx(jerk / 2, rel=0.25)
            assert v_before < 0.8 * b
        assert res.track.at(t_arr + 0.5).x == pytest.approx(2000.0 if v["stop_id"] == "B" else 5900.0, abs=0.01)


def test_skipped_stop_is_passed_at_speed(short_scenario: Path) -> None:
    """``skips``: a stop the timetable serves is passed without stopping; the truth says so."""
    from sim_bus.engine import build
    from sim_bus.scenario import load_scenario
    text = short_scenario.read_text(encoding="utf-8") + "skips:\n  - {stop: ravnholm}\n"
    short_scenario.write_text(text, encoding="utf-8")
    sim = build(load_scenario(short_scenario))
    truth = sim.truth()
    passes = {r["stop_id"]: r for r in truth if r["kind"] == "pass"}
    assert passes["ravnholm"]["reason"] == "skipped" and passes["ravnholm"]["speed"] > 5.0
    assert "ravnholm" not in {r["stop_id"] for r in truth if r["kind"] == "visit"}


def test_extra_dwell_is_in_the_truth_and_a_counterfactual_changes_only_it() -> None:
    """``delays`` extra dwell is recorded per visit (``extra_s``); ``simulate(extra=...)`` replaces it and
    leaves every other draw alone (the bench's oracle drives the same drive without holds to come)."""
    from sim_bus.scenario import RandomDelay
    sc = _scenario(seed=5)
    sc = dataclasses.replace(sc, delays=dataclasses.replace(sc.delays, fixed={"B": 40.0},
                                                            random=RandomDelay(1.0, 20.0, 90.0)))
    sc = dataclasses.replace(sc, motion=dataclasses.replace(sc.motion, hold_at="none"))
    plan = _plan([_stop("A", 0, 0), _stop("B", 2000, 1), _stop("C", 4000, 2), _stop("D", 5900, 3)])
    drawn = _visits(_run(sc, plan))
    assert float(drawn[1]["extra_s"]) >= 40.0  # type: ignore[arg-type]  # the fixed hold and a random one
    assert all(float(v["extra_s"]) > 0.0 for v in drawn)  # type: ignore[arg-type]  # probability 1
    same = _visits(simulate(sc, [plan], _nobody, extra=lambda i, d: d))
    assert same == drawn
    seen: list[int] = []
    without_c = _visits(simulate(sc, [plan], _nobody, extra=lambda i, d: seen.append(i) or (0.0 if i == 2 else d)))
    assert seen == [0, 1, 2, 3]  # one call per stop visit, in order
    assert without_c[:2] == drawn[:2]  # the same up to C
    assert without_c[2]["extra_s"] == 0.0
    c_dwell = float(drawn[2]["departure"]) - float(drawn[2]["arrival"])  # type: ignore[arg-type]
    c_without = float(without_c[2]["departure"]) - float(without_c[2]["arrival"])  # type: ignore[arg-type]
    assert c_dwell - c_without == pytest.approx(float(drawn[2]["extra_s"]), abs=0.2)  # type: ignore[arg-type]
    # later stops arrive earlier by that much, their own extra dwell unchanged
    assert without_c[3]["extra_s"] == drawn[3]["extra_s"]
    assert float(drawn[3]["arrival"]) - float(without_c[3]["arrival"]) == pytest.approx(c_dwell - c_without, abs=0.2)  # type: ignore[arg-type]
