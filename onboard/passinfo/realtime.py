"""Other vehicles' predictions at the stations of this unit's trip: the realtime state of the frieze's
connections (:data:`onboard.passinfo.connections.Lookup`).

The unit subscribes to the retained stop predictions (``stop/<stop_id>/eta/<oper>/<veh>``) of the stops
it will call at (:meth:`onboard.records.publisher.Publisher.watch_predictions`); this cache keeps the latest
per departure. Pure (topic, payload and the receiver's clock in): every payload is decoded strictly
(:func:`transit.messages.decode_prediction`), checked against its topic, and refused when it claims a time
too far ahead of this clock; a refusal is counted and logged (rate-limited), never raised. Bounded: a flood
of forged departures cannot grow memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from onboard.passinfo.connections import Realtime
from transit.errors import DecodeError
from transit.messages import StopPrediction, decode_prediction, parse_prediction_topic, topic_level
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

MAX_FUTURE_S = 300.0
MAX_ENTRIES = 5000


@dataclass
class PredictionCounters:
    accepted: int = 0
    withdrawn: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class ConnectionPredictions:
    """The latest prediction per (trip, operating day, stop) from other vehicles."""

    def __init__(self, *, prefix: str, own_veh: str, max_entries: int = MAX_ENTRIES) -> None:
        self.prefix = prefix
        self.own_veh = topic_level(own_veh)
        self.max_entries = max_entries
        self.counters = PredictionCounters()
        self._by_dep: dict[tuple[str, str, str], StopPrediction] = {}
        self._by_topic: dict[str, tuple[str, str, str]] = {}
        self._rlog = RateLimitedLog(log, 60.0)

    def _reject(self, reason: str, topic: str, detail: object, now: datetime | None) -> None:
        self.counters.rejected += 1
        self.counters.reasons[reason] = self.counters.reasons.get(reason, 0) + 1
        self._rlog.warn(reason, "prediction on %s refused: %s", topic[:200], str(detail)[:200],
                        t=None if now is None else now.timestamp())

    def handle(self, topic: str, payload: bytes, now: datetime | None) -> None:
        """One retained prediction (empty payload: withdrawn). ``now``: this unit's clock (None before it
        has one: then no future check)."""
        try:
            stop_l, _oper_l, veh_l = parse_prediction_topic(self.prefix, topic)
        except DecodeError as exc:
            self._reject("topic", topic, exc, now)
            return
        if veh_l == self.own_veh:
            return  # our own predictions are no connection
        if not payload:
            key = self._by_topic.pop(topic, None)
            if key is not None and self._by_dep.pop(key, None) is not None:
                self.counters.withdrawn += 1
            return
        try:
            p = decode_prediction(payload)
        except DecodeError as exc:
            self._reject("payload", topic, exc, now)
            return
        if (topic_level(p.stop_id), topic_level(p.veh)) != (stop_l, veh_l):
            self._reject("topic_mismatch", topic, f"payload is {p.stop_id}/{p.veh}", now)
            return
        if now is not None and (p.tst - now).total_seconds() > MAX_FUTURE_S:
            self._reject("future", topic, "tst ahead of this clock", now)
            return
        key = (p.trip_id, p.oday, p.stop_id)
        old = self._by_dep.get(key)
        if old is not None and p.tst < old.tst:
            return  # an older estimate after a newer one
        self._by_dep[key] = p
        self._by_topic[topic] = key
        self.counters.accepted += 1
        if len(self._by_dep) > self.max_entries:  # drop the oldest estimate
            victim = min(self._by_dep, key=lambda k: self._by_dep[k].tst)
            del self._by_dep[victim]

    def prune(self, keep_stops: Iterable[str]) -> None:
        """Forget predictions for stops no longer watched (the trip changed)."""
        keep = set(keep_stops)
        for k in [k for k in self._by_dep if k[2] not in keep]:
            del self._by_dep[k]
        for t in [t for t, k in self._by_topic.items() if k[2] not in keep]:
            del self._by_topic[t]

    def lookup(self, now: datetime) -> LookupAt:
        return LookupAt(self, now)

    def get(self, trip_id: str, oday: str, stop_id: str, now: datetime) -> Realtime | None:
        p = self._by_dep.get((trip_id, oday, stop_id))
        if p is None or p.is_stale(now) or p.status == "NO_DATA":
            return None  # NO_DATA: the vehicle has nothing realtime, the timetable applies
        return Realtime(p.eta_dep or p.eta_arr, p.status, p.platform)

    def __len__(self) -> int:
        return len(self._by_dep)


@dataclass(frozen=True)
class LookupAt:
    """The cache as a :data:`~onboard.passinfo.connections.Lookup` at one data time."""

    cache: ConnectionPredictions
    now: datetime

    def __call__(self, trip_id: str, oday: str, stop_id: str) -> Realtime | None:
        return self.cache.get(trip_id, oday, stop_id, self.now)


__all__ = ["ConnectionPredictions", "LookupAt", "PredictionCounters"]
