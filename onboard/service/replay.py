"""Replay recorded inputs through the onboard core (``python -m onboard replay``).

Reads ``gnss.nmea``, a candump ``-l`` CAN log and optionally ``gpio.csv`` (the formats of
``sim_bus record``), merges them by their own timestamps and feeds the pipeline (core and consumers,
:func:`onboard.service.bootstrap.bootstrap`) exactly as the live service does. Deterministic: same inputs, same records, same ids.

The unit configuration is ``onboard.yaml`` as :class:`onboard.service.config.OnboardConfig` reads it; the file
``sim_bus record`` writes next to a recording has its own keys (vehicle dimensions, the service day of
the assignment), so :func:`load_setup` reads that shape too (an adapter until the two agree).
"""

from __future__ import annotations

import csv
import heapq
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from hw.can.replay import CAN_ERR_FLAG, parse_candump_line
from hw.can.state import VehicleState
from hw.can.tracker import VehicleTracker
from hw.gnss.fix import Fix
from hw.gnss.stream import NmeaStream
from onboard.service.bootstrap import Setup, bootstrap, choose_day, find_operator
from onboard.tripfollow.pipeline import Pipeline
from transit.ratelimit import RateLimitedLog
from transit.records import Record
from transit.timesanity import TimeSanity
from transit.timetable import Timetable
from transit.yamlconf import Node, load_yaml

log = logging.getLogger(__name__)


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
def replay(setup: Setup, nmea: Path, can_log: Path | None, gpio: Path | None,
           emit: Callable[[Record], None], *, vp_interval_s: float = 1.0,
           progress: Callable[[float], None] | None = None,
           on_core: Callable[[Pipeline], None] | None = None) -> dict[str, Any]:
    """Run the core over the recorded inputs; ``emit`` gets every record in order. Returns diagnostics.
    ``on_core`` gets the pipeline once it is built (a benchmark reads the core's state as records come)."""
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
    core: Pipeline | None = None
    pending: list[tuple[float, int, str, Any]] = []
    n = 0
    for item in merged:
        if core is None:
            core = bootstrap(setup, tt, item[0], with_counting=gpio is not None, vp_interval_s=vp_interval_s)
            if on_core is not None:
                on_core(core)
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
    diag: dict[str, Any] = dict(core.core.diagnostics)
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


def _feed(core: Pipeline, item: tuple[float, int, str, Any], emit: Callable[[Record], None]) -> None:
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


__all__ = ["CanInput", "Setup", "choose_day", "find_operator", "load_setup", "read_fixes", "read_gpio", "replay"]
