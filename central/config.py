"""The collector's configuration file (``central.yaml``; example ``data/config/central.yaml``).

Validated once at start-up; every error names file, line and key. Database credentials never live in
this file: the URL names user, host and database, the password comes from ``database.password_file``
or the environment (``PGPASSWORD``; ``RETTID_DB_URL`` / ``RETTID_DB_PASSWORD_FILE`` override the file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from transit.config import MqttConfig
from transit.errors import ConfigError
from transit.yamlconf import Node, load_yaml, resolve_path

DEFAULT_DB = "sqlite:///var/lib/rettid/central.sqlite"
OUTPUT_FORMATS = ("rettid", "hfp")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = DEFAULT_DB
    password_file: Path | None = None
    schema: str = "rettid"  # PostgreSQL schema


@dataclass(frozen=True)
class OutputConfig:
    """Live records passed on to other consumers. ``format: rettid`` (the project's schema, the
    default) or ``hfp`` (HSL HFP v2 topics and payloads, ``central.hfp``), on ``url`` below ``prefix``."""

    url: str
    format: str = "rettid"
    prefix: str = ""
    client_id: str = "rettid-central-out"
    tls: dict[str, Path | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectorConfig:
    mqtt: MqttConfig = field(default_factory=lambda: MqttConfig(client_id="rettid-central"))
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    share_group: str | None = None  # MQTT 5 shared subscription ($share/<group>/...) for load sharing
    batch_max: int = 1000  # messages per transaction at most
    batch_ms: int = 50  # a transaction waits at most this long for more messages
    receive_maximum: int = 1000  # QoS 1 messages the broker may have in flight to us (unacknowledged)
    http_listen: tuple[str, int] | None = None  # GTFS-Realtime endpoints
    stale_s: int = 90  # GTFS-RT entities older than this (data time) are dropped
    predictions: bool = True  # also follow stop predictions (state, for GTFS-RT TripUpdates)
    output: OutputConfig | None = None
    #: recent running per section (transit.sections) published to the units at most this often (0: not);
    #: with a shared subscription each collector sees part of the fleet: let one publish them
    sections_s: float = 30.0
    sections_window_s: float = 3600.0
    #: operator files (``data/operators/<id>.yaml``): their GTFS feeds give GTFS-RT its route_ids
    operators: tuple[Path, ...] = ()

    def with_env(self, env: dict[str, str] | None = None) -> CollectorConfig:
        """``RETTID_DB_URL`` and ``RETTID_DB_PASSWORD_FILE`` from the environment override the file."""
        e = os.environ if env is None else env
        db = self.database
        if e.get("RETTID_DB_URL"):
            db = replace(db, url=e["RETTID_DB_URL"])
        if e.get("RETTID_DB_PASSWORD_FILE"):
            db = replace(db, password_file=Path(e["RETTID_DB_PASSWORD_FILE"]))
        check_db_url(db.url)
        return replace(self, database=db)


def check_db_url(url: str, node: Node | None = None) -> None:
    """A database URL must not carry a password (it would end up in files, logs and process lists)."""
    if "://" in url and urlsplit(url).password:
        msg = "the database URL must not contain a password: use database.password_file or PGPASSWORD"
        raise node.error(msg) if node is not None else ConfigError(msg, key="database.url")


def parse_listen(text: str, node: Node | None = None) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        p = int(port)
        if not host or not 0 <= p <= 65535:
            raise ValueError
    except ValueError:
        msg = f"expected HOST:PORT (e.g. 127.0.0.1:8080), got {text!r}"
        raise node.error(msg) if node is not None else ConfigError(msg, key="http.listen") from None
    return host, p


def load_collector_config(path: str | Path) -> CollectorConfig:
    root = load_yaml(path)
    if not root.is_map():
        raise root.error("expected a mapping with mqtt, database, collector, http, output")
    root.reject_unknown({"mqtt", "database", "collector", "http", "output"})
    m = root.opt("mqtt")
    mqtt = MqttConfig(client_id="rettid-central") if m is None else \
        MqttConfig.from_node(m, default_client_id="rettid-central")
    db = DatabaseConfig()
    dn = root.opt("database")
    if dn is not None:
        dn.reject_unknown({"url", "password_file", "schema"})
        un = dn.opt("url")
        url = db.url if un is None else un.as_str()
        if un is not None:
            check_db_url(url, un)
        pw = dn.opt("password_file")
        db = DatabaseConfig(url, None if pw is None else resolve_path(pw), dn.get_str("schema", "rettid"))
    cfg = CollectorConfig(mqtt=mqtt, database=db)
    cn = root.opt("collector")
    if cn is not None:
        cn.reject_unknown({"share_group", "batch_max", "batch_ms", "receive_maximum", "stale_s", "predictions",
                           "operators", "sections_s", "sections_window_s"})
        sg = cn.opt("share_group")
        group = None if sg is None else sg.as_str()
        if group is not None and (not group or any(c in group for c in "/+# ")):
            raise sg.error("share_group must be a name without '/', '+', '#' or spaces")  # type: ignore[union-attr]
        pn = cn.opt("predictions")
        cfg = replace(cfg, share_group=group, batch_max=cn.get_int("batch_max", 1000, min=1, max=100_000),
                      batch_ms=cn.get_int("batch_ms", 50, min=1, max=10_000),
                      receive_maximum=cn.get_int("receive_maximum", 1000, min=1, max=65535),
                      stale_s=cn.get_int("stale_s", 90, min=1, max=3600),
                      predictions=True if pn is None else pn.as_bool(),
                      sections_s=cn.get_int("sections_s", 30, min=0, max=3600),
                      sections_window_s=cn.get_int("sections_window_s", 3600, min=60, max=86400))
        on_ = cn.opt("operators")
        if on_ is not None:
            paths = []
            for item in on_.as_list():
                path = resolve_path(item)
                if not path.is_file():
                    raise item.error(f"no such operator file: {path}")
                paths.append(path)
            cfg = replace(cfg, operators=tuple(paths))
    hn = root.opt("http")
    if hn is not None:
        hn.reject_unknown({"listen"})
        ln = hn.child("listen")
        cfg = replace(cfg, http_listen=parse_listen(ln.as_str(), ln))
    on = root.opt("output")
    if on is not None:
        on.reject_unknown({"url", "format", "prefix", "client_id", "tls"})
        fmt = on.child("format").choice(OUTPUT_FORMATS) if on.opt("format") is not None else "rettid"
        tls: dict[str, Path | None] = {}
        tn = on.opt("tls")
        if tn is not None:
            tn.reject_unknown({"ca", "cert", "key"})
            tls = {k: (None if tn.opt(k) is None else resolve_path(tn.child(k))) for k in ("ca", "cert", "key")}
        default_prefix = "/hfp/v2" if fmt == "hfp" else "rettid-out/v1"
        cfg = replace(cfg, output=OutputConfig(on.child("url").as_str(), fmt, on.get_str("prefix", default_prefix),
                                               on.get_str("client_id", "rettid-central-out"), tls))
    return cfg


__all__ = ["CollectorConfig", "DatabaseConfig", "OutputConfig", "check_db_url", "load_collector_config",
           "parse_listen"]
