"""Passenger information on a bad day: the stop's web page under load and a deviation's way to the display.

- ``station_page_p95_ms`` (≤ 20): one station unit's web page (``station.web``) at 50 requests/s for 10 s
  from 10 client addresses (127.0.0.2-11, phones on a platform), while the board is rebuilt twice a
  second as the service does; latency = connect, request, whole response. Reference in the same run: the
  same client against the standard library's plain HTTP server handing out the same bytes (no bounds, no
  CSP), reported as a ratio.
- ``deviation_to_display_p95_s`` (≤ 2): a real Mosquitto and the station service in this process (memory
  sink, 0.5 s frames, the Hillerød configuration): from publishing a deviation (a message for the stop,
  then its withdrawal, 20 times) to the first display frame rendered from a board that shows it.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parents[1]
RATE = 50.0
SECONDS = 10.0
CLIENTS = 10


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[max(0, int(round(0.95 * len(xs))) - 1)]


def _get(addr: tuple[str, int], src: str) -> float:
    t0 = time.perf_counter()
    with socket.create_connection(addr, timeout=5, source_address=(src, 0)) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: station\r\n\r\n")
        head = b""
        while chunk := s.recv(65536):
            head += chunk
    if not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError(f"unexpected answer {head[:40]!r}")
    return (time.perf_counter() - t0) * 1000.0


def _load(addr: tuple[str, int]) -> list[float]:
    """Open-loop: a request every 1/RATE s from the next client address, each in its own thread."""
    out: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(src: str) -> None:
        try:
            ms = _get(addr, src)
            with lock:
                out.append(ms)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = []
    t0 = time.perf_counter()
    for i in range(int(RATE * SECONDS)):
        delay = t0 + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        th = threading.Thread(target=one, args=(f"127.0.0.{2 + i % CLIENTS}",))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed request(s): {errors[0]!r}")
    return out


def _hilleroed_board(now: datetime) -> tuple[Any, Any]:
    from station.departures import BoardOptions, build_board, scheduled_for
    from station.deviations import RowDeviations
    from transit.deviations import DisplayMessage, TripCancellation
    from transit.timetable import Timetable

    tt = Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")
    sched = scheduled_for(tt, ["hilleroed"], now, timedelta(hours=2))
    devs = [TripCancellation(id=f"c{i}", oper="lokaltog", tst=now, valid_from=now, valid_to=now + timedelta(hours=3),
                             trip_id=s.trip_id, oday=s.service_day.isoformat(), text="Aflyst: signalfejl")
            for i, s in enumerate(sched[:2])]
    msgs = [DisplayMessage("severe", "Elevatoren til spor 8 er ude af drift. Brug rampen ved Østbanegade.", "n")]
    return tt, lambda t: build_board(sched, [], t, BoardOptions(max_rows=8), deviations=RowDeviations(tt, devs),
                                     messages=msgs)


@benchmark("station_page")
def bench_station_page() -> list[Metric]:
    from station.web import PageInfo, StationWeb, WebConfig

    now = datetime.now(UTC)
    _tt, board_at = _hilleroed_board(now)
    web = StationWeb(WebConfig(host="127.0.0.1", port=0, rate_per_client=RATE, burst_per_client=100,
                               rate_total=4 * RATE), PageInfo(title="Hillerød St.", public_url="https://x.example/s"),
                     ("hilleroed",))
    web.publish(board_at(now))
    web.start()
    stop = threading.Event()

    def frames() -> None:  # the service rebuilds the documents with every frame
        while not stop.wait(0.5):
            web.publish(board_at(datetime.now(UTC)))

    th = threading.Thread(target=frames, daemon=True)
    th.start()
    try:
        assert web.address is not None
        ours = _load(web.address)
    finally:
        stop.set()
        th.join()
        web.stop()
    body = web.content.page

    class Plain(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    ref_srv = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    rt = threading.Thread(target=ref_srv.serve_forever, daemon=True)
    rt.start()
    try:
        ref = _load(("127.0.0.1", int(ref_srv.server_address[1])))
    finally:
        ref_srv.shutdown()
        ref_srv.server_close()
    p95, p95_ref = _p95(ours), _p95(ref)
    return [at_most("station_page_p95_ms", round(p95, 2), 20.0, "ms", requests=len(ours), rate_per_s=RATE,
                    clients=CLIENTS, page_bytes=len(body), median_ms=round(statistics.median(ours), 2),
                    reference_plain_http_p95_ms=round(p95_ref, 2), ratio_vs_plain=round(p95 / p95_ref, 2),
                    rate_limited=web.counters.rate_limited)]


@benchmark("deviation_to_display")
def bench_deviation_to_display() -> list[Metric]:
    from central.deviations import DeviationClient
    from demo.run import station_config, write_yaml
    from station.config import StationConfig
    from station.service import StationOptions, StationService
    from transit.config import MqttConfig
    from transit.deviations import Notice
    from transit.localbroker import LocalBroker

    n = 20
    lat: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        doc = station_config(state_dir=Path(tmp) / "state", png=Path(tmp) / "x.png")
        doc["sink"] = {"backend": "memory"}
        cfg = StationConfig.load(write_yaml(doc, Path(tmp) / "station.yaml"))
        svc = StationService(cfg, StationOptions(clock="system", mqtt_url=broker.url, frame_interval_s=0.5))
        svc.start()
        runner = threading.Thread(target=svc.run, daemon=True)
        runner.start()
        try:
            assert svc.sub is not None and svc.sub.connected.wait(10)
            with DeviationClient(MqttConfig(url=broker.url, client_id="controlroom")) as c:
                for i in range(n):
                    now = datetime.now(UTC)
                    text = f"Meddelelse nr. {i}: sporarbejde, regn med længere rejsetid."
                    d = Notice(id="bench", oper="lokaltog", tst=now, valid_from=now - timedelta(minutes=1),
                               valid_to=now + timedelta(hours=1), stops=("hilleroed",), text=text)
                    for shows in (True, False):  # published, then withdrawn
                        t0 = time.monotonic()
                        if shows:
                            c.publish(d, now)
                        else:
                            c.withdraw("lokaltog", "bench")
                        deadline = t0 + 10
                        while time.monotonic() < deadline:
                            b, at = svc.last_board, svc.last_shown_mono
                            if b is not None and at is not None and at >= t0 and \
                                    (any(m.text == text for m in b.messages) == shows):
                                lat.append(at - t0)
                                break
                            time.sleep(0.01)
                        else:
                            raise RuntimeError(f"deviation {i} not on the display within 10 s")
        finally:
            svc.request_stop()
            runner.join(5)
            svc.stop()
    p95 = _p95(lat)
    return [at_most("deviation_to_display_p95_s", round(p95, 3), 2.0, "s", samples=len(lat),
                    median_s=round(statistics.median(lat), 3), max_s=round(max(lat), 3),
                    frame_interval_s=0.5)]
