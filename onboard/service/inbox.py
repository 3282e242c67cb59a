"""The driver's deviation reports on the unit ("indmeldes til vagtpladsen"): a small file per report in
``<state_dir>/inbox``, dropped by ``rettid-onboard report-deviation`` (or a driver terminal), read by the
running service, which owns the outbox.

A file rather than a socket: it survives a service restart (picked up when the service is back), needs no
listening port on the vehicle, and the service removes it only after the record is stored. A request is
strict JSON (:class:`DeviationRequest`); anything else is moved to ``inbox/rejected`` and logged.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from transit.ratelimit import RateLimitedLog
from transit.records import DeviationReport, Record, Text
from transit.timeutil import COPENHAGEN, from_epoch

log = logging.getLogger(__name__)
MAX_BYTES = 4096
_Name = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class DeviationRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the driver reports: the trip (default: the one being driven) and what happened."""

    what: Literal["cancelled", "turned_short", "replacement"]
    trip_id: _Name | None = None
    from_stop: _Name | None = None  # first stop not served (turned_short: required)
    to_stop: _Name | None = None
    replacement: Literal["bus", "taxi"] | None = None
    reason: Text = ""


_DECODER = msgspec.json.Decoder(DeviationRequest)


def write_request(inbox: Path, req: DeviationRequest) -> Path:
    """Drop a request atomically (written aside, then renamed in)."""
    inbox.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.json"
    tmp = inbox / f".{name}.tmp"
    tmp.write_bytes(msgspec.json.encode(req))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.rename(inbox / name)
    return inbox / name


def read_requests(inbox: Path, ratelog: RateLimitedLog) -> Iterator[tuple[Path, DeviationRequest]]:
    """The valid requests waiting, oldest first; invalid files moved to ``rejected/``."""
    try:
        files = sorted((p for p in inbox.glob("*.json") if p.is_file()), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for p in files:
        try:
            data = p.read_bytes()[:MAX_BYTES + 1]
            if len(data) > MAX_BYTES:
                raise msgspec.DecodeError(f"larger than {MAX_BYTES} bytes")
            req = _DECODER.decode(data)
            if req.what == "turned_short" and req.from_stop is None:
                raise msgspec.ValidationError("turned_short needs from_stop (the first stop not served)")
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            ratelog.warn("inbox", "deviation report %s rejected: %s", p.name, exc)
            try:
                (inbox / "rejected").mkdir(exist_ok=True)
                p.rename(inbox / "rejected" / p.name)
            except OSError:
                pass
            continue
        yield p, req


def report_records(req: DeviationRequest, plan: Any, tt: Any, *, t: float, veh: str,
                   oper: str) -> tuple[list[Record], dict[int, str]]:
    """The ``deviation`` record of a request (of the trip being driven unless it names another) and, for
    the trip being driven, the stop indexes not served with the reason for their registrations."""
    from onboard.tripfollow.plan import TripPlan
    from transit.deviations import trip_stop_index
    from transit.records import TripRef

    ref = plan.ref if isinstance(plan, TripPlan) else None
    if req.trip_id is not None and (ref is None or req.trip_id != ref.trip_id):
        if req.trip_id not in tt.trips:
            log.warning("deviation report for unknown trip %s ignored", req.trip_id)
            return [], {}
        route = tt.route_of(req.trip_id)
        trip = tt.trips[req.trip_id]
        day = from_epoch(t).astimezone(COPENHAGEN).date().isoformat()
        start_s = tt.trip_start_s(req.trip_id)
        ref = TripRef(req.trip_id, day, route.name, trip.direction_id or 0, f"{start_s // 3600:02d}:{start_s % 3600 // 60:02d}")
        plan = None
    if ref is None:
        log.warning("deviation report without a trip (none being driven) ignored")
        return [], {}
    rec = DeviationReport.make(t, veh=veh, oper=oper, trip=ref, what=req.what, from_stop=req.from_stop,
                               to_stop=req.to_stop, reason=req.reason or msgspec.UNSET,
                               replacement=req.replacement or msgspec.UNSET, source="driver")
    reasons: dict[int, str] = {}
    if plan is not None:
        index = trip_stop_index(tt, ref.trip_id)
        lo = 0 if req.from_stop is None else index(req.from_stop)
        hi = None if req.to_stop is None else index(req.to_stop)
        if lo is not None:
            why = {"cancelled": "cancelled (reported by the driver)",
                   "turned_short": "cancelled: turned short (reported by the driver)",
                   "replacement": "cancelled: replacement transport (reported by the driver)"}[req.what]
            for k, st in enumerate(plan.stops):
                i = index(st.stop_id)
                if st.served and i is not None and i >= lo and (hi is None or i <= hi):
                    reasons[k] = why
    return [rec], reasons


__all__ = ["DeviationRequest", "read_requests", "report_records", "write_request"]
