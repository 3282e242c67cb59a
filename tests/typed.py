"""Typed records from the partial dicts tests like to write: the envelope and a kind's required fields are
filled in, then the record is validated by msgspec exactly as the decoder at the edge validates it."""

from __future__ import annotations

from typing import Any

import msgspec

from transit.records import AnyRecord, Record

ENVELOPE: dict[str, Any] = {"id": "test", "veh": "v", "oper": "o", "oday": None, "route": None, "dir": None,
                            "start": None, "trip_id": None, "stop_id": None, "seq": None, "loc": "N/A"}
KIND: dict[str, dict[str, Any]] = {
    **{k: {"odo": None, "drst": 0} for k in ("due", "arr", "ars", "pde", "dep")},
    "pas": {"odo": None, "drst": 0, "skipped": False}, "wait": {"odo": None, "drst": 0, "wait_s": 0.0},
    "doo": {"drst": 1}, "doc": {"drst": 0}, "eta": {"headsign": None, "occu": None},
    "vp": {"spd": None, "odo": None, "drst": 0},
}


def typed(d: dict[str, Any]) -> Record:
    """``d`` with the missing envelope filled in, as the typed record (ValidationError when it is not one)."""
    full = {**ENVELOPE, **KIND.get(str(d.get("event")), {}), **d}
    rec: Record = msgspec.convert(full, AnyRecord)  # type: ignore[arg-type]
    return rec
