"""The stop display service (``python -m station run``): predictions in, countdown frames out.

The MQTT subscriber (``station.predictions.PredictionSubscriber``, paho's own thread) keeps the
retained predictions for the display's stops; the render loop builds the board from the timetable
and the predictions (``station.departures.build_board``) and shows it 1-2 times a second
(``station.layout.compose`` → the configured ``hw.display`` sink). With no broker the board is the
timetable; with no timetable for the day it says so. Never a frozen picture: the loop renders
whatever it knows at each tick.

Time: a stop display has no GNSS. It uses the system clock once NTP has synchronised it (kernel
``STA_UNSYNC`` clear, see :func:`transit.clock.system_clock_synchronised`); before that — or when
told to (``clock: data``, e.g. following a simulation) — it takes the time from the predictions it
receives: their ``tst`` is vehicle GNSS time, and the freshest one bounds "now" from below (the
same minimum-latency filter as onboard). Until either source exists the panel stays dark rather than
showing a countdown against a 1970 clock.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from station.config import StationConfig
from station.predictions import MAX_FUTURE_S, PredictionStore, PredictionSubscriber
from station.web import StationWeb
from transit.clock import ClockDiscipline, system_clock_synchronised
from transit.errors import BackendError, ConfigError, DeviceError
from transit.health import software_version, write_health
from transit.messages import StopPrediction
from transit.ratelimit import RateLimitedLog
from transit.sdnotify import Notifier
from transit.timeutil import from_epoch, iso_utc_ms

log = logging.getLogger(__name__)

STALL_S = 10.0
SCHEDULE_REFRESH_S = 30.0  # data seconds between timetable queries


@dataclass(frozen=True)
class StationOptions:
    clock: str = "auto"  # auto | system | data
    rate: float = 1.0  # data seconds per monotonic second (the --time-warp of a simulator run)
    mqtt_url: str | None = None  # overrides mqtt.url
    state_dir: Path | None = None
    frame_interval_s: float = 0.5
    health_interval_s: float = 5.0


#: predictions whose times agree within this many seconds before the first one sets a display clock
BOOT_AGREE_S = MAX_FUTURE_S
#: how many agreeing predictions (from any vehicles) give a display without NTP its first clock
BOOT_CONFIRM = 2


class _AnchoringStore(PredictionStore):
    """A prediction store that also hands an accepted prediction's data time to the clock — only after
    every check (topic, payload, topic mismatch, the 300 s future limit against the clock as it was),
    so a rejected message can never move the display's time. Once there is a clock, only a newer time
    moves it (a retained or late prediction never steps it back). Before there is one, a single
    prediction is not enough: :data:`BOOT_CONFIRM` must agree within :data:`BOOT_AGREE_S`, so one
    forged or broken ``tst`` (a year ahead) cannot set the display's clock to next year."""

    def __init__(self, *args: Any, on_tst: Callable[[float], None], now: Callable[[], datetime | None],
                 **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._on_tst = on_tst
        self._now = now
        self._boot: list[float] = []  # tst of accepted predictions while there is no clock
        self._clock_now: datetime | None = None  # the display's time when the current message came

    def handle(self, topic: str, payload: bytes, received: datetime, expiry_s: float | None = None) -> bool:
        now = self._now() if payload else None
        self._clock_now = now
        # no clock yet: the message is judged by everything but time (see _judge_time), then agreeing
        # times set the clock (_accepted)
        return super().handle(topic, payload, received if now is None else now, expiry_s)

    def _judge_time(self, p: StopPrediction, received: datetime) -> datetime:
        return received if self._clock_now is not None else p.tst

    def _accepted(self, p: StopPrediction) -> None:
        tst = p.tst.timestamp()
        now = self._clock_now
        if now is not None:
            if tst > now.timestamp():
                self._on_tst(tst)
            return
        self._boot.append(tst)
        agree = [t for t in self._boot if abs(t - tst) <= BOOT_AGREE_S]
        if len(agree) >= BOOT_CONFIRM:
            self._on_tst(max(agree))
            self._boot.clear()
        elif len(self._boot) > 64:
            self._boot = self._boot[-32:]


class StationService:
    def __init__(self, cfg: StationConfig, opts: StationOptions | None = None, *,
                 notifier: Notifier | None = None) -> None:
        self.cfg = cfg
        self.opts = opts or StationOptions()
        if self.opts.clock not in ("auto", "system", "data"):
            raise ValueError(f"clock must be auto, system or data, not {self.opts.clock!r}")
        self.notifier = notifier or Notifier()
        self.state_dir = self.opts.state_dir or cfg.unit.state_dir
        self.clock: ClockDiscipline[None] = ClockDiscipline(rate=self.opts.rate)
        self._lock = threading.Lock()
        self.stop_event = threading.Event()
        self.tt: Any = None
        self.sink: Any = None
        self.sub: PredictionSubscriber | None = None
        self.frames = 0
        self._scheduled: list[Any] = []
        self._scheduled_at: float | None = None
        self._t0 = time.monotonic()
        self._beat = time.monotonic()
        self.frames_tried = 0  # loop turns (the first comes after start-up: no stall before it)
        self.stalls = 0
        self._stall_log = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._next_health = 0.0
        self._next_sys = 0.0
        self._sink_failed_at: float | None = None
        self._dark_logged = False
        self.web: StationWeb | None = None
        self.last_board: Any = None  # the board of the last frame shown (tests, bench)
        self.last_shown_mono: float | None = None
        self._routes: set[str] = set()

    # ---------------------------------------------------------------------------------------- time
    def _on_tst(self, tst: float) -> None:
        if self.clock.source == "system":
            return
        with self._lock:
            self.clock.on_gnss(tst, time.monotonic())

    def now(self) -> datetime | None:
        with self._lock:
            t = self.clock.to_utc(time.monotonic())
        return None if t is None else from_epoch(t)

    def _check_system(self, mono: float) -> None:
        self._next_sys = mono + 60.0
        # --clock system: told to trust the system clock, so no waiting for NTP (issue 14)
        if self.opts.clock == "system" or (self.opts.clock == "auto" and system_clock_synchronised()):
            with self._lock:
                # the system clock wins at a stop display: it is steered by NTP continuously
                self.clock.on_system(time.time(), time.monotonic())
                self.clock.source = "system"

    # ---------------------------------------------------------------------------------------- start
    def start(self) -> None:
        from station.departures import stops_watched
        from transit.config import MqttConfig
        from transit.slice import check_horizon, open_timetable

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.tt = open_timetable(self.cfg.feed)  # the feed, or the display's slice (transit.slice)
        if self.tt.slice is not None and (self.opts.clock == "system" or (
                self.opts.clock == "auto" and system_clock_synchronised())):
            check_horizon(self.tt, datetime.now(self.cfg.unit.tz).date())
        for sid in self.cfg.stops.ids:
            if sid not in self.tt.stops:
                raise ConfigError(f"stop_id '{sid}' is not in the timetable {self.cfg.feed}",
                                  file=str(self.cfg.path), key="stops.ids")
        self._open_sink()
        mqtt: MqttConfig = self.cfg.mqtt
        if self.opts.mqtt_url:
            mqtt = dataclasses.replace(mqtt, url=self.opts.mqtt_url)
        watched = sorted(stops_watched(self.tt, self.cfg.stops.ids))
        store = _AnchoringStore(watched, prefix=mqtt.topic_prefix, on_tst=self._on_tst, now=self.now)
        from transit.deviations import DeviationStore

        self.sub = PredictionSubscriber(mqtt, watched, store=store, clock=self._clock_for_store,
                                        deviations=DeviationStore(prefix=mqtt.topic_prefix),
                                        deviation_clock=self.now)
        if self.cfg.web is not None:
            self._start_web()
        try:
            self.sub.start()
        except (OSError, ConfigError) as exc:
            if isinstance(exc, ConfigError):
                raise
            log.error("broker %s unreachable at start (%s); showing the timetable", mqtt.url, exc)
        self._check_system(time.monotonic())
        log.info("station %s (%s) started: %d stop id(s) watched, broker %s, clock %s",
                 self.cfg.unit.unit_id, self.cfg.stops.title or self.cfg.stops.ids[0], len(watched), mqtt.url,
                 self.opts.clock)
        self.notifier.ready(f"display {self.cfg.display_id}")

    def _start_web(self) -> None:
        from station.web import PageInfo

        assert self.cfg.web is not None
        names = {r.name for r in self.tt.routes.values()}
        # GTFS route_type 3 and the extended 700-799 are buses: they stop at a "stoppested", not a "spor"
        bus = frozenset(r.name for r in self.tt.routes.values() if r.route_type == 3 or 700 <= r.route_type < 800)
        info = PageInfo(title=self.cfg.stops.title or self.tt.stop_name(self.cfg.stops.ids[0]),
                        refresh_s=self.cfg.web.refresh_s, public_url=self.cfg.panel.qr_url,
                        line_colours={n: self.cfg.panel.line_colour(n) for n in names}, bus_routes=bus)
        self.web = StationWeb(self.cfg.web, info, self.cfg.stops.ids)
        try:
            self.web.start()
        except OSError as exc:
            raise ConfigError(f"cannot serve the web page on {self.cfg.web.host}:{self.cfg.web.port}: {exc}",
                              file=str(self.cfg.path), key="web.listen") from None

    def _clock_for_store(self) -> datetime:
        # the subscriber stamps arrivals with this; before any time source, the prediction's own time
        # is all there is, so arrivals count as "now" at the epoch and expiry cannot be judged
        n = self.now()
        return n if n is not None else from_epoch(0.0)

    def _open_sink(self) -> None:
        from hw.display.sink import open_sink

        try:
            self.sink = open_sink(self.cfg.sink)
            self._sink_failed_at = None
        except (DeviceError, BackendError, OSError) as exc:
            if self._sink_failed_at is None:
                log.error("display cannot be opened (%s); retrying every 30 s", exc)
            self.sink = None
            self._sink_failed_at = time.monotonic()

    # ---------------------------------------------------------------------------------------- loop
    def run(self) -> None:
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            self.step()
            self.stop_event.wait(max(0.0, self.opts.frame_interval_s - (time.monotonic() - t0)))

    def request_stop(self) -> None:
        self.stop_event.set()

    def step(self) -> None:
        mono = time.monotonic()
        if self.frames_tried and mono - self._beat > STALL_S:
            # the loop turns every frame_interval_s: this long without a turn is a stall (no watchdog ping)
            self.stalls += 1
            self._stall_log.warn("stall", "stall: the display loop did not come round for %.1f s (limit %.0f s)",
                                 mono - self._beat, STALL_S)
        self._beat = mono
        self.frames_tried += 1
        if mono >= self._next_sys:
            self._check_system(mono)
        if self.sink is None and self._sink_failed_at is not None and mono - self._sink_failed_at >= 30:
            self._open_sink()
        now = self.now()
        if now is None:
            if not self._dark_logged:
                log.warning("no time source yet (no NTP sync, no prediction received): display stays dark")
                self._dark_logged = True
        else:
            self._render(now)
        if mono >= self._next_health:
            self._next_health = mono + self.opts.health_interval_s
            self._health(mono, now)
        self.notifier.watchdog(True)

    def board(self, now: datetime) -> Any:
        from station.departures import BoardOptions, build_board, scheduled_for
        from transit.timeutil import COPENHAGEN

        c = self.cfg.stops
        t = now.timestamp()
        if self._scheduled_at is None or abs(t - self._scheduled_at) >= SCHEDULE_REFRESH_S:
            self._scheduled = scheduled_for(self.tt, c.ids, now, timedelta(minutes=c.horizon_min))
            self._scheduled_at = t
            self._routes = {s.route for s in self._scheduled}
        preds: list[Any] = []
        devs: list[Any] = []
        if self.sub is not None:
            for sid in self.sub.stop_ids:
                preds.extend(self.sub.predictions(sid))
            devs = self.sub.deviations(now)
        opts = BoardOptions(minutes_limit=c.minutes_limit, max_rows=c.max_rows, horizon_s=c.horizon_min * 60,
                            stale_after_s=c.stale_after_s, show_terminating=c.show_terminating)
        covered = bool(self.tt.services_on(now.astimezone(COPENHAGEN).date()))
        if not devs:
            return build_board(self._scheduled if covered or self._scheduled else None, preds, now, opts)
        from station.deviations import RowDeviations, stop_messages
        from transit.deviations import DeviationStore

        assert self.sub is not None and isinstance(self.sub.deviation_store, DeviationStore)
        with self.sub.lock:
            msgs = stop_messages(self.sub.deviation_store, self.tt, self.sub.stop_ids,
                                 self._routes | {p.route for p in preds}, now)
        return build_board(self._scheduled if covered or self._scheduled else None, preds, now, opts,
                           deviations=RowDeviations(self.tt, devs), messages=msgs)

    def _render(self, now: datetime) -> None:
        from station.layout import compose

        if self.sink is None and self.web is None:
            return
        board = self.board(now)
        if self.web is not None:
            self.web.publish(board)
        if self.sink is None:
            return
        frame = compose(board, self.cfg.panel, now)
        try:
            self.sink.set_brightness(frame.brightness)
            self.sink.show(frame.image)
            self.frames += 1
            self.last_board = board
            self.last_shown_mono = time.monotonic()
        except (DeviceError, OSError) as exc:
            log.error("display failed (%s); reopening in 30 s", exc)
            self.sink = None
            self._sink_failed_at = time.monotonic()

    def _health(self, mono: float, now: datetime | None) -> None:
        store = self.sub.store if self.sub is not None else None
        cs = self.clock.state()
        payload = {
            "unit": self.cfg.unit.unit_id, "role": "station", "display": self.cfg.display_id,
            "version": software_version(), "uptime_s": round(mono - self._t0, 1),
            "data_time": None if now is None else iso_utc_ms(now),
            # "gnss" anchors of a display are the vehicles' GNSS times carried by their predictions
            "clock": {"source": "predictions" if cs.source == "gnss" else cs.source, "synced": cs.synced,
                      "rate": self.clock.rate},
            "broker_connected": bool(self.sub is not None and self.sub.connected.is_set()),
            "predictions": None if store is None else dataclasses.asdict(store.counters),
            "deviations": None if self.sub is None or self.sub.deviation_store is None
            else {"known": len(self.sub.deviation_store), **dataclasses.asdict(self.sub.deviation_store.counters)},
            "web": None if self.web is None else dataclasses.asdict(self.web.counters),
            "frames": self.frames, "sink_open": self.sink is not None, "stalls": self.stalls,
            "ok": now is not None and self.sink is not None,
        }
        try:
            write_health(self.state_dir, payload)
        except OSError as exc:
            log.warning("cannot write health file: %s", exc)

    # ---------------------------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Blank the panel (an OLED must not keep a stale picture burnt in) and disconnect."""
        from PIL import Image

        self.notifier.stopping()
        self.stop_event.set()
        if self.web is not None:
            self.web.stop()
        if self.sub is not None:
            self.sub.stop()
        if self.sink is not None:
            try:
                p = self.cfg.panel
                self.sink.show(Image.new("RGB", (p.width, p.height), (0, 0, 0)))
                self.sink.close()
            except (DeviceError, OSError) as exc:
                log.warning("blanking the display failed: %s", exc)
        log.info("station stopped after %d frame(s)", self.frames)


def run_service(cfg: StationConfig, opts: StationOptions, *, install_signals: bool = True) -> int:
    import signal

    svc = StationService(cfg, opts)
    if install_signals:
        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping", signum)
            svc.request_stop()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    svc.start()
    try:
        svc.run()
    finally:
        svc.stop()
    return 0


__all__ = ["StationOptions", "StationService", "run_service"]
