"""A turn-back at the same platform: the arriving trip's alightings and the departing trip's boardings
share one standstill, whatever order the stop events arrive in."""

from __future__ import annotations

from typing import Any

import pytest

from onboard.counting.occupancy import VehicleCapacity
from onboard.counting.passengers import CountingConfig, DoorConfig, PassengerCounter
from tests.typed import typed
from transit.timeutil import from_epoch, iso_utc_ms

T0 = 1_795_400_000.0


def _ev(event: str, t: float, trip: str, seq: int, stop: str) -> Any:
    return typed({"event": event, "tst": iso_utc_ms(from_epoch(t)), "trip_id": trip, "seq": seq, "stop_id": stop,
            "oday": "2026-11-23", "start": "07:40" if trip == "B" else "07:15", "route": "910", "dir": 0})


def _run(mode: str) -> dict[tuple[str, int], tuple[int, int]]:
    cfg = CountingConfig((DoorConfig(1, ((1, 2),), gate="none"),))
    c = PassengerCounter(cfg, VehicleCapacity(100, 0, 200), veh="v", oper="o")
    recs: list[dict[str, Any]] = []
    recs += c.on_stop_event(_ev("ars", T0, "A", 1, "jaegersborg"))
    recs += c.on_crossing(T0 + 5, 1, "in", n=10)
    recs += c.on_stop_event(_ev("dep", T0 + 30, "A", 1, "jaegersborg"))
    recs += c.on_stop_event(_ev("ars", T0 + 600, "A", 2, "naerum"))
    if mode == "ars-at-arrival":  # the next trip's first stop is announced at the same standstill
        recs += c.on_stop_event(_ev("ars", T0 + 600, "B", 1, "naerum"))
    recs += c.on_crossing(T0 + 605, 1, "out", n=10)
    if mode == "ars-before-boarding":
        recs += c.on_stop_event(_ev("ars", T0 + 890, "B", 1, "naerum"))
    recs += c.on_crossing(T0 + 900, 1, "in", n=7)
    # mode "dep-only": the next trip is first seen when it leaves
    recs += c.on_stop_event(_ev("dep", T0 + 960, "B", 1, "naerum"))
    recs += c.finish(T0 + 1000)
    got: dict[tuple[str, int], tuple[int, int]] = {}
    for r in recs:
        if r.event == "apc":
            i, o = got.get((r.trip_id, r.seq), (0, 0))
            got[(r.trip_id, r.seq)] = (i + r.in_, o + r.out)
        if r.event == "occupancy":
            assert r.vehicleload >= 0
    return got


@pytest.mark.parametrize("mode", ["ars-at-arrival", "ars-before-boarding", "dep-only"])
def test_turnback_splits_alightings_and_boardings(mode: str) -> None:
    got = _run(mode)
    assert got[("A", 1)] == (10, 0)
    assert got[("A", 2)] == (0, 10)  # alightings belong to the arriving trip's terminus
    assert got[("B", 1)] == (7, 0)  # boardings to the departing trip's first stop
