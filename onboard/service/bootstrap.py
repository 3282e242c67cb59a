"""One place that builds trip following and its consumers (STYLE.md §5), for the service
(``onboard.service.unit``), ``python -m onboard replay`` (``onboard.service.replay``) and the benchmarks.

:func:`bootstrap` chooses the service day, the mode and the operator from a :class:`Setup`, builds the
:class:`~onboard.tripfollow.core.Core` and hands it to :func:`wire`, which adds the consumers in their
fixed order. Built once per run at the first input time, so the same inputs give the same records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from onboard.counting.occupancy import VehicleCapacity
from onboard.counting.passengers import CountingConfig, PassengerCounter
from onboard.records.punctuality import PunctualityRecorder
from onboard.tripfollow.core import Core, CoreConfig
from onboard.tripfollow.events import Consumer
from onboard.tripfollow.pipeline import Pipeline
from onboard.tripfollow.stops import FollowConfig
from transit.errors import ConfigError
from transit.timetable import Timetable
from transit.timeutil import service_day_origin, service_days_for

log = logging.getLogger(__name__)


@dataclass
class Setup:
    """What the replay needs from the configuration."""

    veh: str
    oper: str
    mode: str
    feed: Path
    operator: Any = None
    assignment_mode: str = "auto"  # auto | block | trips
    block: str | None = None
    trips: tuple[str, ...] = ()
    service_day: date | None = None
    halt_offset_m: float = 0.0
    counting: Any = None  # onboard.counting.passengers.CountingConfig
    capacity: Any = None  # onboard.counting.occupancy.VehicleCapacity
    base: Path = field(default_factory=Path)


def find_operator(feed: Path, route: str) -> Any:
    """The operator file (``data/operators/*.yaml`` beside the feed's folder) measuring ``route``."""
    from transit.operator import load_operator
    folder = feed.resolve().parent.parent / "operators"
    for p in sorted(folder.glob("*.yaml")):
        try:
            op = load_operator(p)
        except Exception as exc:  # noqa: BLE001 - a broken neighbour must not stop the replay
            log.warning("operator file %s unusable: %s", p, exc)
            continue
        if route in op.registration_stations and Path(op.feed).resolve() == feed.resolve():
            return op
    return None


def choose_day(tt: Timetable, trips: tuple[str, ...], t: float) -> date:
    """The service day on which the first assigned trip runs closest to the first input time."""
    now = datetime.fromtimestamp(t, UTC)
    best: tuple[float, date] | None = None
    for day in service_days_for(now, tt.tz):
        if trips and not tt.runs_on(trips[0], day):
            continue
        dep = service_day_origin(day, tt.tz).timestamp() + (tt.trip_start_s(trips[0]) if trips else 0)
        cand = (abs(dep - t), day)
        if best is None or cand < best:
            best = cand
    if best is None:
        raise ConfigError(f"assigned trip {trips[0] if trips else '?'} does not run around the recording's "
                          f"first time {now.isoformat()}")
    return best[1]


def check_assigned_trips(setup: Setup, tt: Timetable) -> None:
    """Every trip the configuration assigns must be in the loaded timetable with stop times; a trip a
    damaged feed lost (a bad byte in its row) is one clear configuration error, not a KeyError later."""
    for tid in setup.trips:
        why = None
        if tid not in tt.trips:
            why = "is not in the timetable"
        elif not tt.stop_times(tid):
            why = "has no stop times in the timetable"
        if why is not None:
            raise ConfigError(f"assigned trip {tid} {why} {setup.feed} (left out while loading: see the "
                              f"feed's errors above); the unit cannot follow it", key="assignment.trips")


def bootstrap(setup: Setup, tt: Timetable, t_first: float, *, with_counting: bool,
              vp_interval_s: float = 1.0) -> Pipeline:
    """The pipeline of one unit: trip following for the assigned trips (or auto-detection), then passenger
    counting (with door sensors) and punctuality (with an operator file) as consumers, in that order."""
    check_assigned_trips(setup, tt)
    trips = setup.trips
    if setup.assignment_mode == "block" and setup.block is not None:
        day = setup.service_day
        if day is None:
            for d in service_days_for(datetime.fromtimestamp(t_first, UTC), tt.tz):
                if tt.block_trips(setup.block, d):
                    day = d
                    break
        if day is None:
            raise ConfigError(f"block {setup.block} does not run around the recording's first time")
        trips = tuple(t.trip_id for t in tt.block_trips(setup.block, day))
    else:
        day = setup.service_day if setup.service_day is not None else (
            choose_day(tt, trips, t_first) if trips else None)
    mode = setup.mode
    if mode == "auto":
        # the mode follows the assigned line (GTFS route_type 3 is bus); a unit on auto detection says
        # what it is through its operator's policy
        if trips:
            mode = "bus" if tt.route_of(trips[0]).route_type == 3 else "train"
        else:
            pol = getattr(getattr(setup.operator, "punctuality", None), "policy", "rail")
            mode = "bus" if pol == "bus" else "train"
    op = setup.operator
    if op is None and trips:
        op = find_operator(setup.feed, tt.route_of(trips[0]).short_name)
    oper = setup.oper or (op.operator_id if op is not None else "unknown")
    cfg = CoreConfig(setup.veh, oper, mode, FollowConfig.for_mode(mode, halt_offset_m=setup.halt_offset_m),
                     vp_interval_s=vp_interval_s)
    pipe = wire(Core(cfg, timetable=tt), operator=op,
                counting=setup.counting if with_counting else None, capacity=setup.capacity)
    if trips and day is not None:
        pipe.core.assign_trips(trips, day)
    return pipe


def wire(core: Core, *, operator: Any = None, counting: CountingConfig | None = None,
         capacity: VehicleCapacity | None = None) -> Pipeline:
    """The consumers of ``core`` in their fixed order (records of a stop event: the event, then counting's,
    then punctuality's): passenger counting when doors are configured, punctuality when an operator
    file says how it is measured."""
    consumers: list[Consumer] = []
    if counting is not None:
        consumers.append(PassengerCounter(counting, capacity, veh=core.cfg.veh, oper=core.cfg.oper))
    if operator is not None:
        consumers.append(PunctualityRecorder(operator.punctuality, operator.is_registration_stop,
                                             veh=core.cfg.veh, oper=core.cfg.oper))
    return Pipeline(core, consumers)


__all__ = ["Setup", "bootstrap", "check_assigned_trips", "choose_day", "find_operator", "wire"]
