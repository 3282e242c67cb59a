"""The onboard service: drivers wired to the single-threaded core (``python -m onboard run``).

Threads do the I/O, one thread does the thinking:

- a GNSS thread reads fixes (``hw.gnss.source.open_gnss``), a CAN thread reads vehicle states
  (``hw.can.reader.CanReader``), GPIO callbacks (``hw.gpio.open_gpio``) deliver beam edges, the MQTT
  publisher (``onboard.records.publisher.Publisher``) owns the network; they only put items on a queue;
- the main loop stamps live inputs with UTC through :class:`transit.clock.ClockDiscipline` (held until
  GNSS or NTP time is known), sorts them by data time in a short reorder window, feeds the core
  (``onboard.tripfollow.core.Core`` and its consumers, built by :func:`onboard.service.bootstrap.bootstrap`,
  the same as replay),
  stores the records (punctuality log, then the SQLite outbox via :class:`~onboard.records.publisher.RecordSink`),
  renders the frieze when its content changes (at most ``frame_interval_s``), writes ``health.json``
  and publishes the retained health message, and pings the systemd watchdog only while every loop
  is alive.

Live CAN frames and GPIO edges are stamped with ``time.monotonic()`` on arrival (the wall clock of a
unit without RTC is not trusted); recorded inputs (``replay`` backends) keep their own UTC times.
SIGTERM ends the loop: inputs still in the reorder window are fed, the outbox is flushed to the broker
(bounded wait), the frieze is parked on "not in service", and the unit's status goes offline.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from hw.gnss.fix import Fix
from onboard.service.config import OnboardConfig
from transit.clock import ClockDiscipline, system_clock_synchronised
from transit.errors import BackendError, DecodeError, DeviceError, OutboxError, RettidError
from transit.health import HealthInputs, build_health, health_delivery, write_health
from transit.ratelimit import RateLimitedLog
from transit.records import Encoded, Record
from transit.sdnotify import Notifier
from transit.timesanity import TimeSanity
from transit.timeutil import from_epoch, iso_utc_ms, parse_iso

log = logging.getLogger(__name__)

#: a loop that has not come round for this long (monotonic s) is stalled: no watchdog ping
STALL_S = 10.0
#: added to monotonic stamps handed to the CAN tracker, which refuses times before 2000 as "no clock";
#: taken off again before the clock discipline maps them to UTC
MONO_BASE = 1_000_000_000.0


@dataclass(frozen=True)
class ServiceOptions:
    """Run-time choices that are not part of the unit's configuration file."""

    clock: str = "auto"  # auto (GNSS, else NTP-synchronised system clock) | gnss | system
    rate: float = 1.0  # data seconds per monotonic second: 1 on a vehicle, the --time-warp of a simulator run
    events: Path | None = None  # also append every record to this JSON Lines file
    state_dir: Path | None = None  # overrides unit.state_dir
    mqtt_url: str | None = None  # overrides mqtt.url (e.g. a local test broker)
    publish: bool = True
    frame_interval_s: float = 1.0
    health_interval_s: float = 5.0
    health_publish_s: float = 30.0
    hold_s: float = 0.25  # reorder window for inputs from different threads (monotonic s)
    drain_timeout_s: float = 10.0
    vp_interval_s: float = 1.0
    reserve_bytes: int = 4 << 20  # space reserve in the state dir, given up when the disk is full
    rotate_bytes: int | None = 64 * 1024 * 1024  # JSON Lines files (punctuality log, --events) rotate at this
    rotate_age_s: float | None = None  # ... or this long after they were started (None: by size only)
    feed_poll_s: float = 10.0  # how often <state_dir>/timetable/incoming is looked for (also on SIGHUP)
    checkpoint_max_age_s: float = 3600.0  # trip state older than this (data time) is not restored
    checkpoint_interval_s: float = 2.0  # trip state stored at least this often (monotonic s) without records


class _Item(NamedTuple):
    """An input waiting in the reorder window. A plain tuple: ordered by (t, prio, seq) in C, as
    ``seq`` is unique (a dataclass's ``__lt__`` cost more than the rest of the hand-off at 450 items/s)."""

    t: float  # UTC epoch s (data time)
    prio: int  # at equal times: CAN state, then fix, then edge (as replay merges them)
    seq: int
    kind: str
    payload: Any
    rx: float  # monotonic arrival


class _Loop:
    """An input thread with a heartbeat, so the watchdog can tell a live loop from a hung one.

    ``waits_for_input``: the loop blocks reading a source that is silent for as long as nothing happens
    (the recorded door edges of a replay or the simulator's FIFO: no edge while the doors stay shut), so
    a long wait there is idleness, not a stall; such a loop counts as alive while its thread runs."""

    def __init__(self, name: str, body: Callable[[threading.Event], None], stop: threading.Event, *,
                 waits_for_input: bool = False) -> None:
        self.name = name
        self.waits_for_input = waits_for_input
        self.beat = time.monotonic()
        self.finished = False
        self._body = body
        self._stop = stop
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self._body(self._stop)
        except Exception:  # a driver bug must show up in the log and in health, not vanish
            log.exception("%s loop died", self.name)
        finally:
            self.finished = True

    def alive(self, now: float) -> bool:
        return self.finished or (self.thread.is_alive() and (self.waits_for_input or now - self.beat < STALL_S))


class OnboardService:
    """Owns the drivers, the core and the outputs of one onboard unit."""

    def __init__(self, cfg: OnboardConfig, opts: ServiceOptions | None = None, *,
                 notifier: Notifier | None = None) -> None:
        self.cfg = cfg
        self.opts = opts or ServiceOptions()
        if self.opts.clock not in ("auto", "gnss", "system"):
            raise ValueError(f"clock must be auto, gnss or system, not {self.opts.clock!r}")
        self.notifier = notifier or Notifier()
        self.state_dir = self.opts.state_dir or cfg.unit.state_dir
        self.clock: ClockDiscipline[tuple[str, Any]] = ClockDiscipline(rate=self.opts.rate)
        self.sanity: TimeSanity[tuple[float, Fix]] = TimeSanity()
        self._restart_core = False
        self.q: queue.SimpleQueue[tuple[str, float, Any]] = queue.SimpleQueue()
        self.stop_event = threading.Event()
        self.loops: list[_Loop] = []
        self.core: Any = None  # onboard.tripfollow.pipeline.Pipeline: the core and its consumers
        self.tt: Any = None
        self.setup: Any = None
        self.mode = "bus"
        self._heap: list[_Item] = []
        self._assignments: list[Any] = []
        self._seq = 0
        self._t_started = time.monotonic()
        self._last_fix: Fix | None = None
        self._last_fix_rx: float | None = None
        self._last_can_rx: float | None = None
        self._last_eta: Any = None  # the core's last eta of a trip (deviations are applied on the way out)
        self._confirmed: set[tuple[str, Any]] = set()  # control-room cancellations already confirmed
        self._inbox_log = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._next_inbox = 0.0
        self._edges = 0
        self._records: dict[str, int] = {}
        self._bad_inputs = 0
        self._gnss: Any = None
        self._can: Any = None
        self._can_restamp = True  # live CAN frames get monotonic stamps; a replayed log keeps its times
        self._gpio: Any = None
        self._outbox: Any = None
        self._publisher: Any = None
        self._sink: Any = None
        self._plog: Any = None
        self._events: Any = None  # transit.jsonl.RotatingAppendFile of opts.events
        self._store: Any = None  # onboard.records.storage.RecordStore
        self._health_log = RateLimitedLog(log, 300.0, clock=time.monotonic)
        self._frieze: Any = None
        self._watched_trip: str | None = None  # the trip whose stations' predictions are subscribed
        self._speaker: Any = None  # onboard.passinfo.speaker.Speaker when announce is enabled
        self._announcer: Any = None
        self._replacement: Any = None  # onboard.passinfo.replacement.ReplacementWatch (with an operator file)
        self._panel: Any = None
        self._displays: dict[str, Any] = {}
        self._display_failed: dict[str, float] = {}
        self._frames = 0
        self._last_frame_key: Any = None
        self._next_frame = 0.0
        self._next_health = 0.0
        self._next_health_pub = 0.0
        self._next_sys_check = 0.0
        self._main_beat = time.monotonic()
        self._main_turned = False  # the first turn comes after start-up (loading the timetable): no stall
        self._stalls = 0
        self._stall_log = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._feed_requested = False
        self._next_feed_poll = 0.0
        self.feeds: Any = None  # transit.feedupdate.FeedStore, opened in start()
        self._resume_text: str | None = None  # the checkpoint found at start-up (onboard.service.checkpoint)
        self._ckpt_mono = 0.0  # when the trip state was last handed to storage (monotonic)
        self._ckpt_t = float("-inf")  # ... and the core's data time then
        self._ckpt_counts = {"checkpoint_restored": 0, "checkpoint_discarded": 0, "checkpoint_relogged": 0}

    # ---------------------------------------------------------------------------------------- start-up
    def start(self) -> None:
        """Open everything; configuration and timetable errors raise, devices that are missing are
        logged and retried by their readers."""
        from onboard.passinfo.frieze import MIN_TRANSFER, FriezePanel, FriezeTracker, Rejsegaranti
        from onboard.records.punctuality import PunctualityLog
        from onboard.records.storage import RESERVE_FILE, RecordStore, SpaceReserve
        from onboard.service.bootstrap import check_assigned_trips
        from onboard.service.replay import load_setup
        from transit.feedupdate import FeedStore
        from transit.slice import open_timetable

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.feeds = FeedStore(self.state_dir / "timetable")
        rolled_out = self.feeds.current()
        if rolled_out is not None:  # a timetable rolled out to this unit wins over the configured one
            log.info("timetable %s (rolled out; configured: %s)", rolled_out.name, self.cfg.feed)
        # a rolled-out or configured slice (transit.slice) opens in a fraction of a second
        self.tt = open_timetable(rolled_out or self.cfg.feed)
        self._check_slice_horizon(self.tt)
        self.setup = load_setup(self.cfg.path)
        check_assigned_trips(self.setup, self.tt)
        self.mode = self.cfg.mode  # the vehicle's, for status, records and health alike
        self._plog = PunctualityLog(self.state_dir, max_bytes=self.opts.rotate_bytes,
                                    max_age_s=self.opts.rotate_age_s)
        if self.opts.events is not None:
            self.opts.events.parent.mkdir(parents=True, exist_ok=True)
            from transit.jsonl import RotatingAppendFile

            # a power cut's torn line is cut off at open; rotated like the punctuality log
            self._events = RotatingAppendFile(self.opts.events, max_bytes=self.opts.rotate_bytes,
                                              max_age_s=self.opts.rotate_age_s)
        self._open_outputs()
        from onboard.service.checkpoint import CHECKPOINT_KEY

        self._resume_text = self._outbox.get_meta(CHECKPOINT_KEY)  # restored at the first input (_build_core)
        reserve = SpaceReserve(self.state_dir / RESERVE_FILE, self.opts.reserve_bytes)
        self._store = RecordStore(self._plog, self._sink, events_fd=self._events, reserve=reserve)
        op = self.cfg.operator
        self._frieze = FriezeTracker(self.tt, delay_threshold_s=self.cfg.frieze.delay_threshold_s,
                                     stops_shown=self.cfg.frieze.stops_shown, rejsegaranti=Rejsegaranti.of(op),
                                     transfer=timedelta(minutes=op.punctuality.connection_transfer_min)
                                     if op is not None else MIN_TRANSFER)
        self._panel = FriezePanel.from_config(self.cfg.frieze)
        if self.cfg.announce.enabled:
            self._open_speaker()
        if op is not None:
            from onboard.passinfo.replacement import ReplacementWatch

            self._replacement = ReplacementWatch.for_operator(self.tt, op, veh=self.cfg.vehicle_id,
                                                              oper=self.cfg.operator_id)
        self._open_school(rolled_out or self.cfg.feed)
        for name, node in self.cfg.displays.items():
            self._open_display(name, node)
        self._open_inputs()
        if self.opts.clock in ("auto", "system"):
            self._check_system_clock(time.monotonic())
        log.info("onboard %s (vehicle %s, %s) started: clock %s, %d input loop(s), state in %s",
                 self.cfg.unit.unit_id, self.cfg.vehicle_id, self.cfg.operator_id, self.opts.clock,
                 len(self.loops), self.state_dir)
        self.notifier.ready(f"vehicle {self.cfg.vehicle_id}: waiting for {self._waiting_for()}")

    def _open_outputs(self) -> None:
        from onboard.records.outbox import Outbox
        from onboard.records.publisher import MqttSettings, Publisher, RecordSink

        ocfg = self.cfg.outbox
        self._outbox = Outbox.in_state_dir(self.state_dir, budget_bytes=ocfg.budget_bytes,
                                           group_s=ocfg.group_commit_s)
        _check_room(self.state_dir, self._outbox)
        settings = MqttSettings.from_config(self.cfg.mqtt)
        if self.opts.mqtt_url:
            settings = dataclasses.replace(settings, url=self.opts.mqtt_url)
        if self.opts.publish:
            self._publisher = Publisher(self._outbox, settings, oper=self.cfg.operator_id,
                                        veh=self.cfg.vehicle_id, mode=self.mode,
                                        on_assignment=lambda a: self.q.put(("assign", time.monotonic(), a)),
                                        on_deviation=lambda topic, payload, exp: self.q.put(
                                            ("deviation", time.monotonic(), (topic, payload, exp))),
                                        on_prediction=lambda topic, payload: self.q.put(
                                            ("prediction", time.monotonic(), (topic, payload))),
                                        on_sections=lambda topic, payload: self.q.put(
                                            ("sections", time.monotonic(), (topic, payload))))
            self._publisher.start()
            log.info("publishing to %s (outbox %s holds %d message(s))", settings.url, self._outbox.path,
                     len(self._outbox))
        self._sink = RecordSink(self._outbox, self._publisher, prefix=settings.topic_prefix, mode=self.mode)
        self._prefix = settings.topic_prefix
        from transit.deviations import DeviationStore

        # the control room's deviations of this operator, applied to the unit's own eta records (_emit)
        self.deviations = DeviationStore(prefix=settings.topic_prefix, oper=self.cfg.operator_id)
        # the other operators' (a bus company's at a station our trains call at): they change nothing of
        # ours, only the state of the connections their trips offer (the frieze, the announcements)
        self.connecting = DeviationStore(prefix=settings.topic_prefix)
        from onboard.passinfo.realtime import ConnectionPredictions

        # other vehicles' predictions at our trip's stations: the state of the frieze's connections
        self.predictions = ConnectionPredictions(prefix=settings.topic_prefix, own_veh=self.cfg.vehicle_id)
        from transit.sections import RecentSections

        # the operator's recent running per section (from the collector): the sections ahead of this trip
        self.sections = RecentSections(prefix=settings.topic_prefix, oper=self.cfg.operator_id)

    def _open_school(self, feed: Any) -> None:
        """School runs (docs/school-buses.md): the monitor behind the records, the driver's panel."""
        self._school: Any = None
        self._school_panel: Any = None
        sc = self.cfg.school
        if sc is None:
            return
        from onboard.school.panel import PanelDriver, PanelLayout
        from onboard.school.stage import build_monitor

        self._school = build_monitor(sc.runs, operator=self.cfg.operator, capacity=self.setup.capacity, feed=feed)
        if sc.panel is not None:  # its own sink: the school panel is not a frieze display
            from hw.display.sink import open_sink
            try:
                sink = open_sink(sc.panel)
            except (DeviceError, BackendError, OSError) as exc:
                log.error("school panel cannot be opened (%s); the records are kept without it", exc)
                return
            self._school_panel = PanelDriver([sink], PanelLayout(sc.width, sc.height))

    def _open_display(self, name: str, node: Any) -> None:
        from hw.display.sink import open_sink

        try:
            self._displays[name] = open_sink(node)
            self._display_failed.pop(name, None)
        except (DeviceError, BackendError, OSError) as exc:
            if name not in self._display_failed:
                log.error("display %s cannot be opened (%s); retrying every 30 s", name, exc)
            self._display_failed[name] = time.monotonic()

    def _open_inputs(self) -> None:
        from hw.gnss.source import open_gnss

        self._gnss = open_gnss(self.cfg.gnss)
        self._add_loop("gnss", self._gnss_loop)
        if self.cfg.can is not None:
            self._open_can()
        if self.cfg.gpio is not None:
            self._open_gpio()

    def _open_can(self) -> None:
        from hw.can.config import CanConfig
        from hw.can.reader import CanReader

        assert self.cfg.can is not None
        ccfg = CanConfig.from_node(self.cfg.can)
        # live frames are stamped on arrival with the monotonic clock (+ MONO_BASE: the tracker refuses
        # pre-2000 times); recorded logs keep their own UTC times
        self._can_restamp = ccfg.backend != "replay"
        self._can = CanReader(ccfg, stamp=_mono_stamp if self._can_restamp else None)
        try:
            _ = self._can.bus
        except DeviceError as exc:
            log.error("CAN: %s; the reader keeps retrying", exc)
        self._add_loop("can", self._can_loop)

    def _open_gpio(self) -> None:
        from hw.gpio.inputs import GpioConfig, ReplayInputs, open_from_config

        assert self.cfg.gpio is not None
        pins: list[int] = []
        if self.cfg.counting is not None:
            for d in self.cfg.counting.doors:
                pins += [p for lane in d.beams for p in lane]
                if d.contact_pin is not None:
                    pins.append(d.contact_pin)
        gcfg = GpioConfig.from_node(self.cfg.gpio, tuple(pins))
        self._gpio = open_from_config(gcfg, clock=time.monotonic)
        if isinstance(self._gpio, ReplayInputs):
            gpio = self._gpio

            def replay_loop(stop: threading.Event) -> None:  # recorded edges carry UTC data times
                for t, pin, level in gpio.edges():
                    if stop.is_set():
                        return
                    self.q.put(("edge_utc", t, (pin, level)))
                    self._beat("gpio")
            self._add_loop("gpio", replay_loop, waits_for_input=True)
        else:
            self._gpio.start(lambda t, pin, level: self.q.put(("edge", t, (pin, level))))

    def _add_loop(self, name: str, body: Callable[[threading.Event], None], *, waits_for_input: bool = False) -> None:
        lp = _Loop(name, body, self.stop_event, waits_for_input=waits_for_input)
        self.loops.append(lp)
        lp.thread.start()

    def _beat(self, name: str) -> None:
        now = time.monotonic()
        for lp in self.loops:
            if lp.name == name:
                lp.beat = now

    # ------------------------------------------------------------------------------------- input loops
    def _gnss_loop(self, stop: threading.Event) -> None:
        src = self._gnss
        while not stop.is_set():
            fixes = src.read(timeout=0.5)
            rx = time.monotonic()
            self._beat("gnss")
            for f in fixes:
                self.q.put(("fix", rx, f))
            if src.finished:
                log.info("GNSS source finished (end of a recorded file)")
                return

    def _can_loop(self, stop: threading.Event) -> None:
        """Everything received per wake-up goes on the queue as one batch of (time, state, speed
        sample?) — one hand-off per batch, not per frame."""
        reader = self._can
        kind = "can_batch" if self._can_restamp else "can_utc_batch"
        base = MONO_BASE if self._can_restamp else 0.0
        while not stop.is_set():
            got = reader.poll_batch(0.5)
            self._beat("can")
            if got:
                self.q.put((kind, 0.0, [(st.t.timestamp() - base, st, name == "CCVS1") for st, name in got]))
            elif reader.exhausted:
                log.info("CAN source finished (end of a recorded log)")
                return

    # ------------------------------------------------------------------------------------ main loop
    def run(self) -> None:
        """The core thread: until :meth:`request_stop` (SIGTERM)."""
        while not self.stop_event.is_set():
            self.step(0.1)
        self._drain_inputs(final=True)

    def request_stop(self) -> None:
        self.stop_event.set()

    def step(self, timeout: float) -> None:
        """One turn: take queued inputs, feed what is due, do the periodic work."""
        now = time.monotonic()
        if self._main_turned and now - self._main_beat > STALL_S:
            self._stalled("main", now - self._main_beat)
        self._main_beat, self._main_turned = now, True
        self._take(timeout)
        self._drain_inputs(final=False)
        if self._store is not None:
            self._store.retry()
        if self._outbox is not None:
            try:  # bounded: a group commit, one thinning step, a checkpoint (onboard.records.outbox)
                self._outbox.maintain()
            except OutboxError as exc:
                self._health_log.warn("maintain", "outbox upkeep failed: %s", exc)
        now = time.monotonic()
        if self._store is not None and self.core is not None and now - self._ckpt_mono >= \
                self.opts.checkpoint_interval_s and self.core.core.t != self._ckpt_t:
            self._store.write([], meta=self._checkpoint())  # state changed without records (counting, doors)
        if self.opts.clock in ("auto", "system") and now >= self._next_sys_check:
            self._check_system_clock(now)
        if now >= self._next_frame:
            self._next_frame = now + self.opts.frame_interval_s
            view = self._render(now)
            self._announce(now, view)  # the same view: the loudspeaker says what the frieze shows
        if now >= self._next_health:
            self._next_health = now + self.opts.health_interval_s
            self._health(now)
        if now >= self._next_inbox:
            self._next_inbox = now + 1.0
            self._poll_inbox()
        if self.feeds is not None and (self._feed_requested or now >= self._next_feed_poll):
            self._next_feed_poll = now + self.opts.feed_poll_s
            if self._feed_requested or self.feeds.has_incoming():
                self._feed_requested = False
                self.update_timetable()
        alive = self.loops_alive(now)
        if not alive:
            for lp in self.loops:
                if not lp.alive(now):
                    self._stalled(lp.name, now - lp.beat)
        self.notifier.watchdog(alive)

    def _stalled(self, loop: str, for_s: float) -> None:
        """A loop that did not come round within :data:`STALL_S`: counted, logged (rate-limited) — the
        watchdog goes unpinged meanwhile, and systemd restarts a unit that stays so for WatchdogSec."""
        self._stalls += 1
        self._stall_log.warn(loop, "stall: the %s loop did not come round for %.1f s (limit %.0f s)", loop, for_s,
                             STALL_S)

    def _check_slice_horizon(self, tt: Any) -> None:
        """A timetable slice must cover today's service day; checked when the system clock can be trusted
        (NTP, or ``--clock system``), else the trip follower finds no trip and says so."""
        from transit.slice import check_horizon

        if tt.slice is None:
            return
        if self.opts.clock == "system" or (self.opts.clock == "auto" and system_clock_synchronised()):
            check_horizon(tt, datetime.now(self.cfg.unit.tz).date())
        else:
            log.info("timetable slice covers service days %s .. %s (not checked: clock not synchronised yet)",
                     tt.slice.first, tt.slice.last)

    def _slice_ending(self, now: float) -> None:
        """Say (rate-limited) when the data time's service day nears or passes the end of the timetable
        slice: past it the unit finds no trip, so a new slice must be rolled out before then."""
        sl = getattr(self.tt, "slice", None)
        t = self.data_now(now)
        if sl is None or t is None:
            return
        day = datetime.fromtimestamp(t, self.cfg.unit.tz).date()
        if day > sl.last:
            self._health_log.warn("slice", "timetable slice ended on %s (today %s): no trips to follow; roll "
                                  "out a new slice (rettid-central slice, rettid-onboard update-timetable)",
                                  sl.last, day)
        elif day >= sl.last - timedelta(days=1):
            self._health_log.warn("slice", "timetable slice ends on %s: roll out a new one", sl.last)

    def request_timetable_update(self) -> None:
        """SIGHUP (``systemctl reload``): look for a staged timetable at the next turn."""
        self._feed_requested = True

    def update_timetable(self) -> bool:
        """Install the staged timetable (validated like feed-check, then checked against the operator
        file and the assignment) and follow it from now on, keeping the trip being driven; roll back
        when the swap fails. Returns whether the unit now runs on the new timetable."""
        from onboard.service.config import OnboardConfig
        from transit.operator import load_operator

        if not self.feeds.has_incoming():
            log.info("timetable update requested, but nothing is staged in %s", self.feeds.incoming)
            return False

        def fits_this_unit(tt: Any) -> None:
            self._check_slice_horizon(tt)  # a slice must cover today's service day
            load_operator(self.cfg.unit.operator_file, tt)  # lines and registration stations still there
            OnboardConfig.load(self.cfg.path, timetable=tt)  # the assigned block/trips still there

        res = self.feeds.install(check=fits_this_unit)
        if not res.ok:
            self.notifier.status(res.summary[:200])
            return False
        old_tt, old_setup = self.tt, self.setup
        try:
            self.tt = res.timetable
            if self._frieze is not None:
                self._frieze.swap_timetable(self.tt)
            if self._replacement is not None:
                self._replacement.tt = self.tt
            if self.core is not None:
                dropped = self.core.core.swap_timetable(self.tt)
                if dropped:
                    log.warning("trips no longer in the new timetable, dropped: %s", ", ".join(dropped[:10]))
        except Exception as exc:  # noqa: BLE001 - any failure here must leave the unit on the old timetable
            log.exception("swapping in timetable %s failed (%s): rolling back", res.version, exc)
            self.tt, self.setup = old_tt, old_setup
            if self._frieze is not None:
                self._frieze.tt, self._frieze.next_tt = old_tt, None
            if self.core is not None:
                self.core.core.swap_timetable(old_tt)
            self.feeds.rollback()
            return False
        log.info("now following timetable %s", res.version)
        self.notifier.status(f"timetable {res.version}")
        return True

    def _take(self, timeout: float) -> None:
        """Wait one tick, then take everything queued meanwhile: one wake-up per tick rather than one
        per input (the reorder window is longer than a tick anyway)."""
        self.stop_event.wait(timeout)
        for _ in range(20000):  # keep the loop turning (watchdog, frames) under a flood
            try:
                item = self.q.get_nowait()
            except queue.Empty:
                return
            self._accept(*item)

    def _accept(self, kind: str, t: float, payload: Any) -> None:
        """Classify one queued input: UTC-stamped ones go to the reorder heap, monotonic ones through
        the clock discipline (held until there is a clock)."""
        rx = time.monotonic()
        if kind == "fix":
            fix: Fix = payload
            self._last_fix, self._last_fix_rx = fix, t
            # one epoch far from the rest (a wrong date) is quarantined before it can move "now"
            rel = self.sanity.offer(fix.time.timestamp(), (t, fix))
            if rel.stepped_back and self.core is not None:
                log.error("GNSS time stepped back to %s and stayed there: trip following restarts on the "
                          "corrected time", iso_utc_ms(from_epoch(rel.items[-1][0])))
                self._restart_core = True
            for tu, (rx_mono, f) in rel.items:
                if self.opts.clock in ("auto", "gnss"):
                    self.clock.on_gnss(tu, rx_mono)
                self._push(tu, 1, "fix", f, rx)
            for tu, (k, p) in self.clock.release():
                self._push(tu, 0 if k == "can" else 2, k, p, rx - self.opts.hold_s)
        elif kind == "can_batch":  # (monotonic time, state, speed sample?) of one CAN read
            self._last_can_rx = rx
            for tm, st, sp in payload:
                for tu, (k, p) in self.clock.stamp_or_hold(tm, ("can", (st, sp))):
                    self._push(tu, 0 if k == "can" else 2, k, p, rx)
        elif kind in ("can", "edge"):  # one input stamped monotonic: payload (state, speed sample?) / (pin, level)
            if kind == "can":
                self._last_can_rx = rx
            else:
                self._edges += 1
            for tu, (k, p) in self.clock.stamp_or_hold(t, (kind, payload)):
                self._push(tu, 0 if k == "can" else 2, k, p, rx)
        elif kind == "can_utc_batch":  # (UTC time, state, speed sample?) of one read of a recorded log
            self._last_can_rx = rx
            for tu, st, sp in payload:
                self._push(tu, 0, "can", (st, sp), rx)
        elif kind == "edge_utc":
            self._edges += 1
            self._push(t, 2, "edge", payload, rx)
        elif kind == "assign":
            self._feed_assignment(payload)
        elif kind == "deviation":
            self._on_deviation(*payload)
        elif kind == "prediction":
            t_now = self.data_now()
            self.predictions.handle(payload[0], payload[1], None if t_now is None else from_epoch(t_now))
        elif kind == "sections":
            self.sections.handle(*payload)  # the core reads it at its next prediction
        else:  # pragma: no cover - only our own threads put items
            log.error("unknown input kind %r", kind)

    def _push(self, t: float, prio: int, kind: str, payload: Any, rx: float) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Item(t, prio, self._seq, kind, payload, rx))

    def _drain_inputs(self, *, final: bool) -> None:
        """Feed the core every input that has waited out the reorder window, in data-time order."""
        cutoff = time.monotonic() - self.opts.hold_s
        ready: list[_Item] = []
        keep: list[_Item] = []
        if final:
            ready = sorted(self._heap)
        else:
            # the heap is ordered by data time; an item is due when it arrived before the cutoff
            while self._heap and self._heap[0].rx <= cutoff:
                ready.append(heapq.heappop(self._heap))
            # items newer in arrival but older in data time than a due one are due too
            if ready:
                newest = ready[-1].t
                while self._heap and self._heap[0].t <= newest:
                    keep.append(heapq.heappop(self._heap))
                ready = sorted(ready + keep)
        if final:
            self._heap.clear()
        for it in ready:
            self._feed(it)

    def _feed(self, it: _Item) -> None:
        if self._restart_core:  # a confirmed backward time step: the old core's "now" is in the future
            self._restart_core = False
            self.core = None
        if self.core is None:
            self._build_core(it.t)
        try:
            if it.kind == "fix":
                recs = self.core.on_fix(it.payload)
            elif it.kind == "can":
                st, sp = it.payload
                st = dataclasses.replace(st, t=from_epoch(it.t))
                recs = self.core.on_vehicle(st, speed_sample=sp)
            else:
                pin, level = it.payload
                recs = self.core.on_edge(it.t, pin, level)
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            # an input the core cannot use must not stop the unit; count it and go on
            self._bad_inputs += 1
            if self._bad_inputs in (1, 10, 100) or self._bad_inputs % 1000 == 0:
                log.exception("input %s at %.3f rejected by the core (%d so far): %s", it.kind, it.t,
                              self._bad_inputs, exc)
            return
        if recs:
            self._emit(recs)

    def _build_core(self, t_first: float) -> None:
        from onboard.service.bootstrap import bootstrap

        self.core = bootstrap(self.setup, self.tt, t_first, with_counting=self.cfg.counting is not None,
                               vp_interval_s=self.opts.vp_interval_s)
        self.core.core.section_times = getattr(self, "sections", None)  # other vehicles' recent running per section
        log.info("core ready at %s (%s, %d trip(s) assigned)", iso_utc_ms(from_epoch(t_first)), self.mode,
                 len(self.core.core.queue))
        self._resume(t_first)
        for a in self._assignments:
            self._emit(self.core.on_assignment(a))
        self._assignments.clear()

    def _resume(self, t_first: float) -> None:
        """The trip state stored before this process started (a restart, a power cut), restored when it
        is still valid at the first input's data time; otherwise discarded, logged and counted."""
        from onboard.service.checkpoint import resume

        text, self._resume_text = self._resume_text, None
        if text is None:
            return
        outcome, again = resume(self.core, text, t_now=t_first, max_age_s=self.opts.checkpoint_max_age_s,
                                punctuality_log=self._plog.path if self._plog is not None else None)
        if outcome.discarded is not None:
            self._ckpt_counts["checkpoint_discarded"] += 1
            log.warning("trip state stored before the restart not used: %s", outcome.discarded)
            return
        self._ckpt_counts["checkpoint_restored"] += 1
        f = self.core.core.follower
        log.info("trip state restored: %s", "no trip" if f is None else
                 f"trip {f.plan.ref.trip_id} ({f.plan.ref.oday}), next stop {f.i + 1} of {len(f.plan.stops)}")
        if again:
            self._ckpt_counts["checkpoint_relogged"] += len(again)
            log.warning("%d punctuality record(s) were in the log but not in the outbox (stopped in between): "
                        "stored again", len(again))
            self._store.write([Encoded.of(r) for r in again], logged=True)

    def _checkpoint(self) -> dict[str, str] | None:
        """The trip state now, to be stored with the records that led to it."""
        from onboard.service.checkpoint import CHECKPOINT_KEY, encode, take

        if self.core is None:
            return None
        self._ckpt_mono, self._ckpt_t = time.monotonic(), self.core.core.t
        return {CHECKPOINT_KEY: encode(take(self.core))}

    def _feed_assignment(self, a: Any) -> None:
        if self.core is None:  # no input yet: applied when the core is built
            self._assignments.append(a)
            return
        self._emit(self.core.on_assignment(a))

    # ------------------------------------------------------------------------------------ outputs
    def _on_deviation(self, topic: str, payload: bytes, expiry: float | None) -> None:
        """A deviation arrived (or was withdrawn): when it changes what the current trip predicts, the
        last eta goes out again at once with it applied, rather than at the core's next eta."""
        t = self.data_now()
        received = None if t is None else from_epoch(t)
        if not self._own_deviation(topic):
            self.connecting.handle(topic, payload, received, expiry)
            return
        if not self.deviations.handle(topic, payload, received, expiry):
            return
        last = self._last_eta
        if last is None or self.core is None:
            return
        from transit.records import record_id

        again = msgspec.structs.replace(last, id=record_id(last.veh, "eta", last.trip_id, last.oday, None, None,
                                                           last.tst, f"deviation-{self.deviations.version}"))
        self._emit([again])
        self._emit(self._cancelled_registrations())

    def _own_deviation(self, topic: str) -> bool:
        """The topic names this unit's operator (or is no deviation topic at all: its own store refuses and
        counts it)."""
        from transit.deviations import parse_deviation_topic
        from transit.messages import topic_level

        try:
            oper, _id = parse_deviation_topic(self._prefix, topic)
        except DecodeError:
            return True
        return oper == topic_level(self.cfg.operator_id)

    def _current_plan(self) -> Any:
        core = getattr(self.core, "core", None)
        f = getattr(core, "follower", None)
        return None if f is None else f.plan

    def _close_registrations(self, plan: Any, reasons: dict[int, str]) -> list[Record]:
        """Registration stops that will not be served, closed as ``missing`` "cancelled ..." by the
        punctuality consumer, so the month's report counts them as cancelled (its policy)."""
        from onboard.records.punctuality import PunctualityRecorder

        out: list[Record] = []
        for c in getattr(self.core, "consumers", ()):
            if isinstance(c, PunctualityRecorder) and reasons:
                out += c.cancel_stops(plan, reasons, self.core.core.t)
        return out

    def _cancelled_registrations(self) -> list[Record]:
        """The control room cancelled stops of the trip being driven: close their registrations and confirm
        it to the control room with the unit's own report (``source: controlroom``), once per deviation."""
        from transit.deviations import DepartureRef, TripCancellation, effect, trip_stop_index
        from transit.records import DeviationReport

        plan = self._current_plan()
        if plan is None:
            return []
        ref = plan.ref
        devs = self.deviations.current(from_epoch(self.core.core.t))
        index = trip_stop_index(self.tt, ref.trip_id)
        reasons: dict[int, str] = {}
        for k, st in enumerate(plan.stops):
            when = st.sched_arr if st.sched_arr is not None else st.sched_dep
            if not st.served or when is None:
                continue
            e = effect(devs, DepartureRef(ref.trip_id, ref.oday, ref.route, st.stop_id, from_epoch(when), st.station,
                                          index(st.stop_id)), index)
            if e.status != "SCHEDULED":
                reasons[k] = f"cancelled by the control room ({', '.join(e.ids)})"
        out = self._close_registrations(plan, reasons)
        for d in devs:
            if isinstance(d, TripCancellation) and d.trip_id == ref.trip_id and d.oday == ref.oday \
                    and (d.id, d.tst) not in self._confirmed:
                self._confirmed.add((d.id, d.tst))
                out.append(DeviationReport.make(self.core.core.t, veh=self.cfg.vehicle_id, oper=self.cfg.operator_id,
                                                trip=ref, what="cancelled", from_stop=d.from_stop, to_stop=d.to_stop,
                                                reason=f"control room {d.id}"[:128], source="controlroom",
                                                id_extra=d.id))
        return out

    def _poll_inbox(self) -> None:
        """Deviations the driver reports on the unit (``rettid-onboard report-deviation`` drops a file in
        ``<state_dir>/inbox``): each becomes a ``deviation`` record through the outbox, the trip's
        registrations not to be served are closed as cancelled; the file is removed only after that is
        stored. A file that is no valid report is moved to ``inbox/rejected`` and counted."""
        from onboard.service.inbox import read_requests, report_records

        if self.core is None:
            return
        for path, req in read_requests(self.state_dir / "inbox", self._inbox_log):
            plan = self._current_plan()
            recs, reasons = report_records(req, plan, self.tt, t=self.core.core.t, veh=self.cfg.vehicle_id,
                                           oper=self.cfg.operator_id)
            if plan is not None:
                recs += self._close_registrations(plan, reasons)
            self._emit(recs)
            path.unlink(missing_ok=True)

    def _apply_deviations(self, rec: Record) -> Record:
        """The unit's own predictions carry the control room's deviations (CANCELED, SKIPPED, the new
        track); the raw eta is kept so a withdrawn deviation is undone at the next re-emit."""
        from transit.deviations import apply_to_eta, trip_stop_index
        from transit.records import Eta

        if not isinstance(rec, Eta):
            return rec
        if not rec.stops or rec.trip_id is None:  # the trip ended: nothing left to re-emit
            self._last_eta = None
            return rec
        self._last_eta = rec
        devs = self.deviations.current(parse_iso(rec.tst)) if getattr(self, "deviations", None) else []
        if not devs:
            return rec
        return apply_to_eta(rec, devs, trip_stop_index(self.tt, rec.trip_id), self.tt.station_of)

    def _emit(self, recs: list[Record]) -> None:
        recs = [self._apply_deviations(r) for r in recs]
        if self._replacement is not None:
            from transit.records import Eta

            for r in list(recs):
                if isinstance(r, Eta):  # passengers owed replacement transport: flagged to the control room
                    recs += self._replacement.on_eta(r, self.deviations.current(parse_iso(r.tst)))
        if getattr(self, "_school", None) is not None:  # school runs: ride time, arrival, notices
            recs = recs + [x for r in recs for x in self._school.on_record(r)]
            if self._school_panel is not None:
                self._school_panel.update(self._school.panel())
        encoded = [Encoded.of(r) for r in recs]  # encoded once: logs, events file and payloads share it
        for enc in encoded:
            ev = enc.record.event
            self._records[ev] = self._records.get(ev, 0) + 1
            if self._frieze is not None:
                self._frieze.on_record(enc.record)
        # punctuality log (fsync'd) first, then the events file and the outbox with the trip state they
        # leave behind (one transaction); held in memory and retried when the disk is full
        self._store.write(encoded, meta=self._checkpoint())

    def data_now(self, mono: float | None = None) -> float | None:
        return self.clock.to_utc(time.monotonic() if mono is None else mono)

    def _open_speaker(self) -> None:
        """Spoken announcements (``announce:``): the pure announcer on the frieze's view, the speaker's
        worker thread saying them. A missing espeak-ng or voice is logged here and counted per
        announcement; the service runs on without sound."""
        from hw.audio.espeak import Espeak
        from onboard.passinfo.announce import Announcer
        from onboard.passinfo.speaker import Speaker

        ac = self.cfg.announce
        engine = Espeak(ac.speech)
        for problem in engine.problems():
            log.error("announcements: %s; the frieze still shows the text", problem)
        self._announcer = Announcer(connections=ac.connections)
        self._speaker = Speaker(engine, ac.open_sink, quiet=ac.quiet, max_delay_s=ac.max_delay_s,
                                max_queue=ac.max_queue, clock=self.data_now)
        self._speaker.start()

    def _announce(self, now_mono: float, view: Any = None) -> None:
        """Offer what is newly due to the speaker (never blocks: the speaker has its own thread); ``view``:
        the frieze's view of this turn when it was built for the displays."""
        if self._speaker is None:
            return
        if view is None:
            t = self.data_now(now_mono)
            if t is None:
                return
            view = self._frieze_view(from_epoch(t))
        for a in self._announcer.update(view, trip=f"{self._frieze.trip_id}|{self._frieze.day}"):
            self._speaker.offer(a)

    def _render(self, now_mono: float) -> Any:
        """Draw the frieze when its picture changed; returns the view it was drawn from (None when there is
        no clock or no display)."""
        from onboard.passinfo.frieze import render_frieze

        for name, ts in list(self._display_failed.items()):
            if now_mono - ts >= 30.0:
                self._open_display(name, self.cfg.displays[name])
        t = self.data_now(now_mono)
        if t is None or not self._displays:
            return None
        now = from_epoch(t)
        view = self._frieze_view(now)
        # the picture changes with the clock's minute and the page shown, not with every second
        key = (dataclasses.replace(view, now=now.replace(second=0, microsecond=0)),
               int(t / max(self._panel.page_s, 1.0)))
        if key == self._last_frame_key:
            return view
        self._last_frame_key = key
        img = render_frieze(view, self._panel)
        self._show(img)
        return view

    def _frieze_view(self, now: datetime) -> Any:
        """What the frieze shows at ``now``: the trip trip following is on from its first second (before its
        first prediction), with the control room's deviations and messages for this trip."""
        f = getattr(getattr(self.core, "core", None), "follower", None)
        if f is not None:
            self._frieze.begin(f.plan.ref.trip_id, date.fromisoformat(f.plan.ref.oday))
        if self._frieze.trip_id != self._watched_trip:
            self._watch_trip(self._frieze.trip_id)
        devs = self.deviations.current(now) if getattr(self, "deviations", None) is not None else []
        notices: list[str] = []
        tid = self._frieze.trip_id
        if devs and tid is not None and tid in self.tt.trips:
            stops = [st.stop_id for st in self.tt.stop_times(tid)]
            stops += [self.tt.station_of(x) for x in stops]
            notices = [m.text for m in self.deviations.messages(stops, [self.tt.route_of(tid).name], now)]
        rt = self.predictions.lookup(now) if getattr(self, "predictions", None) is not None else None
        if getattr(self, "connecting", None) is not None:
            devs = devs + self.connecting.current(now)  # other operators' trips: only their connections
        return self._frieze.view(now, deviations=devs, notices=notices, realtime=rt)

    def _watch_trip(self, trip_id: str | None) -> None:
        """Subscribe to other vehicles' predictions at every platform of our trip's stations (where its
        connections leave), and to nothing else."""
        self._watched_trip = trip_id
        stops: set[str] = set()
        if trip_id is not None and trip_id in self.tt.trips:
            for st in self.tt.stop_times(trip_id):
                station = self.tt.station_of(st.stop_id)
                stops.update({st.stop_id, station, *self.tt.children(station)})
        if getattr(self, "predictions", None) is not None:
            self.predictions.prune(stops)
        if self._publisher is not None:
            self._publisher.watch_predictions(stops)

    def _show(self, img: Any) -> None:
        for name, sink in list(self._displays.items()):
            try:
                sink.show(img)
                self._frames += 1
            except (DeviceError, OSError) as exc:
                log.error("display %s failed (%s); reopening in 30 s", name, exc)
                self._displays.pop(name, None)
                self._display_failed[name] = time.monotonic()

    def _check_system_clock(self, now: float) -> None:
        self._next_sys_check = now + 60.0
        synced = system_clock_synchronised()
        # --clock system: the operator vouches for the system clock (an RTC, a clock set by hand), so
        # records do not wait for NTP (issue 14); auto trusts it only once NTP has synchronised it
        if synced or self.opts.clock == "system":
            if not synced and self.clock.source != "system":
                log.warning("clock: using the system clock as told (--clock system), although NTP has not "
                            "synchronised it")
            self.clock.on_system(time.time(), time.monotonic())
            for tu, (k, p) in self.clock.release():
                self._push(tu, 0 if k == "can" else 2, k, p, now - self.opts.hold_s)

    # ------------------------------------------------------------------------------------ health
    def loops_alive(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        pub_ok = self._publisher is None or (self._publisher._thread is not None
                                             and self._publisher._thread.is_alive())
        return all(lp.alive(now) for lp in self.loops) and pub_ok and now - self._main_beat < STALL_S

    def health(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        t = self.data_now(now)
        cs = self.clock.state()
        fix = self._last_fix
        h = HealthInputs(self.cfg.unit.unit_id, self.cfg.vehicle_id, self.cfg.operator_id,
                         uptime_s=now - self._t_started, data_time=None if t is None else iso_utc_ms(from_epoch(t)),
                         clock={"source": cs.source, "synced": cs.synced, "held_inputs": cs.pending,
                                "dropped_held": cs.dropped_pending, "steps": cs.steps, "rate": self.clock.rate})
        if fix is not None:
            h.gnss_last_fix = {"mode": int(fix.mode), "quality": fix.quality, "sats_used": fix.sats_used,
                               "hdop": fix.hdop, "has_position": fix.has_position}
            h.gnss_fix_age_s = (now - self._last_fix_rx) * self.clock.rate if self._last_fix_rx else None
        if self._gnss is not None:
            h.gnss_stats = dict(self._gnss.stats())
        h.can_configured = self._can is not None
        if self._can is not None:
            h.can_stats = dict(self._can.stats())
            h.can_last_age_s = None if self._last_can_rx is None else now - self._last_can_rx
        if self._gpio is not None:
            levels = {}
            try:
                levels = {str(k): v for k, v in self._gpio.levels().items()}
            except Exception as exc:  # a pin read must not break the health report
                log.debug("GPIO levels unreadable: %s", exc)
            from onboard.counting.passengers import PassengerCounter

            counters = [c for c in self.core.consumers if isinstance(c, PassengerCounter)] if self.core else []
            counter = counters[0] if counters else None
            h.doors = {"edges": self._edges, "levels": levels,
                       "counting": counter.diagnostics() if counter is not None else None}
        if self._outbox is not None:  # kept counters and the queue's head: no table scan (issue 17)
            oldest = self._outbox.oldest_tst_ms()
            h.outbox = self._outbox.stats()
            h.outbox.update(oldest_age_s=None if oldest is None or t is None else round(t - oldest / 1000, 1),
                            dead=self._outbox.counters.dead)
        else:
            h.outbox = {"depth": 0, "oldest_age_s": None, "dead": 0}
        if self._publisher is not None:
            c = self._publisher.counters
            h.outbox.update(connected=self._publisher.connected, published=c.published, acked=c.acked,
                            connect_failures=c.connect_failures)
        h.display = {"open": sorted(self._displays), "failed": sorted(self._display_failed), "frames": self._frames}
        if self._speaker is not None:
            h.display["announce"] = self._speaker.stats()
        core_diag: dict[str, Any] = dict(self.core.core.diagnostics) if self.core is not None else {}
        core_diag.update({f"records_{k}": v for k, v in self._records.items()})
        core_diag["bad_inputs"] = self._bad_inputs
        core_diag["time_quarantined"] = self.sanity.quarantined
        core_diag["time_steps"] = self.sanity.steps
        core_diag.update(self._ckpt_counts)
        core_diag.update(self._received_counts())
        h.core = core_diag
        f = self.core.core.follower if self.core is not None else None
        if f is not None:
            ref = f.plan.ref
            h.trip = {"trip_id": ref.trip_id, "route": ref.route, "oday": ref.oday, "start": ref.start}
        h.loops = {lp.name: lp.alive(now) for lp in self.loops}
        h.loops["main"] = now - self._main_beat < STALL_S
        core_diag["stalls"] = self._stalls
        h.storage = self._store.state() if self._store is not None else {}
        if self._outbox is not None and self._outbox.quarantined is not None:
            h.storage.update(outbox_quarantined=str(self._outbox.quarantined), salvaged=self._outbox.salvaged)
        if self._plog is not None and self._plog.torn_bytes:
            h.storage["torn_bytes"] = self._plog.torn_bytes
        return build_health(h)

    def _received_counts(self) -> dict[str, int]:
        """What came in over MQTT besides assignments, taken and refused (health ``core``: only the ones
        that are not zero are shown)."""
        out: dict[str, int] = {}
        for name, store in (("deviations", getattr(self, "deviations", None)),
                            ("other_deviations", getattr(self, "connecting", None)),
                            ("connection_predictions", getattr(self, "predictions", None))):
            if store is not None:
                out[f"{name}_accepted"] = store.counters.accepted
                out[f"{name}_rejected"] = store.counters.rejected
        sections = getattr(self, "sections", None)
        if sections is not None:
            out["section_times_received"] = sections.received
            out["section_times_refused"] = sections.refused
        return out

    def _health(self, now: float) -> None:
        self._slice_ending(now)
        payload = self.health(now)
        try:
            write_health(self.state_dir, payload)
        except OSError as exc:
            self._health_log.warn("file", "cannot write health file: %s", exc)
        t = self.data_now(now)
        if t is not None and now >= self._next_health_pub:
            self._next_health_pub = now + self.opts.health_publish_s
            d = health_delivery(payload, t, prefix=self._prefix, mode=self.mode)
            try:
                self._outbox.put([d])
                if self._publisher is not None:
                    self._publisher.notify()
            except OutboxError as exc:
                # disk full: the retained health message (saying so) still goes out, straight from memory
                self._health_log.warn("outbox", "health not stored in the outbox (%s); published from memory",
                                      exc)
                if self._publisher is not None:
                    self._publisher.publish_volatile(d)
        self.notifier.status(self._status_line(payload))

    def _status_line(self, p: dict[str, Any]) -> str:
        trip = (p.get("current_trip") or {}).get("trip_id", "no trip")
        return (f"{trip}; clock {p['clock']['source']}; gnss {p['gnss']['state']}; can {p['can']['state']}; "
                f"outbox {p['outbox'].get('depth')}")

    def _waiting_for(self) -> str:
        return "clock" if not self.clock.synced else "inputs"

    # ------------------------------------------------------------------------------------ shutdown
    def stop(self) -> dict[str, Any]:
        """Flush and close everything; returns the last health snapshot."""
        self.notifier.stopping()
        self.stop_event.set()
        self._drain_inputs(final=True)
        if self._store is not None and self.core is not None:
            self._store.write([], meta=self._checkpoint())
        if self._store is not None and not self._store.retry(force=True):
            log.error("storage full at shutdown: %d record(s) held in memory could not be stored and are "
                      "lost with this process", len(self._store.held))
        if self._gpio is not None:
            try:
                self._gpio.close()
            except Exception as exc:  # closing must not stop the flush below
                log.warning("closing GPIO: %s", exc)
        for lp in self.loops:
            lp.thread.join(timeout=2.0)
        if self._can is not None:
            self._can.close()
        if self._gnss is not None:
            self._gnss.close()
        drained = True
        if self._outbox is not None:
            try:  # positions waiting for a group commit
                self._outbox.flush()
            except OutboxError as exc:
                log.error("outbox: %d position sample(s) waiting for a commit not stored: %s",
                          self._outbox.pending, exc)
        if self._publisher is not None:
            drained = self._publisher.wait_drained(self.opts.drain_timeout_s)
            if not drained:
                log.warning("outbox not empty at shutdown: %d message(s) stay for the next start",
                            len(self._outbox))
        final = self.health()
        final["outbox"]["drained_at_stop"] = drained
        try:
            write_health(self.state_dir, final)
        except OSError as exc:
            log.warning("cannot write health file: %s", exc)
        if self._publisher is not None:
            self._publisher.stop()
        if self._speaker is not None:
            self._speaker.close()
        self._park_displays()
        if self._outbox is not None:
            self._outbox.close()
        if self._plog is not None:
            self._plog.close()
        if self._events is not None:
            self._events.close()
            self._events = None
        log.info("onboard stopped: %s", ", ".join(f"{k} {v}" for k, v in sorted(self._records.items())))
        return final

    def _park_displays(self) -> None:
        from onboard.passinfo.frieze import not_in_service, render_frieze

        t = self.data_now()
        if self._displays and t is not None:
            self._show(render_frieze(not_in_service(from_epoch(t)), self._panel))
        for sink in self._displays.values():
            try:
                sink.close()
            except (DeviceError, OSError) as exc:
                log.debug("closing display: %s", exc)


def _check_room(state_dir: Path, outbox: Any) -> None:
    """Warn at start-up when the file system cannot give the outbox its budget (other files share the
    card); the outbox still runs, thinning within its budget, and the disk-full path takes over."""
    try:
        st = os.statvfs(state_dir)
    except OSError as exc:
        log.debug("cannot stat %s: %s", state_dir, exc)
        return
    have = st.f_bavail * st.f_frsize + sum(outbox.disk_bytes().values())
    if have < outbox.budget_bytes:
        log.warning("outbox budget is %d MB, but only %d MB are free for it in %s: the outbox can fill the "
                    "disk before it thins positions (lower outbox.budget_mb, docs/config.md)",
                    outbox.budget_bytes >> 20, have >> 20, state_dir)


def _mono_stamp() -> float:
    """A live CAN frame's receive time: the monotonic clock, plus :data:`MONO_BASE`."""
    return time.monotonic() + MONO_BASE


def run_service(cfg: OnboardConfig, opts: ServiceOptions, *, install_signals: bool = True) -> int:
    """Start, loop until SIGTERM/SIGINT, stop cleanly. Returns the exit status."""
    import signal

    svc = OnboardService(cfg, opts)
    if install_signals:
        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping", signum)
            svc.request_stop()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, lambda _s, _f: svc.request_timetable_update())
    try:
        svc.start()
    except RettidError:
        svc.stop_event.set()
        _close_quietly(svc)
        raise
    try:
        svc.run()
    finally:
        svc.stop()
    return 0


def _close_quietly(svc: OnboardService) -> None:
    try:
        svc.stop()
    except Exception as exc:  # start-up failed: the original error is what matters
        log.debug("cleanup after a failed start: %s", exc)


__all__ = ["OnboardService", "ServiceOptions", "run_service"]
