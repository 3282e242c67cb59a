"""The stop display unit's configuration file (``station.yaml``), validated once at start-up.

Composes ``unit`` and ``mqtt`` from :mod:`transit.config` with the stops to show, the panel (parsed by
:class:`station.layout.CountdownPanel`, the layout's own parser), the sink (a
:class:`~transit.yamlconf.Node` with a ``backend`` key, opened by ``hw.display.sink.open_sink``), the
dimming schedule and the QR code. Keys: ``docs/config.md``; example: ``data/config/station-*.yaml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from station.layout import CountdownPanel, DimStep, parse_dimming
from station.web import WebConfig
from transit.config import MqttConfig, UnitConfig, backend_section, load_operator_for
from transit.yamlconf import Node, load_yaml, resolve_path

if TYPE_CHECKING:
    from transit.timetable import Timetable

TOP_KEYS = frozenset({"unit", "feed", "stops", "panel", "sink", "mqtt", "dimming", "qr_url", "web"})
STOPS_KEYS = frozenset({"ids", "title", "max_rows", "minutes_limit", "horizon_min", "show_terminating",
                        "stale_after_s"})


@dataclass(frozen=True, slots=True)
class StopsConfig:
    """Which departures the display lists and how it counts down."""

    ids: tuple[str, ...]  # GTFS stop_ids; a parent station includes its platforms
    title: str = ""       # header text; default: the first stop's name in the feed
    max_rows: int = 4     # departures kept (the panel pages through more rows than it has)
    minutes_limit: int = 15  # "N min" up to this, the clock time beyond; "Nu" under a minute
    horizon_min: int = 120   # how far ahead departures are listed
    show_terminating: bool = False  # trips ending here cannot be boarded
    stale_after_s: float = 90.0     # GTFS-Realtime: predictions older than this fall back to timetable

    @classmethod
    def from_node(cls, node: Node, timetable: Timetable | None = None) -> StopsConfig:
        node.reject_unknown(STOPS_KEYS)
        ids_node = node.child("ids")
        items = ids_node.as_list()
        if not items:
            raise ids_node.error("expected at least one stop_id")
        ids: list[str] = []
        for n in items:
            sid = n.as_str()
            if sid in ids:
                raise n.error(f"stop_id '{sid}' is listed twice")
            if timetable is not None and sid not in timetable.stops:
                raise n.error(f"stop_id '{sid}' is not in the timetable ({timetable.source})")
            ids.append(sid)
        title = node.get_str("title", "")
        if not title and timetable is not None:
            title = timetable.stop_name(ids[0])
        return cls(
            ids=tuple(ids),
            title=title,
            max_rows=node.get_int("max_rows", 4, min=1, max=50),
            minutes_limit=node.get_int("minutes_limit", 15, min=1, max=120),
            horizon_min=node.get_int("horizon_min", 120, min=5, max=24 * 60),
            show_terminating=node.get_bool("show_terminating", False),
            stale_after_s=node.get_float("stale_after_s", 90.0, min=10.0, max=3600.0),
        )


@dataclass(frozen=True)
class StationConfig:
    path: Path
    unit: UnitConfig
    operator: Any  # transit.operator.Operator
    feed: Path
    stops: StopsConfig
    panel: CountdownPanel  # includes the dimming schedule and the QR url
    sink: Node
    mqtt: MqttConfig
    web: WebConfig | None = None  # the page behind the QR code; None: not served

    @property
    def operator_id(self) -> str:
        """The operator's id (``oper`` in records); ``operator`` is the whole operator file."""
        return str(self.operator.operator_id)

    @property
    def display_id(self) -> str:
        assert self.unit.stop_display_id is not None  # required for role "station"
        return self.unit.stop_display_id

    @property
    def dimming(self) -> tuple[DimStep, ...]:
        return self.panel.dimming

    @property
    def qr_url(self) -> str | None:
        return self.panel.qr_url

    @classmethod
    def load(cls, path: str | Path, *, timetable: Timetable | None = None) -> StationConfig:
        """Read and validate ``station.yaml``; with a ``timetable`` the stop_ids must exist in it."""
        return cls.from_node(load_yaml(path), timetable=timetable)

    @classmethod
    def from_node(cls, root: Node, *, timetable: Timetable | None = None,
                  operator_loader: Callable[[Path], Any] | None = None) -> StationConfig:
        root.reject_unknown(TOP_KEYS)
        unit = UnitConfig.from_node(root.child("unit"), role="station")
        operator = load_operator_for(root.child("unit").child("operator"), unit.operator_file, operator_loader,
                                     timetable=timetable)
        feed_node = root.opt("feed")
        feed = resolve_path(feed_node) if feed_node is not None else Path(operator.feed)
        stops = StopsConfig.from_node(root.child("stops"), timetable)
        pnode = root.child("panel")
        panel = CountdownPanel.from_node(pnode, title=stops.title)
        # dimming and qr_url may sit at the top level (one per unit) or inside the panel, not both.
        for key in ("dimming", "qr_url"):
            top = root.opt(key)
            if top is None:
                continue
            if pnode.opt(key) is not None or (key == "qr_url" and pnode.opt("qr") is not None):
                raise top.error(f"'{key}' is also set in panel: keep one")
            if key == "dimming":
                panel = dataclasses.replace(panel, dimming=parse_dimming(top))
            else:
                panel = dataclasses.replace(panel, qr_url=_qr_url(top))
        if panel.qr_url is not None and root.opt("qr_url") is None:
            _qr_url(pnode.opt("qr_url") or pnode.child("qr"))
        if stops.max_rows < panel.rows:
            raise root.child("stops").child("max_rows").error(
                f"max_rows {stops.max_rows} is less than the panel's {panel.rows} rows")
        sink = backend_section(root.child("sink"))
        assert sink is not None
        mqtt_node = root.opt("mqtt")
        mqtt = (MqttConfig(client_id=unit.unit_id) if mqtt_node is None
                else MqttConfig.from_node(mqtt_node, default_client_id=unit.unit_id))
        web_node = root.opt("web")
        web = None if web_node is None else WebConfig.from_node(web_node)
        return cls(path=Path(root.file), unit=unit, operator=operator, feed=feed, stops=stops, panel=panel,
                   sink=sink, mqtt=mqtt, web=web)


def _qr_url(node: Node) -> str:
    url = node.as_str()
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise node.error(f"expected an http(s) URL for the QR code, got '{url}'")
    return url
