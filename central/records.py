"""What the central side keeps of a unit's record: the raw payload plus the few columns the month's
reports query (a registration per punctuality record, a trip run per record of a trip).

One function, :func:`to_stored`, turns a decoded record into what the stores write, for the collector
and for the JSON Lines logs alike, so a report from the database and one from the units' own logs see
the same thing. Records come in through the one decoder (:func:`transit.records.decode_record`): a
punctuality record without ``status``, ``station``, ``measured`` or ``counted`` fails there; one without
its trip or a measured one without its delay fails here (:class:`~transit.errors.DecodeError`) — never a
silent default later. The collector keeps such a record in the store's ``rejected`` table (counted, and
the report prints the count); a log file with one is an error naming file and line.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

from transit.errors import DecodeError
from transit.messages import record_payload
from transit.records import ENCODER, Punctuality, Record

#: Events that show a unit was really running the trip (positions and stop events; a measured
#: punctuality record). A ``missing`` punctuality record alone (a trip the unit never started) is not.
OBSERVED_EVENTS = frozenset({"vp", "due", "arr", "ars", "pde", "dep", "pas", "wait", "doo", "doc", "apc",
                             "occupancy", "not_observed"})  # not_observed: at the stop, but blind there


class Registration(NamedTuple):
    """One punctuality record as the report needs it (``docs/reports.md``)."""

    id: str
    oday: str
    oper: str
    veh: str
    route: str
    trip_id: str
    stop_id: str
    station: str  # the registration station id (parent station where the operator names one)
    station_name: str
    status: str  # measured | missing | not_observed
    measured: str  # arrival | departure
    counted: bool  # false: the other moment, recorded for information (a rail trip's origin departure)
    sched: str | None  # ISO UTC
    actual: str | None
    dl: float | None  # seconds, positive = late
    reason: str  # why a registration is missing (the unit's words)
    tst: str


#: The columns of :meth:`central.store.RecordStore.month_registrations` rows, in order: plain tuples,
#: since a fleet's month is a million of them (a NamedTuple or a dict per row costs time and memory).
REG_ROW = ("oday", "trip_id", "station", "status", "counted", "dl", "actual", "reason", "veh", "station_name",
           "tst", "id")
R_ODAY: Final = 0
R_TRIP: Final = 1
R_STATION: Final = 2
R_STATUS: Final = 3
R_COUNTED: Final = 4
R_DL: Final = 5
R_ACTUAL: Final = 6
R_REASON: Final = 7
R_VEH: Final = 8
R_NAME: Final = 9
R_TST: Final = 10
R_ID: Final = 11
RegRow = tuple[str, str, str, str, bool, float | None, str | None, str, str, str, str, str]


class TripRun(NamedTuple):
    """A unit reported something of this trip on this operating day."""

    oday: str
    trip_id: str
    veh: str
    route: str
    observed: bool  # positions or stop events, not only a "not driven" record


class StoredRecord(NamedTuple):
    id: str
    event: str
    oper: str
    veh: str
    oday: str | None
    trip_id: str | None
    tst: str
    topic: str
    payload: bytes
    registration: Registration | None
    run: TripRun | None


class Rejected(NamedTuple):
    """A message the collector could not store as a record (kept for an operator to inspect)."""

    topic: str
    payload: bytes
    reason: str


def registration_of(rec: Punctuality) -> Registration:
    """The report's view of a ``punctuality`` record (decoded by :func:`transit.records.decode_record`,
    which already refused a missing ``status``, ``station``, ``measured``, ``counted`` ...):
    :class:`DecodeError` when the record lacks what only the report needs — its trip (``oday``,
    ``trip_id``, ``route``) or, measured, a finite delay."""
    what = f"punctuality record {rec.id[:20]}"
    for key in ("oday", "trip_id", "route"):
        if not getattr(rec, key):
            raise DecodeError(f"{what}: '{key}' is missing")
    dl: float | None = None
    if rec.status == "measured":
        if rec.dl is None or not math.isfinite(rec.dl):
            raise DecodeError(f"{what}: a measured registration needs a number 'dl' (delay in seconds)")
        dl = float(rec.dl)
    return Registration(
        id=rec.id, oday=str(rec.oday), oper=rec.oper, veh=rec.veh, route=str(rec.route), trip_id=str(rec.trip_id),
        stop_id=rec.stop_id or rec.station, station=rec.station,
        station_name=rec.station_name if isinstance(rec.station_name, str) else "", status=rec.status,
        measured=rec.measured, counted=rec.counted, sched=rec.sched, actual=rec.actual, dl=dl,
        reason=rec.reason if isinstance(rec.reason, str) else "", tst=rec.tst)


def to_stored(rec: Record, topic: str, payload: bytes | None = None) -> StoredRecord:
    """What the stores keep of a decoded record (:func:`transit.records.decode_record`); ``payload`` is
    the bytes as received (a file's line, an MQTT payload), else the record's JSON with ``"v": 1``."""
    reg = registration_of(rec) if isinstance(rec, Punctuality) else None
    oday = rec.oday or None
    trip = rec.trip_id or None
    run = None
    if oday and trip:
        observed = rec.event in OBSERVED_EVENTS or (reg is not None and reg.status in ("measured", "not_observed"))
        run = TripRun(oday, trip, rec.veh, rec.route or "", observed)
    if payload is None:
        payload = record_payload(ENCODER.encode(rec))
    return StoredRecord(rec.id, rec.event, rec.oper, rec.veh, oday, trip, rec.tst, topic, payload, reg, run)


__all__ = ["OBSERVED_EVENTS", "REG_ROW", "R_ACTUAL", "R_COUNTED", "R_DL", "R_ID", "R_NAME", "R_ODAY", "R_REASON",
           "R_STATION", "R_STATUS", "R_TRIP", "R_TST", "R_VEH", "RegRow", "Registration", "Rejected", "StoredRecord", "TripRun", "registration_of",
           "to_stored"]
