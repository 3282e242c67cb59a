"""Scenario → plans → motion → sensor outputs and ground truth, shared by ``record`` and ``live``.

Everything here is computed from the scenario and its seed only (no clock, no I/O besides reading the
scenario's GTFS feed), so a recording and a live run of the same seed carry the same data.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sim_bus import canbus
from sim_bus.gnss import NmeaOutput, generate_nmea
from sim_bus.motion import MotionResult, simulate
from sim_bus.paxlink import passenger_fn
from sim_bus.plan import TripPlan, build_plans
from sim_bus.scenario import Scenario
from transit.errors import FeedError, ScenarioError
from transit.timetable import Timetable

log = logging.getLogger(__name__)

#: Stages reported to a progress callback: (stage name, fraction of the whole build done).
ProgressFn = Callable[[str, float], None]


@dataclass
class Simulation:
    scenario: Scenario
    timetable: Timetable
    plans: list[TripPlan]
    motion: MotionResult
    nmea: NmeaOutput

    @property
    def t_start(self) -> float:
        return self.motion.t_start

    @property
    def t_end(self) -> float:
        return self.motion.t_end

    def can_frames(self) -> Iterator[canbus.Frame]:
        """CAN frames in time order, generated lazily (about 350 per simulated second)."""
        return canbus.frames(self.motion, self.scenario.can, self.scenario.vehicle, self.scenario.seed)

    @property
    def gpio(self) -> list[tuple[float, int, int]]:
        return self.motion.gpio

    def truth(self) -> list[dict[str, Any]]:
        """Every ground-truth record, a header first, then by time (stable for equal times)."""
        sc = self.scenario
        header: dict[str, Any] = {
            "kind": "scenario", "name": sc.name, "seed": sc.seed,
            "service_day": sc.service_day.isoformat(), "trips": [p.trip_id for p in self.plans],
            "vehicle": sc.vehicle.id, "start": round(self.t_start, 3), "end": round(self.t_end, 3),
            "doors": [{"index": d.index, "beams": [list(b) for b in d.beams]} for d in sc.vehicle.doors],
        }
        doors = [{"kind": "door", "door": c.door, "released": round(c.enabled, 3), "t": round(c.opened, 3),
                  "closing": round(c.closing, 3), "closed": round(c.closed, 3)} for c in self.motion.doors]
        recs = list(self.motion.truth) + list(self.nmea.truth) + doors
        recs.sort(key=_truth_time)
        return [header, *recs]


def _truth_time(r: dict[str, Any]) -> float:
    for k in ("arrival", "start", "t"):
        v = r.get(k)
        if isinstance(v, int | float):
            return float(v)
    return 0.0


def load_timetable(sc: Scenario) -> Timetable:
    try:
        return Timetable.load(sc.feed)
    except FeedError as exc:
        raise ScenarioError(f"GTFS feed {sc.feed} is unusable: {exc}", file=sc.file,
                            line=sc.node("feed").line, key="feed") from None


def build(sc: Scenario, *, seed: int | None = None, progress: ProgressFn | None = None,
          timetable: Timetable | None = None) -> Simulation:
    """Run the whole model for a scenario (``seed`` overrides the scenario's)."""
    if seed is not None:
        sc = dataclasses.replace(sc, seed=seed)
    say = progress or (lambda _stage, _frac: None)
    say("timetable", 0.0)
    tt = timetable if timetable is not None else load_timetable(sc)
    plans = build_plans(sc, tt)
    _check_refs(sc, tt, plans)
    say("motion", 0.2)
    motion = simulate(sc, plans, passenger_fn(sc))
    say("gnss", 0.5)
    stop_pos = {sid: (s.lat, s.lon) for sid, s in tt.stops.items() if s.lat is not None and s.lon is not None}
    nmea = generate_nmea(motion, sc.gnss, sc.vehicle, sc.seed, stop_pos)
    say("done", 1.0)
    log.info("simulated %s: %d trip(s), %.0f s, %d NMEA lines, %d GPIO edges", sc.name, len(plans),
             motion.t_end - motion.t_start, len(nmea.lines), len(motion.gpio))
    return Simulation(sc, tt, plans, motion, nmea)


def _check_refs(sc: Scenario, tt: Timetable, plans: list[TripPlan]) -> None:
    """Stop ids the scenario names must exist (a typo would silently do nothing)."""
    served = {s.stop_id for p in plans for s in p.stops}
    for i, sig in enumerate(sc.signal_stops):
        if sig.before not in served:
            node = sc.node("signal_stops")
            n = node.as_list()[i] if isinstance(node.value, list) else node
            raise n.error(f"stop '{sig.before}' is not on the simulated trip(s)")
    for i, k in enumerate(sc.skips):
        if k.stop not in served:
            node = sc.node("skips")
            n = node.as_list()[i] if isinstance(node.value, list) else node
            raise n.error(f"stop '{k.stop}' is not on the simulated trip(s)")
    for path, ids in ((("delays", "fixed"), sc.delays.fixed), (("passengers", "stops"), sc.passengers.stops)):
        for sid in ids:
            if sid not in tt.stops:
                node = sc.node(*path)
                raise (node.opt(sid) or node).error(f"unknown stop_id '{sid}'")
    for i, z in enumerate(sc.gnss.outages):
        if z.stop_id is not None and z.stop_id not in tt.stops:
            node = sc.node("gnss", "outages")
            n = node.as_list()[i] if isinstance(node.value, list) else node
            raise n.error(f"unknown stop_id '{z.stop_id}'")
