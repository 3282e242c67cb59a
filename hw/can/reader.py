"""The CAN reader: a configured bus plus the tracker, yielding :class:`VehicleState` updates.

This is the I/O edge: it owns the bus, survives interface failures (USB adapter unplugged, interface
down, controller bus-off) by reopening with backoff, and counts what went wrong. Decoding stays in
:class:`~hw.can.tracker.VehicleTracker`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import can

from hw.can.backends import filters_for_messages, open_bus
from hw.can.config import CanConfig
from hw.can.dbc import load_dbc
from hw.can.decode import J1939Decoder
from hw.can.replay import ReplayBus
from hw.can.state import VehicleState
from hw.can.tracker import VehicleTracker, messages_for
from transit.errors import DeviceError
from transit.ratelimit import RateLimitedLog
from transit.yamlconf import Node

log = logging.getLogger(__name__)


class CanReader:
    """Reads the configured bus; ``updates()`` yields snapshots, ``poll_batch()`` gives what has
    arrived in one call, ``stats()`` the counters.

    ``stamp``: when given, every frame is re-stamped with ``stamp()`` as it is read (python-can stamps
    SLCAN frames with the wall clock and SocketCAN ones with the kernel's realtime clock; a unit without
    RTC trusts neither and passes its own clock).
    """

    def __init__(self, cfg: CanConfig, bus: can.BusABC | None = None, *,
                 stamp: Callable[[], float] | None = None) -> None:
        self.cfg = cfg
        self.stamp = stamp
        dbc = load_dbc(cfg.dbc)
        names = messages_for(cfg.speed_source, cfg.extra_messages)
        self.tracker = VehicleTracker(J1939Decoder(dbc, names), speed_source=cfg.speed_source,
                                      doors=cfg.doors, source_address=cfg.source_address,
                                      extra_messages=cfg.extra_messages, log_interval_s=cfg.log_interval_s)
        self.filters = filters_for_messages(self.tracker.messages, dbc)
        self.counters: Counter[str] = Counter()
        self._bus = bus
        self._backoff = 0.5
        self._rlog = RateLimitedLog(log, cfg.log_interval_s, clock=time.monotonic)

    @classmethod
    def from_node(cls, node: Node) -> CanReader:
        return cls(CanConfig.from_node(node))

    # -- bus lifecycle -----------------------------------------------------------------------------
    @property
    def bus(self) -> can.BusABC:
        if self._bus is None:
            self._bus = open_bus(self.cfg, self.filters)
            self.counters["opens"] += 1
            log.info("CAN %s %s open (%d PGN filters)", self.cfg.backend, self.cfg.channel, len(self.filters))
        return self._bus

    @property
    def exhausted(self) -> bool:
        """True when a replayed log has been read to the end (never for a live bus)."""
        return isinstance(self._bus, ReplayBus) and self._bus.exhausted

    def close(self) -> None:
        if self._bus is not None:
            try:
                self._bus.shutdown()
            except (can.CanError, OSError) as exc:
                log.debug("CAN shutdown: %s", exc)
            self._bus = None

    def __enter__(self) -> CanReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _failed(self, exc: BaseException) -> None:
        """Interface failure: close, wait (monotonic, growing), and let the next call reopen."""
        self.counters["interface_errors"] += 1
        self._rlog.warn("interface_error", "CAN %s %s failed (%s); reopening in %.1f s (%d failures so far)",
                        self.cfg.backend, self.cfg.channel, exc, self._backoff, self.counters["interface_errors"])
        self.close()
        time.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.cfg.reopen_max_s)

    # -- reading -----------------------------------------------------------------------------------
    def _recv(self, timeout: float) -> can.Message | None:
        try:
            msg = self.bus.recv(timeout)
        except (can.CanOperationError, OSError, DeviceError) as exc:
            self._failed(exc)
            return None
        except (ValueError, IndexError) as exc:  # an adapter sent a line python-can cannot parse
            self.counters["bad_input"] += 1
            self._rlog.warn("bad_input", "CAN %s: unparsable input skipped (%s)", self.cfg.channel, exc)
            return None
        if msg is not None:
            self._backoff = 0.5
            if self.stamp is not None:
                msg.timestamp = self.stamp()
        return msg

    def poll(self, timeout: float = 0.5) -> VehicleState | None:
        """Receive at most one frame; a snapshot if it carried vehicle state."""
        msg = self._recv(timeout)
        return None if msg is None else self.tracker.feed(msg)

    def poll_batch(self, timeout: float = 0.5, limit: int = 1000) -> list[tuple[VehicleState, str]]:
        """Wait up to ``timeout`` for a frame, then take every frame already received (at most
        ``limit``): the snapshots, each with the name of the message that made it (``"CCVS1"`` ...).
        One call per batch instead of one per frame keeps the per-frame cost down at 1,500 frames/s."""
        out: list[tuple[VehicleState, str]] = []
        msg = self._recv(timeout)
        n = 0
        tracker = self.tracker
        while msg is not None:
            st = tracker.feed(msg)
            if st is not None:
                out.append((st, tracker.last_message))
            n += 1
            if n >= limit:
                break
            msg = self._recv(0.0)
        return out

    def updates(self, stop: threading.Event | None = None, timeout: float = 0.5) -> Iterator[VehicleState]:
        """Snapshots until ``stop`` is set (or a replayed log ends)."""
        while stop is None or not stop.is_set():
            st = self.poll(timeout)
            if st is not None:
                yield st
            elif self.exhausted:
                return

    def stats(self) -> dict[str, int]:
        """Tracker counters plus opens, interface_errors, bad_input, (replay) bad_lines and (chunked
        SLCAN) filtered_in_reader: frames dropped by identifier before they were parsed, and
        overlong_bytes: line noise without a CR dropped past ``hw.can.slcan.MAX_LINE``."""
        out = self.tracker.stats()
        out.update(self.counters)
        if isinstance(self._bus, ReplayBus):
            out["bad_lines"] = self._bus.bad_lines
        filtered = getattr(self._bus, "filtered", None)
        if isinstance(filtered, int):
            out["filtered_in_reader"] = filtered
        overlong = getattr(self._bus, "overlong", None)
        if isinstance(overlong, int):
            out["overlong_bytes"] = overlong
        return out
