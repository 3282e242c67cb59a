"""The stop's web page (station.web): what a phone shows in a real headless Chromium (DOM, accessibility
markup, in-place auto-refresh under the page's Content-Security-Policy, a phone-sized screenshot), and the
bounds of the server (methods, sizes, rate, connections)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest

from station.departures import Row, build_board
from station.web import PageInfo, StationWeb, TokenBuckets, WebConfig, render_page
from tests.display.factories import NOW, normal_board_inputs
from tests.web.chromium import Chromium
from transit.deviations import (
    DepartureRef,
    DeviationStore,
    Effect,
    Notice,
    TrackChange,
    TripCancellation,
    deviation_topic,
    effect,
    encode_deviation,
)

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
INFO = PageInfo(title="Hillerød St.", refresh_s=5, public_url="https://rettid.example/s/hil",
                line_colours={"920R": (225, 80, 40), "950R": (30, 110, 200)}, bus_routes=frozenset({"330R"}))
T0 = NOW - timedelta(minutes=5)


def _base(**kw):
    d = {"oper": "lokaltog", "tst": T0, "valid_from": T0, "valid_to": NOW + timedelta(hours=2)}
    d.update(kw)
    return d


def _board(*devs, now=NOW):
    s, p = normal_board_inputs()

    def apply(row: Row) -> Effect:
        assert row.service_day is not None
        return effect(devs, DepartureRef(row.trip_id, row.service_day.isoformat(), row.route, row.stop_id,
                                         row.scheduled or row.expected, "hilleroed"))
    store = DeviationStore(prefix="rettid/v1")
    for d in devs:
        store.handle(deviation_topic("rettid/v1", d.oper, d.id), encode_deviation(d), now)
    return build_board(s, p, now, deviations=apply, messages=store.messages({"hilleroed"}, {"920R"}, now))


DEVS = (TripCancellation(**_base(id="c1", trip_id="t950", oday="2026-11-23", text="950R kl. 07.59 er aflyst.",
                                 priority="warning")),
        TrackChange(**_base(id="t1", trip_id="t930", oday="2026-11-23", stop_id="hilleroed", platform="2")),
        Notice(**_base(id="n1", stops=("hilleroed",), priority="severe",
                       text="Elevatoren til spor 8 er ude af drift. Brug rampen ved Østbanegade.")))


@pytest.fixture
def web():
    w = StationWeb(WebConfig(host="127.0.0.1", port=0, refresh_s=5, rate_per_client=50, burst_per_client=50),
                   INFO, ("hilleroed",))
    w.publish(_board(*DEVS))
    w.start()
    yield w
    w.stop()


@pytest.fixture
def browser(tmp_path):
    b = Chromium(tmp_path / "profile")
    yield b
    b.close()


def _url(w: StationWeb, path: str = "/") -> str:
    assert w.address is not None
    return f"http://{w.address[0]}:{w.address[1]}{path}"


def test_page_in_chromium_on_a_phone(web: StationWeb, browser: Chromium) -> None:
    browser.phone()
    browser.goto(_url(web))
    dom = browser.js("""(() => {
      const rows = [...document.querySelectorAll('table tbody tr')].map(tr =>
        [...tr.cells].map(td => td.innerText.replace(/\\s+/g, ' ').trim()));
      return {lang: document.documentElement.lang, title: document.title,
              caption: document.querySelector('table caption').innerText,
              scopes: [...document.querySelectorAll('thead th')].map(th => th.scope),
              headers: [...document.querySelectorAll('thead th')].map(th => th.innerText),
              rows: rows,
              cancelled: [...document.querySelectorAll('tr.cancelled')].map(tr => tr.cells[0].innerText),
              changed: [...document.querySelectorAll('.changed')].map(e => e.innerText),
              msgs: [...document.querySelectorAll('.msgs li')].map(li => [li.className, li.textContent]),
              h1: document.querySelector('h1').innerText,
              width: document.documentElement.scrollWidth, viewport: innerWidth,
              scriptRan: !document.getElementById('auto').disabled};
    })()""")
    assert dom["lang"] == "da" and dom["title"] == "Afgange fra Hillerød St." and dom["h1"] == dom["title"]
    assert dom["caption"] == "Næste afgange"
    assert dom["scopes"] == ["col"] * 4 and dom["headers"] == ["Linje", "Mod", "Afgang", "Fra"]
    rows = {r[0]: r for r in dom["rows"]}
    assert rows["950R"][2].startswith("Aflyst") and dom["cancelled"] == ["950R"]
    assert rows["930R"][3].startswith("Spor 2") and "ændret" in rows["930R"][3] and dom["changed"] == ["Spor 2"]
    assert rows["920R"][2].startswith("Nu") and "ifølge køreplanen" in rows["920R"][2]  # said to screen readers
    assert "realtid" in rows["930R"][2] and "minutter" in rows["930R"][2]
    assert rows["330R"][3] == "Stoppested A"  # a bus stops at a stand, not a track
    assert dom["msgs"][0] == ["severe", "Vigtigt: Elevatoren til spor 8 er ude af drift. Brug rampen ved Østbanegade."]
    assert ["warning", "Bemærk: 950R kl. 07.59 er aflyst."] in dom["msgs"]
    assert dom["width"] <= dom["viewport"]  # no sideways scrolling on a phone
    assert dom["scriptRan"]  # the inline script runs under the page's CSP (it enables the checkbox)
    shot = browser.screenshot("station-page-phone")
    if os.environ.get("RETTID_UPDATE_DOCS") == "1":
        DOCS_IMG.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS_IMG / "station-page-phone.png")


def test_page_refreshes_in_place_and_the_checkbox_stops_it(web: StationWeb, browser: Chromium) -> None:
    browser.goto(_url(web))
    browser.js("window.marker = 42")
    assert "Aflyst" not in browser.js("document.querySelector('tbody tr').innerText")
    first = TripCancellation(**_base(id="c0", trip_id="t920", oday="2026-11-23"))
    web.publish(_board(first, *DEVS))
    t0 = time.monotonic()
    assert browser.wait_js("document.querySelector('tbody tr').innerText.includes('Aflyst')", timeout_s=12)
    assert time.monotonic() - t0 <= 5 + 3  # refresh_s 5
    assert browser.js("window.marker") == 42  # replaced in place, not reloaded (focus and scroll stay)
    browser.js("document.getElementById('auto').click()")
    web.publish(_board(now=NOW + timedelta(minutes=1)))
    time.sleep(6.5)
    assert "Aflyst" in browser.js("document.querySelector('tbody tr').innerText")  # kept: refresh is off


def test_json_endpoint(web: StationWeb) -> None:
    c = http.client.HTTPConnection(*web.address, timeout=5)  # type: ignore[misc]
    c.request("GET", "/departures.json")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    doc = json.loads(r.read())
    assert doc["v"] == 1 and doc["stop"] == {"name": "Hillerød St.", "ids": ["hilleroed"]}
    deps = {d["route"]: d for d in doc["departures"]}
    assert deps["950R"]["cancelled"] and deps["950R"]["text"] == "Aflyst"
    assert deps["930R"]["platform"] == "2" and deps["930R"]["platform_changed"]
    assert doc["messages"][0]["priority"] == "severe"


def _raw(web: StationWeb, data: bytes) -> bytes:
    with socket.create_connection(web.address, timeout=5) as s:  # type: ignore[arg-type]
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_read_only_and_bounded(web: StationWeb) -> None:
    assert _raw(web, b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc").startswith(b"HTTP/1.0 405")
    assert _raw(web, b"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc").startswith(b"HTTP/1.0 413")
    assert _raw(web, b"GET /" + b"a" * 5000 + b" HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 414")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    assert _raw(web, b"GET / HTTP/1.0\r\n" + many + b"\r\n").startswith(b"HTTP/1.0 431")
    assert _raw(web, b"GET /etc/passwd HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 404")
    head = _raw(web, b"HEAD / HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and head.endswith(b"\r\n\r\n")  # headers only
    page = _raw(web, b"GET / HTTP/1.0\r\n\r\n")
    csp = next(ln for ln in page.split(b"\r\n") if ln.startswith(b"Content-Security-Policy"))
    assert b"default-src 'none'" in csp and b"script-src 'sha256-" in csp and b"unsafe" not in csp
    etag = next(ln for ln in page.split(b"\r\n") if ln.startswith(b"ETag")).split(b": ")[1]
    assert _raw(web, b"GET / HTTP/1.0\r\nIf-None-Match: " + etag + b"\r\n\r\n").startswith(b"HTTP/1.0 304")
    assert web.counters.refused >= 5


def test_rate_limit_per_client_and_total() -> None:
    t = [0.0]
    b = TokenBuckets(rate=2.0, burst=3, total_rate=5.0, clock=lambda: t[0], max_clients=2)
    assert [b.allow("a") for _ in range(4)] == [True, True, True, False]
    t[0] += 0.5  # one token back for a
    assert b.allow("a") and not b.allow("a")
    assert b.allow("b") and b.allow("c")  # others have their own bucket (the total still has room)
    assert len(b._clients) == 2  # bounded table


def test_server_answers_429_and_503(tmp_path) -> None:
    limited = StationWeb(WebConfig(host="127.0.0.1", port=0, rate_per_client=0.1, burst_per_client=2,
                                   max_connections=8), INFO, ("hilleroed",))
    busy = StationWeb(WebConfig(host="127.0.0.1", port=0, max_connections=1, timeout_s=2.0), INFO, ("hilleroed",))
    for w in (limited, busy):
        w.publish(_board())
        w.start()
    try:
        codes = [_raw(limited, b"GET / HTTP/1.0\r\n\r\n")[:12] for _ in range(3)]
        assert codes == [b"HTTP/1.0 200", b"HTTP/1.0 200", b"HTTP/1.0 429"]
        assert limited.counters.rate_limited == 1
        slow = socket.create_connection(busy.address, timeout=5)  # type: ignore[arg-type]
        slow.sendall(b"GET / HTT")  # holds the only slot until its timeout
        time.sleep(0.3)
        assert _raw(busy, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 503")
        slow.close()
        assert busy.counters.too_busy == 1
    finally:
        limited.stop()
        busy.stop()


def test_page_without_departures_and_escaping() -> None:
    b = build_board([], [], NOW)
    page, _ = render_page(b, PageInfo(title="<script>x</script>"))
    text = page.decode()
    assert "Ingen afgange" in text and "<script>x</script>" not in text and "&lt;script&gt;" in text


def test_served_by_the_unprivileged_service_on_an_unprivileged_port() -> None:
    from transit.yamlconf import parse_yaml

    unit = (Path(__file__).resolve().parents[2] / "systemd" / "rettid-station.service").read_text()
    assert "User=rettid" in unit and "NoNewPrivileges=yes" in unit
    assert "CapabilityBoundingSet=\n" in unit and "AmbientCapabilities=\n" in unit  # none: no port < 1024
    with pytest.raises(ValueError, match="privileges"):
        WebConfig.from_node(parse_yaml("listen: 0.0.0.0:80\n"))
    assert WebConfig.from_node(parse_yaml("listen: '[::]:8080'\n")).host == "::"
