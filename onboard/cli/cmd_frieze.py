"""``python -m onboard frieze``: render the frieze for one instant from an onboard ``events.jsonl``, and
optionally produce every next-stop announcement up to that instant (text, and WAVs through espeak-ng).

The records (``eta``, ``arr``/``ars``/``doo``, ``dep``/``pas``) come from trip following (``onboard
replay`` or the live service); the frieze shows what passengers saw at ``--at``.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from hw.audio.espeak import Espeak, EspeakConfig
from hw.display.png import PngSink
from onboard.passinfo.announce import Announcer, wav_name
from onboard.passinfo.frieze import FriezePanel, FriezeTracker, Rejsegaranti, render_frieze
from transit.cli import instant
from transit.errors import ConfigError, DeviceError
from transit.jsonl import JsonlCounts, read_records
from transit.operator import Operator, load_operator
from transit.timetable import Timetable
from transit.timeutil import COPENHAGEN, parse_iso

log = logging.getLogger(__name__)


EXAMPLES = """\
rettid-onboard frieze --config data/config/onboard-train-920.yaml --events out/rec/events.jsonl \\
    --at 2026-11-23T07:40:00+01:00 -o frieze.png
rettid-onboard frieze --feed data/gtfs/lokaltog-sample --events events.jsonl --at 2026-11-23T07:40:00+01:00 \\
    -o frieze.png --announce --wav-dir wav/
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="onboard configuration (feed, frieze panel, delay threshold)")
    src.add_argument("--feed", help="GTFS feed (folder or zip) when there is no onboard configuration")
    p.add_argument("--operator", help="operator file (with --feed): its registration stations become the via, its "
                   "rejsegaranti rule and text the note")
    p.add_argument("--events", required=True, help="events.jsonl written by trip following")
    p.add_argument("--at", required=True, type=instant, help="instant to render, ISO 8601 with offset")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="PNG file to write")
    p.add_argument("--size", help="panel WIDTHxHEIGHT (default: the configuration's frieze, else 1920x360)")
    p.add_argument("--delay-threshold", type=int, help="seconds of delay before it is shown (default 120)")
    p.add_argument("--announce", action="store_true", help="print every announcement up to --at")
    p.add_argument("--wav-dir", help="also speak each announcement to a WAV file here (espeak-ng)")
    p.add_argument("--voice", help="espeak-ng voice (default: the configuration's announce.voice, else da)")


def _panel(args: argparse.Namespace, cfg: Any) -> FriezePanel:
    panel = FriezePanel.from_config(cfg.frieze) if cfg is not None else FriezePanel()
    if args.size:
        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--size: expected WIDTHxHEIGHT, got '{args.size}'") from None
        panel = FriezePanel(width=w, height=h, stops_shown=panel.stops_shown, page_s=panel.page_s,
                            antialias=h >= 96)
    return panel


def run(args: argparse.Namespace) -> int:
    cfg = None
    if args.config:
        from onboard.service.config import OnboardConfig

        cfg = OnboardConfig.load(args.config)
        feed = cfg.feed
    else:
        feed = Path(args.feed)
    at: datetime = args.at
    tt = Timetable.load(feed)
    threshold = args.delay_threshold if args.delay_threshold is not None else (
        cfg.frieze.delay_threshold_s if cfg is not None else 120)
    panel = _panel(args, cfg)
    operator: Operator | None = None
    if cfg is not None:
        operator = cfg.operator
    elif args.operator:
        operator = load_operator(args.operator)
    # the operator's registration stations are the via; its rule and text the rejsegaranti note (as in service)
    tracker = FriezeTracker(tt, delay_threshold_s=threshold, stops_shown=panel.stops_shown,
                            via_stations=operator.registration_stations if operator is not None else None,
                            rejsegaranti=Rejsegaranti.of(operator))
    announcer = Announcer(connections=cfg.announce.connections if cfg is not None else 2) \
        if args.announce or args.wav_dir else None
    if cfg is not None and args.voice is None:
        espeak = Espeak(cfg.announce.speech)
    else:
        espeak = Espeak(EspeakConfig(voice=args.voice or "da"))
    wav_dir = Path(args.wav_dir) if args.wav_dir else None
    counts = JsonlCounts()
    bad = 0
    for rec in read_records(args.events, counts=counts):  # validated: tst is an ISO UTC ms time
        tst = parse_iso(rec.tst)
        if tst > at:
            break
        tracker.on_record(rec)
        if announcer is not None:
            for a in announcer.update(tracker.view(tst), trip=f"{tracker.trip_id}|{tracker.day}"):
                print(f"{tst.astimezone(COPENHAGEN):%H:%M:%S} {a.kind}: {a.text}")
                if wav_dir is not None:
                    try:
                        print(f"  -> {espeak.synthesize(a.speech, wav_dir / wav_name(a))}")
                    except DeviceError as exc:
                        log.error("announcement not spoken: %s", exc)
    bad += counts.bad
    view = tracker.view(at)
    sink = PngSink(Path(args.out))
    sink.show(render_frieze(view, panel))
    ns = view.next_stop.name if view.next_stop else "-"
    delay = f", delay {view.delay_s} s" if view.delay_s is not None else ""
    print(f"frieze {at.astimezone(COPENHAGEN):%Y-%m-%d %H:%M:%S}: {view.state} {view.route} "
          f"{view.destination} next {ns}{delay} -> {args.out}")
    if view.rejsegaranti:
        print(f"rejsegaranti: {view.rejsegaranti}")
    if bad or tracker.rejected:
        print(f"skipped {bad} unreadable lines and {tracker.rejected} unusable records")
    return 0
