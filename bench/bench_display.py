"""Display benchmarks: one countdown frame (256x64, 4 rows) and one frieze frame (1920x360).

Each measures the per-second work of a live display — building the departure list and rendering, or
rendering the frieze — with the data time advancing one second per frame (so countdown texts and pages
change like on the street), as the median of repeated frames after a warm-up. Fonts, badges, static
layers and text fits are cached by the layouts; that is part of what is measured.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta

import msgspec

from bench.registry import Metric, at_most, benchmark

NOW = datetime(2026, 11, 23, 6, 55, tzinfo=UTC)
WARMUP = 20
FRAMES = 300


def _measure(fn, frames: int = FRAMES) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for k in range(WARMUP):
        fn(k)
    samples = []
    for k in range(frames):
        t0 = time.perf_counter()
        fn(WARMUP + k)
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


@benchmark("display")
def bench_display() -> list[Metric]:
    from onboard.passinfo.frieze import Connection, FriezePanel, FriezeStop, FriezeView, render_frieze
    from station.departures import Scheduled, build_board
    from station.layout import CountdownPanel, render_countdown
    from transit.messages import StopPrediction

    day = date(2026, 11, 23)
    names = [("920R", "Hundested Havn St."), ("950R", "Gilleleje St."), ("930R", "Helsingør St."),
             ("960R", "Tisvildeleje St."), ("330R", "Fredensborg St."), ("920E", "Frederiksværk St.")]
    sched = [Scheduled(f"t{i}", day, r, h, "hilleroed_8", NOW + timedelta(minutes=3 + 7 * i), str(i + 1))
             for i, (r, h) in enumerate(names)]
    preds = [StopPrediction(stop_id=s.stop_id, trip_id=s.trip_id, route=s.route, headsign=s.headsign, direction=0,
                            oday=day.isoformat(), start="07:00", veh=f"v{i}", oper="lokaltog", seq=1,
                            sched_arr=s.departure, sched_dep=s.departure,
                            eta_arr=s.departure + timedelta(seconds=90 * i),
                            eta_dep=s.departure + timedelta(seconds=90 * i), tst=NOW, status="SCHEDULED",
                            platform=None, occu="FEW_SEATS_AVAILABLE", loc="GPS") for i, s in enumerate(sched[:3])]
    panel = CountdownPanel(width=256, height=64, rows=4, qr_url="https://rettid.example/stop/hilleroed")

    def countdown(k: int) -> None:
        now = NOW + timedelta(seconds=k)
        render_countdown(build_board(sched, [msgspec.structs.replace(p, tst=now) for p in preds], now),
                         panel, now)

    c_med, c_p95 = _measure(countdown)

    stops = tuple(FriezeStop(f"s{i}", n, NOW + timedelta(minutes=3 * i), NOW + timedelta(minutes=3 * i, seconds=200))
                  for i, n in enumerate(["Grimstrup St.", "Ølsted St.", "Kregme St.", "Hundested Havn St."], 1))
    view = FriezeView(NOW, "in_service", "920R", "Hundested Havn St.", ("Frederiksværk",),
                      FriezeStop("skaevinge", "Skævinge St.", NOW, NOW + timedelta(seconds=200), "2"), stops,
                      stop_requested=True, delay_s=200,
                      connections=(Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=9), "2"),
                                   Connection("330R", "Fredensborg St.", NOW + timedelta(minutes=12), "A", mode="bus")))
    fpanel = FriezePanel(width=1920, height=360)

    def frieze(k: int) -> None:
        render_frieze(FriezeView(**{**view.__dict__, "now": NOW + timedelta(seconds=k)}), fpanel)

    f_med, f_p95 = _measure(frieze, 150)
    return [
        at_most("countdown_render_ms", round(c_med, 3), 15, "ms", p95_ms=round(c_p95, 3), frames=FRAMES,
                panel="256x64, 4 rows, QR, 3 realtime rows", includes="build_board + render_countdown"),
        at_most("frieze_render_ms", round(f_med, 3), 40, "ms", p95_ms=round(f_p95, 3), frames=150,
                panel="1920x360, stop diagram and connection pages"),
    ]
