"""Saying the announcements: one worker thread, one loudspeaker, one announcement at a time.

The service's main loop only calls :meth:`Speaker.offer` (never blocks); the worker takes the most urgent
announcement (deviations, then stops, then connections; in order within a priority), renders it with
espeak-ng (:class:`hw.audio.espeak.Espeak`) and plays it through the audio sink (:mod:`hw.audio.sink`),
whose ``play`` returns only when the sound has been played — so two announcements never overlap.

- **Stale ones are dropped, not played late**: a newer announcement of the same slot with another key
  (the next stop changed) removes the queued older ones; a stop or connections announcement whose data
  time is more than ``max_delay_s`` behind the unit's data time when its turn comes is dropped.
- **Quiet hours** (``QuietHours``, Europe/Copenhagen local time of the announcement's data time) mute it.
- **Bounded**: at most ``max_queue`` waiting; when full, the least urgent oldest one goes.
- **Never crashes the service**: a missing espeak-ng, an unknown voice, a sound card that is gone are
  logged rate-limited and counted (:class:`SpeakerCounters`, in ``health.json`` under ``announce``); the
  sink is reopened after ``retry_s``; the frieze keeps showing the text regardless.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hw.audio.espeak import Espeak, EspeakConfig
from hw.audio.sink import AudioSink, check_audio, open_audio
from onboard.passinfo.announce import Announcement, QuietHours, wav_name
from transit.errors import BackendError, DeviceError
from transit.ratelimit import RateLimitedLog
from transit.yamlconf import Node

log = logging.getLogger(__name__)

#: kinds that are about where the vehicle is now: dropped when their turn comes too late
TIMELY_KINDS = frozenset({"origin", "next_stop", "terminus", "connections"})


@dataclass(frozen=True)
class AnnounceConfig:
    """The ``announce`` section of ``onboard.yaml`` (``docs/config.md``): speech (``voice``, ``speed``,
    ``volume``, ``pitch``), the audio ``sink`` (an :mod:`hw.audio` backend section; default ALSA's
    ``default`` device), ``quiet_hours``, how many ``connections`` are said, ``max_delay_s`` after which a
    stop announcement is dropped rather than said late, and the ``queue`` length."""

    enabled: bool = True
    speech: EspeakConfig = EspeakConfig()
    sink: Node | None = None
    quiet: QuietHours = QuietHours()
    connections: int = 2
    max_delay_s: float = 30.0
    max_queue: int = 8

    KEYS = EspeakConfig.KEYS | {"enabled", "sink", "quiet_hours", "connections", "max_delay_s", "queue"}

    @classmethod
    def from_node(cls, node: Node | None, *, enabled: bool = True) -> AnnounceConfig:
        """``node`` None: the defaults, ``enabled`` as given (``frieze.announce``, the short form)."""
        if node is None:
            return cls(enabled=enabled)
        node.reject_unknown(cls.KEYS)
        speech = EspeakConfig.from_node(node, allowed_extra=frozenset(cls.KEYS - EspeakConfig.KEYS))
        sink = node.opt("sink")
        if sink is not None:
            if not sink.is_map():
                raise sink.error("expected an audio sink section, e.g. {backend: alsa, device: default}")
            check_audio(sink)
        return cls(enabled=node.get_bool("enabled", True), speech=speech, sink=sink,
                   quiet=QuietHours.from_node(node.opt("quiet_hours")),
                   connections=node.get_int("connections", 2, min=0, max=4),
                   max_delay_s=node.get_float("max_delay_s", 30.0, min=1.0, max=600.0),
                   max_queue=node.get_int("queue", 8, min=1, max=64))

    def open_sink(self) -> AudioSink:
        """The configured sink (ALSA ``default`` when none is configured)."""
        if self.sink is None:
            from hw.audio.players import AlsaSink

            return AlsaSink("default")
        return open_audio(self.sink)


@dataclass
class SpeakerCounters:
    offered: int = 0
    spoken: int = 0
    muted: int = 0          # quiet hours
    superseded: int = 0     # a newer announcement of the same slot came before this one's turn
    stale: int = 0          # its turn came more than max_delay_s (data time) after it was made
    overflow: int = 0       # the queue was full
    speech_errors: int = 0  # espeak-ng missing, failing, or the voice unknown
    sink_errors: int = 0    # the audio device could not be opened or failed playing
    errors: int = 0         # anything else (a bug): logged with its traceback
    dropped_at_stop: int = 0


class Speaker:
    """The announcement queue and its worker thread (``start``/``offer``/``close``)."""

    def __init__(self, engine: Espeak, open_sink: Callable[[], AudioSink], *, quiet: QuietHours | None = None,
                 max_delay_s: float = 30.0, max_queue: int = 8, clock: Callable[[], float | None] | None = None,
                 retry_s: float = 30.0, work_dir: Path | None = None) -> None:
        self.engine = engine
        self._open_sink = open_sink
        self.quiet = quiet or QuietHours()
        self.max_delay_s = max_delay_s
        self.max_queue = max(1, max_queue)
        self._clock = clock  # the unit's data time (UTC epoch s), None before it has one
        self.retry_s = retry_s
        self.counters = SpeakerCounters()
        self.sink: AudioSink | None = None
        self._sink_retry_at = 0.0
        self._items: list[tuple[int, int, Announcement]] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = False
        self._rlog = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._tmp = tempfile.TemporaryDirectory(prefix="rettid-speech-", dir=work_dir)
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)

    # ---------------------------------------------------------------------------------------- producer
    def start(self) -> None:
        self._thread.start()

    def offer(self, a: Announcement) -> bool:
        """Queue ``a`` (never blocks); False when it is muted or does not fit."""
        with self._cond:
            self.counters.offered += 1
            if self.quiet.muted(a.tst):
                self.counters.muted += 1
                log.debug("quiet hours: not saying %s", a.text)
                return False
            keep = [it for it in self._items if not (it[2].slot == a.slot and it[2].key != a.key)]
            self.counters.superseded += len(self._items) - len(keep)
            self._items = keep
            if len(self._items) >= self.max_queue:
                worst = max(self._items, key=lambda it: (it[0], -it[1]))  # least urgent, oldest of those
                if worst[0] < a.priority:
                    self.counters.overflow += 1
                    self._rlog.warn("overflow", "announcement queue full (%d): not saying %s", self.max_queue,
                                    a.text[:80])
                    return False
                self._items.remove(worst)
                self.counters.overflow += 1
                self._rlog.warn("overflow", "announcement queue full (%d): dropped %s", self.max_queue,
                                worst[2].text[:80])
            self._seq += 1
            self._items.append((a.priority, self._seq, a))
            self._cond.notify()
            return True

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def idle(self) -> bool:
        """Nothing queued and nothing being said."""
        with self._cond:
            return not self._items and not self._busy

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return self.idle()

    def stats(self) -> dict[str, Any]:
        """For ``health.json``: the counters, the queue depth, whether the sink is open."""
        out: dict[str, Any] = {k: v for k, v in asdict(self.counters).items() if v}
        out.update(queued=self.pending, sink_open=self.sink is not None, voice=self.engine.cfg.voice)
        return out

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the announcement being said; what is still queued is dropped (counted)."""
        with self._cond:
            self._stopping = True
            self.counters.dropped_at_stop += len(self._items)
            self._items.clear()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self.sink is not None:
            try:
                self.sink.close()
            except (DeviceError, OSError) as exc:
                log.debug("closing the audio sink: %s", exc)
            self.sink = None
        self._tmp.cleanup()

    # ------------------------------------------------------------------------------------------ worker
    def _next(self) -> Announcement | None:
        with self._cond:
            while not self._items and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            best = min(self._items)  # (priority, seq): the most urgent, first come first
            self._items.remove(best)
            self._busy = True
            return best[2]

    def _run(self) -> None:
        while True:
            a = self._next()
            if a is None:
                return
            try:
                self._say(a)
            except Exception:  # a bug must not silence the vehicle for the rest of the day
                self.counters.errors += 1
                if self._rlog.warn("bug", "announcement failed unexpectedly (%d so far)", self.counters.errors):
                    log.exception("announcement %r", a.text[:80])
            finally:
                with self._cond:
                    self._busy = False

    def _too_late(self, a: Announcement) -> bool:
        if a.kind not in TIMELY_KINDS or self._clock is None:
            return False
        now = self._clock()
        return now is not None and now - a.tst.timestamp() > self.max_delay_s

    def _say(self, a: Announcement) -> None:
        if self._too_late(a):
            self.counters.stale += 1
            log.info("announcement dropped (its turn came more than %.0f s late): %s", self.max_delay_s, a.text[:80])
            return
        name = wav_name(a)
        wav = Path(self._tmp.name) / name
        try:
            self.engine.synthesize(a.speech, wav)
        except DeviceError as exc:
            self.counters.speech_errors += 1
            self._rlog.warn("speech", "speech engine failed (%d so far): %s", self.counters.speech_errors, exc)
            return
        try:
            sink = self._sink()
            if sink is None:
                return
            if self._too_late(a):  # rendering took long (a loaded CPU): still not played late
                self.counters.stale += 1
                return
            try:
                sink.play(wav, name)
            except (DeviceError, OSError) as exc:
                self.counters.sink_errors += 1
                self._rlog.warn("sink", "audio device failed (%d so far): %s; reopening in %.0f s",
                                self.counters.sink_errors, exc, self.retry_s)
                self._drop_sink()
                return
            self.counters.spoken += 1
            log.info("said %s: %s", a.kind, a.text)
        finally:
            wav.unlink(missing_ok=True)

    def _sink(self) -> AudioSink | None:
        if self.sink is not None:
            return self.sink
        now = time.monotonic()
        if now < self._sink_retry_at:
            self.counters.sink_errors += 1
            return None
        try:
            self.sink = self._open_sink()
        except (DeviceError, BackendError, OSError) as exc:
            self.counters.sink_errors += 1
            self._sink_retry_at = now + self.retry_s
            self._rlog.warn("open", "audio sink cannot be opened (%s); retrying in %.0f s", exc, self.retry_s)
            return None
        return self.sink

    def _drop_sink(self) -> None:
        if self.sink is not None:
            try:
                self.sink.close()
            except (DeviceError, OSError) as exc:
                log.debug("closing the failed audio sink: %s", exc)
        self.sink = None
        self._sink_retry_at = time.monotonic() + self.retry_s


__all__ = ["TIMELY_KINDS", "AnnounceConfig", "Speaker", "SpeakerCounters"]
