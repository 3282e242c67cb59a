"""Event records of the onboard core (docs/architecture.md, "Event records").

Every output is a plain ``dict`` with the common fields (``event``, ``id``, ``tst``, ``veh``, ``oper``,
``oday``, ``route``, ``dir``, ``start``, ``trip_id``, ``stop_id``, ``seq``, ``loc``) plus event fields.
Ids are deterministic so a replay run twice yields the same ids and a receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transit.timeutil import from_epoch, iso_utc_ms

LOC_SOURCES = ("GPS", "ODO", "DR", "N/A")


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
    """16 hex of SHA-1 over vehicle, event, trip, operating day, stop, sequence and time (+ extra)."""
    parts = [veh, event, trip_id, oday, stop_id, seq, tst, extra]
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def make_record(event: str, t: float | datetime, *, veh: str, oper: str, trip: TripRef | None = None,
                stop_id: str | None = None, seq: int | None = None, loc: str = "N/A",
                id_extra: str = "", **fields: Any) -> dict[str, Any]:
    """Build one record; ``t`` is the data time (epoch seconds or aware datetime), never the wall clock."""
    if loc not in LOC_SOURCES:
        raise ValueError(f"loc must be one of {LOC_SOURCES}, not {loc!r}")
    tst = iso_utc_ms(t if isinstance(t, datetime) else from_epoch(t))
    rec: dict[str, Any] = {
        "event": event, "id": "", "tst": tst, "veh": veh, "oper": oper,
        "oday": trip.oday if trip else None, "route": trip.route if trip else None,
        "dir": trip.direction if trip else None, "start": trip.start if trip else None,
        "trip_id": trip.trip_id if trip else None, "stop_id": stop_id, "seq": seq, "loc": loc,
    }
    rec.update(fields)
    rec["id"] = record_id(veh, event, rec["trip_id"], rec["oday"], stop_id, seq, tst, id_extra)
    return rec


def iso(t: float | None) -> str | None:
    """Epoch seconds → ISO UTC ms (None stays None)."""
    return None if t is None else iso_utc_ms(from_epoch(t))


__all__ = ["LOC_SOURCES", "TripRef", "iso", "make_record", "record_id"]
