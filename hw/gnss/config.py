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
from datetime import UTC, date, datetime

from hw.gnss.decoder import DEFAULT_NOT_BEFORE, NmeaConfig
from transit.yamlconf import Node, resolve_path

_COMMON = frozenset({"backend", "require_checksum", "not_before", "max_line", "log_interval_s",
                     "reconnect_min_s", "reconnect_max_s"})
_PER_BACKEND = {
    "serial": frozenset({"url", "baudrate", "read_chunk"}),
    "file": frozenset({"path", "speed"}),
    "gpsd": frozenset({"host", "port", "hold_s"}),
}


#: the oldest date a GNSS receiver can report at all (the start of GPS week 0)
GPS_EPOCH = date(1980, 1, 6)
#: this software was written after this day, so "now" is not earlier — a lower bound of today that
#: needs no clock (a unit without RTC may boot at 1970 before NTP/GNSS); raise it with each release
SOFTWARE_DATE = date(2026, 12, 1)


def _check_not_before(nb: Node, value: date) -> None:
    """The week-rollover guard must lie in the past: every receiver date before it is moved 1024
    weeks ahead, so a guard after the data's real date stamps every record ~19.6 years in the future
    (``2027-01-01`` in December 2026 gave 2046). "Now" is at least the later of the system clock's date
    (fake-hwclock restores the last shutdown's time, never a future one) and :data:`SOFTWARE_DATE`."""
    if value < GPS_EPOCH:
        raise nb.error(f"{value} is before the GPS epoch {GPS_EPOCH}")
    today = max(datetime.now(UTC).date(), SOFTWARE_DATE)
    if value > today:
        raise nb.error(f"{value} is in the future (today is at least {today}): the week-rollover guard "
                       f"must be a past date, or every real date before it is moved 1024 weeks "
                       f"(19.6 years) ahead")


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
            _check_not_before(nb, not_before)
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
