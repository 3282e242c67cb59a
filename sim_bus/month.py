"""A synthetic fleet month: the punctuality records a whole fleet would send for one calendar month of
an operator's timetable, for demonstrating and documenting the month report (``docs/reports.md``) with
realistic coverage — not a simulation of driving (``sim_bus record`` is that, one trip at a time).

Every trip the operator's feed runs on each day of the month, on a line with registration stations, gets
a vehicle (greedily from a pool per vehicle type, the earliest free one after a turnaround) and records
as a unit makes them (``transit.records.Punctuality.make``, the fields of ``onboard.records.punctuality``):
the measured registrations, the origin departure for information (``counted: false``), ``missing``
records with the unit's reason. The delay model, all from one seeded generator (same seed, same month):

- a trip leaves with an exponential delay (mean ``mean_delay_s``, a little early sometimes) that drifts
  from station to station (normal, mean +5 s, sd 25 s);
- ``disruptions`` times a month one line has a two-and-a-half-hour disruption (signal fault): its trips
  run 10-40 min late, one of them more than an hour;
- ``cancelled_pct`` of trips are reported not driven; ``not_observed_pct`` of registrations have no
  position before the stop; ``lost_pct`` of registrations never reach the office; on one day one unit's
  records are lost altogether (a unit that never came back online).

Output: one JSON Lines log per vehicle, as a unit's ``events.jsonl`` (``unit-<veh>.jsonl``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from transit.operator import Operator
from transit.records import ENCODER, Punctuality, TripRef
from transit.timetable import StopTime, Timetable, Trip
from transit.timeutil import iso_utc_ms, service_day_origin

#: vehicle numbers per type (Lokaltog: 25 Coradia Lint 41, 4 Regiosprinter); other types get 5001...
VEHICLE_POOLS = {"lint41": (2051, 25), "regiosprinter": (4001, 4)}
TURNAROUND_S = 240


@dataclass(frozen=True)
class MonthModel:
    seed: int = 2611
    mean_delay_s: float = 45.0
    disruptions: int = 2
    cancelled_pct: float = 0.3
    not_observed_pct: float = 0.8
    lost_pct: float = 1.0


@dataclass
class MonthCounts:
    trips: int = 0
    records: int = 0
    measured: int = 0  # counted registrations (the policy's moment) in the logs
    late: int = 0
    not_observed: int = 0
    cancelled_trips: int = 0
    lost: int = 0  # counted registrations that never reached the logs
    vehicles: int = 0


def _served(tt: Timetable, trip_id: str) -> list[StopTime]:
    return [s for s in tt.stop_times(trip_id) if not (s.pickup_type == 1 and s.drop_off_type == 1)]


class _Fleet:
    """Vehicles per type, each busy until the end of its last trip (plus a turnaround)."""

    def __init__(self, op: Operator) -> None:
        self.op = op
        self.busy: dict[str, dict[str, int]] = defaultdict(dict)
        self.next_other = 5001

    def vehicle(self, line: str, start_s: int, end_s: int) -> str:
        kind = self.op.line_vehicle_types.get(line, "other")
        pool = self.busy[kind]
        if not pool:
            first, n = VEHICLE_POOLS.get(kind, (self.next_other, 5))
            if kind not in VEHICLE_POOLS:
                self.next_other += 100
            pool.update({str(first + i): -10**9 for i in range(n)})
        free = [v for v, until in pool.items() if until + TURNAROUND_S <= start_s]
        veh = free[0] if free else min(pool, key=lambda v: pool[v])  # none free: the one free soonest
        pool[veh] = end_s
        return veh


def synthetic_month(tt: Timetable, op: Operator, first: date, last: date,
                    model: MonthModel = MonthModel()) -> tuple[dict[str, list[Punctuality]], MonthCounts]:
    """Records per vehicle for the days ``first``..``last`` (see the module docstring)."""
    rng = random.Random(model.seed)
    pol = op.punctuality
    lines = set(op.registration_stations)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    disrupted: dict[tuple[date, str], tuple[int, int]] = {}
    for _ in range(model.disruptions):
        day, line = rng.choice(days), rng.choice(sorted(lines))
        start = rng.randrange(7 * 3600, 17 * 3600, 900)
        disrupted[(day, line)] = (start, start + 9000)
    lost_day = (rng.choice(days), rng.randrange(4))  # the k-th vehicle of that day loses its records
    out: dict[str, list[Punctuality]] = defaultdict(list)
    c = MonthCounts()
    for day in days:
        origin = service_day_origin(day, tt.tz)
        fleet = _Fleet(op)
        trips: list[tuple[int, Trip, str, list[StopTime]]] = []
        for trip in tt.trips_on(day):
            line = tt.routes[trip.route_id].short_name or tt.routes[trip.route_id].long_name
            sts = _served(tt, trip.trip_id)
            if line in lines and len(sts) >= 2:
                trips.append((sts[0].departure_s, trip, line, sts))
        trips.sort(key=lambda x: (x[0], x[1].trip_id))
        day_vehs: list[str] = []
        day_recs: dict[str, list[Punctuality]] = defaultdict(list)
        for start_s, trip, line, sts in trips:
            veh = fleet.vehicle(line, start_s, sts[-1].arrival_s)
            if veh not in day_vehs:
                day_vehs.append(veh)
            c.trips += 1
            ref = TripRef(trip.trip_id, day.isoformat(), line, trip.direction_id or 0,
                          f"{start_s // 3600:02d}:{start_s % 3600 // 60:02d}")
            cancelled = rng.random() * 100 < model.cancelled_pct
            c.cancelled_trips += cancelled
            delay = rng.expovariate(1 / model.mean_delay_s) - 15.0
            window = disrupted.get((day, line))
            if window is not None and window[0] <= start_s < window[1]:
                delay += rng.uniform(600, 2400) if rng.random() > 0.1 else rng.uniform(3700, 4500)
            for k, st in enumerate(sts):
                station = tt.station_of(st.stop_id)
                if not op.is_registration_stop(line, st.stop_id, station):
                    continue
                station = station if station in op.registration_stops(line) else st.stop_id
                if k == 0 and pol.measure_on == "arrival" or k == len(sts) - 1 and pol.measure_on == "departure":
                    measured = "departure" if k == 0 else "arrival"
                else:
                    measured = pol.measure_on
                counted = measured == pol.measure_on
                sched = origin + timedelta(seconds=st.arrival_s if measured == "arrival" else st.departure_s)
                if k > 0:
                    delay = max(-60.0, delay + rng.gauss(5.0, 25.0))
                common: dict[str, Any] = dict(
                    veh=veh, oper=op.operator_id, trip=ref, stop_id=st.stop_id, seq=st.stop_sequence, station=station,
                    station_name=tt.stop_name(station), measured=measured, counted=counted, sched=iso_utc_ms(sched),
                    policy=pol.policy)
                x = rng.random() * 100
                if cancelled or x < model.not_observed_pct:
                    reason = "trip not driven (cancelled)" if cancelled else "not observed: no position before the stop"
                    rec = Punctuality.make(_at(origin, sts[-1].arrival_s), loc="N/A", status="missing",
                                      actual=None, dl=None, late=None, reason=reason, **common)
                elif x < model.not_observed_pct + model.lost_pct:
                    c.lost += counted
                    continue
                else:
                    dl = round(delay, 1)
                    actual = sched + timedelta(seconds=dl)
                    rec = Punctuality.make(actual, loc="GPS", status="measured", actual=iso_utc_ms(actual),
                                      dl=dl, late=pol.is_late(dl), early=pol.is_early(dl),
                                      punctual=pol.is_punctual(dl), rejsegaranti=pol.rejsegaranti(dl),
                                      replacement=dl > pol.replacement_transport_min * 60, **common)
                day_recs[veh].append(rec)
        for k, veh in enumerate(day_vehs):
            if (day, k) == lost_day:
                c.lost += sum(1 for r in day_recs[veh] if r.counted)
                continue
            out[veh] += day_recs[veh]
    for recs in out.values():
        recs.sort(key=lambda r: (r.tst, r.id))
        c.records += len(recs)
        for r in recs:
            if r.counted:
                c.measured += r.status == "measured"
                c.late += bool(r.late)
                c.not_observed += r.status == "missing" and "cancelled" not in str(r.reason)
    c.vehicles = len(out)
    return dict(out), c


def _at(origin: datetime, seconds: int) -> datetime:
    return origin + timedelta(seconds=seconds)


def write_logs(records: dict[str, list[Punctuality]], out_dir: Path) -> list[Path]:
    """One ``unit-<veh>.jsonl`` per vehicle, as a unit writes its events log."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for veh in sorted(records):
        p = out_dir / f"unit-{veh}.jsonl"
        with open(p, "wb") as fh:
            fh.writelines(ENCODER.encode(r) + b"\n" for r in records[veh])
        paths.append(p)
    return paths


__all__ = ["MonthCounts", "MonthModel", "synthetic_month", "write_logs"]
