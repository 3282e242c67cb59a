"""Trip state across restarts (issue 12): the checkpoint of the core and its consumers.

A unit that loses power at a platform and boots again must carry on where it was: the trip and its stop
progress, the open dwell, the last odometer, what each stop already had (arrival, departure, pass), which
registrations were already recorded, the passengers counted at the open stop and the vehicle load. Each
part of the pipeline gives its state as data (``Core.snapshot``, ``PassengerCounter.snapshot``,
``PunctualityRecorder.snapshot``: msgspec Structs, pure) and takes it back (``restore``); this module puts
them together as one :class:`Checkpoint`, encodes it, and decides at start-up whether it is still valid.

Where it is kept: in the outbox's ``meta`` table, written in the same SQLite transaction as the records
it explains (``Outbox.put(..., meta=)``), so after a kill the stored records and the stored state never
disagree. The one record written before that transaction is the punctuality record (its log is fsync'd
first): :func:`unrecorded` finds the ones a kill left in the log only, so the restarted unit closes those
registrations and stores the records again instead of measuring them twice.

Valid means: the same vehicle, the data time at start-up not before the checkpoint (by more than a
reorder window) and not more than ``max_age_s`` after it, and every trip in it still in the timetable with
the same stops. Anything else is discarded with a log line and counted in health
(``core.checkpoint_discarded``); the unit then starts as before, from the configuration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import msgspec

from onboard.counting.passengers import CounterState, PassengerCounter
from onboard.records.punctuality import PunctualityRecorder, PunctualityState
from onboard.tripfollow.core import CoreSnapshot, RestoreError
from onboard.tripfollow.pipeline import Pipeline
from onboard.tripfollow.plan import TripPlan, build_plan
from transit.errors import DecodeError
from transit.jsonl import parse_records
from transit.records import Punctuality

log = logging.getLogger(__name__)

#: the outbox ``meta`` key the checkpoint is stored under
CHECKPOINT_KEY = "checkpoint"
VERSION = 1
#: data time at start-up this long after the checkpoint: the trip is over, the state is not used
MAX_AGE_S = 3600.0
#: data time at start-up earlier than the checkpoint by more than this: other data (a replayed day)
BACKWARD_S = 5.0
#: how much of the punctuality log's end is read to find records a kill kept from the outbox
LOG_TAIL_BYTES = 256 * 1024


class Checkpoint(msgspec.Struct, frozen=True):
    """The pipeline's state after the records stored with it."""

    version: int
    veh: str
    t: float  # data time of the newest input fed
    core: CoreSnapshot
    counting: CounterState | None = None
    punctuality: PunctualityState | None = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Checkpoint)


def take(pipe: Pipeline) -> Checkpoint:
    """The state of ``pipe`` now (pure)."""
    counting = punctuality = None
    for c in pipe.consumers:
        if isinstance(c, PassengerCounter):
            counting = c.snapshot()
        elif isinstance(c, PunctualityRecorder):
            punctuality = c.snapshot()
    return Checkpoint(VERSION, pipe.core.cfg.veh, pipe.core.t, pipe.core.snapshot(), counting, punctuality)


def encode(ck: Checkpoint) -> str:
    return _ENCODER.encode(ck).decode("utf-8")


def decode(text: str) -> Checkpoint:
    """A stored checkpoint; :class:`DecodeError` when it is not one (another version, damaged)."""
    try:
        ck = _DECODER.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"checkpoint unreadable: {str(exc)[:200]}") from None
    if ck.version != VERSION:
        raise DecodeError(f"checkpoint version {ck.version}, this unit writes {VERSION}")
    return ck


def stale_reason(ck: Checkpoint, *, veh: str, t_now: float, max_age_s: float = MAX_AGE_S) -> str | None:
    """Why ``ck`` must not be used at data time ``t_now`` (None: it may be)."""
    if ck.veh != veh:
        return f"written for vehicle {ck.veh}, this unit is {veh}"
    if t_now < ck.t - BACKWARD_S:
        return f"its data time is {ck.t - t_now:.0f} s after the first input's (other data)"
    if t_now - ck.t > max_age_s:
        return f"{t_now - ck.t:.0f} s old (more than {max_age_s:.0f} s)"
    return None


def restore(pipe: Pipeline, ck: Checkpoint) -> None:
    """Put ``ck`` into a freshly built pipeline. Raises :class:`RestoreError` (pipeline unchanged) when it
    does not fit the timetable."""
    core = pipe.core
    core.restore(ck.core)  # raises before it changes anything
    plans: dict[tuple[str, str], TripPlan] = {(p.ref.oday, p.ref.trip_id): p for p in core.queue}
    if core.follower is not None:
        f = core.follower.plan
        plans[(f.ref.oday, f.ref.trip_id)] = f

    def plan_of(oday: str, trip_id: str) -> TripPlan | None:
        p = plans.get((oday, trip_id))
        if p is None and core.tt is not None and trip_id in core.tt.trips:
            try:
                p = build_plan(core.tt, trip_id, date.fromisoformat(oday))
            except (ValueError, KeyError):
                return None
        return p

    for c in pipe.consumers:
        if isinstance(c, PassengerCounter) and ck.counting is not None:
            c.restore(ck.counting)
        elif isinstance(c, PunctualityRecorder) and ck.punctuality is not None:
            c.restore(ck.punctuality, plan_of)


def read_log_tail(path: Path, max_bytes: int = LOG_TAIL_BYTES) -> list[Punctuality]:
    """The punctuality records at the end of the log (a partial first line is skipped)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError as exc:
        log.warning("cannot read the punctuality log %s: %s", path, exc)
        return []
    lines = data.split(b"\n")
    if size > max_bytes:
        lines = lines[1:]
    out: list[Punctuality] = []
    for enc in parse_records(lines, str(path)):
        if enc is not None and isinstance(enc.record, Punctuality):
            out.append(enc.record)
    return out


def unrecorded(pipe: Pipeline, logged: list[Punctuality]) -> list[Punctuality]:
    """Punctuality records in the log that the restored state still has open (a kill came between the
    log's fsync and the outbox's commit): their registrations are closed now, and the records are
    returned to be stored in the outbox again (same ids: a receiver that has one keeps one)."""
    rec = next((c for c in pipe.consumers if isinstance(c, PunctualityRecorder)), None)
    f = pipe.core.follower
    if rec is None or f is None:
        return []
    ref = f.plan.ref
    out = []
    for p in logged:
        if p.trip_id == ref.trip_id and p.oday == ref.oday and p.veh == pipe.core.cfg.veh \
                and rec.recorded(p, f.plan):
            out.append(p)
    return out


@dataclass
class RestoreOutcome:
    """What happened to the checkpoint found at start-up (for the log and health)."""

    restored: bool = False
    discarded: str | None = None  # why it was not used
    relogged: int = 0  # punctuality records stored again from the log


def resume(pipe: Pipeline, text: str | None, *, t_now: float, max_age_s: float = MAX_AGE_S,
           punctuality_log: Path | None = None) -> tuple[RestoreOutcome, list[Punctuality]]:
    """Start-up: restore ``text`` (the stored checkpoint, None when there is none) into ``pipe`` when it is
    valid at ``t_now``; returns the outcome and the punctuality records to store again."""
    out = RestoreOutcome()
    if text is None:
        return out, []
    try:
        ck = decode(text)
        why = stale_reason(ck, veh=pipe.core.cfg.veh, t_now=t_now, max_age_s=max_age_s)
        if why is None:
            restore(pipe, ck)
    except (DecodeError, RestoreError) as exc:
        why = str(exc)
    if why is not None:
        out.discarded = why
        return out, []
    out.restored = True
    again = unrecorded(pipe, read_log_tail(punctuality_log)) if punctuality_log is not None else []
    out.relogged = len(again)
    return out, again


__all__ = ["CHECKPOINT_KEY", "Checkpoint", "MAX_AGE_S", "RestoreOutcome", "decode", "encode", "read_log_tail",
           "restore", "resume", "stale_reason", "take", "unrecorded"]
