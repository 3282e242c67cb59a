"""The ``gnss:`` configuration section, validated once at start-up.

Example (``onboard.yaml``)::

    gnss:
      backend: serial            # serial | file | gpsd
      url: /dev/ttyACM0          # serial: device, pty path, loop://, socket://host:port
      baudrate: 38400
      require_checksum: true
      not_before: 2019-04-07     # GPS week-rollover guard

``file`` takes ``path`` (relative to the configuration file) and optional ``speed`` (pacing factor, 0 = as fast as possible);
``gpsd`` takes ``host`` and ``port``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from hw.gnss.decoder import DEFAULT_NOT_BEFORE, NmeaConfig
from transit.yamlconf import Node, resolve_path

_COMMON = frozenset({"backend", "require_checksum", "not_before", "max_line", "log_interval_s",
                     "reconnect_min_s", "reconnect_max_s"})
_PER_BACKEND = {
    "serial": frozenset({"url", "baudrate", "read_chunk"}),
    "file": frozenset({"path", "speed"}),
    "gpsd": frozenset({"host", "port", "hold_s"}),
}


@dataclass(frozen=True, slots=True)
class GnssConfig:
    """Everything a GNSS source needs; keys of other backends are rejected at load time."""

    backend: str
    nmea: NmeaConfig = field(default_factory=NmeaConfig)
    url: str = ""
    baudrate: int = 38400
    read_chunk: int = 4096
    path: str = ""
    speed: float = 0.0
    host: str = "127.0.0.1"
    port: int = 2947
    hold_s: float = 0.3
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0

    @classmethod
    def from_node(cls, node: Node) -> GnssConfig:
        backend = node.child("backend").choice(tuple(_PER_BACKEND))
        node.reject_unknown(_COMMON | _PER_BACKEND[backend])
        nb = node.opt("not_before")
        not_before = DEFAULT_NOT_BEFORE
        if nb is not None:
            if isinstance(nb.value, date):
                not_before = nb.value
            else:
                not_before = nb.convert(lambda v: date.fromisoformat(str(v)), "a date YYYY-MM-DD")
        nmea = NmeaConfig(
            require_checksum=node.get_bool("require_checksum", True),
            not_before=not_before,
            max_line=node.get_int("max_line", 256, min=82, max=65536),
            log_interval_s=node.get_float("log_interval_s", 60.0, min=0.0),
        )
        rmin = node.get_float("reconnect_min_s", 0.5, min=0.01)
        rmax = node.get_float("reconnect_max_s", 30.0, min=0.01)
        if rmax < rmin:
            raise node.child("reconnect_max_s").error("must not be below reconnect_min_s")
        base = cls(backend=backend, nmea=nmea, reconnect_min_s=rmin, reconnect_max_s=rmax)
        if backend == "serial":
            return replace(base, url=node.get_str("url"),
                           baudrate=node.get_int("baudrate", 38400, min=300, max=4_000_000),
                           read_chunk=node.get_int("read_chunk", 4096, min=64, max=1 << 20))
        if backend == "file":
            # relative to the config file (``sim_bus record`` writes ``path: gnss.nmea`` beside it)
            return replace(base, path=str(resolve_path(node.child("path"))),
                           speed=node.get_float("speed", 0.0, min=0.0))
        return replace(base, host=node.get_str("host", "127.0.0.1"),
                       port=node.get_int("port", 2947, min=1, max=65535),
                       hold_s=node.get_float("hold_s", 0.3, min=0.0))
