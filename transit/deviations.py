"""Deviations: what the control room ("Movias vagtplads") tells units, stop displays and the web page
about a bad day — cancellations, skipped stops, track/stand changes, planned works with replacement
transport, and free text per stop or line (contract 003, "Passagerinformation i forhold til afvigelser").

One retained message per deviation on ``<prefix>/deviation/<oper>/<id>`` (QoS 1), written only by the
control room's identities (the broker ACL, ``systemd/mosquitto/aclfile``). A deviation carries an explicit
validity period (``valid_from`` .. ``valid_to``) and is published with an MQTT 5 message expiry that ends
shortly after ``valid_to``, so the broker forgets it even if nobody withdraws it; withdrawing it is an
empty retained payload on the same topic. A newer ``tst`` of the same ``id`` replaces the older one.

The payload is a tagged union on ``kind`` (one frozen ``msgspec.Struct`` per kind, the field tables of
``docs/messages.md`` are generated from them by ``python -m transit.msgdoc``):

- ``cancel`` (:class:`TripCancellation`) — a trip on an operating day, whole or from/to a stop;
- ``skip`` (:class:`StopSkip`) — a stop not served, by one trip or by every trip of some lines;
- ``track`` (:class:`TrackChange`) — a departure leaves from another track or stand;
- ``planned`` (:class:`PlannedDeviation`) — planned works: lines not serving some stops in the period,
  with the replacement transport;
- ``message`` (:class:`Notice`) — free text for some stops and/or lines, with a priority.

Applying them is pure (:class:`DeviationStore` for the received state, :func:`effect` for one departure,
:func:`apply_to_eta` for a unit's own predictions, :meth:`DeviationStore.messages` for a display's message
line): the same functions serve the station (timetable rows and vehicle predictions), the web page and
the onboard unit, with time always passed in.

A unit's report of its own deviation ("indmeldes til vagtpladsen") is a record, not one of these:
:class:`transit.records.DeviationReport` on the unit's own record topic.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from transit.errors import DecodeError
from transit.messages import SCHEMA_VERSION, AwareTime, strict_decode, topic_level
from transit.ratelimit import RateLimitedLog
from transit.records import ENCODER, Eta, EtaStop, Name
from transit.timeutil import ensure_utc, iso_utc_ms, parse_iso

log = logging.getLogger(__name__)

#: The broker keeps a deviation this long after its ``valid_to`` (MQTT 5 message expiry), so a display
#: that reconnects a little later still sees why a departure was cancelled.
EXPIRY_GRACE_S = 300
#: Longest validity period a deviation may claim (planned works of a timetable period).
MAX_VALIDITY = timedelta(days=400)
#: A display or unit rejects a deviation whose ``tst`` is further ahead of its own clock than this.
MAX_FUTURE_S = 300.0
#: Longest passenger text (a long message is paged on a display, never cut).
MAX_TEXT = 500
#: At most this many deviations are kept; a flood of forged ones must not grow memory.
MAX_DEVIATIONS = 2000

Priority = Literal["info", "warning", "severe"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
#: Deviation kinds (the ``kind`` tag), in the order of the tables in docs/messages.md.
KINDS = ("cancel", "skip", "track", "planned", "message")

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
#: an id is also a topic level: letters, digits, '.', '_', '-' only
DeviationId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
LongText = Annotated[str, Meta(max_length=MAX_TEXT, pattern=_PRINTABLE)]
Oday = Annotated[str, Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
Names = Annotated[tuple[Name, ...], Meta(max_length=200)]


def _d(text: str) -> Meta:
    return Meta(description=text)


class Replacement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Replacement transport for a planned deviation (contract: "busbetjening/taxabetjening")."""

    mode: Annotated[Literal["bus", "taxi"], _d("bus or taxi")]
    route: Annotated[Name | None, _d("line name of the replacement service, when it has one (e.g. 920B)")] = None
    text: Annotated[LongText, _d("where and how to board it, in Danish")] = ""


class Deviation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind",
                omit_defaults=True):
    """The fields every deviation carries (``kind`` names which one)."""

    v: Annotated[Literal[1], _d("schema version: 1")] = 1
    id: Annotated[DeviationId, _d("the control room's id for this deviation; also the last topic level")]
    oper: Annotated[Name, _d("operator the deviation concerns; also a topic level")]
    tst: Annotated[AwareTime, _d("when it was issued or last changed; a newer tst of the same id replaces it")]
    valid_from: Annotated[AwareTime, _d("start of the validity period")]
    valid_to: Annotated[AwareTime, _d("end of the validity period (exclusive); the broker drops the message "
                                      "a few minutes later (MQTT 5 message expiry)")]
    priority: Annotated[Priority, _d("info, warning or severe (GTFS-RT severity); orders a display's "
                                     "message line")] = "info"
    text: Annotated[LongText, _d("passenger text in Danish, shown in the message line (up to 500 characters, "
                                 "paged on a display)")] = ""
    source: Annotated[Literal["controlroom", "gtfs-rt"], _d("who made it: the control room, or a "
                                                            "GTFS-Realtime feed it ingests")] = "controlroom"

    @property
    def kind(self) -> str:
        return str(self.__struct_config__.tag)

    def active(self, now: datetime) -> bool:
        """Within the validity period at ``now``."""
        return self.valid_from <= now < self.valid_to

    def covers(self, when: datetime) -> bool:
        """A departure at ``when`` falls in the validity period."""
        return self.valid_from <= when < self.valid_to


class TripCancellation(Deviation, tag="cancel", frozen=True, kw_only=True, forbid_unknown_fields=True,
                       omit_defaults=True):
    """A trip is cancelled on one operating day: whole, or from ``from_stop`` and/or up to ``to_stop``
    (both inclusive; a trip turned short is cancelled from the first stop it no longer serves)."""

    trip_id: Annotated[Name, _d("GTFS trip_id")]
    oday: Annotated[Oday, _d("operating (service) day YYYY-MM-DD")]
    route: Annotated[Name | None, _d("line (route_short_name), for people and for filtering")] = None
    from_stop: Annotated[Name | None, _d("first stop not served (stop_id or parent station); null: from the "
                                         "start")] = None
    to_stop: Annotated[Name | None, _d("last stop not served; null: to the end")] = None


class StopSkip(Deviation, tag="skip", frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A stop is not served: by one trip (``trip_id`` + ``oday``), or by every trip of ``routes`` (every
    line when empty) departing there in the validity period."""

    stop_id: Annotated[Name, _d("the stop not served (stop_id or parent station)")]
    trip_id: Annotated[Name | None, _d("GTFS trip_id; null: every trip of routes in the period")] = None
    oday: Annotated[Oday | None, _d("operating day of trip_id")] = None
    routes: Annotated[Names, _d("lines affected when trip_id is null (empty: all)")] = ()


class TrackChange(Deviation, tag="track", frozen=True, kw_only=True, forbid_unknown_fields=True,
                  omit_defaults=True):
    """A departure leaves from another track (spor) or stand (stoppested) than the timetable's."""

    trip_id: Annotated[Name, _d("GTFS trip_id")]
    oday: Annotated[Oday, _d("operating day YYYY-MM-DD")]
    stop_id: Annotated[Name, _d("where: the stop or its parent station")]
    platform: Annotated[Name, _d("the new track/stand code as passengers see it (e.g. 2, B)")]
    route: Annotated[Name | None, _d("line (route_short_name)")] = None


class PlannedDeviation(Deviation, tag="planned", frozen=True, kw_only=True, forbid_unknown_fields=True,
                       omit_defaults=True):
    """Planned works (særkøreplan): ``routes`` do not serve ``stops`` in the validity period (a departure
    there shows "Aflyst"), and the ``replacement`` transport runs instead."""

    routes: Annotated[Annotated[tuple[Name, ...], Meta(min_length=1, max_length=200)],
                      _d("lines affected (route_short_name)")]
    stops: Annotated[Names, _d("stops (or parent stations) those lines do not serve; empty: information only")] = ()
    replacement: Annotated[Replacement | None, _d("replacement transport: mode, line, where to board")] = None


class Notice(Deviation, tag="message", frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Free text for the displays of ``stops`` and/or every stop of ``routes`` (at least one of them)."""

    stops: Annotated[Names, _d("stop_ids or parent stations whose displays show it")] = ()
    routes: Annotated[Names, _d("lines whose stops show it")] = ()


AnyDeviation = TripCancellation | StopSkip | TrackChange | PlannedDeviation | Notice
DEVIATION_TYPES: dict[str, type[Deviation]] = {str(t.__struct_config__.tag): t for t in get_args(AnyDeviation)}
_DECODER = msgspec.json.Decoder(AnyDeviation)


# ------------------------------------------------------------------------------------------- topics
def deviation_topic(prefix: str, oper: str, dev_id: str) -> str:
    """Retained deviation: ``<prefix>/deviation/<oper>/<id>``."""
    return f"{prefix.rstrip('/')}/deviation/{topic_level(oper)}/{topic_level(dev_id)}"


def deviation_filter(prefix: str, oper: str | None = None) -> str:
    """What units and displays subscribe to: every deviation (of one operator)."""
    return f"{prefix.rstrip('/')}/deviation/{'+' if oper is None else topic_level(oper)}/+"


def parse_deviation_topic(prefix: str, topic: str) -> tuple[str, str]:
    """``(oper, id)`` levels of a deviation topic (still percent-encoded)."""
    head = prefix.rstrip("/") + "/deviation/"
    if not topic.startswith(head):
        raise DecodeError(f"not a deviation topic: {topic[:200]!r}")
    parts = topic[len(head):].split("/")
    if len(parts) != 2 or not all(parts):
        raise DecodeError(f"not a deviation topic: {topic[:200]!r}")
    return parts[0], parts[1]


# ---------------------------------------------------------------------------------- encode / decode
def encode_deviation(d: Deviation) -> bytes:
    """Compact JSON: ``"v": 1`` and ``kind`` first, fields left out where they have their default, times
    ISO 8601 UTC with milliseconds as in every payload (msgspec alone would drop the milliseconds)."""
    check_deviation(d)
    body: dict[str, Any] = {"v": SCHEMA_VERSION, "kind": d.kind}
    for f in msgspec.structs.fields(d):
        value = getattr(d, f.name)
        if f.name == "v" or (f.default is not msgspec.NODEFAULT and value == f.default):
            continue
        body[f.encode_name] = iso_utc_ms(value) if isinstance(value, datetime) else value
    return ENCODER.encode(body)


def decode_deviation(payload: bytes) -> AnyDeviation:
    """Strictly decode a deviation; :class:`DecodeError` for anything malformed, hostile or inconsistent."""
    d: AnyDeviation = strict_decode(_DECODER, payload, "deviation")
    check_deviation(d)
    return d


def check_deviation(d: Deviation) -> None:
    """What the schema alone cannot say: a sensible validity period and the fields a kind needs."""
    what = f"deviation {d.id[:40]!r}"
    if d.valid_to <= d.valid_from:
        raise DecodeError(f"{what}: valid_to {iso_utc_ms(d.valid_to)} is not after valid_from "
                          f"{iso_utc_ms(d.valid_from)}")
    if d.valid_to - d.valid_from > MAX_VALIDITY:
        raise DecodeError(f"{what}: validity period longer than {MAX_VALIDITY.days} days")
    if isinstance(d, Notice):
        if not d.text.strip():
            raise DecodeError(f"{what}: a message needs a text")
        if not d.stops and not d.routes:
            raise DecodeError(f"{what}: a message needs stops or routes (who shows it)")
    if isinstance(d, StopSkip) and (d.trip_id is None) != (d.oday is None):
        raise DecodeError(f"{what}: trip_id and oday go together")


def expiry_s(d: Deviation, now: datetime, grace_s: int = EXPIRY_GRACE_S) -> int | None:
    """MQTT 5 message expiry for publishing ``d`` at ``now``: until ``valid_to`` plus a grace; ``None`` when
    the deviation is already over (then there is nothing to publish)."""
    left = (d.valid_to - ensure_utc(now)).total_seconds()
    if left <= 0:
        return None
    return int(left) + grace_s


# --------------------------------------------------------------------------------- applying them
Status = Literal["SCHEDULED", "CANCELED", "SKIPPED"]


@dataclass(frozen=True)
class DepartureRef:
    """One departure (or arrival) of a trip at a stop, as a deviation is matched against it."""

    trip_id: str
    oday: str  # operating day YYYY-MM-DD
    route: str  # route_short_name
    stop_id: str
    when: datetime  # scheduled time there (aware); what the validity period is judged by
    station: str | None = None  # the stop's parent station
    index: int | None = None  # position of the stop in the trip (for from/to stops)


#: Resolves a stop id (or parent station) to its position in the trip of the departure; None when the trip
#: does not call there.
StopIndex = Callable[[str], "int | None"]


@dataclass(frozen=True)
class Effect:
    """What the deviations make of one departure."""

    status: Status = "SCHEDULED"
    platform: str | None = None  # a new track/stand
    texts: tuple[tuple[str, str], ...] = ()  # (priority, text) of the deviations that touched it
    ids: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.status != "SCHEDULED" or self.platform is not None


NO_EFFECT = Effect()


def _at(ref: DepartureRef, stop: str) -> bool:
    return stop == ref.stop_id or (ref.station is not None and stop == ref.station)


def _in_section(d: TripCancellation, ref: DepartureRef, stop_index: StopIndex | None) -> bool | None:
    """Whether ``ref`` lies in the cancelled section of its trip; None when a from/to stop cannot be
    placed on the trip (then the cancellation says nothing about this stop)."""
    if d.from_stop is None and d.to_stop is None:
        return True
    i = ref.index
    if i is None and stop_index is not None:
        i = stop_index(ref.stop_id)
    if i is None or stop_index is None:
        return None
    lo = 0 if d.from_stop is None else stop_index(d.from_stop)
    hi = None if d.to_stop is None else stop_index(d.to_stop)
    if (d.from_stop is not None and lo is None) or (d.to_stop is not None and hi is None):
        return None
    assert lo is not None
    return lo <= i and (hi is None or i <= hi)


def effect(deviations: Iterable[Deviation], ref: DepartureRef, stop_index: StopIndex | None = None) -> Effect:
    """Apply the deviations to one departure. Cancelled beats skipped; the newest track change wins.
    A deviation counts when the departure's time falls in its validity period."""
    status: Status = "SCHEDULED"
    platform: tuple[datetime, str] | None = None
    texts: list[tuple[str, str]] = []
    ids: list[str] = []
    when = ensure_utc(ref.when)
    for d in deviations:
        if not d.covers(when):
            continue
        hit = False
        if isinstance(d, TripCancellation):
            if d.trip_id == ref.trip_id and d.oday == ref.oday and _in_section(d, ref, stop_index):
                status, hit = "CANCELED", True
        elif isinstance(d, StopSkip):
            if _at(ref, d.stop_id) and (
                    (d.trip_id is not None and d.trip_id == ref.trip_id and d.oday == ref.oday)
                    or (d.trip_id is None and (not d.routes or ref.route in d.routes))):
                if status != "CANCELED":
                    status = "SKIPPED"
                hit = True
        elif isinstance(d, TrackChange):
            if d.trip_id == ref.trip_id and d.oday == ref.oday and _at(ref, d.stop_id):
                if platform is None or d.tst >= platform[0]:
                    platform = (d.tst, d.platform)
                hit = True
        elif isinstance(d, PlannedDeviation):
            if ref.route in d.routes and any(_at(ref, s) for s in d.stops):
                status, hit = "CANCELED", True
        if hit:
            ids.append(d.id)
            for t in message_texts(d):
                texts.append((d.priority, t))
    if not ids:
        return NO_EFFECT
    return Effect(status, None if platform is None else platform[1], tuple(dict.fromkeys(texts)), tuple(ids))


def message_texts(d: Deviation) -> list[str]:
    """The passenger texts a deviation brings to a message line (its text, and the replacement)."""
    out = [d.text.strip()] if d.text.strip() else []
    if isinstance(d, PlannedDeviation) and d.replacement is not None:
        r = d.replacement
        what = ("Togbus" if r.mode == "bus" else "Togtaxa") + (f" {r.route}" if r.route else "")
        out.append(f"{what}: {r.text.strip()}" if r.text.strip() else f"{what} kører i stedet.")
    return out


def trip_stop_index(tt: Any, trip_id: str) -> StopIndex:
    """Position of a stop, or of a platform's parent station, in the trip (``tt``: a
    ``transit.timetable.Timetable``); None when the trip does not call there. Cached per trip."""
    return _positions(tt, trip_id).get


@functools.lru_cache(maxsize=4096)
def _positions(tt: Any, trip_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        times = tt.stop_times(trip_id)
    except KeyError:
        return out
    for i, st in enumerate(times):
        out.setdefault(st.stop_id, i)
        out.setdefault(tt.station_of(st.stop_id), i)
    return out


def apply_to_eta(eta: Eta, deviations: Sequence[Deviation], stop_index: StopIndex | None = None,
                 station_of: Callable[[str], str | None] | None = None) -> Eta:
    """A unit's own ``eta`` record with the deviations for its trip applied: ``status`` CANCELED/SKIPPED
    and the new ``platform`` on each affected stop (the stop's index is its position in ``stops`` offset by
    where the remaining stops start in the trip, found by ``stop_index``). Unchanged when none applies."""
    if not eta.stops or eta.trip_id is None or eta.oday is None or not deviations:
        return eta
    changed = False
    out: list[EtaStop] = []
    for s in eta.stops:
        when_text = s.sched_dep or s.sched_arr or s.eta_dep or s.eta_arr
        if when_text is None:
            out.append(s)
            continue
        ref = DepartureRef(eta.trip_id, eta.oday, eta.route or "", s.stop_id, parse_iso(when_text),
                           station_of(s.stop_id) if station_of is not None else None,
                           stop_index(s.stop_id) if stop_index is not None else None)
        e = effect(deviations, ref, stop_index)
        if not e.changed:
            out.append(s)
            continue
        changed = True
        out.append(msgspec.structs.replace(s, status=e.status, platform=e.platform or s.platform))
    return msgspec.structs.replace(eta, stops=out) if changed else eta


# ------------------------------------------------------------------------------------- the state
@dataclass
class DeviationCounters:
    accepted: int = 0
    withdrawn: int = 0
    expired: int = 0
    rejected: int = 0
    out_of_order: int = 0
    evicted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    deviation: AnyDeviation
    expires: datetime | None  # MQTT expiry as received


@dataclass(frozen=True)
class DisplayMessage:
    """One text for a message line, in the order to show: priority, then newest."""

    priority: str
    text: str
    id: str


class DeviationStore:
    """The deviations a unit or display knows: the latest per (operator, id), from the retained messages.

    Pure (topic, payload, the receiver's clock in): tested without a broker. Every payload is decoded
    strictly and checked against its topic; a rejection is counted and logged (rate-limited), never raised.
    ``oper`` restricts the store to one operator's deviations (a unit), ``None`` keeps all (a display may
    serve several operators' lines)."""

    def __init__(self, *, prefix: str, oper: str | None = None, max_entries: int = MAX_DEVIATIONS) -> None:
        self.prefix = prefix
        self.oper = oper
        self.max_entries = max_entries
        self.counters = DeviationCounters()
        self.version = 0  # bumped on every change: a renderer caches by it
        self._ratelog = RateLimitedLog(log, 60.0)
        self._by_key: dict[tuple[str, str], _Entry] = {}

    def _reject(self, reason: str, topic: str, detail: object, received: datetime | None) -> bool:
        self.counters.rejected += 1
        self.counters.reasons[reason] = self.counters.reasons.get(reason, 0) + 1
        self._ratelog.warn(reason, "rejected deviation on %s: %s", topic[:200], str(detail)[:200],
                           t=None if received is None else received.timestamp())
        return False

    def handle(self, topic: str, payload: bytes, received: datetime | None, expiry_s: float | None = None) -> bool:
        """Apply one message (``received``: the receiver's clock; ``expiry_s``: MQTT 5 expiry left). True when
        the state changed. An empty payload withdraws the deviation. ``received`` None: a receiver without
        a clock yet (a display before NTP or its first prediction: the retained deviations arrive first) —
        the message is kept on its own validity period, the MQTT expiry and the future check left out."""
        try:
            oper_l, id_l = parse_deviation_topic(self.prefix, topic)
        except DecodeError as exc:
            return self._reject("topic", topic, exc, received)
        if self.oper is not None and oper_l != topic_level(self.oper):
            return self._reject("other_operator", topic, "deviation for another operator", received)
        key = (oper_l, id_l)
        if not payload:
            removed = self._by_key.pop(key, None)
            if removed is not None:
                self.counters.withdrawn += 1
                self.version += 1
            return removed is not None
        try:
            d = decode_deviation(payload)
        except DecodeError as exc:
            return self._reject("payload", topic, exc, received)
        if (topic_level(d.oper), topic_level(d.id)) != key:
            return self._reject("topic_mismatch", topic, f"payload is {d.oper}/{d.id}", received)
        if received is not None and (d.tst - received).total_seconds() > MAX_FUTURE_S:
            return self._reject("future", topic, f"tst {iso_utc_ms(d.tst)} is ahead of this clock", received)
        old = self._by_key.get(key)
        if old is not None and d.tst < old.deviation.tst:
            self.counters.out_of_order += 1
            return False
        expires = None if expiry_s is None or expiry_s < 0 or received is None \
            else received + timedelta(seconds=float(expiry_s))
        self._by_key[key] = _Entry(d, expires)
        self.counters.accepted += 1
        self.version += 1
        if len(self._by_key) > self.max_entries:  # a flood must not grow memory: drop the one ending first
            victim = min(self._by_key, key=lambda k: self._by_key[k].deviation.valid_to)
            del self._by_key[victim]
            self.counters.evicted += 1
        return True

    def prune(self, now: datetime) -> int:
        """Forget deviations past their validity and grace, or past their MQTT expiry."""
        gone = [k for k, e in self._by_key.items()
                if (e.expires is not None and now >= e.expires)
                or now >= e.deviation.valid_to + timedelta(seconds=EXPIRY_GRACE_S)]
        for k in gone:
            del self._by_key[k]
        if gone:
            self.counters.expired += len(gone)
            self.version += 1
        return len(gone)

    def current(self, now: datetime) -> list[AnyDeviation]:
        """Every known deviation not yet over at ``now`` (future ones included: they may cover later
        departures), oldest first."""
        self.prune(now)
        out = [e.deviation for e in self._by_key.values() if now < e.deviation.valid_to]
        return sorted(out, key=lambda d: (d.tst, d.id))

    def effect(self, ref: DepartureRef, now: datetime, stop_index: StopIndex | None = None) -> Effect:
        return effect(self.current(now), ref, stop_index)

    def messages(self, stops: Iterable[str], routes: Iterable[str], now: datetime) -> list[DisplayMessage]:
        """The message line of a display at ``stops`` (with their platforms and parent stations) served by
        ``routes``: notices and planned works active now; cancellations and track changes bring their text
        through the rows they touch (:func:`effect`), not here."""
        stop_set, route_set = set(stops), set(routes)
        out: list[tuple[int, float, DisplayMessage]] = []
        for d in self.current(now):
            if not d.active(now):
                continue
            if isinstance(d, Notice):
                hit = bool(stop_set.intersection(d.stops)) or bool(route_set.intersection(d.routes))
            elif isinstance(d, PlannedDeviation):
                # every stop of the lines: a passenger boarding before the closed section needs to know too
                hit = bool(route_set.intersection(d.routes))
            elif isinstance(d, StopSkip) and d.trip_id is None:
                hit = d.stop_id in stop_set and (not d.routes or bool(route_set.intersection(d.routes)))
            else:
                hit = False
            if hit:
                for t in message_texts(d):
                    out.append((-PRIORITIES.index(d.priority), -d.tst.timestamp(), DisplayMessage(d.priority, t, d.id)))
        out.sort(key=lambda x: (x[0], x[1], x[2].id))
        seen: set[str] = set()
        result = []
        for _, _, m in out:
            if m.text not in seen:
                seen.add(m.text)
                result.append(m)
        return result

    def __len__(self) -> int:
        return len(self._by_key)


def sort_messages(msgs: Iterable[DisplayMessage]) -> list[DisplayMessage]:
    """Severe first, then warning, then info; a text once (the first)."""
    out: list[DisplayMessage] = []
    seen: set[str] = set()
    for m in sorted(msgs, key=lambda m: -PRIORITIES.index(m.priority)):
        if m.text not in seen:
            seen.add(m.text)
            out.append(m)
    return out


def to_builtins(d: Deviation) -> dict[str, Any]:
    """A deviation as plain JSON types (``v`` first), for listings and the web page's JSON."""
    obj = msgspec.json.decode(encode_deviation(d))
    assert isinstance(obj, dict)
    return obj


__all__ = ["DEVIATION_TYPES", "EXPIRY_GRACE_S", "KINDS", "MAX_TEXT", "NO_EFFECT", "PRIORITIES", "AnyDeviation",
           "DepartureRef", "Deviation", "DeviationCounters", "DeviationStore", "DisplayMessage", "Effect", "Notice",
           "PlannedDeviation", "Priority", "Replacement", "StopIndex", "StopSkip", "TrackChange", "TripCancellation",
           "apply_to_eta", "check_deviation", "decode_deviation", "deviation_filter", "deviation_topic", "effect",
           "encode_deviation", "expiry_s", "message_texts", "parse_deviation_topic", "sort_messages", "to_builtins", "trip_stop_index"]
