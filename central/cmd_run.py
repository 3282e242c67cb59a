"""``python -m central run [--config central.yaml] [--broker URL] [--db URL] [--http HOST:PORT]
[--operator FILE]``: the collector service (systemd: ``rettid-central.service``)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from central.config import CollectorConfig, check_db_url, load_collector_config, parse_listen
from transit.cli import add_mqtt_arguments, add_unit_arguments, mqtt_from_args
from transit.errors import ConfigError

log = logging.getLogger("central.run")


EXAMPLES = """\
rettid-central run --config /etc/rettid/central.yaml
rettid-central run --broker mqtt://127.0.0.1:1883 --db sqlite:///tmp/central.sqlite --http 127.0.0.1:8080 \\
    --operator data/operators/lokaltog.yaml
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_required=False, state_dir=False,
                       config_help="collector configuration (YAML; data/config/central.yaml)")
    add_mqtt_arguments(p, tls=True, broker_help="MQTT broker, mqtt://HOST:PORT or mqtts://HOST:PORT "
                       "(overrides mqtt.url)")
    p.add_argument("--db", metavar="URL", help="record store: sqlite:///PATH (default "
                   "/var/lib/rettid/central.sqlite) or postgresql://USER@HOST:PORT/DB (password from "
                   "database.password_file, RETTID_DB_PASSWORD_FILE or PGPASSWORD)")
    p.add_argument("--http", metavar="HOST:PORT", help="serve GTFS-Realtime here (overrides http.listen)")
    p.add_argument("--share-group", help="MQTT 5 shared subscription group, for several collectors")
    p.add_argument("--operator", type=Path, action="append", default=[], metavar="FILE",
                   help="operator file whose GTFS feed gives GTFS-RT its route_ids (repeatable; adds to "
                   "collector.operators)")


def build_config(args: argparse.Namespace) -> CollectorConfig:
    """The configuration file (or the defaults), then the command line, then the environment."""
    cfg = load_collector_config(args.config) if args.config else CollectorConfig()
    cfg = replace(cfg, mqtt=mqtt_from_args(args, cfg.mqtt))  # --broker, --client-id, TLS files, prefix
    if args.db:
        check_db_url(args.db)
        cfg = replace(cfg, database=replace(cfg.database, url=args.db))
    if args.http:
        cfg = replace(cfg, http_listen=parse_listen(args.http))
    if args.share_group:
        cfg = replace(cfg, share_group=args.share_group)
    for path in args.operator:
        if not path.is_file():
            raise ConfigError("no such operator file", file=str(path), key="--operator")
    if args.operator:
        cfg = replace(cfg, operators=cfg.operators + tuple(args.operator))
    return cfg.with_env()


def run(args: argparse.Namespace) -> int:
    from central.collector import Collector
    from central.gtfsrt import LiveFeed, RouteIds
    from central.http import make_server, serve_in_thread
    from central.store import open_store

    cfg = build_config(args)
    opts = {}
    if cfg.database.url.startswith(("postgresql://", "postgres://")):
        opts = {"password_file": cfg.database.password_file, "schema": cfg.database.schema}
    store = open_store(cfg.database.url, **opts)
    routes = RouteIds.from_operators(list(cfg.operators))  # GTFS-RT route_ids (before connecting: errors first)
    live = LiveFeed(cfg.stale_s, routes)
    col = Collector(cfg, store, live=live)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: committing the last batch and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    srv = None
    if cfg.http_listen is not None:
        try:
            srv = make_server(live, *cfg.http_listen, counters=lambda: col.counters)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {cfg.http_listen[0]}:{cfg.http_listen[1]}: {exc.strerror}",
                              key="http.listen") from None
        serve_in_thread(srv)
        log.info("GTFS-Realtime on http://%s:%d/gtfs-rt/trip-updates and /gtfs-rt/vehicle-positions",
                 *srv.server_address[:2])
    log.info("collector: %s -> %s (schema version %d); route_ids of %d trips from %d operator file(s)",
             cfg.mqtt.url, store.backend, store.schema_version(), len(routes), len(cfg.operators))
    try:
        col.run(stop)
    finally:
        if srv is not None:
            srv.shutdown()
        store.close()
        c = col.counters
        log.info("collector stopped: %d received, %d stored, %d duplicates, %d rejected, %d mismatched",
                 c.received, c.stored, c.duplicates, c.rejected, c.mismatched)
    return 0
