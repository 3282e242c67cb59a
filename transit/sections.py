"""Recent running times per section, from every vehicle to every vehicle (issue 16).

A vehicle's predictions learn its own trip's running (``onboard.tripfollow.eta``), but the sections it has
not driven yet are only the timetable and their length. Other vehicles drove them minutes ago. The
collector (:class:`SectionLearner`) turns the units' ``dep`` and ``ars`` records into running times per
section (departure from one stop to the stopped arrival at the next stop of the same trip), keeps those of
the last ``window_s`` of data time and publishes, per operator, the median of each section as one retained
message (``<prefix>/sections/<oper>``, :class:`SectionTimesMessage`). A unit keeps the latest message
(:class:`RecentSections`) and hands it to its predictions as their
:class:`~onboard.tripfollow.eta.SectionTimes`: a section someone drove recently takes that time, the
others this trip's ratio times the baseline.

Time is the data's: an observation is stamped with its arrival record's ``tst``, the message with its
newest observation; a unit uses a section only while its newest observation is at most ``max_age_s`` older
than the unit's own data time (and not from its future).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

import msgspec
from msgspec import Meta

from transit.errors import DecodeError
from transit.messages import SCHEMA_VERSION, topic_level
from transit.ratelimit import RateLimitedLog
from transit.records import ArrivalStopped, Departure, Record
from transit.timeutil import from_epoch, iso_utc_ms, parse_iso

log = logging.getLogger(__name__)

#: a section's running time is believed between these (seconds): a record pair outside is not a section
RUN_BOUNDS_S = (5.0, 7200.0)


class SectionTime(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One section's recent running: median departure-to-arrival seconds of ``n`` runs, the newest ending
    at ``last`` (ISO UTC)."""

    from_stop: Annotated[str, Meta(min_length=1, max_length=200)]
    to_stop: Annotated[str, Meta(min_length=1, max_length=200)]
    run_s: Annotated[float, Meta(gt=0.0, le=RUN_BOUNDS_S[1])]
    n: Annotated[int, Meta(ge=1)]
    last: str


class SectionTimesMessage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="v",
                          tag=SCHEMA_VERSION):
    """``<prefix>/sections/<oper>`` (retained): the operator's sections driven in the last ``window_s``
    (``"v": 1`` is the tag, as in every message of the tree)."""

    oper: Annotated[str, Meta(min_length=1, max_length=200)]
    tst: str  # the newest observation in it (data time)
    window_s: Annotated[float, Meta(gt=0.0)]
    sections: list[SectionTime]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(SectionTimesMessage)


def sections_topic(prefix: str, oper: str) -> str:
    return f"{prefix.rstrip('/')}/sections/{topic_level(oper)}"


def encode_sections(msg: SectionTimesMessage) -> bytes:
    return _ENCODER.encode(msg)


def decode_sections(payload: bytes) -> SectionTimesMessage:
    """Strict decode; times must parse. Raises :class:`DecodeError`."""
    try:
        msg = _DECODER.decode(payload)
        parse_iso(msg.tst)
        for s in msg.sections:
            parse_iso(s.last)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise DecodeError(f"section times: {exc}") from exc
    return msg


@dataclass
class SectionLearner:
    """Central side: running times per (operator, section) from the units' stop records, as they arrive.

    Keyed by operator and the two stop ids: vehicles of every line that stop at both count (a bus line and
    a train line do not share stop ids). A departure is remembered per vehicle; the vehicle's next stopped
    arrival on the same trip and day closes the section (a passed stop between the two: the section spans
    it, and only a vehicle asking for the same span uses it)."""

    window_s: float = 3600.0
    per_section: int = 20
    _dep: dict[tuple[str, str], tuple[str | None, str | None, int | None, str, float]] = field(default_factory=dict)
    _runs: dict[str, dict[tuple[str, str], deque[tuple[float, float]]]] = field(default_factory=dict)
    _newest: dict[str, float] = field(default_factory=dict)
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)  # per vehicle: its newest dep/ars
    observations: int = 0

    def on_records(self, records: Iterable[Record]) -> None:
        for rec in records:
            if not isinstance(rec, Departure | ArrivalStopped) or not rec.stop_id:
                continue
            key = (rec.oper, rec.veh)
            t = parse_iso(rec.tst).timestamp()
            if t < self._seen.get(key, -math.inf):
                continue  # a re-delivered older record (a unit's outbox after a reconnect) pairs with nothing
            self._seen[key] = t
            if isinstance(rec, Departure):
                self._dep[key] = (rec.trip_id, rec.oday, rec.seq, rec.stop_id, t)
            elif rec.origin is not True:
                dep = self._dep.pop(key, None)
                if dep is None or (dep[0], dep[1]) != (rec.trip_id, rec.oday):
                    continue
                if dep[2] is not None and rec.seq is not None and rec.seq <= dep[2]:
                    continue
                run = t - dep[4]
                if not RUN_BOUNDS_S[0] <= run <= RUN_BOUNDS_S[1]:
                    continue
                runs = self._runs.setdefault(rec.oper, {}).setdefault((dep[3], rec.stop_id),
                                                                        deque(maxlen=self.per_section))
                runs.append((t, run))
                self._newest[rec.oper] = max(self._newest.get(rec.oper, t), t)
                self.observations += 1

    def operators(self) -> list[str]:
        return sorted(self._runs)

    def message(self, oper: str) -> SectionTimesMessage | None:
        """The operator's sections driven within ``window_s`` of its newest observation (None: none)."""
        newest = self._newest.get(oper)
        if newest is None:
            return None
        out: list[SectionTime] = []
        sections = self._runs.get(oper, {})
        for key in list(sections):
            runs = sections[key]
            while runs and runs[0][0] < newest - self.window_s:
                runs.popleft()
            if not runs:
                del sections[key]
                continue
            out.append(SectionTime(from_stop=key[0], to_stop=key[1], run_s=round(statistics.median(r for _, r in runs), 1),
                                   n=len(runs), last=iso_utc_ms(from_epoch(max(t for t, _ in runs)))))
        if not out:
            return None
        return SectionTimesMessage(oper=oper, tst=iso_utc_ms(from_epoch(newest)), window_s=self.window_s,
                                   sections=out)


@dataclass
class RecentSections:
    """Unit side: the latest :class:`SectionTimesMessage` of its operator, as
    :class:`~onboard.tripfollow.eta.SectionTimes` (``run_s(from_stop, to_stop, t)``)."""

    prefix: str
    oper: str
    max_age_s: float = 3600.0
    future_s: float = 120.0
    _runs: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    received: int = 0
    refused: int = 0
    _rlog: RateLimitedLog = field(default_factory=lambda: RateLimitedLog(log, 60.0))

    def handle(self, topic: str, payload: bytes) -> bool:
        """Take a message (True), or refuse it with a counted, rate-limited warning (False)."""
        if topic != sections_topic(self.prefix, self.oper):
            return self._refuse("topic", topic, "not this operator's section times")
        if not payload:  # withdrawn
            self._runs = {}
            return True
        try:
            msg = decode_sections(payload)
        except DecodeError as exc:
            return self._refuse("payload", topic, exc)
        if topic_level(msg.oper) != topic_level(self.oper):
            return self._refuse("oper", topic, f"payload is {msg.oper!r}")
        self._runs = {(s.from_stop, s.to_stop): (s.run_s, parse_iso(s.last).timestamp()) for s in msg.sections}
        self.received += 1
        return True

    def _refuse(self, reason: str, topic: str, detail: object) -> bool:
        self.refused += 1
        self._rlog.warn(reason, "section times on %s refused: %s", topic[:200], str(detail)[:200])
        return False

    def run_s(self, from_stop: str, to_stop: str, t: float) -> float | None:
        hit = self._runs.get((from_stop, to_stop))
        if hit is None:
            return None
        run, last = hit
        if not -self.future_s <= t - last <= self.max_age_s:
            return None
        return run

    def __len__(self) -> int:
        return len(self._runs)


__all__ = ["RecentSections", "SectionLearner", "SectionTime", "SectionTimesMessage", "decode_sections",
           "encode_sections", "sections_topic"]
