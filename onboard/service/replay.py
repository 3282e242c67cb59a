"""Replay recorded inputs through the onboard core (``python -m onboard replay``).

Reads ``gnss.nmea``, a candump ``-l`` CAN log and optionally ``gpio.csv`` (the formats of
``sim_bus record``), merges them by their own timestamps and feeds :class:`onboard.tripfollow.Core`
exactly as the live service does. Deterministic: same inputs, same records, same ids.

The unit configuration is ``onboard.yaml`` as :class:`onboard.service.config.OnboardConfig` reads it; the file
``sim_bus record`` writes next to a recording has its own keys (vehicle dimensions, the service day of
the assignment), so :func:`load_setup` reads that shape too (an adapter until the two agree).
"""

from __future__ import annotations

import csv
import heapq
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hw.can.replay import CAN_ERR_FLAG, parse_candump_line
from hw.can.state import VehicleState
from hw.can.tracker import VehicleTracker
from hw.gnss.fix import Fix
from hw.gnss.stream import NmeaStream
from onboard.tripfollow.core import Core, CoreConfig
from onboard.tripfollow.stops import FollowConfig
from transit.errors import ConfigError
from transit.ratelimit import RateLimitedLog
from transit.timesanity import TimeSanity
from transit.timetable import Timetable
from transit.timeutil import service_day_origin, service_days_for
from transit.yamlconf import Node, load_yaml

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


def load_setup(path: str | Path, operator_path: str | Path | None = None) -> Setup:
    """``onboard.yaml`` (unit format, or the one ``sim_bus record`` writes) → :class:`Setup`."""
    root = load_yaml(path)
    base = Path(path).resolve().parent
    if root.opt("timetable") is not None:
        return _sim_setup(root, base, operator_path)
    from onboard.service.config import OnboardConfig

    cfg = OnboardConfig.from_node(root)
    op = cfg.operator
    if operator_path is not None:
        op = _load_operator(Path(operator_path))
    capacity = None
    vt = cfg.vehicle.vehicle_type
    if vt is not None:
        from onboard.counting.occupancy import VehicleCapacity
        capacity = VehicleCapacity(vt.seats, vt.folding_seats, vt.approved_capacity, vt.name)
    a = cfg.assignment
    return Setup(cfg.vehicle_id, op.operator_id, cfg.mode, cfg.feed, op, a.mode, a.block, a.trips,
                 getattr(a, "service_day", None), 0.0, cfg.counting, capacity, base)


def _sim_setup(root: Node, base: Path, operator_path: str | Path | None) -> Setup:
    unit = root.child("unit")
    veh = unit.child("vehicle").as_str()
    mode = unit.opt("mode")
    mode_s = "train" if mode is None else mode.choice(("train", "bus"))
    feed = Path(root.child("timetable").child("gtfs").as_str())
    if not feed.is_absolute():
        feed = base / feed
    vehicle = root.child("vehicle")
    length = vehicle.get_float("length_m", 12.0 if mode_s == "bus" else 40.0)
    antenna = vehicle.get_float("antenna_offset_m", 0.0)
    # a bus halts with its front at the pole, a train with its middle at the platform centre; the antenna
    # sits antenna_offset_m ahead of the middle
    halt = antenna - length / 2 if mode_s == "bus" else antenna
    a = root.opt("assignment")
    trips: tuple[str, ...] = ()
    block = None
    day = None
    amode = "auto"
    if a is not None and a.is_map():
        if a.opt("trips") is not None and a.child("trips").value:
            trips = tuple(n.as_str() for n in a.child("trips").as_list())
            amode = "trips"
        b = a.opt("block")
        if b is not None and b.value is not None:
            block, amode = b.as_str(), "block"
        d = a.opt("service_day")
        if d is not None:
            day = date.fromisoformat(str(d.value))
    op_node = root.opt("operator")
    op = None
    if operator_path is not None:
        op = _load_operator(Path(operator_path))
    elif op_node is not None and op_node.value:
        p = Path(op_node.as_str())
        op = _load_operator(p if p.is_absolute() else base / p)
    counting = capacity = None
    doors = vehicle.opt("doors")
    if doors is not None:
        from onboard.counting.occupancy import VehicleCapacity
        from onboard.counting.passengers import CountingConfig, DoorConfig
        ds = []
        for d in doors.as_list():
            beams = tuple((int(p[0]), int(p[1])) for p in d.child("beams").plain())
            ds.append(DoorConfig(d.child("index").as_int(), beams))
        counting = CountingConfig(tuple(ds))
        capacity = VehicleCapacity(vehicle.get_int("seats", 0), vehicle.get_int("folding_seats", 0),
                                   vehicle.get_int("capacity", 0) or None, vehicle.get_str("type", ""))
    return Setup(veh, "", mode_s, feed, op, amode, block, trips, day, halt, counting, capacity, base)


def _load_operator(path: Path) -> Any:
    from transit.operator import load_operator
    return load_operator(path)


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


# -- inputs ----------------------------------------------------------------------------------------------
def read_fixes(path: Path, chunk: int = 1 << 16) -> Iterator[Fix]:
    stream = NmeaStream()
    with open(path, "rb") as fh:
        while True:
            data = fh.read(chunk)
            if not data:
                break
            yield from stream.feed(data)
    yield from stream.flush()
    st = stream.stats
    log.info("NMEA %s: %s", path, {k: v for k, v in st.as_dict().items() if v})


class CanInput:
    """CAN log → vehicle states. Lines whose identifier is not a PGN the tracker decodes are skipped
    before python-can parses them (a Bus-FMS bus carries many other PGNs; parsing all is slow)."""

    def __init__(self, path: Path, doors: int | None = None) -> None:
        self.path = path
        self.tracker = VehicleTracker(doors=doors)
        self.lines = 0
        self.bad_lines = 0
        self._wanted: dict[str, bool] = {}

    def _want(self, ident: str) -> bool:
        w = self._wanted.get(ident)
        if w is None:
            try:
                cid = int(ident, 16)
            except ValueError:
                w = True  # let the parser count it as bad
            else:
                w = len(ident) != 8 or bool(cid & CAN_ERR_FLAG) or \
                    self.tracker.decoder.message_for(cid & 0x1FFFFFFF) is not None
            if len(self._wanted) < 4096:
                self._wanted[ident] = w
        return w

    def states(self) -> Iterator[tuple[VehicleState, bool]]:
        """(state, carried a new wheel speed) per decoded frame."""
        warn = RateLimitedLog(log).warn  # paced by count (1st, 10th, 100th ...): no clock in replay
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                self.lines += 1
                parts = line.split(None, 3)
                if len(parts) == 3:
                    ident = parts[2].partition("#")[0]
                    if not self._want(ident):
                        continue
                try:
                    msg = parse_candump_line(line)
                except ValueError as exc:
                    self.bad_lines += 1
                    warn("bad_line", "%s:%d: bad candump line (%s); skipped (%d so far)", self.path,
                         self.lines, exc, self.bad_lines)
                    continue
                if msg is None:
                    continue
                st = self.tracker.feed(msg)
                if st is not None:
                    seen = self.tracker.last_seen("CCVS1")
                    yield st, seen is not None and seen == st.t


def read_gpio(path: Path) -> Iterator[tuple[float, int, int]]:
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, row in enumerate(csv.reader(fh), 1):
            if not row or row[0].strip() in ("t", "") or row[0].startswith("#"):
                continue
            try:
                t, pin, level = float(row[0]), int(row[1]), int(row[2])
            except (ValueError, IndexError):
                bad += 1
                if bad & (bad - 1) == 0:
                    log.warning("%s:%d: bad GPIO row %r; skipped (%d so far)", path, n, row[:3], bad)
                continue
            yield t, pin, level


# -- the run ---------------------------------------------------------------------------------------------
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


def build_core(setup: Setup, tt: Timetable, t_first: float, *, with_counting: bool,
               vp_interval_s: float = 1.0) -> Core:
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
    counter = None
    if with_counting and setup.counting is not None:
        from onboard.counting.passengers import PassengerCounter
        counter = PassengerCounter(setup.counting, setup.capacity, veh=setup.veh, oper=oper)
    cfg = CoreConfig(setup.veh, oper, mode, FollowConfig.for_mode(mode, halt_offset_m=setup.halt_offset_m),
                     vp_interval_s=vp_interval_s)
    core = Core(cfg, timetable=tt, operator=op, counter=counter)
    if trips and day is not None:
        core.assign_trips(trips, day)
    return core


def replay(setup: Setup, nmea: Path, can_log: Path | None, gpio: Path | None,
           emit: Callable[[dict[str, Any]], None], *, vp_interval_s: float = 1.0,
           progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Run the core over the recorded inputs; ``emit`` gets every record in order. Returns diagnostics."""
    tt = Timetable.load(setup.feed)
    can_in = CanInput(can_log) if can_log is not None else None
    sanity: TimeSanity[Fix] = TimeSanity()
    streams: list[Iterator[tuple[float, int, str, Any]]] = [
        ((t, 1, "fix", f) for t, f in sane_times(read_fixes(nmea), sanity))]
    if can_in is not None:
        streams.append(((st.t.timestamp(), 0, "can", (st, sp)) for st, sp in can_in.states()))
    if gpio is not None:
        streams.append(((t, 2, "gpio", (pin, lvl)) for t, pin, lvl in read_gpio(gpio)))
    merged = heapq.merge(*streams, key=lambda x: (x[0], x[1]))
    core: Core | None = None
    pending: list[tuple[float, int, str, Any]] = []
    n = 0
    for item in merged:
        if core is None:
            core = build_core(setup, tt, item[0], with_counting=gpio is not None, vp_interval_s=vp_interval_s)
            pending.append(item)
            for it in pending:
                _feed(core, it, emit)
            pending.clear()
            continue
        _feed(core, item, emit)
        n += 1
        if progress is not None and n % 5000 == 0:
            progress(item[0])
    if core is None:
        log.warning("no input at all: nothing replayed")
        return {}
    for rec in core.finish():
        emit(rec)
    diag: dict[str, Any] = dict(core.diagnostics)
    if sanity.quarantined or sanity.steps:
        diag.update(time_quarantined=sanity.quarantined, time_steps=sanity.steps)
    if can_in is not None:
        diag["can_lines"] = can_in.lines
        diag["can_bad_lines"] = can_in.bad_lines
        diag.update({f"can_{k}": v for k, v in can_in.tracker.stats().items() if v})
    return diag


def sane_times(fixes: Iterable[Fix], sanity: TimeSanity[Fix]) -> Iterator[tuple[float, Fix]]:
    """The fixes whose times the filter believes, in time order (a quarantined epoch never reaches the
    core; held ones come out when confirmed, so the merge with CAN and GPIO stays in time order)."""
    for f in fixes:
        yield from sanity.offer(f.time.timestamp(), f).items
    yield from sanity.flush().items
    if sanity.quarantined:
        log.warning("%d GNSS epoch(s) with a time far from the rest quarantined (not used)", sanity.quarantined)


def _feed(core: Core, item: tuple[float, int, str, Any], emit: Callable[[dict[str, Any]], None]) -> None:
    _t, _p, kind, obj = item
    if kind == "fix":
        recs = core.on_fix(obj)
    elif kind == "can":
        st, sp = obj
        recs = core.on_vehicle(st, speed_sample=sp)
    else:
        recs = core.on_edge(_t, obj[0], obj[1])
    for r in recs:
        emit(r)


__all__ = ["CanInput", "Setup", "build_core", "find_operator", "load_setup", "read_fixes", "read_gpio", "replay"]
