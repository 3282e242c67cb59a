"""The onboard unit's configuration file (``onboard.yaml``), validated once at start-up.

Composes the shared sections of :mod:`transit.config` (``unit``, ``mqtt``) with the vehicle, the trip
assignment, the frieze options and the hardware sections. ``gnss``, ``can``, ``gpio`` and each entry of
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transit.config import MqttConfig, UnitConfig, backend_section, load_operator_for, resolve_path
from transit.yamlconf import Node, load_yaml

if TYPE_CHECKING:
    from transit.timetable import Timetable

log = logging.getLogger(__name__)

TOP_KEYS = frozenset({"unit", "feed", "vehicle", "assignment", "gnss", "can", "gpio", "displays", "mqtt",
                      "frieze"})
ASSIGNMENT_MODES = ("auto", "block", "trips")
DOOR_SIDES = ("left", "right", "both")
MAX_BCM_GPIO = 27  # Raspberry Pi header GPIOs are BCM 0-27

# Section -> "module:Class" whose ``from_node`` validates it. Imported only to check the section; a
# driver package that does not exist yet is skipped (its backend will fail when it is opened).
SECTION_PARSERS: dict[str, str] = {
    "gnss": "hw.gnss.config:GnssConfig",
    "can": "hw.can.config:CanConfig",
    "gpio": "hw.gpio.config:GpioConfig",
}


@dataclass(frozen=True, slots=True)
class DoorConfig:
    """One door with its two light beams (outer, inner); the beam order gives the walking direction."""

    index: int  # 0-based, the order of the vehicle type's doors (and of the CAN door status)
    pins: tuple[int, int]
    side: str = "both"
    name: str = ""


@dataclass(frozen=True, slots=True)
class VehicleConfig:
    type_id: str
    doors: tuple[DoorConfig, ...] = ()
    vehicle_type: Any = None  # the operator's VehicleType (transit.operator)


@dataclass(frozen=True, slots=True)
class AssignmentConfig:
    """Which trips the vehicle drives: ``auto`` (match position to the timetable, or as assigned over
    MQTT), one ``block`` per operating day, or a fixed list of ``trips``."""

    mode: str = "auto"
    block: str | None = None
    trips: tuple[str, ...] = ()


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
    announce: bool = False        # spoken next-stop announcement (espeak-ng)

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


@dataclass(frozen=True)
class OnboardConfig:
    path: Path
    unit: UnitConfig
    operator: Any  # transit.operator.Operator
    feed: Path
    vehicle: VehicleConfig
    assignment: AssignmentConfig
    gnss: Node
    can: Node | None
    gpio: Node | None
    displays: dict[str, Node]  # name -> sink section (hw.display.sink.open_sink)
    mqtt: MqttConfig
    frieze: FriezeConfig

    @property
    def operator_id(self) -> str:
        """The operator's id (``oper`` in records); ``operator`` is the whole operator file."""
        return str(self.operator.operator_id)

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
        gnss = root.child("gnss")
        backend_section(gnss)
        can = backend_section(root.opt("can"))
        gpio = backend_section(root.opt("gpio"))
        if vehicle.doors and gpio is None:
            raise root.child("vehicle").child("doors").error(
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
        for key in ("gnss", "can", "gpio"):
            sec_node = root.opt(key)
            if sec_node is not None:
                check_section(key, sec_node)
        return cls(path=Path(root.file), unit=unit, operator=operator, feed=feed, vehicle=vehicle,
                   assignment=assignment, gnss=gnss, can=can, gpio=gpio, displays=displays,
                   mqtt=mqtt, frieze=frieze)


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
    node.reject_unknown({"type", "doors"})
    tnode = node.child("type")
    type_id = tnode.as_str()
    types = getattr(operator, "vehicle_types", {}) or {}
    if type_id not in types:
        known = ", ".join(sorted(types)) or "none"
        raise tnode.error(f"unknown vehicle type '{type_id}' (operator {getattr(operator, 'operator_id', '?')} "
                          f"has: {known})")
    vtype = types[type_id]
    doors: list[DoorConfig] = []
    dnode = node.opt("doors")
    if dnode is not None:
        used: dict[int, str] = {}
        items = dnode.as_list()
        expected = getattr(vtype, "doors", None)
        if isinstance(expected, int) and len(items) != expected:
            raise dnode.error(f"{len(items)} door(s) configured but vehicle type '{type_id}' has {expected}")
        for i, d in enumerate(items):
            if not d.is_map():
                raise d.error("expected a mapping with 'pins' (and optionally 'side', 'name')")
            d.reject_unknown({"pins", "side", "name"})
            pnode = d.child("pins")
            pins = _pins(pnode)
            for pin in pins:
                if pin in used:
                    raise pnode.error(f"GPIO {pin} is already used by {used[pin]}")
                used[pin] = d.path
            side = d.opt("side")
            doors.append(DoorConfig(i, pins, "both" if side is None else side.choice(DOOR_SIDES),
                                    d.get_str("name", f"door {i + 1}")))
    return VehicleConfig(type_id, tuple(doors), vtype)


def _pins(node: Node) -> tuple[int, int]:
    v = node.value
    if not isinstance(v, list) or len(v) != 2 or any(
            isinstance(x.value, bool) or not isinstance(x.value, int) for x in v):
        raise node.error("expected two GPIO numbers")
    a, b = (x.as_int() for x in v)
    for x, n in zip((a, b), v, strict=True):
        if not 0 <= x <= MAX_BCM_GPIO:
            raise n.error(f"GPIO {x} is not a Raspberry Pi header GPIO (BCM 0-{MAX_BCM_GPIO})")
    if a == b:
        raise node.error("the two beams need two different GPIOs")
    return a, b


def _assignment(node: Node | None, timetable: Timetable | None) -> AssignmentConfig:
    if node is None:
        return AssignmentConfig()
    if isinstance(node.value, str):
        if node.value != "auto":
            raise node.error("expected 'auto' or a mapping with 'block' or 'trips'")
        return AssignmentConfig()
    node.reject_unknown({"block", "trips"})
    block, trips = node.opt("block"), node.opt("trips")
    if (block is None) == (trips is None):
        raise node.error("give either 'block' or 'trips' (or write 'assignment: auto')")
    if block is not None:
        b = block.as_str()
        if timetable is not None and not any(t.block_id == b for t in timetable.trips.values()):
            raise block.error(f"block '{b}' is not in the timetable")
        return AssignmentConfig("block", block=b)
    assert trips is not None
    items = trips.as_list()
    if not items:
        raise trips.error("expected at least one trip_id")
    out: list[str] = []
    for t in items:
        tid = t.as_str()
        if timetable is not None and tid not in timetable.trips:
            raise t.error(f"trip '{tid}' is not in the timetable")
        out.append(tid)
    return AssignmentConfig("trips", trips=tuple(out))


__all__ = ["AssignmentConfig", "DoorConfig", "FriezeConfig", "OnboardConfig", "VehicleConfig"]
