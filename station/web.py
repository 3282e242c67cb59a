"""The stop's web page behind the QR code: the same departures as the countdown display, for a phone.

``GET /`` is a small, mobile-first HTML page in Danish (``lang="da"``): a semantic table of departures
(line, destination, time, track/stand), the realtime mark, "Aflyst", the control room's messages, and an
auto-refresh of a few lines of plain JavaScript that replaces the departures in place (a checkbox turns it
off, WCAG 2.2.1; without JavaScript a ``<noscript>`` meta refresh). ``GET /departures.json`` is the same
as JSON. Both are built once per display frame by the service (:meth:`StationWeb.publish`) from the board
it renders, so a request only copies bytes: one Raspberry Pi serves a crowded platform.

Read-only and bounded, since it faces the internet: only ``GET``/``HEAD`` (405 otherwise, 413 for a
body), request line ≤ 2 KiB and headers ≤ 8 KiB in ≤ 40 lines (414/431), a socket timeout against slow
clients, at most ``max_connections`` at a time (503), a token bucket per client address and one for all
(429 with ``Retry-After``), a strict Content-Security-Policy (the inline style and script by hash,
nothing from elsewhere). It runs inside the station service, as its unprivileged user (systemd unit
``rettid-station.service``), on an unprivileged port.

The standard library's threading server rather than a framework: two fixed documents, no routing, no
templates worth a dependency, and every bound above needs the request loop in hand anyway.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import msgspec

from signage.colours import RGB
from station.departures import Board, Row
from transit.ratelimit import RateLimitedLog
from transit.timeutil import COPENHAGEN, ensure_utc, iso_utc_ms
from transit.yamlconf import Node

log = logging.getLogger(__name__)

MAX_REQUEST_LINE = 2048
MAX_HEADER_BYTES = 8192
MAX_HEADER_LINES = 40
PAGE_PATHS = ("/", "/index.html")
JSON_PATH = "/departures.json"


@dataclass(frozen=True)
class WebConfig:
    """``web:`` in station.yaml (docs/config.md)."""

    host: str = "0.0.0.0"
    port: int = 8080
    refresh_s: int = 30            # the page refreshes its departures this often
    rate_per_client: float = 5.0   # requests per second per client address (token bucket) ...
    burst_per_client: int = 20     # ... with this burst
    rate_total: float = 200.0      # requests per second for everyone together
    max_connections: int = 64      # connections served at a time
    timeout_s: float = 5.0         # socket timeout per request

    @classmethod
    def from_node(cls, node: Node) -> WebConfig:
        node.reject_unknown({"listen", "refresh_s", "rate_per_client", "burst_per_client", "rate_total",
                             "max_connections", "timeout_s"})
        host, port = cls.host, cls.port
        ln = node.opt("listen")
        if ln is not None:
            text = ln.as_str()
            h, sep, p = text.rpartition(":")
            if not sep or not p.isdigit() or not 1 <= int(p) <= 65535:
                raise ln.error(f"expected HOST:PORT (e.g. 0.0.0.0:8080), got '{text}'")
            host, port = h.strip("[]") or "0.0.0.0", int(p)
            if port < 1024:
                raise ln.error(f"port {port} needs privileges the service does not have (use >= 1024, and a "
                               "reverse proxy or a firewall redirect for port 80)")
        return cls(host=host, port=port,
                   refresh_s=node.get_int("refresh_s", 30, min=5, max=600),
                   rate_per_client=node.get_float("rate_per_client", 5.0, min=0.1, max=1000.0),
                   burst_per_client=node.get_int("burst_per_client", 20, min=1, max=10_000),
                   rate_total=node.get_float("rate_total", 200.0, min=1.0, max=100_000.0),
                   max_connections=node.get_int("max_connections", 64, min=1, max=4096),
                   timeout_s=node.get_float("timeout_s", 5.0, min=0.5, max=60.0))


# ------------------------------------------------------------------------------------------ the documents
@dataclass(frozen=True)
class PageInfo:
    """What the page says besides the board."""

    title: str                                   # the stop's name
    refresh_s: int = 30
    public_url: str | None = None                # what the QR code encodes
    line_colours: Mapping[str, RGB] = field(default_factory=dict)
    bus_routes: frozenset[str] = frozenset()     # lines whose platform is a stand (stoppested), not a track


CSS_BASE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#111;--dim:#555;--line:#ddd;--warn:#8a5a00;--bad:#b00020;--ok:#0a7d32}
@media (prefers-color-scheme:dark){:root{--bg:#111;--fg:#f2f2f2;--dim:#b8b8b8;--line:#333;--warn:#ffb000;--bad:#ff6b5e;--ok:#46dc5a}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg)}
header,main,footer{max-width:40rem;margin:0 auto;padding:0 .75rem}
h1{font-size:1.35rem;margin:.75rem 0 .25rem}
h2{font-size:1rem;margin:.75rem 0 .25rem}
.updated{color:var(--dim);margin:.25rem 0 .5rem;font-size:.9rem}
.msgs ul{list-style:none;margin:0;padding:0}
.msgs li{border-left:.35rem solid var(--dim);padding:.35rem .6rem;margin:.35rem 0;background:color-mix(in srgb,var(--fg) 6%,transparent)}
.msgs li.warning{border-color:var(--warn)}
.msgs li.severe{border-color:var(--bad);font-weight:600}
table{width:100%;border-collapse:collapse;margin:.25rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th{text-align:left;font-size:.8rem;color:var(--dim);font-weight:600;border-bottom:2px solid var(--line);padding:.3rem .25rem}
td{border-bottom:1px solid var(--line);padding:.45rem .25rem;vertical-align:top}
td.when{text-align:right;white-space:nowrap;font-weight:700}
th.when{text-align:right}
.line{display:inline-block;min-width:3.2rem;text-align:center;border-radius:.35rem;padding:.1rem .3rem;font-weight:700;background:#555;color:#fff}
.sub{display:block;font-weight:400;font-size:.8rem;color:var(--dim)}
.rt{color:var(--ok)}
.late{color:var(--warn)}
tr.cancelled td.when{color:var(--bad)}
tr.cancelled .dest{text-decoration:line-through;color:var(--dim)}
.changed{font-weight:700;background:#ffb000;color:#000;border-radius:.25rem;padding:0 .3rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{color:var(--dim);font-size:.85rem;padding-bottom:1.5rem}
""".strip()

# Replaces the departures in place every data-refresh seconds while the box is ticked; kept constant so
# the Content-Security-Policy can name it by hash.
SCRIPT = (
    "(function(){var b=document.body,c=document.getElementById('auto'),n=+b.dataset.refresh||30;"
    "c.disabled=false;function t(){if(!c.checked)return;fetch(location.pathname,{cache:'no-store'})"
    ".then(function(r){return r.ok?r.text():null}).then(function(s){if(!s)return;"
    "var d=new DOMParser().parseFromString(s,'text/html'),a=d.getElementById('board'),"
    "o=document.getElementById('board');if(a&&o){o.replaceWith(a)}}).catch(function(){})}"
    "setInterval(t,n*1000)})();")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


SCRIPT_HASH = _sha256(SCRIPT)


def _hex(rgb: RGB) -> str:
    return f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"


def _line_class(route: str) -> str:
    return "l-" + "".join(ch if ch.isalnum() else "_" for ch in route)


def _css(board: Board, info: PageInfo) -> str:
    from signage.text import text_colour_on

    rules = []
    for route in sorted({r.route for r in board.rows}):
        bg = info.line_colours.get(route)
        if bg is not None:
            rules.append(f".{_line_class(route)}{{background:{_hex(bg)};color:{_hex(text_colour_on(bg))}}}")
    return CSS_BASE + "\n" + "\n".join(rules)


def _local(dt: datetime) -> str:
    return ensure_utc(dt).astimezone(COPENHAGEN).strftime("%H:%M")


def _platform_cell(row: Row, info: PageInfo) -> str:
    if not row.platform:
        return '<td><span class="vh">ikke oplyst</span></td>'
    word = "Stoppested" if row.route in info.bus_routes else "Spor"
    p = html.escape(row.platform)
    if row.platform_changed:
        return f'<td><span class="changed">{word} {p}</span><span class="sub">ændret</span></td>'
    return f"<td>{word} {p}</td>"


def _when_cell(row: Row) -> str:
    sched = _local(row.scheduled) if row.scheduled is not None else None
    if row.cancelled:
        what = "Stopper ikke her" if row.skipped else "Aflyst"
        sub = f'<span class="sub">kl. {sched}</span>' if sched else ""
        return f'<td class="when">{what}{sub}</td>'
    text = html.escape(row.text)
    if row.text == "Nu":
        text = "Nu"
    elif row.text.endswith(" min"):
        text = f'{row.text[:-4]}<span aria-hidden="true"> min</span><span class="vh"> minutter</span>'
    mark = ('<span class="rt" aria-hidden="true"> ●</span><span class="vh">, realtid</span>' if row.realtime
            else '<span class="vh">, ifølge køreplanen</span>')
    sub = ""
    if row.realtime and row.delay_s is not None and row.delay_s >= 60 and sched:
        sub = f'<span class="sub late">kl. {sched}, {row.delay_s // 60} min forsinket</span>'
    elif sched and not (len(row.text) == 5 and row.text[2] == ":"):
        sub = f'<span class="sub">kl. {sched}</span>'
    return f'<td class="when">{text}{mark}{sub}</td>'


def render_page(board: Board, info: PageInfo) -> tuple[bytes, str]:
    """The HTML page for ``board`` and its Content-Security-Policy (which names the page's style by hash)."""
    e = html.escape
    now = board.now
    css = _css(board, info)
    title = e(info.title or "Stoppested")
    parts = [
        "<!doctype html>",
        '<html lang="da">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Afgange fra {title}</title>",
        f'<noscript><meta http-equiv="refresh" content="{info.refresh_s}"></noscript>',
        f"<style>{css}</style>",
        "</head>",
        f'<body data-refresh="{info.refresh_s}">',
        f"<header><h1>Afgange fra {title}</h1></header>",
        '<main id="board">',
        f'<p class="updated">Opdateret <time datetime="{iso_utc_ms(now)}">{_local(now)}</time></p>',
    ]
    if board.messages:
        parts.append('<section class="msgs" aria-labelledby="msgs-h"><h2 id="msgs-h">Driftsinformation</h2><ul>')
        label = {"severe": "Vigtigt: ", "warning": "Bemærk: ", "info": ""}
        for m in board.messages:
            pre = f'<span class="vh">{label.get(m.priority, "")}</span>' if label.get(m.priority) else ""
            parts.append(f'<li class="{e(m.priority)}">{pre}{e(m.text)}</li>')
        parts.append("</ul></section>")
    if board.state == "no_data":
        parts.append('<p role="status"><strong>Ingen data.</strong> Se afgange på rejseplanen.dk.</p>')
    elif board.state == "no_departures":
        parts.append(f'<p role="status"><strong>Ingen afgange</strong> i de næste {int(board.horizon_s // 3600)} '
                     "timer.</p>")
    else:
        parts += ["<table>", "<caption>Næste afgange</caption>",
                  '<thead><tr><th scope="col">Linje</th><th scope="col">Mod</th>'
                  '<th scope="col" class="when">Afgang</th><th scope="col">Fra</th></tr></thead>', "<tbody>"]
        for r in board.rows:
            cls = ' class="cancelled"' if r.cancelled else ""
            parts.append(
                f"<tr{cls}><td><span class=\"line {_line_class(r.route)}\">{e(r.route)}</span></td>"
                f'<td class="dest">{e(r.headsign or "-")}</td>{_when_cell(r)}{_platform_cell(r, info)}</tr>')
        parts += ["</tbody>", "</table>"]
    parts.append("</main>")
    parts += [
        "<footer>",
        '<p><label><input type="checkbox" id="auto" checked disabled> Opdater automatisk</label></p>',
        '<p>Tider mærket <span class="rt">●</span> er realtid fra toget eller bussen; de andre er køreplanstider. '
        "Aflyste afgange vises indtil deres planlagte tid.</p>",
    ]
    if info.public_url:
        parts.append(f"<p>{e(info.public_url)}</p>")
    parts += ["</footer>", f"<script>{SCRIPT}</script>", "</body>", "</html>", ""]
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {SCRIPT_HASH}; connect-src 'self'; "
           "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return "\n".join(parts).encode("utf-8"), csp


_JSON = msgspec.json.Encoder()


def render_json(board: Board, info: PageInfo, stop_ids: tuple[str, ...]) -> bytes:
    """The departures as JSON (``v``: 1; times ISO 8601 UTC with milliseconds)."""
    def t(x: datetime | None) -> str | None:
        return None if x is None else iso_utc_ms(x)

    return _JSON.encode({
        "v": 1, "stop": {"name": info.title, "ids": list(stop_ids)}, "generated": iso_utc_ms(board.now),
        "state": board.state,
        "messages": [{"priority": m.priority, "text": m.text} for m in board.messages],
        "departures": [{
            "route": r.route, "headsign": r.headsign, "stop_id": r.stop_id, "trip_id": r.trip_id,
            "oday": None if r.service_day is None else r.service_day.isoformat(),
            "scheduled": t(r.scheduled), "expected": t(r.expected), "text": r.text, "realtime": r.realtime,
            "cancelled": r.cancelled, "skipped": r.skipped, "platform": r.platform,
            "platform_changed": r.platform_changed, "delay_s": r.delay_s, "occupancy": r.occupancy,
        } for r in board.rows]})


@dataclass(frozen=True)
class Content:
    """What the server hands out until the next frame: built once, copied per request."""

    page: bytes
    csp: str
    json: bytes
    etag: str


EMPTY = Content(b"", "default-src 'none'", b"", '"0"')


# ------------------------------------------------------------------------------------------ the limits
class TokenBuckets:
    """A token bucket per client address plus one for all; the address table is bounded (LRU)."""

    def __init__(self, rate: float, burst: int, total_rate: float, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.total_rate = rate, float(burst), total_rate
        self.total_burst = max(total_rate, float(burst))
        self.clock = clock
        self.max_clients = max_clients
        self._clients: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._total = (self.total_burst, clock())
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = self.clock()
        with self._lock:
            tok, at = self._total
            tok = min(self.total_burst, tok + (now - at) * self.total_rate)
            ctok, cat = self._clients.pop(client, (self.burst, now))
            ctok = min(self.burst, ctok + (now - cat) * self.rate)
            ok = tok >= 1.0 and ctok >= 1.0
            if ok:
                tok -= 1.0
                ctok -= 1.0
            self._total = (tok, now)
            self._clients[client] = (ctok, now)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            return ok


@dataclass
class WebCounters:
    requests: int = 0
    served: int = 0
    not_found: int = 0
    rate_limited: int = 0
    too_busy: int = 0
    refused: int = 0  # bad method, body, oversize request line or headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler], web: StationWeb) -> None:
        self.web = web
        self._slots = threading.BoundedSemaphore(web.cfg.max_connections)
        super().__init__(addr, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.web.counters.too_busy += 1
            try:
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing held open between requests
    server_version = "rettid-station"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.web.cfg.timeout_s)  # a slow client cannot hold a slot

    def handle_one_request(self) -> None:
        # the request line, bounded before http.server reads up to 64 KiB of it
        try:
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        web = self.server.web
        if len(line) > MAX_REQUEST_LINE:
            web.counters.refused += 1
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", "GET"
            self.send_error(414)
            self.close_connection = True
            return
        self.raw_requestline = line
        if not self.parse_request():
            web.counters.refused += 1
            return
        head = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if head > MAX_HEADER_BYTES or len(self.headers) > MAX_HEADER_LINES:
            web.counters.refused += 1
            self.send_error(431)
            return
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self._refuse(405, "only GET and HEAD")
            return
        method()
        self.wfile.flush()

    def _refuse(self, code: int, why: str) -> None:
        self.server.web.counters.refused += 1
        self.send_response(code)
        self.send_header("Allow", "GET, HEAD")
        body = (why + "\n").encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        web = self.server.web
        web.counters.requests += 1
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get("Transfer-Encoding"):
            self._refuse(413, "no request bodies")
            return
        if not web.buckets.allow(self.client_address[0]):
            web.counters.rate_limited += 1
            web.ratelog.warn("rate", "web: client %s over its rate", self.client_address[0])
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = urlsplit(self.path).path
        c = web.content
        if path in PAGE_PATHS:
            body, ctype = c.page, "text/html; charset=utf-8"
        elif path == JSON_PATH:
            body, ctype = c.json, "application/json"
        else:
            web.counters.not_found += 1
            self._refuse(404, "not found: / or /departures.json")
            return
        if not body:
            self.send_response(503)
            self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == c.etag:
            self.send_response(304)
            self.send_header("ETag", c.etag)
            self.end_headers()
            web.counters.served += 1
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("ETag", c.etag)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header("Content-Security-Policy", c.csp)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        web.counters.served += 1

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("web %s " + fmt, self.client_address[0], *args)


class StationWeb:
    """The page and JSON of one station, served from a thread; :meth:`publish` feeds it each frame."""

    def __init__(self, cfg: WebConfig, info: PageInfo, stop_ids: tuple[str, ...]) -> None:
        self.cfg = cfg
        self.info = info
        self.stop_ids = stop_ids
        self.counters = WebCounters()
        self.ratelog = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self.buckets = TokenBuckets(cfg.rate_per_client, cfg.burst_per_client, cfg.rate_total)
        self.content = EMPTY
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def publish(self, board: Board) -> None:
        """New documents from the board just rendered (one attribute swap: requests never see half)."""
        page, csp = render_page(board, self.info)
        js = render_json(board, self.info, self.stop_ids)
        etag = '"' + hashlib.sha1(page).hexdigest()[:16] + '"'
        self.content = Content(page, csp, js, etag)

    def start(self) -> tuple[str, int]:
        fam = socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET
        server_cls = type("_StationServer", (_Server,), {"address_family": fam})
        self._server = server_cls((self.cfg.host, self.cfg.port), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="station-web", daemon=True)
        self._thread.start()
        addr = self._server.server_address
        log.info("web page on http://%s:%d/ (public %s)", addr[0], addr[1], self.info.public_url or "-")
        return str(addr[0]), int(addr[1])

    @property
    def address(self) -> tuple[str, int] | None:
        if self._server is None:
            return None
        a = self._server.server_address
        return str(a[0]), int(a[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = ["JSON_PATH", "PageInfo", "StationWeb", "TokenBuckets", "WebConfig", "render_json", "render_page"]
