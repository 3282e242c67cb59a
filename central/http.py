"""The collector's HTTP endpoints: the GTFS-Realtime feeds and the collector's counters.

``GET /gtfs-rt/trip-updates`` and ``/gtfs-rt/vehicle-positions`` return protobuf
(``application/x-protobuf``), ``?format=json`` the same feed as JSON for debugging; ``/status`` the
collector's counters. The standard library's threading server is enough for a handful of journey
planners polling every few seconds; put a caching reverse proxy in front for more.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from central.gtfsrt import LiveFeed, feed_bytes

log = logging.getLogger(__name__)
FEEDS = {"/gtfs-rt/trip-updates": "trip-updates", "/gtfs-rt/vehicle-positions": "vehicle-positions"}


def make_server(live: LiveFeed, host: str, port: int, *, counters: Callable[[], Any] | None = None,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (0 = a free port: ``server.server_address``); not yet serving."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            u = urlsplit(self.path)
            q = parse_qs(u.query)
            if u.path in FEEDS:
                fmt = (q.get("format") or ["protobuf"])[0]
                if fmt not in ("protobuf", "json"):
                    self._send(400, b"format must be protobuf or json\n", "text/plain")
                    return
                now = clock()
                live.prune(now)
                body, ctype = feed_bytes(live.feed(FEEDS[u.path], now), fmt)
                self._send(200, body, ctype)
            elif u.path == "/status" and counters is not None:
                c = counters()
                self._send(200, json.dumps(asdict(c) if hasattr(c, "__dataclass_fields__") else c).encode(),
                           "application/json")
            else:
                self._send(404, b"not found: /gtfs-rt/trip-updates, /gtfs-rt/vehicle-positions, /status\n",
                           "text/plain")

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("http %s " + fmt, self.address_string(), *args)

    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    return srv


def serve_in_thread(srv: ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=srv.serve_forever, name="gtfs-rt-http", daemon=True)
    t.start()
    return t


__all__ = ["FEEDS", "make_server", "serve_in_thread"]
