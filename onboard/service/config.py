"""The onboard unit's configuration file (``onboard.yaml``), validated once at start-up.

Composes the shared sections of :mod:`transit.config` (``unit``, ``mqtt``) with the vehicle, the trip
assignment, passenger counting (``onboard.counting.passengers.CountingConfig``: door beams), the frieze options
and the hardware sections. ``gnss``, ``can``, ``gpio`` and each entry of
``displays`` stay :class:`~transit.yamlconf.Node` trees with a ``backend`` key: the driver that is chosen
parses its own options, so its errors still name file, line and key. They are checked here too, at
load time, by the drivers' own parsers when those exist, so a typo fails at start-up rather than when
the device opens. Keys: ``docs/config.md``; examples: ``data/config/onboard-*.yaml``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onboard.counting.passengers import CountingConfig
from onboard.passinfo.speaker import AnnounceConfig
from onboard.records.outbox import DEFAULT_BUDGET_BYTES, MIN_BUDGET_BYTES
from transit.config import MqttConfig, UnitConfig, backend_section, load_operator_for
from transit.yamlconf import Node, load_yaml, resolve_path

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)

TOP_KEYS = frozenset({"unit", "feed", "vehicle", "assignment", "counting", "gnss", "can", "gpio", "displays",
                      "mqtt", "frieze", "school", "announce", "outbox"})
ASSIGNMENT_MODES = ("auto", "block", "trips")

# Section -> "module:Class" whose ``from_node`` validates it. Imported only to check the section; a
# driver package that does not exist yet is skipped (its backend will fail when it is opened).
SECTION_PARSERS: dict[str, str] = {
    "gnss": "hw.gnss.config:GnssConfig",
    "can": "hw.can.config:CanConfig",
    "gpio": "hw.gpio.inputs:GpioConfig",
}


#: Transport modes in MQTT topics (HFP's ``<mode>`` level), one per vehicle whatever the command.
VEHICLE_MODES = ("train", "bus")


@dataclass(frozen=True, slots=True)
class VehicleConfig:
    type_id: str
    vehicle_type: Any = None  # the operator's VehicleType (transit.operator): seats, capacity, doors
    mode: str | None = None  # vehicle.mode; None: from the operator's punctuality policy


@dataclass(frozen=True, slots=True)
class AssignmentConfig:
    """Which trips the vehicle drives: ``auto`` (match position to the timetable, or as assigned over
    MQTT), one ``block`` per operating day, or a fixed list of ``trips``."""

    mode: str = "auto"
    block: str | None = None
    trips: tuple[str, ...] = ()
    service_day: date | None = None  # only this operating day (replaying a recording); None: every day


@dataclass(frozen=True, slots=True)
class FriezeConfig:
    """What the strip display inside the vehicle shows."""

    width: int = 1920             # panel size in pixels (a typical stretched 1920x360 TFT frieze)
    height: int = 360
    stops_shown: int = 4          # next stops listed after the current one
    page_s: float = 5.0           # paged text, never scrolling; at least 3 s a page
    delay_threshold_s: int = 120  # show the delay from this (operator ``display.delay_threshold_s``)
    clock: bool = True
    language: str = "da"
    announce: bool = False        # spoken announcements with the defaults (the short form of ``announce:``)

    KEYS = frozenset({"width", "height", "stops_shown", "page_s", "delay_threshold_s", "clock", "language", "announce"})

    @classmethod
    def from_node(cls, node: Node | None, *, delay_threshold_s: int = 120) -> FriezeConfig:
        if node is None:
            return cls(delay_threshold_s=delay_threshold_s)
        node.reject_unknown(cls.KEYS)
        lang = node.opt("language")
        return cls(
            width=node.get_int("width", 1920, min=64, max=8192),
            height=node.get_int("height", 360, min=16, max=4096),
            stops_shown=node.get_int("stops_shown", 4, min=1, max=12),
            page_s=node.get_float("page_s", 5.0, min=3.0, max=60.0),
            delay_threshold_s=node.get_int("delay_threshold_s", delay_threshold_s, min=0, max=3600),
            clock=node.get_bool("clock", True),
            language="da" if lang is None else lang.choice(("da", "en")),
            announce=node.get_bool("announce", False),
        )


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """The store-and-forward outbox on the unit's card (``onboard.records.outbox``): how much disk it may
    take and how long position samples may wait to share a commit."""

    budget_mb: int = DEFAULT_BUDGET_BYTES >> 20  # a week of 1 Hz positions plus margin (docs/scaling.md)
    group_commit_s: float = 1.0  # positions wait at most this long; records commit at once

    KEYS = frozenset({"budget_mb", "group_commit_s"})

    @property
    def budget_bytes(self) -> int:
        return self.budget_mb << 20

    @classmethod
    def from_node(cls, node: Node | None) -> OutboxConfig:
        if node is None:
            return cls()
        node.reject_unknown(cls.KEYS)
        bnode = node.opt("budget_mb")
        budget = DEFAULT_BUDGET_BYTES >> 20
        if bnode is not None:
            budget = bnode.as_int()
            if budget < MIN_BUDGET_BYTES >> 20:
                raise bnode.error(f"outbox budget of {budget} MB is too small: at least {MIN_BUDGET_BYTES >> 20} "
                                  f"MB (a week of 1 Hz positions needs about {DEFAULT_BUDGET_BYTES >> 20} MB)")
            if budget > 1 << 20:
                raise bnode.error(f"outbox budget of {budget} MB is more than a terabyte: give it in MB")
        return cls(budget_mb=budget, group_commit_s=node.get_float("group_commit_s", 1.0, min=0.0, max=10.0))


@dataclass(frozen=True)
class OnboardConfig:
    path: Path
    unit: UnitConfig
    operator: Any  # transit.operator.Operator
    feed: Path
    vehicle: VehicleConfig
    assignment: AssignmentConfig
    counting: CountingConfig | None  # door beams; None: no passenger counting on this vehicle
    gnss: Node
    can: Node | None
    gpio: Node | None
    displays: dict[str, Node]  # name -> sink section (hw.display.sink.open_sink)
    mqtt: MqttConfig
    frieze: FriezeConfig
    school: Any = None  # onboard.school.stage.SchoolConfig: school runs and the driver's panel
    announce: AnnounceConfig = AnnounceConfig(enabled=False)  # spoken announcements (onboard.passinfo.speaker)
    outbox: OutboxConfig = OutboxConfig()

    @property
    def operator_id(self) -> str:
        """The operator's id (``oper`` in records); ``operator`` is the whole operator file."""
        return str(self.operator.operator_id)

    @property
    def mode(self) -> str:
        """The vehicle's transport mode in topics: ``vehicle.mode``, else ``bus`` under a bus punctuality
        policy and ``train`` otherwise. The same for ``run``, ``replay`` and ``publish``: a vehicle does
        not change mode with the trip it drives."""
        if self.vehicle.mode is not None:
            return self.vehicle.mode
        policy = getattr(getattr(self.operator, "punctuality", None), "policy", "rail")
        return "bus" if policy == "bus" else "train"

    @property
    def vehicle_id(self) -> str:
        assert self.unit.vehicle_id is not None  # required for role "onboard"
        return self.unit.vehicle_id

    @classmethod
    def load(cls, path: str | Path, *, timetable: Timetable | None = None) -> OnboardConfig:
        """Read and validate ``onboard.yaml``; with a ``timetable``, the assigned block/trips must exist."""
        root = load_yaml(path)
        return cls.from_node(root, timetable=timetable)

    @classmethod
    def from_node(cls, root: Node, *, timetable: Timetable | None = None,
                  operator_loader: Callable[[Path], Any] | None = None) -> OnboardConfig:
        root.reject_unknown(TOP_KEYS)
        unit = UnitConfig.from_node(root.child("unit"), role="onboard")
        operator = load_operator_for(root.child("unit").child("operator"), unit.operator_file, operator_loader,
                                     timetable=timetable)
        feed_node = root.opt("feed")
        feed = resolve_path(feed_node) if feed_node is not None else Path(operator.feed)
        vehicle = _vehicle(root.child("vehicle"), operator)
        assignment = _assignment(root.opt("assignment"), timetable)
        counting = _counting(root.opt("counting"), vehicle)
        gnss = root.child("gnss")
        backend_section(gnss)
        can = backend_section(root.opt("can"))
        gpio = backend_section(root.opt("gpio"))
        if counting is not None and gpio is None:
            raise root.child("counting").error(
                "door beams are GPIO inputs: add a 'gpio' section (backend: lgpio, or mock for tests)")
        displays: dict[str, Node] = {}
        dnode = root.opt("displays")
        if dnode is not None:
            if not dnode.is_map():
                raise dnode.error("expected a mapping of display names to sinks, e.g. 'frieze: {backend: png}'")
            for name, d in dnode.items():
                sec = backend_section(d)
                assert sec is not None
                displays[name] = sec
        mqtt_node = root.opt("mqtt")
        mqtt = (MqttConfig(client_id=unit.unit_id) if mqtt_node is None
                else MqttConfig.from_node(mqtt_node, default_client_id=unit.unit_id))
        display_opts = getattr(operator, "display", None)
        threshold = int(getattr(display_opts, "delay_threshold_s", 120) or 120)
        frieze = FriezeConfig.from_node(root.opt("frieze"), delay_threshold_s=threshold)
        announce = AnnounceConfig.from_node(root.opt("announce"), enabled=frieze.announce)
        for key, sec in (("gnss", gnss), ("can", can), ("gpio", gpio)):
            if sec is not None:
                check_section(key, sec)
        from onboard.school.stage import SchoolConfig
        return cls(path=Path(root.file), unit=unit, operator=operator, feed=feed, vehicle=vehicle,
                   assignment=assignment, counting=counting, gnss=gnss, can=can, gpio=gpio, displays=displays,
                   mqtt=mqtt, frieze=frieze, school=SchoolConfig.from_node(root.opt("school")),
                   announce=announce, outbox=OutboxConfig.from_node(root.opt("outbox")))


def check_section(key: str, node: Node) -> None:
    """Validate a hardware section with its driver's own parser, when that driver exists."""
    target = SECTION_PARSERS.get(key)
    if target is None:
        return
    mod_name, cls_name = target.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and mod_name.startswith(exc.name):
            log.debug("no parser for section %s yet (%s)", key, mod_name)
            return
        raise
    getattr(mod, cls_name).from_node(node)


def _vehicle(node: Node, operator: Any) -> VehicleConfig:
    node.reject_unknown({"type", "mode"})
    mnode = node.opt("mode")
    mode = None if mnode is None else mnode.choice(VEHICLE_MODES)
    tnode = node.child("type")
    type_id = tnode.as_str()
    types = getattr(operator, "vehicle_types", {}) or {}
    if type_id not in types:
        known = ", ".join(sorted(types)) or "none"
        raise tnode.error(f"unknown vehicle type '{type_id}' (operator {getattr(operator, 'operator_id', '?')} "
                          f"has: {known})")
    return VehicleConfig(type_id, types[type_id], mode)


def _counting(node: Node | None, vehicle: VehicleConfig) -> CountingConfig | None:
    """The counting section (parsed by onboard.counting.passengers); its doors must exist on the vehicle type."""
    if node is None:
        return None
    cfg = CountingConfig.from_node(node)
    ndoors = getattr(vehicle.vehicle_type, "doors", None)
    if isinstance(ndoors, int):
        for dn, door in zip(node.child("doors").as_list(), cfg.doors, strict=True):
            if door.index > ndoors:
                where = dn.opt("index") or dn
                raise where.error(f"door {door.index}, but vehicle type '{vehicle.type_id}' has {ndoors} doors")
    return cfg


def _assignment(node: Node | None, timetable: Timetable | None) -> AssignmentConfig:
    if node is None:
        return AssignmentConfig()
    if isinstance(node.value, str):
        if node.value != "auto":
            raise node.error("expected 'auto' or a mapping with 'block' or 'trips'")
        return AssignmentConfig()
    node.reject_unknown({"block", "trips", "service_day"})
    block, trips = node.opt("block"), node.opt("trips")
    if (block is None) == (trips is None):
        raise node.error("give either 'block' or 'trips' (or write 'assignment: auto')")
    day: date | None = None
    dnode = node.opt("service_day")
    if dnode is not None:
        day = dnode.value if isinstance(dnode.value, date) else dnode.convert(
            lambda v: date.fromisoformat(str(v)), "a date YYYY-MM-DD")
    if block is not None:
        b = block.as_str()
        if timetable is not None:
            if not any(t.block_id == b for t in timetable.trips.values()):
                raise block.error(f"block '{b}' is not in the timetable")
            if day is not None and not timetable.block_trips(b, day):
                raise block.error(f"block '{b}' does not run on {day}")
        return AssignmentConfig("block", block=b, service_day=day)
    assert trips is not None
    items = trips.as_list()
    if not items:
        raise trips.error("expected at least one trip_id")
    out: list[str] = []
    for t in items:
        tid = t.as_str()
        if timetable is not None:
            if tid not in timetable.trips:
                raise t.error(f"trip '{tid}' is not in the timetable")
            if day is not None and not timetable.runs_on(tid, day):
                raise t.error(f"trip '{tid}' does not run on {day}")
        out.append(tid)
    return AssignmentConfig("trips", trips=tuple(out), service_day=day)


__all__ = ["VEHICLE_MODES", "AssignmentConfig", "FriezeConfig", "OnboardConfig", "VehicleConfig"]
