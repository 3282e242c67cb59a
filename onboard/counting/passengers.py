"""Passenger counting core: beam edges + door states + stop events -> per-stop ``apc`` deltas,
``occupancy`` records and capacity ``alarm`` records.

Pure: every input carries its own time (GPIO edge time, CAN receive time, stop event ``tst``); nothing
here reads a clock, a port or a socket. Feed inputs in time order.

* **Gating**: a crossing counts only if its door was released or open (CAN DC2 ``open``/``enabled`` or
  a door contact on GPIO) when it began, with ``gate_grace_s`` of slack for contacts that lag. When the
  door state is unknown the crossing is counted but the door's count quality for that stop is
  ``defect``. Crossings while the door is known closed are dropped and counted (``gated_out``).
* **Attribution**: a stop visit runs from the first ``arr``/``ars``/``doo``/``pde`` of a stop to its
  ``dep``. Crossings outside any visit (first stop of a trip announced only by ``dep``, doors opened
  before trip following saw the arrival) are attributed to the **next** visit, because the vehicle is
  standing at that stop; ``orphans`` counts them.
* **Terminus**: a trip ends when a stop event of another trip arrives (or at :meth:`finish`). The open
  visit is closed as terminus: load is reconciled (residual reported, load reset to zero). If the new
  trip starts at the same stop, boardings seen during the terminus visit belong to the new trip's first
  stop and are carried over.
* **Turn-back at the same platform**: when the next trip's first stop event comes while the vehicle still
  stands at the terminus (same stop, no ``dep`` yet), both visits share one standstill. People leaving
  belong to the arriving trip, people boarding to the departing one, whatever order the events come
  in: alightings keep going to the terminus visit, boardings to the new first stop, and the terminus
  visit is closed (load reconciled) just before the new visit closes.
* **Records**: per door and class deltas for each visit (``apc``, never cumulative), then one
  ``occupancy`` record with the load after the stop; ``alarm`` when the load exceeds the approved
  capacity.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from firmware_py.doorcount import ADULT, BULKY, IN, OUT, Crossing, DoorCounter
from hw.can.state import VehicleState
from onboard.counting.occupancy import LoadTracker, VehicleCapacity, occupancy_percent, occupancy_status
from onboard.tripfollow.events import Consumer, CoreEvent, StopEvent
from transit.ratelimit import RateLimitedLog
from transit.records import Alarm, Apc, Occupancy, Record
from transit.timeutil import iso_utc_ms, parse_iso
from transit.yamlconf import Node

log = logging.getLogger(__name__)

CLASSES = (ADULT, BULKY)
REGULAR = "regular"
DEFECT = "defect"
_OPEN_EVENTS = frozenset({"arr", "ars", "doo", "pde", "wait"})
_GATES = ("can", "gpio", "none")
#: the key of the visit that takes crossings after the last stop visit (on that stop's context)
AFTER_LAST_VISIT = ("<after-last-visit>",)
#: the trip context a visit copies from its stop events into its records
_CTX = ("oday", "route", "dir", "start", "trip_id", "stop_id", "seq", "loc")
R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class DoorConfig:
    index: int  # 1-based, front to back
    beams: tuple[tuple[int, int], ...]  # (pin outer A, pin inner B) per lane
    gate: str = "can"  # where open/released comes from: can | gpio | none (always counting)
    contact_pin: int | None = None  # for gate: gpio
    contact_open_level: int = 1


@dataclass(frozen=True)
class CountingConfig:
    """The ``counting`` section of onboard.yaml."""

    doors: tuple[DoorConfig, ...]
    blocked_level: int = 1  # electrical level of a beam pin while the beam is interrupted
    debounce_ms: float = 15.0
    bulky_ms: float = 800.0
    stuck_s: float = 60.0
    merge_ms: float = 40.0
    gate_grace_s: float = 2.0

    @classmethod
    def from_node(cls, node: Node) -> CountingConfig:
        node.reject_unknown({"doors", "blocked_level", "debounce_ms", "bulky_ms", "stuck_s", "merge_ms",
                             "gate_grace_s"})
        doors: list[DoorConfig] = []
        seen_pins: dict[int, str] = {}

        def pin(n: Node) -> int:
            p = n.as_int(min=0, max=1023)
            if p in seen_pins:
                raise n.error(f"pin {p} is already used by {seen_pins[p]}")
            seen_pins[p] = n.path
            return p

        for dn in node.child("doors").as_list():
            dn.reject_unknown({"index", "beams", "gate", "contact_pin", "contact_open_level"})
            idx = dn.get_int("index", min=1)
            if any(d.index == idx for d in doors):
                raise dn.child("index").error(f"door {idx} configured twice")
            beams: list[tuple[int, int]] = []
            for bn in dn.child("beams").as_list():
                pair = bn.as_list()
                if len(pair) != 2:
                    raise bn.error("expected two GPIO numbers [outer A, inner B]")
                beams.append((pin(pair[0]), pin(pair[1])))
            if not beams:
                raise dn.child("beams").error("a door needs at least one beam pair")
            gate = dn.child("gate").choice(_GATES) if dn.opt("gate") else "can"
            cp_node = dn.opt("contact_pin")
            contact = pin(cp_node) if cp_node is not None else None
            if gate == "gpio" and contact is None:
                raise dn.error("gate: gpio needs contact_pin")
            doors.append(DoorConfig(idx, tuple(beams), gate, contact,
                                    dn.get_int("contact_open_level", 1, min=0, max=1)))
        if not doors:
            raise node.child("doors").error("no doors configured")
        return cls(tuple(doors), node.get_int("blocked_level", 1, min=0, max=1),
                   node.get_float("debounce_ms", 15.0, min=1.0, max=200.0),
                   node.get_float("bulky_ms", 800.0, min=100.0, max=10000.0),
                   node.get_float("stuck_s", 60.0, min=1.0),
                   node.get_float("merge_ms", 40.0, min=0.0, max=500.0),
                   node.get_float("gate_grace_s", 2.0, min=0.0, max=30.0))


def _epoch(t: datetime | float) -> float:
    return t if isinstance(t, float | int) else t.timestamp()


def _dt(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


@dataclass
class _DoorVisit:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (class, direction) -> n
    defect: set[str] = field(default_factory=set)  # why: stuck, gate_unknown, frames_lost, inconsistent

    def add(self, cls: str, direction: str, n: int = 1) -> None:
        self.counts[(cls, direction)] = self.counts.get((cls, direction), 0) + n


@dataclass
class _Visit:
    ctx: dict[str, Any]  # trip context fields copied into records
    key: tuple[Any, ...]
    t_last: float
    doors: dict[int, _DoorVisit]
    crossings: list[tuple[float, int, str, str, bool]] = field(default_factory=list)  # t, door, cls, dir

    def snapshot(self) -> VisitState:
        return VisitState(dict(self.ctx), list(self.key), self.t_last,
                          {d: DoorVisitState([(c, di, n) for (c, di), n in dv.counts.items()], sorted(dv.defect))
                           for d, dv in self.doors.items()}, list(self.crossings))

    @classmethod
    def restored(cls, st: VisitState) -> _Visit:
        return cls(dict(st.ctx), tuple(st.key), st.t_last,
                   {d: _DoorVisit({(c, di): n for c, di, n in dv.counts}, set(dv.defect)) for d, dv in st.doors.items()},
                   list(st.crossings))


#: a counted crossing waiting for its stop visit to close: (time, door, class, direction, gate unknown)
CrossingItem = tuple[float, int, str, str, bool]
#: a visit's key: (oday, trip_id, start, seq, stop_id)
VisitKey = list[str | int | None]


class DoorVisitState(msgspec.Struct, frozen=True):
    """One door's counts so far at an open stop visit: (class, direction, n) and why it is defect."""

    counts: list[tuple[str, str, int]]
    defect: list[str]


class VisitState(msgspec.Struct, frozen=True):
    """A stop visit not yet reported (its crossings and counts), as data."""

    ctx: dict[str, str | int]
    key: VisitKey
    t_last: float
    doors: dict[int, DoorVisitState]
    crossings: list[CrossingItem]


class CounterState(msgspec.Struct, frozen=True):
    """What passenger counting must not forget across a restart (:meth:`PassengerCounter.snapshot`):
    the vehicle load, the stop visit being counted and crossings not yet given to a stop, the last known
    door gate states. Beam trackers are not in it: a body half through the beams when the unit went down
    is lost with the edges the unit did not see."""

    t: float | None
    load: int
    clamp_events: int
    visit: VisitState | None
    turnback: VisitState | None
    last_closed: VisitState | None
    trip_key: VisitKey | None
    orphans: list[CrossingItem]
    gates: dict[int, tuple[float | None, bool | None]]  # door -> (since, released/open)
    door_defect: dict[int, list[str]]
    stats: dict[str, int]


class PassengerCounter(Consumer):
    """The counting core of one vehicle, a consumer of trip following (stop and door events) that also
    takes the raw inputs it needs (GPIO edges, CAN door states). Methods return the records they produced."""

    def __init__(self, cfg: CountingConfig, capacity: VehicleCapacity | None, *, veh: str, oper: str) -> None:
        self.cfg = cfg
        self.capacity = capacity
        self.veh = veh
        self.oper = oper
        self.doors = {d.index: d for d in cfg.doors}
        self.counters: dict[int, DoorCounter] = {
            d.index: DoorCounter(d.index, list(d.beams), cfg.debounce_ms, cfg.bulky_ms, cfg.stuck_s * 1000.0,
                                 cfg.merge_ms) for d in cfg.doors}
        self.beam_pin: dict[int, int] = {p: d.index for d in cfg.doors for pair in d.beams for p in pair}
        self.contact_pin: dict[int, int] = {d.contact_pin: d.index for d in cfg.doors
                                            if d.contact_pin is not None}
        self.gate_hist: dict[int, tuple[list[float], list[bool | None]]] = {
            d.index: ([float("-inf")], [True if d.gate == "none" else None]) for d in cfg.doors}
        self.load = LoadTracker()
        self.visit: _Visit | None = None
        self.turnback: _Visit | None = None  # previous trip's terminus visit during a turn-back
        self.last_closed: _Visit | None = None
        self.trip_key: tuple[Any, ...] | None = None
        self.orphans: list[tuple[float, int, str, str, bool]] = []
        self.stats: dict[str, int] = {"edges": 0, "crossings": 0, "gated_out": 0, "unknown_pin": 0,
                                      "orphans": 0, "gate_unknown": 0, "bad_event": 0, "frames_lost": 0}
        self.door_defect: dict[int, set[str]] = {d.index: set() for d in cfg.doors}
        self._warn = RateLimitedLog(log).warn  # paced by count (1st, 10th, 100th ...): no clock
        self._t = float("-inf")

    # ------------------------------------------------------------------------------------- inputs
    def on_edge(self, t: datetime | float, pin: int, level: int) -> list[Record]:
        """A raw GPIO level change (beam or door contact) at ``t`` (datetime or epoch seconds)."""
        ts = _epoch(t)
        self._t = max(self._t, ts)
        self.stats["edges"] += 1
        door = self.beam_pin.get(pin)
        if door is not None:
            blocked = 1 if level == self.cfg.blocked_level else 0
            self._crossings(door, self.counters[door].edge(ts * 1000.0, pin, blocked))
            return []
        door = self.contact_pin.get(pin)
        if door is not None:
            self._set_gate(door, ts, level == self.doors[door].contact_open_level)
            return []
        self.stats["unknown_pin"] += 1
        self._warn("pin", "GPIO edge on pin %s that no door uses; ignored", pin)
        return []

    def on_vehicle_state(self, st: VehicleState) -> list[Record]:
        """CAN door states (DC2): released or open opens the gate of doors configured with ``gate: can``."""
        ts = st.t.timestamp()
        self.advance(ts)
        for ds in st.doors:
            d = self.doors.get(ds.index)
            if d is None or d.gate != "can":
                continue
            flags = [f for f in (ds.open, ds.enabled) if f is not None]
            state: bool | None = True if any(flags) else (False if flags else None)
            self._set_gate(ds.index, ts, state)
        return []

    def on_crossing(self, t: datetime | float, door: int, direction: str, cls: str = ADULT,
                    n: int = 1) -> list[Record]:
        """Crossings counted elsewhere (the UART door node): ``n`` in ``direction`` at ``t``."""
        ts = _epoch(t)
        if door not in self.doors or direction not in (IN, OUT) or cls not in CLASSES:
            self.stats["bad_event"] += 1
            self._warn("crossing", "crossing for unknown door/direction/class %r/%r/%r ignored",
                       door, direction, cls)
            return []
        self.advance(ts)
        for _ in range(n):
            self._count(door, ts, direction, cls)
        return []

    def mark_defect(self, door: int, why: str) -> None:
        """An I/O edge saw trouble on this door (UART frames lost, node silent): this stop's count for
        the door is ``defect``."""
        if door in self.door_defect:
            self.door_defect[door].add(why)
            if why == "frames_lost":
                self.stats["frames_lost"] += 1

    def advance(self, t: datetime | float) -> list[Record]:
        """Let time pass (no input): finishes debounced crossings up to ``t``."""
        ts = _epoch(t)
        self._t = max(self._t, ts)
        for door, dc in self.counters.items():
            self._crossings(door, dc.advance(ts * 1000.0))
        return []

    def on_event(self, ev: CoreEvent) -> list[Record]:
        """Stop and door events open, extend and close visits; trip lifecycle events are not needed (a
        trip ends for counting when a stop event of another trip arrives, or at :meth:`finish`)."""
        return self.on_stop_event(ev.record) if isinstance(ev, StopEvent) else []

    def on_stop_event(self, rec: Record) -> list[Record]:
        """An HFP stop/door event record from trip following."""
        ev = rec.event
        try:
            ts = parse_iso(rec.tst).timestamp()
        except ValueError:
            self.stats["bad_event"] += 1
            self._warn("event", "stop event without a valid tst ignored: %r", rec.id)
            return []
        out: list[Record] = []
        self.advance(ts)
        if ev not in _OPEN_EVENTS and ev not in ("dep", "pas"):
            return out
        if rec.trip_id is None or rec.stop_id is None:
            return out
        trip = (rec.oday, rec.trip_id, rec.start)
        key = trip + (rec.seq, rec.stop_id)
        if self.trip_key is not None and trip != self.trip_key:
            out += self._flush_turnback(ts)
            if ev != "dep" and self.visit is not None and self.visit.ctx.get("stop_id") == rec.stop_id:
                # Turn-back at the same platform: keep the terminus visit open for alightings.
                self.turnback, self.visit = self.visit, None
                self.trip_key = None
                self.last_closed = None
            else:
                out += self._end_trip(ts, next_stop=rec.stop_id)
        self.trip_key = trip
        if self.visit is not None and self.visit.key != key:
            out += self._close(self.visit, ts, terminus=False)
        if ev == "pas":
            return out
        if self.visit is None:
            self._open(rec, key, ts)
        assert self.visit is not None
        self.visit.t_last = max(self.visit.t_last, ts)
        self._ctx_update(self.visit.ctx, rec)
        if ev == "dep":
            out += self._close(self.visit, ts, terminus=False)
        return out

    def finish(self, t: datetime | float | None = None) -> list[Record]:
        """End of data: release pending crossings and close the last trip (terminus)."""
        ts = self._t if t is None else _epoch(t)
        for door, dc in self.counters.items():
            self._crossings(door, dc.flush(ts * 1000.0 + 10_000.0))
        out: list[Record] = self._flush_turnback(ts)
        if self.visit is None and self.orphans:
            # Crossings after the last visit and no stop to give them to: report them on the last
            # stop's context (or none), marked defect, rather than dropping them.
            ctx = dict(self.last_closed.ctx) if self.last_closed is not None else {}
            key = AFTER_LAST_VISIT
            self.visit = _Visit(ctx, key, max(t for t, *_r in self.orphans),
                                {d: _DoorVisit() for d in self.doors})
            self.visit.crossings.extend(self.orphans)
            self.orphans = []
            for dv in self.visit.doors.values():
                dv.defect.add("outside_visit")
        return out + self._end_trip(ts, next_stop=None)

    def occupancy_now(self) -> dict[str, Any]:
        """Load and occupancy as of the last closed stop, for position records and predictions
        (``occu``): ``occupancy_status`` is NO_DATA_AVAILABLE without vehicle data, never EMPTY."""
        return {"vehicleload": self.load.load, **self._occ_fields(self.load.load, REGULAR)}

    def snapshot(self) -> CounterState:
        """The state a restarted unit continues from (pure data; the service stores it)."""
        def vs(v: _Visit | None) -> VisitState | None:
            return None if v is None else v.snapshot()

        gates: dict[int, tuple[float | None, bool | None]] = {}
        for door, (times, states) in self.gate_hist.items():
            gates[door] = (times[-1] if math.isfinite(times[-1]) else None, states[-1])
        return CounterState(self._t if math.isfinite(self._t) else None, self.load.load, self.load.clamp_events,
                            vs(self.visit), vs(self.turnback), vs(self.last_closed),
                            None if self.trip_key is None else list(self.trip_key), list(self.orphans), gates,
                            {d: sorted(w) for d, w in self.door_defect.items() if w}, dict(self.stats))

    def restore(self, st: CounterState) -> None:
        """Continue from :meth:`snapshot` (same doors configured; others are ignored)."""
        def rv(v: VisitState | None) -> _Visit | None:
            if v is None:
                return None
            vis = _Visit.restored(v)
            vis.doors = {d: vis.doors.get(d, _DoorVisit()) for d in self.doors}
            vis.crossings = [c for c in vis.crossings if c[1] in self.doors]
            return vis

        self._t = st.t if st.t is not None else float("-inf")
        self.load.load, self.load.clamp_events = st.load, st.clamp_events
        self.visit, self.turnback, self.last_closed = rv(st.visit), rv(st.turnback), rv(st.last_closed)
        self.trip_key = None if st.trip_key is None else tuple(st.trip_key)
        self.orphans = [c for c in st.orphans if c[1] in self.doors]
        for door, (since, state) in st.gates.items():
            if door in self.gate_hist and since is not None:
                self.gate_hist[door] = ([float("-inf"), since], [self.gate_hist[door][1][0], state])
        for door, why in st.door_defect.items():
            if door in self.door_defect:
                self.door_defect[door] = set(why)
        self.stats.update({k: v for k, v in st.stats.items() if k in self.stats})

    def diagnostics(self) -> dict[str, int]:
        """Totals for health records and logs."""
        d = dict(self.stats)
        for dc in self.counters.values():
            for k, v in dc.counters().items():
                d[k] = d.get(k, 0) + v
        d["clamp_events"] = self.load.clamp_events
        return d

    # ------------------------------------------------------------------------------------- gating
    def _set_gate(self, door: int, ts: float, state: bool | None) -> None:
        times, states = self.gate_hist[door]
        if states[-1] == state:
            return
        if ts < times[-1]:
            ts = times[-1]
        times.append(ts)
        states.append(state)
        if len(times) > 256:  # keep ~ the last hour of door cycles
            del times[1:129]
            del states[1:129]

    def _gate_at(self, door: int, ts: float) -> bool | None:
        times, states = self.gate_hist[door]
        i = bisect.bisect_right(times, ts) - 1
        state = states[max(i, 0)]
        if state is False and self.cfg.gate_grace_s > 0:
            g = self.cfg.gate_grace_s
            lo = bisect.bisect_right(times, ts - g) - 1
            hi = bisect.bisect_right(times, ts + g)
            if any(s is True for s in states[max(lo, 0):hi]):
                return True
        return state

    def _crossings(self, door: int, cs: Iterable[Crossing]) -> None:
        for c in cs:
            self._count(door, c.t0 / 1000.0, c.direction, c.cls)

    def _count(self, door: int, ts: float, direction: str, cls: str) -> None:
        gate = self._gate_at(door, ts)
        if gate is False:
            self.stats["gated_out"] += 1
            self._warn("gated", "door %d: crossing while the door was closed; not counted", door)
            return
        if gate is None:
            self.stats["gate_unknown"] += 1
        self.stats["crossings"] += 1
        item = (ts, door, cls, direction, gate is None)
        if self.turnback is not None and direction == OUT:
            self.turnback.crossings.append(item)
        elif self.visit is None:
            self.stats["orphans"] += 1
            self.orphans.append(item)
        else:
            self.visit.crossings.append(item)

    # ------------------------------------------------------------------------------------- visits
    def _open(self, rec: Record, key: tuple[Any, ...], ts: float) -> None:
        ctx: dict[str, Any] = {}
        self._ctx_update(ctx, rec)
        self.visit = _Visit(ctx, key, ts, {d: _DoorVisit() for d in self.doors})
        if self.orphans:
            self.visit.crossings.extend(self.orphans)
            self.orphans = []

    @staticmethod
    def _ctx_update(ctx: dict[str, Any], rec: Record) -> None:
        for k in _CTX:
            v = getattr(rec, k)
            if v is not None:
                ctx[k] = v

    def _end_trip(self, ts: float, next_stop: Any) -> list[Record]:
        out: list[Record] = []
        if self.visit is not None:
            carry = next_stop is not None and next_stop == self.visit.ctx.get("stop_id")
            out += self._close(self.visit, ts, terminus=True, carry_boardings=carry)
        elif self.last_closed is not None and self.load.load != 0:
            # The terminus visit was already closed by a dep: reconcile on its context.
            rec = self.load.reconcile()
            v = self.last_closed
            out.append(self._record(Occupancy, v.t_last, v.ctx, "//terminus", vehicleload=0,
                                    residual=rec.residual, terminus=True, **self._occ_fields(0, REGULAR)))
        self.trip_key = None
        self.last_closed = None
        return out

    def _flush_turnback(self, ts: float) -> list[Record]:
        """Close a pending turn-back terminus visit (reconciling the load) without disturbing the
        visit that is open now."""
        tb, self.turnback = self.turnback, None
        if tb is None:
            return []
        visit, last = self.visit, self.last_closed
        out = self._close(tb, ts, terminus=True)
        self.visit, self.last_closed = visit, last
        return out

    def _close(self, v: _Visit, ts: float, *, terminus: bool, carry_boardings: bool = False) -> list[Record]:
        out_tb = [] if terminus else self._flush_turnback(ts)
        self.visit = None
        self.last_closed = v
        carried: list[tuple[float, int, str, str, bool]] = []
        t_end = v.t_last
        for item in v.crossings:
            t, door, cls, direction, unknown = item
            if carry_boardings and direction == IN:
                carried.append(item)
                continue
            dv = v.doors[door]
            dv.add(cls, direction)
            if unknown:
                dv.defect.add("gate_unknown")
            t_end = max(t_end, t)
        for door, dv in v.doors.items():
            dc = self.counters[door]
            if dc.stuck(t_end * 1000.0):
                dv.defect.add("stuck")
            dv.defect |= self.door_defect[door]
            self.door_defect[door] = set()
        boarded = sum(n for (_c, d), n in ((k, n) for dv in v.doors.values() for k, n in dv.counts.items())
                      if d == IN)
        alighted = sum(n for (_c, d), n in ((k, n) for dv in v.doors.values() for k, n in dv.counts.items())
                       if d == OUT)
        step = self.load.apply(boarded, alighted)
        residual = None
        load_after = step.load
        if terminus:
            residual = self.load.reconcile().residual
            load_after = 0
        out: list[Record] = []
        any_defect = False
        # the ids of a visit's records come from its stop (Record.once); the visit after the last one
        # shares that stop's context, so its records say so in their ids
        sfx = "after" if v.key == AFTER_LAST_VISIT else ""
        for door in sorted(v.doors):
            dv = v.doors[door]
            quality = DEFECT if dv.defect else REGULAR
            any_defect = any_defect or bool(dv.defect)
            for cls in CLASSES:
                n_in = dv.counts.get((cls, IN), 0)
                n_out = dv.counts.get((cls, OUT), 0)
                if cls != ADULT and n_in == 0 and n_out == 0:
                    continue
                extra: dict[str, Any] = {}
                if dv.defect:
                    extra["defect"] = sorted(dv.defect)
                out.append(self._record(Apc, t_end, v.ctx, f"{door}/{cls}/{sfx}", door=door, class_=cls, in_=n_in,
                                        out=n_out, countquality=quality, vehicleload=load_after, **extra))
        occ = self._occ_fields(load_after, DEFECT if any_defect else REGULAR)
        extra2: dict[str, Any] = {}
        if step.clamped:
            extra2["clamped"] = step.clamped
        if terminus:
            extra2["terminus"] = True
            extra2["residual"] = residual
        out.append(self._record(Occupancy, t_end, v.ctx, f"//{sfx}", vehicleload=load_after, in_=boarded,
                                out=alighted, **occ, **extra2))
        cap = self.capacity
        peak = step.load
        if cap is not None and cap.approved is not None and peak > cap.approved:
            out.append(self._record(Alarm, t_end, v.ctx, f"//capacity{sfx}", alarm="capacity", vehicleload=peak,
                                    capacity=cap.approved, excess=peak - cap.approved))
            self._warn("capacity", "load %d above approved capacity %d", peak, cap.approved)
        if carried:
            self.orphans.extend(carried)
        return out_tb + out

    def _occ_fields(self, load: int, quality: str) -> dict[str, Any]:
        cap = self.capacity
        if cap is None:
            return {"occu": None, "occupancy_status": occupancy_status(None, None), "countquality": quality}
        return {"occu": occupancy_percent(load, cap), "occupancy_status": occupancy_status(load, cap),
                "seats": cap.seat_total, "capacity": cap.approved, "countquality": quality}

    def _record(self, kind: type[R], ts: float, ctx: dict[str, Any], id_extra: str = "//",
                **fields: Any) -> R:
        """A record on the visit's context; ``id_extra`` is door/class/alarm kind, so the per-door ``apc``
        records of one stop get different ids."""
        return kind.build(iso_utc_ms(_dt(ts)), veh=self.veh, oper=self.oper, oday=ctx.get("oday"),
                          route=ctx.get("route"), dir=ctx.get("dir"), start=ctx.get("start"),
                          trip_id=ctx.get("trip_id"), stop_id=ctx.get("stop_id"), seq=ctx.get("seq"),
                          loc=ctx.get("loc", "N/A"), id_extra=id_extra, **fields)


def counting_config_or_none(node: Node | None) -> CountingConfig | None:
    """``counting`` section if present (vehicles without door sensors have none)."""
    return None if node is None else CountingConfig.from_node(node)
