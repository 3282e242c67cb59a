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

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transit.errors import DecodeError
from transit.timeutil import iso_utc_ms, parse_iso, parse_iso_bounded

SCHEMA_VERSION = 1
DEFAULT_PREFIX = "rettid/v1"
#: Retained predictions expire at the broker after this long unless replaced (MQTT 5 message expiry).
PREDICTION_EXPIRY_S = 120
#: A display treats a prediction whose ``tst`` is older than this as stale (GTFS-RT: 90 s).
PREDICTION_STALE_S = 90
#: Incoming payloads larger than this are rejected before parsing (predictions, assignments).
MAX_INCOMING_BYTES = 16 * 1024

JOURNEY_EVENTS = frozenset({"vp", "due", "arr", "ars", "pde", "dep", "pas", "wait", "doo", "doc"})
RECORD_EVENTS = frozenset({"punctuality", "apc", "occupancy", "alarm", "health"})
ALL_EVENTS = JOURNEY_EVENTS | RECORD_EVENTS | {"eta"}
MODES = frozenset({"bus", "train", "tram", "metro", "ferry", "taxi"})
LOC_SOURCES = frozenset({"GPS", "ODO", "DR", "N/A"})
PREDICTION_STATUSES = frozenset({"SCHEDULED", "CANCELED", "SKIPPED"})
#: GTFS-Realtime ``VehiclePosition.OccupancyStatus`` names.
OCCUPANCY_STATUSES = frozenset({
    "EMPTY", "MANY_SEATS_AVAILABLE", "FEW_SEATS_AVAILABLE", "STANDING_ROOM_ONLY",
    "CRUSHED_STANDING_ROOM_ONLY", "FULL", "NOT_ACCEPTING_PASSENGERS", "NO_DATA_AVAILABLE", "NOT_BOARDABLE",
})
REQUIRED_RECORD_KEYS = ("event", "id", "tst", "veh", "oper")

_ODAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_START = re.compile(r"^\d{1,2}:[0-5]\d$")
_MAX_STR = 128


# --------------------------------------------------------------------------------------------- topics
def topic_level(value: object) -> str:
    """One topic level from a value: ``None`` → empty level (as in HFP); ``/ + # %`` and control
    characters are percent-encoded so a hostile or odd id can never add levels or wildcards."""
    if value is None:
        return ""
    text = str(value)
    out = []
    for ch in text:
        if ch in "/+#%" or ord(ch) < 0x20 or ch == "\x7f":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def _p(prefix: str) -> str:
    return prefix.rstrip("/")


def record_topic(prefix: str, record: Mapping[str, Any], mode: str) -> str:
    """Topic of a journey event or record (not ``eta``: see :func:`prediction_topic`)."""
    event = record.get("event")
    if event in JOURNEY_EVENTS:
        channel = "journey"
    elif event in RECORD_EVENTS:
        channel = "record"
    else:
        raise DecodeError(f"no topic for event {event!r}")
    mode = str(record.get("mode") or mode)
    levels = [channel, event, mode, record.get("oper"), record.get("veh"), record.get("route"),
              record.get("dir"), record.get("start"), record.get("stop_id")]
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
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"record not JSON-serialisable: {exc}") from exc


def validate_record(record: object) -> dict[str, Any]:
    """Check the fields every record must have (docs/architecture.md); returns it as a dict."""
    if not isinstance(record, dict):
        raise DecodeError(f"record is {type(record).__name__}, expected an object")
    for key in REQUIRED_RECORD_KEYS:
        v = record.get(key)
        if not isinstance(v, str) or not v:
            raise DecodeError(f"record field '{key}' missing or not a non-empty string")
    if record["event"] not in ALL_EVENTS:
        raise DecodeError(f"unknown event {record['event']!r}")
    try:
        parse_iso_bounded(record["tst"])
    except ValueError as exc:
        raise DecodeError(f"record tst: {exc}") from exc
    return record


def record_payload(record: Mapping[str, Any]) -> bytes:
    """The JSON payload of a journey event or record: the record's fields plus ``"v": 1``."""
    body = {"v": SCHEMA_VERSION}
    body.update(record)
    return _dumps(body)


def deliveries_for_record(record: Mapping[str, Any], *, prefix: str = DEFAULT_PREFIX, mode: str = "bus",
                          prediction_expiry_s: int = PREDICTION_EXPIRY_S) -> list[Delivery]:
    """Map one onboard record to the MQTT messages it becomes.

    Records and stop/door events are QoS 1, not retained. Positions are QoS 1 too (they go through the
    outbox) but marked ``vp`` so the outbox may thin them. ``eta`` records become one retained message per
    stop (or an empty retained payload to clear it), see :func:`predictions_from_record`.
    """
    rec = validate_record(dict(record))
    tst = parse_iso(rec["tst"])
    if rec["event"] == "eta":
        out = []
        for stop_id, pred in predictions_from_record(rec):
            topic = prediction_topic(prefix, stop_id, rec["oper"], rec["veh"])
            payload = b"" if pred is None else encode_prediction(pred)
            out.append(Delivery(topic, payload, 1, True, None if pred is None else prediction_expiry_s,
                                "eta", rec["id"], tst, coalesce=topic))
        return out
    kind = "vp" if rec["event"] == "vp" else "record"
    return [Delivery(record_topic(prefix, rec, mode), record_payload(rec), 1, False, None, kind,
                     rec["id"], tst)]


def status_payload(state: str, *, oper: str, veh: str, client_id: str) -> bytes:
    """Retained connection status; ``offline`` is also the last will. No time stamp: the unit's wall
    clock is not trusted (a Pi may boot in 1970); the broker's receipt time is what counts."""
    if state not in ("online", "offline"):
        raise ValueError(f"status must be online/offline, not {state!r}")
    return _dumps({"v": SCHEMA_VERSION, "state": state, "oper": oper, "veh": veh, "client": client_id})


# ------------------------------------------------------------------------------------- predictions
@dataclass(frozen=True)
class StopPrediction:
    """The ETA of one vehicle on one trip at one stop, as a stop display needs it."""

    stop_id: str
    trip_id: str
    route: str
    headsign: str
    direction: int
    oday: str  # YYYY-MM-DD
    start: str  # trip start HH:MM (GTFS time)
    veh: str
    oper: str
    seq: int
    sched_arr: datetime | None
    sched_dep: datetime | None
    eta_arr: datetime | None
    eta_dep: datetime | None
    tst: datetime
    status: str  # SCHEDULED | CANCELED | SKIPPED
    platform: str | None
    occu: str | None  # GTFS-RT OccupancyStatus name
    loc: str  # GPS | ODO | DR | N/A

    def is_stale(self, now: datetime, max_age_s: float = PREDICTION_STALE_S) -> bool:
        """Older than ``max_age_s`` by its data time (``now`` is the display's own clock)."""
        return (now - self.tst).total_seconds() > max_age_s


_TIME_FIELDS = ("sched_arr", "sched_dep", "eta_arr", "eta_dep")


def encode_prediction(p: StopPrediction) -> bytes:
    """JSON payload: the field names as keys, times ISO 8601 UTC ms, plus ``"v": 1``."""
    body: dict[str, Any] = {"v": SCHEMA_VERSION}
    for name in StopPrediction.__dataclass_fields__:
        value = getattr(p, name)
        body[name] = iso_utc_ms(value) if isinstance(value, datetime) else value
    return _dumps(body)


def _load_object(payload: bytes, what: str) -> dict[str, Any]:
    """Parse an untrusted payload into a JSON object, rejecting oversize, non-UTF-8, NaN/Infinity,
    deep nesting and non-objects with :class:`DecodeError`."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise DecodeError(f"{what}: payload is {type(payload).__name__}, expected bytes")
    if len(payload) > MAX_INCOMING_BYTES:
        raise DecodeError(f"{what}: payload of {len(payload)} bytes exceeds {MAX_INCOMING_BYTES}")
    if not payload:
        raise DecodeError(f"{what}: empty payload")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        obj = json.loads(bytes(payload).decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError(f"{what}: not valid JSON: {str(exc)[:120]}") from exc
    if not isinstance(obj, dict):
        raise DecodeError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    if obj.get("v") != SCHEMA_VERSION or isinstance(obj.get("v"), bool):
        raise DecodeError(f"{what}: unsupported schema version {str(obj.get('v'))[:20]!r}")
    return obj


def _str(obj: Mapping[str, Any], key: str, what: str, *, optional: bool = False,
         pattern: re.Pattern[str] | None = None, choices: frozenset[str] | None = None) -> str | None:
    v = obj.get(key)
    if v is None:
        if optional:
            return None
        raise DecodeError(f"{what}: '{key}' is missing")
    if not isinstance(v, str) or not v or len(v) > _MAX_STR or any(ord(c) < 0x20 for c in v):
        raise DecodeError(f"{what}: '{key}' must be a non-empty printable string of at most {_MAX_STR}")
    if pattern is not None and not pattern.match(v):
        raise DecodeError(f"{what}: '{key}' has a bad format: {v[:40]!r}")
    if choices is not None and v not in choices:
        raise DecodeError(f"{what}: '{key}' must be one of {sorted(choices)}, not {v[:40]!r}")
    return v


def _req(obj: Mapping[str, Any], key: str, what: str, **kw: Any) -> str:
    v = _str(obj, key, what, **kw)
    assert v is not None
    return v


def _int(obj: Mapping[str, Any], key: str, what: str, lo: int, hi: int) -> int:
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise DecodeError(f"{what}: '{key}' must be an integer {lo}..{hi}")
    return v


def _time(obj: Mapping[str, Any], key: str, what: str, *, optional: bool) -> datetime | None:
    v = obj.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, str) or len(v) > 40:
        raise DecodeError(f"{what}: '{key}' must be an ISO 8601 time with offset")
    try:
        return parse_iso_bounded(v)
    except ValueError as exc:
        raise DecodeError(f"{what}: '{key}': {exc}") from exc


def prediction_from_mapping(obj: Mapping[str, Any], what: str = "prediction") -> StopPrediction:
    """Validate and build a :class:`StopPrediction` from decoded JSON (keys = field names)."""
    times = {k: _time(obj, k, what, optional=True) for k in _TIME_FIELDS}
    tst = _time(obj, "tst", what, optional=False)
    assert tst is not None
    return StopPrediction(
        stop_id=_req(obj, "stop_id", what), trip_id=_req(obj, "trip_id", what),
        route=_req(obj, "route", what), headsign=(_str(obj, "headsign", what, optional=True) if obj.get("headsign") != "" else None) or "",
        direction=_int(obj, "direction", what, 0, 1), oday=_req(obj, "oday", what, pattern=_ODAY),
        start=_req(obj, "start", what, pattern=_START), veh=_req(obj, "veh", what),
        oper=_req(obj, "oper", what), seq=_int(obj, "seq", what, 0, 100_000),
        sched_arr=times["sched_arr"], sched_dep=times["sched_dep"], eta_arr=times["eta_arr"],
        eta_dep=times["eta_dep"], tst=tst,
        status=_req(obj, "status", what, choices=PREDICTION_STATUSES),
        platform=_str(obj, "platform", what, optional=True),
        occu=_str(obj, "occu", what, optional=True, choices=OCCUPANCY_STATUSES),
        loc=_req(obj, "loc", what, choices=LOC_SOURCES),
    )


def decode_prediction(payload: bytes) -> StopPrediction:
    """Strictly decode a prediction payload; :class:`DecodeError` on anything malformed or hostile."""
    return prediction_from_mapping(_load_object(payload, "prediction"))


def predictions_from_record(record: Mapping[str, Any]) -> list[tuple[str, StopPrediction | None]]:
    """The per-stop predictions in an ``eta`` record: ``(stop_id, prediction)`` or ``(stop_id, None)``
    for a stop whose prediction must be cleared.

    An ``eta`` record carries the trip fields of every record plus ``headsign`` and ``occu``, and either
    ``stops`` — a list of per-stop objects (``stop_id``, ``seq``, ``sched_arr``, ``sched_dep``,
    ``eta_arr``, ``eta_dep``, optional ``status``, ``platform``) — or those per-stop fields flat in the
    record for a single stop. ``clear`` lists stop_ids (or is ``true`` for the record's own stop) whose
    retained prediction is removed: the vehicle has left them or ended the trip.
    """
    what = f"eta record {str(record.get('id'))[:20]}"
    base = {
        "trip_id": record.get("trip_id"), "route": record.get("route"), "headsign": record.get("headsign"),
        "direction": record.get("dir"), "oday": record.get("oday"), "start": record.get("start"),
        "veh": record.get("veh"), "oper": record.get("oper"), "tst": record.get("tst"),
        "occu": record.get("occu"), "loc": record.get("loc") or "N/A",
    }
    out: list[tuple[str, StopPrediction | None]] = []
    stops = record.get("stops")
    clear = record.get("clear")
    if stops is None and clear is not True:
        stops = [record]
    if stops is not None:
        if not isinstance(stops, list):
            raise DecodeError(f"{what}: 'stops' must be a list")
        for s in stops:
            if not isinstance(s, Mapping):
                raise DecodeError(f"{what}: each of 'stops' must be an object")
            merged = dict(base)
            merged.update({k: s.get(k) for k in ("stop_id", "seq", "platform", *_TIME_FIELDS)})
            merged["status"] = s.get("status") or "SCHEDULED"
            pred = prediction_from_mapping(merged, what)
            out.append((pred.stop_id, pred))
    if clear is True:
        out.append((_req(record, "stop_id", what), None))
    elif isinstance(clear, list):
        for sid in clear:
            if not isinstance(sid, str) or not sid:
                raise DecodeError(f"{what}: 'clear' must list stop_ids")
            out.append((sid, None))
    elif clear not in (None, False):
        raise DecodeError(f"{what}: 'clear' must be a list of stop_ids or true")
    return out


# ------------------------------------------------------------------------------------- assignments
@dataclass(frozen=True)
class Assignment:
    """Central system → unit: run these trips (or this block) on this operating day, or release."""

    id: str
    tst: datetime
    oper: str
    veh: str
    oday: str
    action: str  # "assign" | "release"
    block: str | None
    trips: tuple[str, ...]


_MAX_TRIPS = 200


def encode_assignment(a: Assignment) -> bytes:
    return _dumps({"v": SCHEMA_VERSION, "id": a.id, "tst": iso_utc_ms(a.tst), "oper": a.oper, "veh": a.veh,
                   "oday": a.oday, "action": a.action, "block": a.block, "trips": list(a.trips)})


def decode_assignment(payload: bytes, *, oper: str | None = None, veh: str | None = None) -> Assignment:
    """Strictly decode an assignment; when ``oper``/``veh`` are given the message must be for them."""
    what = "assignment"
    obj = _load_object(payload, what)
    trips_raw = obj.get("trips", [])
    if not isinstance(trips_raw, list) or len(trips_raw) > _MAX_TRIPS:
        raise DecodeError(f"{what}: 'trips' must be a list of at most {_MAX_TRIPS} trip_ids")
    trips = tuple(_req({"t": t}, "t", f"{what} trips") for t in trips_raw)
    tst = _time(obj, "tst", what, optional=False)
    assert tst is not None
    a = Assignment(id=_req(obj, "id", what), tst=tst, oper=_req(obj, "oper", what), veh=_req(obj, "veh", what),
                   oday=_req(obj, "oday", what, pattern=_ODAY),
                   action=_req(obj, "action", what, choices=frozenset({"assign", "release"})),
                   block=_str(obj, "block", what, optional=True), trips=trips)
    if a.action == "assign" and not a.trips and a.block is None:
        raise DecodeError(f"{what}: 'assign' needs 'block' or 'trips'")
    if (oper is not None and a.oper != oper) or (veh is not None and a.veh != veh):
        raise DecodeError(f"{what}: addressed to {a.oper}/{a.veh}, not to this unit")
    return a


# ------------------------------------------------------------------------------------- de-duplication
def dedup_key(payload: Mapping[str, Any]) -> str | None:
    """What a central consumer de-duplicates on: the record ``id`` (deterministic, so a replay or a
    redelivery after a crash carries the same id)."""
    v = payload.get("id")
    return v if isinstance(v, str) and v else None

