"""Passenger counting accuracy against the simulator's ground truth (issue 6).

Whole trips go through the real pipeline: ``sim_bus.passengers.simulate_stop`` makes beam edges with
groups, back-to-back crossings, turn-backs, lingering, bulky objects, wide doors, bounce and glitches;
CAN door states gate; stop events attribute; ``onboard.counting.passengers.PassengerCounter`` produces the
records that are compared with the truth. Every trip draws its own random profile
(``PassengerProfile.varied``), so the counter cannot be tuned to one parameter set.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from bench.registry import Metric, at_least, at_most, benchmark
from hw.can.state import DoorState, VehicleState
from onboard.counting.occupancy import VehicleCapacity
from onboard.counting.passengers import CountingConfig, DoorConfig, PassengerCounter
from onboard.tripfollow.events import StopEvent
from sim_bus.passengers import DoorSpec, PassengerProfile, simulate_stop
from transit.records import Apc, ArrivalStopped, Departure, Occupancy, Record, TripRef

MIN_CROSSINGS = 20000
DOORS = (DoorSpec(1, ((2, 3),)), DoorSpec(2, ((4, 5), (6, 7))), DoorSpec(3, ((8, 9),)))
# Vehicle layouts: a city bus (front door + wide middle + rear), a small bus, a railcar with two wide doors.
LAYOUTS: dict[str, tuple[DoorSpec, ...]] = {
    "bus3": DOORS,
    "bus2": (DoorSpec(1, ((2, 3),)), DoorSpec(2, ((4, 5),))),
    "lint41": (DoorSpec(1, ((2, 3), (4, 5))), DoorSpec(2, ((6, 7), (8, 9)))),
}


def _stop_rec(event: str, t: float, trip: str, seq: int, start: str) -> StopEvent:
    """A stop event as trip following emits it (the record, its time; no plan: counting needs none)."""
    kind = ArrivalStopped if event == "ars" else Departure
    rec = kind.make(t, veh="bench", oper="bench", trip=TripRef(trip, date(2026, 11, 23).isoformat(), "920R", 0, start),
                    stop_id=f"S{seq}", seq=seq, loc="GPS", odo=None, drst=0)
    return StopEvent(rec, t)


def simulate_trip(rng: random.Random, t0: float, trip: str, n_stops: int,
                  doors: tuple[DoorSpec, ...] = DOORS) -> tuple[list[tuple[float, int, Any]], list[dict[str, Any]]]:
    """Inputs for one trip in time order: (t, order, item) with item an edge, a VehicleState or a stop
    event record; plus the truth crossings."""
    prof = PassengerProfile.varied(rng)
    inputs: list[tuple[float, int, Any]] = []
    truth: list[dict[str, Any]] = []
    load = 0
    t = t0
    for seq in range(1, n_stops + 1):
        last = seq == n_stops
        alight = load if last else rng.randint(0, load)
        board = 0 if last else rng.randint(0, 30)
        load += board - alight
        inputs.append((t, 0, _stop_rec("ars", t, trip, seq, "07:30")))
        t_open = t + 1.5
        inputs.append((t_open, 1, VehicleState(datetime.fromtimestamp(t_open, UTC),
                                               doors=tuple(DoorState(d.index, True, True) for d in doors))))
        sp = simulate_stop(rng, t_open=t_open, doors=doors, boardings=board, alightings=alight, profile=prof)
        for e in sp.edges:
            inputs.append((e[0], 2, e))
        truth.extend(r for r in sp.truth if r["kind"] == "crossing")
        t_close = sp.t_done + rng.uniform(0.5, 2.0)
        inputs.append((t_close, 1, VehicleState(datetime.fromtimestamp(t_close, UTC),
                                                doors=tuple(DoorState(d.index, False, False) for d in doors))))
        if not last:
            inputs.append((t_close + 2.0, 0, _stop_rec("dep", t_close + 2.0, trip, seq, "07:30")))
        t = t_close + rng.uniform(40, 120)
    inputs.sort(key=lambda x: (x[0], x[1]))
    return inputs, truth


def feed(counter: PassengerCounter, inputs: list[tuple[float, int, Any]]) -> list[Record]:
    out: list[Record] = []
    for _t, kind, item in inputs:
        if kind == 2:
            out += counter.on_edge(item[0], item[1], item[2])
        elif kind == 1:
            out += counter.on_vehicle_state(item)
        else:
            out += counter.on_event(item)
    return out


def run(seed: int = 457, min_crossings: int = MIN_CROSSINGS) -> dict[str, Any]:
    rng = random.Random(seed)
    cap = VehicleCapacity(seats=60, folding_seats=8, approved=140)
    counters = {name: PassengerCounter(CountingConfig(tuple(DoorConfig(d.index, d.beams, "can") for d in doors)),
                                       cap, veh=name, oper="bench") for name, doors in LAYOUTS.items()}
    names = sorted(LAYOUTS)
    true_c: Counter[tuple[str, str]] = Counter()
    got_c: Counter[tuple[str, str]] = Counter()
    cls_true: Counter[str] = Counter()
    cls_got: Counter[str] = Counter()
    records: list[Record] = []
    t = 1_795_000_000.0
    n_true = 0
    trip_no = 0
    while n_true < min_crossings:
        trip_no += 1
        veh = names[trip_no % len(names)]
        inputs, truth = simulate_trip(rng, t, f"T{trip_no}", rng.randint(6, 14), LAYOUTS[veh])
        records += feed(counters[veh], inputs)
        for tr in truth:
            true_c[(f"{veh}:{tr['door']}", tr["direction"])] += 1
            cls_true[tr["class"]] += 1
        n_true += len(truth)
        t = inputs[-1][0] + 600.0
    diag: Counter[str] = Counter()
    for c in counters.values():
        records += c.finish()
        diag.update(c.diagnostics())
    for r in records:
        if isinstance(r, Apc):
            got_c[(f"{r.veh}:{r.door}", "in")] += r.in_
            got_c[(f"{r.veh}:{r.door}", "out")] += r.out
            cls_got[r.class_] += r.in_ + r.out
    acc = {f"{d}/{k}": 1 - abs(got_c[(d, k)] - true_c[(d, k)]) / true_c[(d, k)] for d, k in true_c}
    total_true = sum(true_c.values())
    total_got = sum(got_c.values())
    occ = [r for r in records if isinstance(r, Occupancy)]
    return {"acc": acc, "bias_pct": 100.0 * (total_got - total_true) / total_true, "n_true": total_true,
            "n_got": total_got, "trips": trip_no, "load_negative": sum(1 for r in occ if r.vehicleload < 0),
            "residuals": [r.residual for r in occ if r.terminus is True and isinstance(r.residual, int)],
            "cls_true": dict(cls_true), "cls_got": dict(cls_got), "diag": dict(diag)}


@benchmark("apc")
def bench_apc() -> list[Metric]:
    r = run()
    worst_key = min(r["acc"], key=r["acc"].get)
    bias = r["bias_pct"]
    resid = [x for x in r["residuals"] if x is not None]
    return [
        at_least("apc_accuracy_min_door", round(r["acc"][worst_key], 5), 0.99, "ratio", worst=worst_key,
                 per_door={k: round(v, 5) for k, v in sorted(r["acc"].items())}, crossings=r["n_true"],
                 trips=r["trips"]),
        Metric("apc_bias_pct", round(bias, 3), "%", "within ±1.0", abs(bias) <= 1.0,
               {"counted": r["n_got"], "true": r["n_true"]}),
        at_most("load_negative_events", r["load_negative"], 0, "records",
                clamp_events=r["diag"]["clamp_events"],
                mean_abs_terminus_residual=round(sum(abs(x) for x in resid) / max(1, len(resid)), 2),
                class_true=r["cls_true"], class_counted=r["cls_got"],
                turnbacks_rejected=r["diag"].get("turnbacks"), merged_twins=r["diag"].get("merged")),
    ]
