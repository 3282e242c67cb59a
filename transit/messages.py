"""MQTT schema: the versioned topic tree, payloads built from onboard records, and strict decoders for
everything a unit or a display receives (see ``docs/messages.md``).

Topics follow HSL HFP v2 (``/hfp/v2/journey/ongoing/<event>/<mode>/<oper>/<veh>/...``) so a subscriber
filters by wildcard on mode, operator, vehicle or event::

    <prefix>/journey/<event>/<mode>/<oper>/<veh>/<route>/<dir>/<start>/<stop>   vp + HFP stop/door events
    <prefix>/record/<event>/<mode>/<oper>/<veh>/<route>/<dir>/<start>/<stop>    punctuality, apc, occupancy,
                                                                                alarm, health
    <prefix>/status/conn/<mode>/<oper>/<veh>                                    retained online/offline (LWT)
    <prefix>/cmd/assign/<mode>/<oper>/<veh>                                     central -> unit trip assignment
    <prefix>/stop/<stop_id>/eta/<oper>/<veh>                                    retained stop prediction

``<prefix>`` defaults to ``rettid/v1``; the ``v1`` is the schema's major version. Every topic below
``<prefix>`` a vehicle writes to has ``<oper>/<veh>`` at a fixed depth so the broker ACL can confine a unit
to its own vehicle. Payloads are compact UTF-8 JSON with ``"v": 1``.

Everything here is pure: no clock, no socket. Decoders raise :class:`DecodeError` on any bad input
(hostile payloads included), never anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec
import msgspec.inspect
from msgspec import Meta

from transit.errors import DecodeError
from transit.records import ENCODER, Encoded, Eta, Loc, Name, Record, Text
from transit.timeutil import TIME_MAX, TIME_MIN, iso_utc_ms, parse_iso

SCHEMA_VERSION = 1
DEFAULT_PREFIX = "rettid/v1"
#: Retained predictions expire at the broker after this long unless replaced (MQTT 5 message expiry).
PREDICTION_EXPIRY_S = 120
#: A display treats a prediction whose ``tst`` is older than this as stale (GTFS-RT: 90 s).
PREDICTION_STALE_S = 90
#: Incoming payloads larger than this are rejected before parsing (predictions, assignments).
MAX_INCOMING_BYTES = 16 * 1024

JOURNEY_EVENTS = frozenset({"vp", "due", "arr", "ars", "pde", "dep", "pas", "wait", "doo", "doc", "not_observed"})
RECORD_EVENTS = frozenset({"punctuality", "apc", "occupancy", "alarm", "deviation", "health", "ride_time",
                           "school_arrival", "notice", "replacement"})
ALL_EVENTS = JOURNEY_EVENTS | RECORD_EVENTS | {"eta"}
MODES = frozenset({"bus", "train", "tram", "metro", "ferry", "taxi"})
PREDICTION_STATUSES = frozenset({"SCHEDULED", "CANCELED", "SKIPPED", "NO_DATA"})


# --------------------------------------------------------------------------------------------- topics
_PLAIN_LEVEL = re.compile(r"[^/+#%\x00-\x1f\x7f]*")


def topic_level(value: object) -> str:
    """One topic level from a value: ``None`` → empty level (as in HFP); ``/ + # %`` and control
    characters are percent-encoded so a hostile or odd id can never add levels or wildcards."""
    if value is None:
        return ""
    text = str(value)
    if _PLAIN_LEVEL.fullmatch(text):  # the usual id: nothing to encode (one regex, not a loop per char)
        return text
    out = []
    for ch in text:
        if ch in "/+#%" or ord(ch) < 0x20 or ch == "\x7f":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def _p(prefix: str) -> str:
    return prefix.rstrip("/")


def record_topic(prefix: str, record: Record, mode: str) -> str:
    """Topic of a journey event or record (not ``eta``: see :func:`prediction_topic`)."""
    event = record.event
    if event in JOURNEY_EVENTS:
        channel = "journey"
    elif event in RECORD_EVENTS:
        channel = "record"
    else:
        raise DecodeError(f"no topic for event {event!r}")
    levels = [channel, event, mode, record.oper, record.veh, record.route, record.dir, record.start,
              record.stop_id]
    return _p(prefix) + "/" + "/".join(topic_level(v) for v in levels)


def event_filter(prefix: str = DEFAULT_PREFIX, *, channel: str = "+", event: str = "+", mode: str = "+",
                 oper: str = "+", veh: str = "+") -> str:
    """Subscription filter over journey/record topics, e.g. all ``arr`` of one operator."""
    return f"{_p(prefix)}/{channel}/{event}/{mode}/{oper}/{veh}/#"


def status_topic(prefix: str, mode: str, oper: str, veh: str) -> str:
    """Retained connection status of a unit; its last will sets it to offline."""
    return f"{_p(prefix)}/status/conn/{topic_level(mode)}/{topic_level(oper)}/{topic_level(veh)}"


def assignment_topic(prefix: str, mode: str, oper: str, veh: str) -> str:
    """Where the central system sends trip assignments for one vehicle (the unit subscribes)."""
    return f"{_p(prefix)}/cmd/assign/{topic_level(mode)}/{topic_level(oper)}/{topic_level(veh)}"


def prediction_topic(prefix: str, stop_id: str, oper: str, veh: str) -> str:
    """Retained prediction of one vehicle at one stop: ``<prefix>/stop/<stop_id>/eta/<oper>/<veh>``."""
    return f"{_p(prefix)}/stop/{topic_level(stop_id)}/eta/{topic_level(oper)}/{topic_level(veh)}"


def prediction_filter(prefix: str, stop_id: str) -> str:
    """What a display at ``stop_id`` subscribes to: every vehicle's prediction for that stop."""
    return f"{_p(prefix)}/stop/{topic_level(stop_id)}/eta/+/+"


def parse_prediction_topic(prefix: str, topic: str) -> tuple[str, str, str]:
    """``(stop_id, oper, veh)`` of a prediction topic (levels still percent-encoded)."""
    head = _p(prefix) + "/stop/"
    if not topic.startswith(head):
        raise DecodeError(f"not a prediction topic: {topic[:200]!r}")
    parts = topic[len(head):].split("/")
    if len(parts) != 4 or parts[1] != "eta" or not parts[0] or not parts[2] or not parts[3]:
        raise DecodeError(f"not a prediction topic: {topic[:200]!r}")
    return parts[0], parts[2], parts[3]


# ------------------------------------------------------------------------------------ outgoing payloads
@dataclass(frozen=True)
class Delivery:
    """One MQTT message to send, produced from a record. ``kind`` tells the outbox how to treat it:
    ``record`` (never dropped), ``vp`` (may be thinned under pressure), ``eta`` (latest per topic wins:
    ``coalesce`` is the topic)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry_s: int | None
    kind: str
    rec_id: str
    tst: datetime
    coalesce: str | None = None


def _dumps(obj: Mapping[str, Any]) -> bytes:
    try:
        return ENCODER.encode(obj)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise DecodeError(f"not JSON-serialisable: {exc}") from exc


def record_payload(data: bytes) -> bytes:
    """The JSON payload of a journey event or record: the record's JSON (:data:`transit.records.ENCODER`,
    encoded once) with ``"v": 1`` in front."""
    if not data.startswith(b"{"):
        raise DecodeError("a record's JSON must be an object")
    return b'{"v":%d,' % SCHEMA_VERSION + data[1:] if data != b"{}" else b'{"v":%d}' % SCHEMA_VERSION


def deliveries_for_record(record: Record | Encoded, *, prefix: str = DEFAULT_PREFIX, mode: str = "bus",
                          prediction_expiry_s: int = PREDICTION_EXPIRY_S) -> list[Delivery]:
    """Map one onboard record to the MQTT messages it becomes (an :class:`Encoded` record reuses its bytes).

    Records and stop/door events are QoS 1, not retained. Positions are QoS 1 too (they go through the
    outbox) but marked ``vp`` so the outbox may thin them. ``eta`` records become one retained message per
    stop (or an empty retained payload to clear it), see :func:`predictions_from_record`.
    """
    enc = record if isinstance(record, Encoded) else None
    rec = enc.record if enc is not None else record
    assert isinstance(rec, Record)
    tst = parse_iso(rec.tst)
    if isinstance(rec, Eta):
        out = []
        for stop_id, pred in predictions_from_record(rec):
            topic = prediction_topic(prefix, stop_id, rec.oper, rec.veh)
            payload = b"" if pred is None else encode_prediction(pred)
            out.append(Delivery(topic, payload, 1, True, None if pred is None else prediction_expiry_s,
                                "eta", rec.id, tst, coalesce=topic))
        return out
    data = enc.json if enc is not None else ENCODER.encode(rec)
    kind = "vp" if rec.event == "vp" else "record"
    return [Delivery(record_topic(prefix, rec, mode), record_payload(data), 1, False, None, kind, rec.id, tst)]


def status_payload(state: str, *, oper: str, veh: str, client_id: str) -> bytes:
    """Retained connection status; ``offline`` is also the last will. No time stamp: the unit's wall
    clock is not trusted (a Pi may boot in 1970); the broker's receipt time is what counts."""
    if state not in ("online", "offline"):
        raise ValueError(f"status must be online/offline, not {state!r}")
    return _dumps({"v": SCHEMA_VERSION, "state": state, "oper": oper, "veh": veh, "client": client_id})


# ------------------------------------------------------------------------------------- predictions
def _d(text: str) -> Meta:
    return Meta(description=text)


AwareTime = Annotated[datetime, Meta(tz=True)]
Occu = Literal["EMPTY", "MANY_SEATS_AVAILABLE", "FEW_SEATS_AVAILABLE", "STANDING_ROOM_ONLY",
               "CRUSHED_STANDING_ROOM_ONLY", "FULL", "NOT_ACCEPTING_PASSENGERS", "NO_DATA_AVAILABLE",
               "NOT_BOARDABLE"]
#: GTFS-Realtime ``VehiclePosition.OccupancyStatus`` names.
OCCUPANCY_STATUSES = frozenset(get_args(Occu))


class StopPrediction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="v",
                     tag=SCHEMA_VERSION):
    """The ETA of one vehicle on one trip at one stop, as a stop display needs it (``"v": 1`` is the tag)."""

    stop_id: Annotated[Name, _d("GTFS stop_id (also in the topic)")]
    trip_id: Annotated[Name, _d("GTFS trip_id")]
    route: Annotated[Name, _d("GTFS route_short_name")]
    headsign: Annotated[Text, _d("destination text")] = ""
    direction: Annotated[int, Meta(ge=0, le=1, description="GTFS direction_id")]
    oday: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="operating (service) day YYYY-MM-DD")]
    start: Annotated[str, Meta(pattern=r"^\d{1,2}:[0-5]\d$", description="scheduled trip start HH:MM")]
    veh: Annotated[Name, _d("vehicle id (also in the topic)")]
    oper: Annotated[Name, _d("operator id (also in the topic)")]
    seq: Annotated[int, Meta(ge=0, le=100_000, description="GTFS stop_sequence")]
    sched_arr: Annotated[AwareTime | None, _d("scheduled arrival")]
    sched_dep: Annotated[AwareTime | None, _d("scheduled departure (null at the terminus)")]
    eta_arr: Annotated[AwareTime | None, _d("predicted arrival")]
    eta_dep: Annotated[AwareTime | None, _d("predicted departure (null at the terminus)")]
    tst: Annotated[AwareTime, _d("data time of the estimate (a display judges staleness by it)")]
    status: Annotated[Literal["SCHEDULED", "CANCELED", "SKIPPED", "NO_DATA"],
                      _d("GTFS-RT schedule relationship: SCHEDULED with realtime times; NO_DATA: nothing "
                         "realtime (no eta times, the timetable applies)")]
    platform: Annotated[Name | None, _d("platform code, when the feed has one")]
    occu: Annotated[Occu | None, _d("GTFS-RT OccupancyStatus name, null when unknown")]
    loc: Annotated[Loc, _d("location source of the vehicle")]

    def is_stale(self, now: datetime, max_age_s: float = PREDICTION_STALE_S) -> bool:
        """Older than ``max_age_s`` by its data time (``now`` is the display's own clock)."""
        return (now - self.tst).total_seconds() > max_age_s


_PREDICTION_FIELDS = tuple(f.name for f in msgspec.structs.fields(StopPrediction))


def encode_prediction(p: StopPrediction) -> bytes:
    """JSON payload: ``"v": 1``, the field names as keys, times ISO 8601 UTC ms (msgspec would write
    RFC 3339 without the milliseconds: the wire keeps its format)."""
    body: dict[str, Any] = {"v": SCHEMA_VERSION}
    for name in _PREDICTION_FIELDS:
        value = getattr(p, name)
        body[name] = iso_utc_ms(value) if isinstance(value, datetime) else value
    return _dumps(body)


class _Version(msgspec.Struct):
    v: Literal[1]


_VERSION = msgspec.json.Decoder(_Version)
_PREDICTION = msgspec.json.Decoder(StopPrediction)


def _strict(decoder: msgspec.json.Decoder[Any], payload: bytes, what: str) -> Any:
    """Decode an untrusted payload: oversize, non-UTF-8, NaN, a wrong or missing ``"v"`` and any field of
    the wrong type become :class:`DecodeError`.

    One parse per message (a stop display takes hundreds a second): the typed decoder runs first, and
    only when it refuses the payload is the version read on its own, so that a newer schema is reported
    as such rather than field by field."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise DecodeError(f"{what}: payload is {type(payload).__name__}, expected bytes")
    if len(payload) > MAX_INCOMING_BYTES:
        raise DecodeError(f"{what}: payload of {len(payload)} bytes exceeds {MAX_INCOMING_BYTES}")
    if not payload:
        raise DecodeError(f"{what}: empty payload")
    try:
        obj = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        _check_version(payload, what)
        raise DecodeError(f"{what}: {str(exc)[:200]}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"{what}: not valid JSON: {str(exc)[:120]}") from None
    for name, key in _time_fields(type(obj)):
        # a time near the ends of datetime's range is a broken clock or a forgery, and arithmetic on it
        # overflows later (transit.timeutil.TIME_MIN .. TIME_MAX)
        v = getattr(obj, name)
        if v is not None and not TIME_MIN <= v < TIME_MAX:
            raise DecodeError(f"{what}: '{key}' {v.isoformat()} is outside "
                              f"{TIME_MIN.year}..{TIME_MAX.year - 1}")
    return obj


def _check_version(payload: bytes, what: str) -> None:
    """A payload the typed decoder refused: :class:`DecodeError` naming the version when that is why."""
    try:
        _VERSION.decode(payload)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"{what}: unsupported schema version ({str(exc)[:80]})") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"{what}: not valid JSON: {str(exc)[:120]}") from None


def _has_datetime(t: msgspec.inspect.Type) -> bool:
    if isinstance(t, msgspec.inspect.DateTimeType):
        return True
    if isinstance(t, msgspec.inspect.Metadata):
        return _has_datetime(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_has_datetime(u) for u in t.types)
    return False


_TIME_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _time_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """``(attribute, JSON key)`` of the top-level fields of a message Struct that hold a datetime (checked
    against the sane range), found once per type rather than per message."""
    hit = _TIME_FIELDS.get(cls)
    if hit is None:
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        hit = _TIME_FIELDS[cls] = tuple((f.name, f.encode_name) for f in info.fields if _has_datetime(f.type))
    return hit


#: The strict decoding every incoming payload gets (predictions, assignments, deviations in
#: :mod:`transit.deviations`).
strict_decode = _strict


def decode_prediction(payload: bytes) -> StopPrediction:
    """Strictly decode a prediction payload; :class:`DecodeError` on anything malformed or hostile."""
    p: StopPrediction = _strict(_PREDICTION, payload, "prediction")
    return p


def _aware(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)


def predictions_from_record(record: Eta) -> list[tuple[str, StopPrediction | None]]:
    """The per-stop predictions in an ``eta`` record: ``(stop_id, prediction)`` or ``(stop_id, None)``
    for a stop whose prediction must be cleared.

    An ``eta`` record carries the trip fields of every record plus ``headsign``, ``occu`` and ``stops`` (one
    :class:`transit.records.EtaStop` per remaining stop). ``clear`` lists stop_ids (or is ``true`` for the
    record's own stop) whose retained prediction is removed: the vehicle has left them or ended the trip.
    """
    what = f"eta record {record.id[:20]}"
    if record.trip_id is None or record.route is None or record.dir is None or record.oday is None \
            or record.start is None:
        if record.stops:
            raise DecodeError(f"{what}: predictions need the trip fields (trip_id, route, dir, oday, start)")
    out: list[tuple[str, StopPrediction | None]] = []
    tst = parse_iso(record.tst)
    occu = record.occu if record.occu in OCCUPANCY_STATUSES else None
    if record.occu is not None and occu is None:
        raise DecodeError(f"{what}: 'occu' must be a GTFS-RT OccupancyStatus name, not {record.occu[:40]!r}")
    for s in record.stops:
        if s.seq is None:
            raise DecodeError(f"{what}: stop {s.stop_id[:40]!r} has no seq")
        assert record.trip_id is not None and record.route is not None and record.dir is not None
        assert record.oday is not None and record.start is not None
        out.append((s.stop_id, StopPrediction(
            stop_id=s.stop_id, trip_id=record.trip_id, route=record.route, headsign=record.headsign or "",
            direction=record.dir, oday=record.oday, start=record.start, veh=record.veh, oper=record.oper,
            seq=s.seq, sched_arr=_aware(s.sched_arr), sched_dep=_aware(s.sched_dep), eta_arr=_aware(s.eta_arr),
            eta_dep=_aware(s.eta_dep), tst=tst, status=s.status, platform=s.platform or None,
            occu=occu, loc=record.loc)))  # type: ignore[arg-type]
    clear = record.clear
    if clear is True:
        if record.stop_id is None:
            raise DecodeError(f"{what}: 'clear: true' needs the record's stop_id")
        out.append((record.stop_id, None))
    elif isinstance(clear, list):
        out.extend((sid, None) for sid in clear)
    return out


# ------------------------------------------------------------------------------------- assignments
_MAX_TRIPS = 200


class Assignment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="v",
                 tag=SCHEMA_VERSION):
    """Central system → unit: run these trips (or this block) on this operating day, or release."""

    id: Annotated[Name, _d("message id (the sender's)")]
    tst: Annotated[AwareTime, _d("when the central system made it")]
    oper: Annotated[Name, _d("operator id; must be the unit's")]
    veh: Annotated[Name, _d("vehicle id; must be the unit's")]
    oday: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="operating (service) day YYYY-MM-DD")]
    action: Annotated[Literal["assign", "release"], _d("assign (needs block or trips), or release")]
    block: Annotated[Name | None, _d("GTFS block_id to run")] = None
    trips: Annotated[tuple[Name, ...], Meta(max_length=_MAX_TRIPS, description="GTFS trip_ids to run, in order")] = ()


_ASSIGNMENT = msgspec.json.Decoder(Assignment)


def encode_assignment(a: Assignment) -> bytes:
    return _dumps({"v": SCHEMA_VERSION, "id": a.id, "tst": iso_utc_ms(a.tst), "oper": a.oper, "veh": a.veh,
                   "oday": a.oday, "action": a.action, "block": a.block, "trips": list(a.trips)})


def decode_assignment(payload: bytes, *, oper: str | None = None, veh: str | None = None) -> Assignment:
    """Strictly decode an assignment; when ``oper``/``veh`` are given the message must be for them."""
    what = "assignment"
    a: Assignment = _strict(_ASSIGNMENT, payload, what)
    if a.action == "assign" and not a.trips and a.block is None:
        raise DecodeError(f"{what}: 'assign' needs 'block' or 'trips'")
    if (oper is not None and a.oper != oper) or (veh is not None and a.veh != veh):
        raise DecodeError(f"{what}: addressed to {a.oper}/{a.veh}, not to this unit")
    return a


# ------------------------------------------------------------------------------------- incoming records
@dataclass(frozen=True)
class RecordTopic:
    """The levels of a ``journey``/``record`` topic that the broker ACL ties to the sending unit."""

    channel: str  # journey | record
    event: str
    mode: str
    oper: str
    veh: str


def parse_record_topic(prefix: str, topic: str) -> RecordTopic:
    """``<prefix>/<channel>/<event>/<mode>/<oper>/<veh>/...`` (levels still percent-encoded, as
    :func:`topic_level` wrote them); :class:`DecodeError` for anything else. The payload is decoded by
    :func:`transit.records.decode_record` (the one decoder)."""
    head = _p(prefix) + "/"
    if not topic.startswith(head):
        raise DecodeError(f"not a record topic: {topic[:200]!r}")
    parts = topic[len(head):].split("/")
    if len(parts) < 5 or parts[0] not in ("journey", "record") or not all(parts[1:5]):
        raise DecodeError(f"not a record topic: {topic[:200]!r}")
    return RecordTopic(parts[0], parts[1], parts[2], parts[3], parts[4])


# ------------------------------------------------------------------------------------- de-duplication
def dedup_key(payload: Mapping[str, Any]) -> str | None:
    """What a central consumer de-duplicates on: the record ``id`` (deterministic, so a replay or a
    redelivery after a crash carries the same id)."""
    v = payload.get("id")
    return v if isinstance(v, str) and v else None

