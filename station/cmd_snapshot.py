"""``python -m station snapshot``: render the countdown display for one instant to a PNG.

The frame is what the stop display would show at ``--at``: timetable departures for the configured
stops merged with the predictions that were retained at that instant — replayed from the ``eta``
records of an onboard ``events.jsonl`` (``--predictions``) or read from a broker (``--broker``). With
neither, every row is a timetable row.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hw.display.png import PngSink
from station.config import StationConfig
from station.departures import Board, BoardOptions, build_board, scheduled_for, stops_watched
from station.layout import StatusInfo, compose, render_status
from transit.cli import instant
from transit.errors import ConfigError, DecodeError
from transit.jsonl import JsonlCounts, parse_records
from transit.messages import PREDICTION_EXPIRY_S, StopPrediction, predictions_from_record
from transit.ratelimit import RateLimitedLog
from transit.records import Eta
from transit.timetable import Timetable
from transit.timeutil import COPENHAGEN, parse_iso

log = logging.getLogger(__name__)

EXAMPLES = """\
rettid-station snapshot --config data/config/station-hilleroed.yaml --at 2026-11-23T07:55:00+01:00 -o board.png
rettid-station snapshot --config station.yaml --at 2026-11-23T07:55:00+01:00 --predictions events.jsonl -o b.png
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="station configuration (e.g. data/config/station-hilleroed.yaml)")
    p.add_argument("--at", required=True, type=instant, help="the instant to render, ISO 8601 with offset "
                   "(2026-11-23T07:55:00+01:00)")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="PNG file to write (the panel's pixel size)")
    p.add_argument("--predictions", help="events.jsonl with eta records (from onboard replay/demo)")
    p.add_argument("--broker", nargs="?", const="config",
                   help="read retained predictions from the configured broker, or from this one "
                        "(mqtt://host:port, anonymous)")
    p.add_argument("--wait", type=float, default=1.5, help="seconds to collect retained messages (--broker)")
    p.add_argument("--status", action="store_true", help="render the status screen instead")
    p.add_argument("--no-dim", action="store_true", help="ignore the night dimming schedule")
    p.add_argument("--scale", type=int, default=1, help="enlarge pixels N times (for looking at it)")


def replay_predictions(lines: Iterable[str], at: datetime, stops: set[str]
                       ) -> tuple[list[StopPrediction], dict[StopPrediction, datetime], int]:
    """What a display subscribed to ``stops`` would hold at ``at`` from the ``eta`` records.

    Each record replaces the retained prediction of (stop, operator, vehicle) or clears it; a
    prediction expires ``PREDICTION_EXPIRY_S`` after its record, as the broker's message expiry does.
    Returns the predictions, their expiry instants and the number of bad lines skipped.
    """
    held: dict[tuple[str, str, str], tuple[StopPrediction, datetime]] = {}
    counts = JsonlCounts()
    rl = RateLimitedLog(log)
    bad = 0
    for enc in parse_records((line.encode("utf-8", "replace") for line in lines), "events", counts, ratelog=rl):
        rec = enc.record if enc is not None else None
        if not isinstance(rec, Eta):
            continue
        try:
            tst = parse_iso(rec.tst)
            if tst > at:
                continue
            items = predictions_from_record(rec)
        except (ValueError, TypeError, DecodeError) as exc:
            bad += 1
            rl.warn("bad_eta", "eta record %s skipped: %s", rec.id[:20], str(exc)[:200])
            continue
        for stop_id, p in items:
            if stop_id not in stops:
                continue
            key = (stop_id, rec.oper, rec.veh)
            if p is None:
                held.pop(key, None)
            else:
                held[key] = (p, tst + timedelta(seconds=PREDICTION_EXPIRY_S))
    bad += counts.bad
    preds = [p for p, _ in held.values()]
    return preds, {p: exp for p, exp in held.values()}, bad


def broker_predictions(cfg: StationConfig, url: str, stops: set[str], at: datetime, wait_s: float
                       ) -> list[StopPrediction]:
    """Retained predictions from a live broker, as received at the snapshot instant."""
    from station.predictions import PredictionSubscriber
    from transit.config import MqttConfig

    if url in ("config", cfg.mqtt.url):  # the configured broker, with its credentials and TLS
        mqtt = dataclasses.replace(cfg.mqtt, client_id=f"{cfg.unit.unit_id}-snapshot")
        url = cfg.mqtt.url
    else:  # another broker (a test or demo broker): anonymous, same topic tree
        mqtt = MqttConfig(url=url, client_id=f"{cfg.unit.unit_id}-snapshot", topic_prefix=cfg.mqtt.topic_prefix)
    sub = PredictionSubscriber(mqtt, sorted(stops), clock=lambda: at)
    sub.start()
    try:
        if not sub.connected.wait(5.0):
            raise ConfigError(f"cannot reach the broker at {url} within 5 s")
        time.sleep(wait_s)  # retained messages arrive right after the subscription
        out: list[StopPrediction] = []
        for sid in sorted(stops):
            out.extend(sub.predictions(sid))
        return out
    finally:
        sub.stop()


def run(args: argparse.Namespace) -> int:
    cfg = StationConfig.load(args.config)
    tt = Timetable.load(cfg.feed)
    for sid in cfg.stops.ids:
        if sid not in tt.stops:
            raise ConfigError(f"stop_id '{sid}' is not in the timetable {cfg.feed}", file=str(cfg.path),
                              key="stops.ids")
    at: datetime = args.at
    panel = cfg.panel
    if args.status:
        img = render_status(StatusInfo(cfg.unit.unit_id, cfg.stops.ids, at, broker=cfg.mqtt.url,
                                       feed_version=_feed_version(tt)), panel)
        _write(img, 1.0, args)
        return 0
    opts = BoardOptions(minutes_limit=cfg.stops.minutes_limit, max_rows=cfg.stops.max_rows,
                        horizon_s=cfg.stops.horizon_min * 60, stale_after_s=cfg.stops.stale_after_s,
                        show_terminating=cfg.stops.show_terminating)
    scheduled = scheduled_for(tt, cfg.stops.ids, at, timedelta(minutes=cfg.stops.horizon_min))
    watched = stops_watched(tt, cfg.stops.ids)
    preds: list[StopPrediction] = []
    expires: dict[Any, datetime] = {}
    if args.predictions:
        try:
            fh = open(args.predictions, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=args.predictions) from None
        with fh:
            preds, expires, _ = replay_predictions(fh, at, watched)
    if args.broker:
        preds += broker_predictions(cfg, args.broker, watched, at, args.wait)
    covered = bool(tt.services_on(at.astimezone(COPENHAGEN).date()))
    board = build_board(scheduled if covered or scheduled else None, preds, at, opts, expires)
    frame = compose(board, panel, at)
    _write(frame.image, 1.0 if args.no_dim else frame.brightness, args)
    _print_board(board, cfg.stops.title or cfg.stops.ids[0], args.out)
    return 0


def _feed_version(tt: Timetable) -> str:
    fi = tt.feed_info
    return (fi.version or "—") if fi is not None else "—"


def _write(img: Any, brightness: float, args: argparse.Namespace) -> None:
    sink = PngSink(Path(args.out), scale=max(1, args.scale))
    sink.set_brightness(brightness)
    sink.show(img)


def _print_board(board: Board, title: str, out: str) -> None:
    local = board.now.astimezone(COPENHAGEN)
    print(f"{title} {local:%Y-%m-%d %H:%M} ({board.state}, {board.realtime_rows} realtime, "
          f"{board.stale_predictions} stale predictions) -> {out}")
    for r in board.rows:
        mark = "aflyst" if r.cancelled else ("realtid" if r.realtime else "køreplan")
        sched = r.scheduled.astimezone(COPENHAGEN).strftime("%H:%M") if r.scheduled else "--:--"
        delay = f" {r.delay_s:+d}s" if r.delay_s else ""
        plat = f" spor {r.platform}" if r.platform else ""
        print(f"  {r.route:>5} {r.headsign:<24} {r.text:>7}  ({mark}, plan {sched}{delay}{plat})")
