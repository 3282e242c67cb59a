"""Records as the onboard core makes them (typed, ``transit.records``), for the central tests; ``as_dict``
gives the JSON object a test may damage before it is sent or written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from transit.records import Position, Punctuality, Record, TripRef
from transit.timeutil import iso_utc_ms

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TRIP = TripRef("920R-0655", "2026-11-23", "920R", 0, "06:55")


def punct(station: str, dl: float | None, *, trip: TripRef = TRIP, veh: str = "2051", t: datetime = T0,
          status: str | None = None, reason: str = "", counted: bool = True, late: bool | None = None,
          **extra: Any) -> Punctuality:
    st = status or ("measured" if dl is not None else "missing")
    sched = t - timedelta(seconds=dl or 0)
    fields: dict[str, Any] = dict(status=st, station=station, station_name=station.title(), measured="arrival",
                                  counted=counted, sched=iso_utc_ms(sched),
                                  actual=iso_utc_ms(t) if dl is not None else None, dl=dl,
                                  late=(dl is not None and dl >= 180) if late is None else late, policy="rail")
    if reason:
        fields["reason"] = reason
    fields.update(extra)
    return Punctuality.make(t, veh=veh, oper="lokaltog", trip=trip, stop_id=station, seq=1, loc="GPS", **fields)


def vp(i: int, *, trip: TripRef = TRIP, veh: str = "2051", t0: datetime = T0, **extra: Any) -> Position:
    fields: dict[str, Any] = dict(lat=55.93 + i * 1e-5, lon=12.31, spd=12.0, hdg=90.0, odo=100.0 * i,
                                  dist=100.0 * i, dl=42.0, drst=0)
    fields.update(extra)
    return Position.make(t0 + timedelta(seconds=i), veh=veh, oper="lokaltog", trip=trip, stop_id="S1", seq=1,
                         loc="GPS", **fields)


def as_dict(rec: Record) -> dict[str, Any]:
    """The record's JSON object (``event`` first), as a file or a payload carries it."""
    out: dict[str, Any] = msgspec.to_builtins(rec)
    return out


def iso(t: datetime) -> str:
    return iso_utc_ms(t)
