"""Configuration sections shared by the onboard and the stop-display units.

Validated once at start-up into frozen dataclasses; every error names file, line and key
(``onboard.yaml:7: mqtt.url: ...``). Paths are resolved relative to the file they are written in, so a
unit's configuration can be moved as a folder. ``onboard.service.config`` and ``station.config`` compose these
with their own sections; the keys are documented in ``docs/config.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from transit.errors import ConfigError
from transit.operator import load_operator
from transit.yamlconf import Node, parse_timezone, resolve_path

DEFAULT_STATE_DIR = Path("/var/lib/rettid")
DEFAULT_TIMEZONE = "Europe/Copenhagen"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_TOPIC_PREFIX = "rettid/v1"  # the versioned topic tree of transit.messages

# Ids end up in MQTT topics and file names: no '/', '+', '#', spaces.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")




def missing_key(node: Node, key: str, what: str) -> ConfigError:
    """"missing required key" at ``node.key``, saying what belongs there."""
    path = f"{node.path}.{key}" if node.path else key
    return ConfigError(f"missing required key ({what})", file=node.file, line=node.line, key=path)


def parse_id(node: Node, what: str) -> str:
    text = node.as_str()
    if not _ID.match(text):
        raise node.error(f"{what} '{text}' must be 1-64 letters, digits, '.', '_' or '-' (it is used in "
                         "MQTT topics and file names)")
    return text



@dataclass(frozen=True, slots=True)
class UnitConfig:
    """Who this unit is: ``unit:`` section.

    ``vehicle`` is set on an onboard unit, ``stop_display`` on a stop display; ``operator_file`` is the
    operator's YAML (``data/operators/<id>.yaml``) resolved relative to the configuration file.
    """

    unit_id: str
    operator_file: Path
    vehicle_id: str | None = None
    stop_display_id: str | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    timezone: str = DEFAULT_TIMEZONE

    KEYS: ClassVar[frozenset[str]] = frozenset({"id", "vehicle", "stop_display", "operator", "state_dir", "timezone"})

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_node(cls, node: Node, *, role: str | None = None) -> UnitConfig:
        """Parse ``unit:``; ``role`` ``onboard`` requires ``vehicle``, ``station`` ``stop_display``."""
        node.reject_unknown(cls.KEYS)
        vehicle = node.opt("vehicle")
        display = node.opt("stop_display")
        if role == "onboard" and vehicle is None:
            raise missing_key(node, "vehicle", "the vehicle id, e.g. the fleet number")
        if role == "station" and display is None:
            raise missing_key(node, "stop_display", "the stop display id")
        if role == "onboard" and display is not None:
            raise display.error("an onboard unit has a vehicle, not a stop_display")
        if role == "station" and vehicle is not None:
            raise vehicle.error("a stop display has a stop_display id, not a vehicle")
        tz_node = node.opt("timezone")
        tz = DEFAULT_TIMEZONE
        if tz_node is not None:
            tz = parse_timezone(tz_node)
        sd = node.opt("state_dir")
        return cls(
            unit_id=parse_id(node.child("id"), "unit id"),
            operator_file=resolve_path(node.child("operator")),
            vehicle_id=None if vehicle is None else parse_id(vehicle, "vehicle id"),
            stop_display_id=None if display is None else parse_id(display, "stop display id"),
            state_dir=DEFAULT_STATE_DIR if sd is None else resolve_path(sd),
            timezone=tz,
        )


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Client TLS files; ``ca`` alone verifies the broker, ``cert`` + ``key`` authenticate the unit."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker connection: ``mqtt:`` section (see ``onboard.records.publisher.MqttSettings.from_config``)."""

    url: str = DEFAULT_MQTT_URL
    client_id: str = ""  # empty: the unit id
    username: str | None = None
    password_file: Path | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    keepalive: int = 30
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    session_expiry_s: int = 7 * 86400  # the broker keeps our session (and QoS 1 queue) this long

    KEYS: ClassVar[frozenset[str]] = frozenset({"url", "client_id", "username", "password_file", "tls", "keepalive", "topic_prefix",
                      "session_expiry_s"})

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        u = urlsplit(self.url)
        return u.port or (8883 if u.scheme == "mqtts" else 1883)

    @property
    def use_tls(self) -> bool:
        return self.url.startswith("mqtts://")

    @classmethod
    def from_node(cls, node: Node, *, default_client_id: str = "") -> MqttConfig:
        node.reject_unknown(cls.KEYS)
        url_node = node.opt("url")
        url = DEFAULT_MQTT_URL if url_node is None else url_node.as_str()
        if url_node is not None:
            _check_url(url_node, url)
        tls = TlsConfig()
        tls_node = node.opt("tls")
        if tls_node is not None:
            tls_node.reject_unknown({"ca", "cert", "key"})
            if not url.startswith("mqtts://"):
                raise tls_node.error("TLS files need an mqtts:// url (e.g. mqtts://broker:8883)")
            files = {k: (None if tls_node.opt(k) is None else resolve_path(tls_node.child(k)))
                     for k in ("ca", "cert", "key")}
            if (files["cert"] is None) != (files["key"] is None):
                missing = "key" if files["key"] is None else "cert"
                raise tls_node.error(f"cert and key go together: '{missing}' is missing")
            tls = TlsConfig(**files)
        username = node.opt("username")
        pw = node.opt("password_file")
        if pw is not None and username is None:
            raise pw.error("a password_file needs a username")
        client_node = node.opt("client_id")
        client_id = default_client_id
        if client_node is not None:
            client_id = client_node.as_str()
            if not 1 <= len(client_id) <= 64 or any(c in client_id for c in "/+# "):
                raise client_node.error("client_id must be 1-64 characters without '/', '+', '#' or spaces")
        prefix_node = node.opt("topic_prefix")
        prefix = DEFAULT_TOPIC_PREFIX
        if prefix_node is not None:
            prefix = prefix_node.as_str()
            if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+# "):
                raise prefix_node.error("topic_prefix must be a topic like 'rettid/v1': no wildcards, "
                                        "spaces or leading/trailing '/'")
        return cls(
            url=url,
            client_id=client_id,
            username=None if username is None else username.as_str(),
            password_file=None if pw is None else resolve_path(pw),
            tls=tls,
            keepalive=node.get_int("keepalive", 30, min=5, max=3600),
            topic_prefix=prefix,
            session_expiry_s=node.get_int("session_expiry_s", 7 * 86400, min=0),
        )


def mqtt_url_problem(url: str) -> str | None:
    """Why ``url`` is not an ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT`` broker address, or None."""
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError as exc:
        return f"bad MQTT url '{url}': {exc}"
    if u.scheme not in ("mqtt", "mqtts"):
        return f"MQTT url must start with mqtt:// or mqtts://, got '{url}'"
    if not u.hostname:
        return f"MQTT url '{url}' has no host (e.g. mqtt://127.0.0.1:1883)"
    if port == 0:
        return f"MQTT url '{url}': port 0 is not a port"
    if u.path not in ("", "/") or u.query or u.username or u.password:
        return (f"MQTT url '{url}' must be only scheme://host:port (username and password_file are "
                "separate keys)")
    return None


def _check_url(node: Node, url: str) -> None:
    why = mqtt_url_problem(url)
    if why:
        raise node.error(why)


def backend_section(node: Node | None) -> Node | None:
    """A hardware section kept as a Node for its driver; it must at least name its ``backend``."""
    if node is None:
        return None
    if not node.is_map():
        raise node.error("expected a mapping with a 'backend' key")
    node.child("backend").as_str()
    return node


def load_operator_for(node: Node, path: Path, loader: Callable[[Path], Any] | None = None, *,
                      timetable: Any = None) -> Any:
    """Load the operator file that ``node`` (``unit.operator``) names; its own errors name that file.

    ``loader`` defaults to :func:`transit.operator.load_operator`, which with a ``timetable`` also checks
    the operator's lines and stop ids against it.
    """
    if not path.is_file():
        raise node.error(f"operator file {path} does not exist")
    if loader is not None:
        return loader(path)
    return load_operator(path, timetable)
