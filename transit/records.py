"""Typed event records of the onboard core: one frozen ``msgspec.Struct`` per record kind (docs/messages.md).

Records are built in the core (typed through counting, punctuality, the outbox and the reports), encoded
once by :data:`ENCODER` and validated once where they come in from outside (JSON Lines files, MQTT) by
:func:`decode_record`. The JSON is what it was when records were dicts: the tag ``event`` first, the
common fields (``id`` ... ``loc``) in a fixed order, then the record's own fields; a field that only some
records of a kind carry (``origin`` on the first arrival, ``defect`` on a defective count) is ``UNSET``
and left out, a field that is always there but may be unknown is ``null``.

Ids are deterministic (:func:`record_id`) so a replay run twice yields the same ids and a receiver can
drop duplicates. A record that happens at most once per stop visit of a trip (``due``, ``arr``, ``ars``,
``dep``, ``pas``, ``not_observed``, ``punctuality``, ``apc``, ``occupancy``, ``alarm``: :attr:`Record.once`)
takes its id from what it is — vehicle, operating day, trip, stop and sequence, kind (and door/class) — not
from its time, so the same fact re-emitted by a restarted unit (its moment measured a little differently)
carries the same id and de-duplication removes it (issue 12). Records that repeat (positions, predictions,
door events, ``pde``/``wait`` at a door cycle) add their data time. New fields get defaults and go at the end of their record, so older files still load.

The field tables of ``docs/messages.md`` are generated from these Structs (``python -m transit.msgdoc``),
so the descriptions below are the documentation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Self, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType, field

from transit.errors import DecodeError, InvalidRecordError
from transit.timeutil import from_epoch, iso_utc_ms

#: Longest string a decoded record may carry in a plain text field (ids, names, reasons).
MAX_STR = 128
#: Largest record accepted by :func:`decode_record` (an ``eta`` of a 60-stop trip is about 14 KiB).
MAX_RECORD_BYTES = 64 * 1024

# -- field types (the descriptions become the tables in docs/messages.md) -----------------------------------
#: Where the position came from. Extend here (one place): the ``Literal`` is the type, the tuple follows.
Loc = Literal["GPS", "ODO", "DR", "EST", "N/A"]
LOC_SOURCES: tuple[str, ...] = get_args(Loc)

_ISO_MS = r"^20\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$"
_DAY = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
TIME_PATTERN, DAY_PATTERN = _ISO_MS, _DAY

Text = Annotated[str, Meta(max_length=MAX_STR, pattern=_PRINTABLE)]
Name = Annotated[str, Meta(min_length=1, max_length=MAX_STR, pattern=_PRINTABLE)]
#: ISO 8601 UTC with milliseconds, e.g. 2026-11-23T06:55:00.000Z ("time" in the generated tables)
Tst = Annotated[str, Meta(pattern=_ISO_MS)]
Oday = Annotated[str, Meta(pattern=_DAY)]
Start = Annotated[str, Meta(pattern=r"^\d{1,2}:[0-5]\d$")]
Count = Annotated[int, Meta(ge=0)]
Seq = Annotated[int, Meta(ge=0, le=100_000)]


def _d(text: str) -> Meta:
    return Meta(description=text)


class Record(msgspec.Struct, frozen=True, kw_only=True, tag_field="event"):
    """The envelope every record carries (HSL HFP v2 naming). ``event`` (the tag) names the kind."""

    id: Annotated[Name, _d("deterministic record id: 16 hex of SHA-1 over vehicle, event, trip, day, stop, "
                           "sequence (+ a kind's extra: door, class) and, for kinds that repeat (vp, eta, doo, "
                           "doc, pde, wait, health, deviation) or a record without trip, time; receivers drop "
                           "duplicates by it")]
    tst: Annotated[Tst, _d("data time of the event (GNSS/CAN/GPIO), never the unit's wall clock")]
    veh: Annotated[Name, _d("vehicle id from the unit's configuration")]
    oper: Annotated[Name, _d("operator id")]
    oday: Annotated[Oday | None, _d("operating (service) day of the trip")]
    route: Annotated[Text | None, _d("line: GTFS route_short_name, e.g. 920R")]
    dir: Annotated[Annotated[int, Meta(ge=0, le=1)] | None, _d("GTFS direction_id")]
    start: Annotated[Start | None, _d("scheduled trip start HH:MM (GTFS time, may pass 24)")]
    trip_id: Annotated[Text | None, _d("GTFS trip_id")]
    stop_id: Annotated[Text | None, _d("GTFS stop_id where the record applies")]
    seq: Annotated[Seq | None, _d("GTFS stop_sequence of that stop")]
    loc: Annotated[Loc, _d("location source: GPS, ODO (odometer along the shape), DR (dead reckoning), EST "
                           "(a stop event estimated across a blind gap, see unc_s), N/A")]

    #: at most one per stop visit of a trip: the id leaves the time out (see the module's docstring)
    once: ClassVar[bool] = False

    @property
    def event(self) -> str:
        """The record kind (the JSON tag)."""
        return str(self.__struct_config__.tag)

    @classmethod
    def build(cls, tst: str, *, veh: str, oper: str, oday: str | None = None, route: str | None = None,
              dir: int | None = None, start: str | None = None, trip_id: str | None = None,  # noqa: A002
              stop_id: str | None = None, seq: int | None = None, loc: str = "N/A", id_extra: str = "",
              **fields: Any) -> Self:
        """A record with its deterministic id; the envelope given field by field."""
        if loc not in LOC_SOURCES:
            raise ValueError(f"loc must be one of {LOC_SOURCES}, not {loc!r}")
        event = str(cls.__struct_config__.tag)
        # a fact about one stop of one trip is the same fact whenever it is (re-)emitted: no time in its id
        when = "" if cls.once and trip_id is not None and oday is not None else tst
        rid = record_id(veh, event, trip_id, oday, stop_id, seq, when, id_extra)
        return cls(id=rid, tst=tst, veh=veh, oper=oper, oday=oday, route=route, dir=dir, start=start,
                   trip_id=trip_id, stop_id=stop_id, seq=seq, loc=loc, **fields)  # type: ignore[arg-type]

    @classmethod
    def make(cls, t: float | datetime, *, veh: str, oper: str, trip: TripRef | None = None,
             stop_id: str | None = None, seq: int | None = None, loc: str = "N/A", id_extra: str = "",
             **fields: Any) -> Self:
        """A record of ``trip`` at data time ``t`` (epoch seconds or aware datetime), never the wall clock."""
        tst = iso_utc_ms(t if isinstance(t, datetime) else from_epoch(t))
        if trip is None:
            return cls.build(tst, veh=veh, oper=oper, stop_id=stop_id, seq=seq, loc=loc, id_extra=id_extra,
                             **fields)
        return cls.build(tst, veh=veh, oper=oper, oday=trip.oday, route=trip.route, dir=trip.direction,
                         start=trip.start, trip_id=trip.trip_id, stop_id=stop_id, seq=seq, loc=loc,
                         id_extra=id_extra, **fields)


# -- position ---------------------------------------------------------------------------------------------
class Position(Record, tag="vp", frozen=True, kw_only=True):
    """Vehicle position, 1 Hz (may be thinned in the outbox under pressure, never other records)."""

    spd: Annotated[float | None, _d("speed m/s (CAN wheel speed, else GNSS)")]
    odo: Annotated[float | None, _d("vehicle odometer m (CAN)")]
    drst: Annotated[int, Meta(ge=0, le=1, description="door status: 1 = a door open")]
    lat: Annotated[float | None | UnsetType, _d("WGS 84 latitude")] = UNSET
    lon: Annotated[float | None | UnsetType, _d("WGS 84 longitude")] = UNSET
    hdg: Annotated[float | None | UnsetType, _d("heading degrees (on a trip)")] = UNSET
    dist: Annotated[float | UnsetType, _d("distance along the trip's shape m (on a trip)")] = UNSET
    dl: Annotated[float | None | UnsetType, _d("delay s, positive = late (on a trip)")] = UNSET


# -- stop and door events (HSL HFP) -----------------------------------------------------------------------
class StopRecord(Record, frozen=True, kw_only=True):
    """A stop event: the vehicle against one stop of its trip (docs/tripfollow.md)."""

    odo: Annotated[float | None, _d("vehicle odometer m (CAN)")]
    drst: Annotated[int, Meta(ge=0, le=1, description="door status: 1 = a door open")]
    sched: Annotated[Tst | UnsetType, _d("scheduled time of this event (arrival or departure), ISO UTC ms")] = UNSET
    dl: Annotated[float | UnsetType, _d("delay s against sched, positive = late")] = UNSET
    unc_s: Annotated[float | UnsetType, _d("loc EST: the true moment lies within this many seconds of tst "
                                           "(the unit was blind: no position, no odometer)")] = UNSET


class Due(StopRecord, tag="due", frozen=True, kw_only=True):
    """Within the due distance of a stop the vehicle is to serve."""

    once = True


class Arrival(StopRecord, tag="arr", frozen=True, kw_only=True):
    """Entered the stop zone."""

    once = True


class ArrivalStopped(StopRecord, tag="ars", frozen=True, kw_only=True):
    """Came to a standstill in the stop zone (time: the interpolated moment speed reached zero)."""

    once = True

    origin: Annotated[bool | UnsetType, _d("true at the trip's first stop")] = UNSET
    terminus: Annotated[bool | UnsetType, _d("true at the trip's last stop")] = UNSET


class DoorsClosedToDepart(StopRecord, tag="pde", frozen=True, kw_only=True):
    """All doors closed after the arrival (ready to depart)."""


class Wait(StopRecord, tag="wait", frozen=True, kw_only=True):
    """Doors closed ahead of the scheduled departure at a stop where the vehicle is held."""

    wait_s: Annotated[float, _d("seconds until the scheduled departure")]


class Departure(StopRecord, tag="dep", frozen=True, kw_only=True):
    """Left the stop zone after an arrival (time: the moment it started moving)."""

    once = True


class Pass(StopRecord, tag="pas", frozen=True, kw_only=True):
    """Left the stop zone without an arrival (time: the antenna passing the stop)."""

    once = True

    skipped: Annotated[bool, _d("true when the stop was to be served (a skipped stop), false for a station "
                                "the trip runs through")]


class NotObserved(StopRecord, tag="not_observed", frozen=True, kw_only=True):
    """The vehicle was at this stop while the unit was blind (no position, no odometer) and the moment
    cannot be estimated well enough: neither an arrival nor a pass (time: where it was, interpolated)."""

    once = True

    what: Annotated[Literal["visit", "arrival"], _d("visit (arrival and departure), or the arrival only")]
    blind_from: Annotated[Tst, _d("last observation before the blind gap")]
    blind_to: Annotated[Tst, _d("first observation after it")]
    reason: Annotated[Text, _d("why not observed")]


class DoorEvent(Record, frozen=True, kw_only=True):
    """A door transition (CAN door state); at a stop when the vehicle is at one."""

    drst: Annotated[int, Meta(ge=0, le=1, description="door status: 1 = a door open")]


class DoorsOpen(DoorEvent, tag="doo", frozen=True, kw_only=True):
    """A door opened."""


class DoorsClosed(DoorEvent, tag="doc", frozen=True, kw_only=True):
    """All doors closed."""


# -- predictions ------------------------------------------------------------------------------------------
class EtaStop(msgspec.Struct, frozen=True, kw_only=True):
    """One remaining stop of an ``eta`` record (becomes one retained stop prediction)."""

    stop_id: Annotated[Name, _d("GTFS stop_id")]
    seq: Annotated[Seq | None, _d("GTFS stop_sequence")]
    sched_arr: Annotated[Tst | None, _d("scheduled arrival (null at the trip's first stop)")]
    sched_dep: Annotated[Tst | None, _d("scheduled departure (null at the trip's last stop)")]
    eta_arr: Annotated[Tst | None, _d("predicted arrival")]
    eta_dep: Annotated[Tst | None, _d("predicted departure")]
    status: Annotated[Literal["SCHEDULED", "CANCELED", "SKIPPED", "NO_DATA"],
                      _d("GTFS-RT schedule relationship: SCHEDULED with realtime eta_arr/eta_dep; NO_DATA: "
                         "nothing realtime (no times, show the timetable)")] = "SCHEDULED"
    platform: Annotated[Text | None, _d("platform code, when the feed has one")] = None


class Eta(Record, tag="eta", frozen=True, kw_only=True):
    """Predicted arrival/departure at the remaining stops of the trip; ``clear`` lists stops whose
    retained prediction is removed (left, or the trip ended)."""

    headsign: Annotated[Text | None, _d("destination text")]
    occu: Annotated[Text | None, _d("GTFS-RT OccupancyStatus name, null when unknown")]
    dl: Annotated[float | UnsetType, _d("delay s now, positive = late")] = UNSET
    stops: Annotated[list[EtaStop], _d("per remaining stop: stop_id, seq, sched_arr/dep, eta_arr/dep, "
                                       "status, platform")] = field(default_factory=list)
    clear: Annotated[list[Name] | bool | None, _d("stop_ids whose prediction is withdrawn (true: the record's "
                                                  "own stop_id)")] = None


# -- punctuality ------------------------------------------------------------------------------------------
class Punctuality(Record, tag="punctuality", frozen=True, kw_only=True):
    """The measurement at a registration station (DOMAIN.md): ``measured``, or ``missing`` /
    ``not_observed`` with a reason."""

    once = True

    status: Annotated[Literal["measured", "missing", "not_observed"],
                      _d("measured; missing (passed, not driven, cut short); not_observed (the unit was blind "
                         "there: never 'passed')")]
    station: Annotated[Name, _d("registration station id (parent station or the stop)")]
    station_name: Annotated[Text | UnsetType, _d("station name")] = UNSET
    measured: Annotated[Literal["arrival", "departure"], _d("which moment was (to be) measured")]
    counted: Annotated[bool, _d("counts for the contract's figure (the policy's own measurement)")]
    sched: Annotated[Tst | None, _d("scheduled time of the measured moment")]
    actual: Annotated[Tst | None, _d("observed time, null when missing")]
    dl: Annotated[float | None, _d("delay s, positive = late")]
    late: Annotated[bool | None, _d("delay at or above the late threshold")]
    early: Annotated[bool | UnsetType, _d("left earlier than allowed (bus)")] = UNSET
    punctual: Annotated[bool | UnsetType, _d("within the punctuality window")] = UNSET
    rejsegaranti: Annotated[bool | UnsetType, _d("late enough for the travel guarantee")] = UNSET
    replacement: Annotated[bool | UnsetType, _d("late enough for replacement transport")] = UNSET
    reason: Annotated[Text | UnsetType, _d("why missing")] = UNSET
    policy: Annotated[Literal["rail", "bus"], _d("the operator's punctuality policy")]
    est_actual: Annotated[Tst | UnsetType, _d("not_observed: the moment estimated across the blind gap")] = UNSET
    est_dl: Annotated[float | None | UnsetType, _d("not_observed: the estimate's delay s")] = UNSET
    unc_s: Annotated[float | None | UnsetType, _d("not_observed: the estimate's uncertainty s")] = UNSET


# -- passenger counting -----------------------------------------------------------------------------------
CountQuality = Annotated[Literal["regular", "defect"], _d("regular, or defect (see defect)")]


class Apc(Record, tag="apc", frozen=True, kw_only=True):
    """Passenger count delta of one door and class at one stop visit (never cumulative)."""

    once = True

    door: Annotated[int, Meta(ge=1, le=64, description="door number, 1 = front")]
    class_: Annotated[Literal["adult", "bulky"], _d("adult, or bulky (pram, wheelchair, bicycle)")] = \
        field(name="class")
    in_: Annotated[Count, _d("boardings")] = field(name="in")
    out: Annotated[Count, _d("alightings")]
    countquality: CountQuality
    vehicleload: Annotated[Count, _d("load after the stop")]
    defect: Annotated[list[Text] | UnsetType, _d("why defect: gate_unknown, stuck, frames_lost, node_silent, "
                                                 "overflow, outside_visit")] = UNSET


class Occupancy(Record, tag="occupancy", frozen=True, kw_only=True):
    """Vehicle load after a stop; at the terminus the load is reconciled (``residual``) and reset."""

    once = True

    vehicleload: Annotated[Count, _d("persons on board after the stop")]
    in_: Annotated[Count | UnsetType, _d("boardings at the stop")] = field(name="in", default=UNSET)
    out: Annotated[Count | UnsetType, _d("alightings at the stop")] = UNSET
    occu: Annotated[Count | None, _d("% of seats taken (folding seats count), null without vehicle data")]
    occupancy_status: Annotated[Text, _d("GTFS-RT OccupancyStatus name")]
    seats: Annotated[Count | UnsetType, _d("seats incl. folding seats")] = UNSET
    capacity: Annotated[Count | None | UnsetType, _d("approved capacity")] = UNSET
    countquality: CountQuality
    clamped: Annotated[Count | UnsetType, _d("persons the counts would have put below zero")] = UNSET
    terminus: Annotated[bool | UnsetType, _d("true at the trip's end (load reconciled)")] = UNSET
    residual: Annotated[int | None | UnsetType, _d("load left at the terminus (missed alightings)")] = UNSET


class Alarm(Record, tag="alarm", frozen=True, kw_only=True):
    """The load exceeds the vehicle's approved capacity."""

    once = True

    alarm: Annotated[Literal["capacity"], _d("what: capacity")]
    vehicleload: Annotated[Count, _d("persons on board at the peak of the stop visit")]
    capacity: Annotated[Count, _d("the vehicle's approved capacity")]
    excess: Annotated[Count, _d("persons above it")]


# -- school and kerb-to-kerb runs (issue 18, docs/school-buses.md) ----------------------------------------
class RideTime(Record, tag="ride_time", frozen=True, kw_only=True):
    """Ride time of the pupils on a school run ("den samlede køretid for den enkelte elev må ikke overstige
    60 minutter"): a ``warning`` before the earliest boarded pupil reaches the limit, and the run's
    ``longest`` ride at its end. The envelope's stop is where that pupil boarded."""

    kind: Annotated[Literal["warning", "longest"], _d("warning (before the limit is reached), or longest (the "
                                                      "run's longest ride, at its end)")]
    boarded: Annotated[Tst, _d("when the earliest boarded pupil got on (the bus's arrival at the stop)")]
    board_stop_name: Annotated[Text, _d("where, by name")]
    pupils: Annotated[Count, _d("pupils of that boarding still on board (warning: all predicted over the "
                                "limit)")]
    ride_s: Annotated[float, _d("warning: predicted ride at the end of the run; longest: the measured ride")]
    limit_s: Annotated[float, _d("the agreed limit (60 min unless otherwise agreed)")]
    end_stop: Annotated[Text | None, _d("stop where the ride ends (predicted or observed)")]
    end: Annotated[Tst | None, _d("when it ends (predicted ETA for a warning)")]
    exceeded: Annotated[bool, _d("the ride is (predicted to be) above the limit")]


class SchoolArrival(Record, tag="school_arrival", frozen=True, kw_only=True):
    """A run's arrival at a school against its bell ("ankomst mellem 7.45 og 8.15", "tidligst 10 minutter
    før, det ringer ind"); the envelope's stop is the school."""

    school: Annotated[Text, _d("the school's name")]
    bell: Annotated[Tst, _d("the bell (first lesson)")]
    arrival: Annotated[Tst, _d("the bus's arrival (standstill at the school)")]
    verdict: Annotated[Literal["early", "in_window", "late"],
                       _d("early (before bell - margin or the window's start), in_window, late (after the "
                          "window's end or the bell)")]
    before_bell_s: Annotated[float, _d("seconds the arrival was before the bell (negative: after it)")]
    window_from: Annotated[Tst, _d("earliest arrival in the window (the later of window start and bell - "
                                   "margin)")]
    window_to: Annotated[Tst, _d("latest arrival in the window (the earlier of window end and the bell)")]


class PickupNotice(Record, tag="notice", frozen=True, kw_only=True):
    """The passenger (or the parents) of a flagged pickup are to be told the bus comes in about 10 minutes
    ("varsle borgeren 10 minutter før ankomst"). An SMS/app gateway delivers it (docs/messages.md,
    "Notices"); the envelope's stop is the pickup."""

    stop_name: Annotated[Text, _d("the pickup's name")]
    eta: Annotated[Tst, _d("predicted arrival at the pickup")]
    minutes: Annotated[Annotated[int, Meta(ge=0, le=240)], _d("whole minutes from tst to eta (rounded)")]
    ref: Annotated[Text | None, _d("the run file's notice_ref: the gateway's recipient list")]
    resend: Annotated[bool, _d("true when sent again because the ETA grew by more than the resend limit")]
    previous_eta: Annotated[Tst | UnsetType, _d("resend: the ETA of the notice it replaces")] = UNSET


# -- deviations reported by a unit -------------------------------------------------------------------------
class DeviationReport(Record, tag="deviation", frozen=True, kw_only=True):
    """A unit reports a deviation of its own trip to the control room ("indmeldes til vagtpladsen"): the
    trip (the envelope) is cancelled, turned short, or run by replacement transport, whole or for the stops
    ``from_stop`` .. ``to_stop``. The month's report counts its registrations there as cancelled."""

    what: Annotated[Literal["cancelled", "turned_short", "replacement"],
                    _d("cancelled (not driven), turned_short (ends early: not served from from_stop on), "
                       "replacement (a bus/taxi runs it instead)")]
    from_stop: Annotated[Text | None, _d("first stop not served by the vehicle (stop_id or parent station); "
                                         "null: from the start")] = None
    to_stop: Annotated[Text | None, _d("last stop not served; null: to the end")] = None
    replacement: Annotated[Literal["bus", "taxi"] | UnsetType, _d("the replacement transport in service")] = UNSET
    reason: Annotated[Text | UnsetType, _d("why, in the reporter's words")] = UNSET
    source: Annotated[Literal["driver", "unit", "controlroom"],
                      _d("driver (reported on the unit), unit (detected by it), controlroom (the unit "
                         "confirms a control-room cancellation of its trip)")] = "driver"


class AffectedDeparture(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One departure a replacement-transport flag is about (each of ``replacement.departures``)."""

    what: Annotated[Literal["late", "cancelled", "last_connection"],
                    _d("late (this trip arrives there more than the threshold late), cancelled (this trip no "
                       "longer calls there and the next one is more than the threshold later, or none runs "
                       "today), last_connection (the day's last departure of a connecting line, lost)")]
    stop_id: Annotated[Name, _d("where: a stop of this trip (late, cancelled) or the connection's stop")]
    route: Annotated[Text | None, _d("line of the departure (this trip's, or the connection's)")]
    trip_id: Annotated[Text | None, _d("GTFS trip_id of the departure")]
    headsign: Annotated[Text | None, _d("its destination")] = None
    sched: Annotated[Tst, _d("scheduled time (arrival of this trip; departure of a connection)")]
    expected: Annotated[Tst | None, _d("this trip's expected arrival there, null when it does not call")] = None
    delay_s: Annotated[float | None, _d("passengers' expected delay there s (null: no later service today)")] = None


class ReplacementNeeded(Record, tag="replacement", frozen=True, kw_only=True):
    """The unit flags its trip to the control room for replacement transport (contract: "erstatningstransport
    ... hvor passagererne vil blive forsinket mere end 60 minutter ... eller vil miste dagens sidste
    forbindelse"): once per trip and reason, again when more departures are affected."""

    reason: Annotated[Literal["delay", "last_connection"],
                      _d("delay (passengers would arrive more than threshold_min late), last_connection "
                         "(they would miss the day's last connection from a hub)")]
    threshold_min: Annotated[Count, _d("the operator file's punctuality.replacement_transport_min")]
    transfer_min: Annotated[Count, _d("change time assumed (punctuality.connection_transfer_min)")]
    delay_s: Annotated[float | None, _d("largest expected passenger delay among the departures s")]
    departures: Annotated[list[AffectedDeparture], _d("the affected departures: what, stop_id, route, trip_id, "
                                                      "headsign, sched, expected, delay_s")]


# -- health -----------------------------------------------------------------------------------------------
class Health(Record, tag="health", frozen=True, kw_only=True):
    """Retained unit health (transit.health); the trip is inside ``current_trip``, not in the envelope."""

    unit: Annotated[Name, _d("unit id (configuration)")]
    role: Annotated[Text, _d("onboard or station")]
    version: Annotated[Text, _d("software version")]
    uptime_s: Annotated[float, _d("seconds since the service started (its own monotonic clock)")]
    data_time: Annotated[Tst | None, _d("newest input data time")]
    ok: Annotated[bool, _d("no problem listed")]
    problems: Annotated[list[str], _d("what is wrong, one short text each")]
    clock: Annotated[dict[str, Any], _d("clock synchronisation (transit.clock)")]
    gnss: Annotated[dict[str, Any], _d("GNSS receiver: fix, counters")]
    can: Annotated[dict[str, Any], _d("CAN bus: frames, errors, bus state")]
    doors: Annotated[dict[str, Any], _d("door sensors and passenger counting counters")]
    outbox: Annotated[dict[str, Any], _d("outbox depth, publisher counters")]
    display: Annotated[dict[str, Any], _d("frieze or countdown display")]
    core: Annotated[dict[str, Any], _d("trip following counters")]
    current_trip: Annotated[dict[str, Any] | None, _d("the trip being followed (trip_id, route, oday, ...)")]
    loops: Annotated[dict[str, bool], _d("whether each service loop is alive")]
    storage: Annotated[dict[str, Any], _d("record storage: full disk, records held in memory, space reserve")] = \
        field(default_factory=dict)


StopRecords = Due | Arrival | ArrivalStopped | DoorsClosedToDepart | Wait | Departure | Pass | NotObserved
AnyRecord = (Position | StopRecords | DoorsOpen | DoorsClosed | Eta | Punctuality | Apc | Occupancy | Alarm
             | RideTime | SchoolArrival | PickupNotice | DeviationReport | ReplacementNeeded | Health)
#: record kind -> Struct type
RECORD_TYPES: dict[str, type[Record]] = {str(t.__struct_config__.tag): t for t in get_args(AnyRecord)}


@dataclass(frozen=True, slots=True)
class TripRef:
    """The trip fields every record of a trip carries."""

    trip_id: str
    oday: str  # operating day YYYY-MM-DD (GTFS service day)
    route: str  # route_short_name, e.g. 920R
    direction: int
    start: str  # scheduled start HH:MM (GTFS time, may exceed 24)


def record_id(veh: str, event: str, trip_id: str | None, oday: str | None, stop_id: str | None,
              seq: int | None, tst: str, extra: str = "") -> str:
    """16 hex of SHA-1 over vehicle, event, trip, operating day, stop, sequence and time (+ extra);
    ``tst`` is empty for a record identified by what it is (:attr:`Record.once`)."""
    parts = [veh, event, trip_id, oday, stop_id, seq, tst, extra]
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def iso(t: float | None) -> str | None:
    """Epoch seconds → ISO UTC ms (None stays None)."""
    return None if t is None else iso_utc_ms(from_epoch(t))


# -- encoding and decoding --------------------------------------------------------------------------------
#: The one encoder: compact UTF-8 JSON, the bytes every output reuses.
ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(AnyRecord)


class Encoded(NamedTuple):
    """A record and its JSON, encoded once: the events log, the punctuality log and the MQTT payload all
    reuse ``json`` (a record read from a file keeps the bytes it was read as)."""

    record: Record
    json: bytes

    @classmethod
    def of(cls, rec: Record) -> Encoded:
        return cls(rec, ENCODER.encode(rec))

    @property
    def line(self) -> bytes:
        """One JSON Lines line."""
        return self.json + b"\n"


def encode(rec: Record) -> bytes:
    """The record's JSON (no newline)."""
    return ENCODER.encode(rec)


def decode_record(data: bytes | str) -> Record:
    """Validate one record from outside (a JSON Lines line, an MQTT payload): :class:`DecodeError` on
    anything malformed or oversize, :class:`InvalidRecordError` (a DecodeError) for well-formed JSON of an
    unknown kind or with a field missing or of the wrong type or range."""
    if len(data) > MAX_RECORD_BYTES:
        raise DecodeError(f"record of {len(data)} bytes exceeds {MAX_RECORD_BYTES}")
    try:
        rec: Record = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidRecordError(f"invalid record: {str(exc)[:200]}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"not a JSON record: {str(exc)[:200]}") from None
    return rec


__all__ = ["ENCODER", "LOC_SOURCES", "MAX_RECORD_BYTES", "AffectedDeparture", "Alarm", "ReplacementNeeded", "AnyRecord", "Apc", "Arrival", "ArrivalStopped",
           "Departure", "DeviationReport", "DoorEvent", "DoorsClosed", "DoorsClosedToDepart", "DoorsOpen", "Due",
           "Encoded", "Eta", "EtaStop", "Health", "Loc", "NotObserved", "PickupNotice", "Occupancy", "Pass", "Position",
           "Punctuality", "RECORD_TYPES", "Record", "RideTime", "SchoolArrival",
           "StopRecord", "StopRecords", "TIME_PATTERN", "DAY_PATTERN", "TripRef", "Wait", "decode_record", "encode",
           "iso", "record_id"]
