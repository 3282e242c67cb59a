"""The bench's ETA oracle (``bench.bench_eta.oracle``): at any moment it knows every hold that has begun
and none still to come."""

from __future__ import annotations

import logging

import pytest

from bench.bench_eta import DriveSpec, build_drive, oracle
from sim_bus.motion import simulate
from sim_bus.paxlink import passenger_fn
from sim_bus.plan import build_plans


def test_the_oracle_knows_the_holds_that_have_begun_and_none_to_come() -> None:
    logging.getLogger("hw").setLevel(logging.ERROR)
    sc, tt, _ = build_drive(DriveSpec("910-rush.yaml", 4242, 1.1, 0))  # round 0: with a long hold
    truth = simulate(sc, build_plans(sc, tt), passenger_fn(sc)).truth
    visits = [r for r in truth if r.get("kind") == "visit"]
    held = [v for v in visits if v["extra_s"] > 0 and v["departure"] is not None]
    assert held, "the drive has holds"
    knows = oracle(sc, tt, truth)
    true = {(v["trip_id"], v["stop_id"]): v["departure"] for v in visits if v["departure"] is not None}
    assert knows(visits[-1]["arrival"]) == true  # everything has happened
    # a moment before the first hold begins: no departure after it is as late as it truly was
    first = min(held, key=lambda v: v["arrival"])
    before = knows(first["arrival"] - 1.0)
    later = [k for k, v in true.items() if v >= first["departure"]]
    assert all(before[k] <= true[k] + 1e-6 for k in true)
    assert before[(first["trip_id"], first["stop_id"])] < true[(first["trip_id"], first["stop_id"])] - 0.5 * first["extra_s"]
    assert sum(before[k] < true[k] - 1.0 for k in later) >= 1
    # departures before that moment are what they were
    assert all(before[k] == pytest.approx(v) for k, v in true.items() if v < first["arrival"] - 1.0)
