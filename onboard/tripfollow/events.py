"""What trip following emits besides its records, and what a consumer of it implements (STYLE.md §5).

The core (:class:`onboard.tripfollow.core.Core`) returns, per input, an ordered list of wire records
(``vp``, ``eta``) and internal events: a :class:`StopEvent` per stop or door event (carrying its wire
record) and the trip lifecycle (:class:`TripStarted`, :class:`TripEnded`, :class:`TripCancelled`). It
does not know who listens. Consumers (passenger counting, punctuality) implement :class:`Consumer`, the
shape of python-can's ``Listener``: :class:`onboard.tripfollow.pipeline.Pipeline` hands each event to
them synchronously, in order, so a replay stays deterministic. Events are values (frozen), consumer state
lives in plain attributes, so both can later be checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hw.can.state import VehicleState
from onboard.tripfollow.plan import TripPlan
from transit.records import DoorEvent, Record, StopRecord


@dataclass(frozen=True, slots=True)
class StopEvent:
    """A stop or door event: the wire record, its data time, and for stop events the plan and the index of
    the stop in ``plan.stops`` (door events have ``k`` None: they are about the vehicle, not a stop)."""

    record: StopRecord | DoorEvent
    t: float
    plan: TripPlan | None = None
    k: int | None = None


@dataclass(frozen=True, slots=True)
class TripStarted:
    """Trip following began a trip at ``t``."""

    plan: TripPlan
    t: float


@dataclass(frozen=True, slots=True)
class TripEnded:
    """The trip is over at ``t``: completed (``reason`` None) or cut short (released, replaced, end of data).
    ``unobserved`` maps stop indexes never observed (trip joined late) to why; ``loc`` is the position source."""

    plan: TripPlan
    t: float
    reason: str | None
    loc: str = "N/A"
    unobserved: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TripCancelled:
    """An assigned trip that was never driven (or released before it began)."""

    plan: TripPlan
    t: float


CoreEvent = StopEvent | TripStarted | TripEnded | TripCancelled
#: what a core call returns, in order
CoreOutput = Record | CoreEvent


class Consumer:
    """A consumer of trip following (python-can's ``Listener`` shape). Every method returns the records it
    produced; the defaults do nothing, so a consumer overrides only what it needs."""

    def on_event(self, ev: CoreEvent) -> list[Record]:
        """A stop/door event or a trip lifecycle event, in the core's order."""
        return []

    def on_vehicle_state(self, st: VehicleState) -> list[Record]:
        """A CAN vehicle snapshot (before the core sees it)."""
        return []

    def on_edge(self, t: datetime | float, pin: int, level: int) -> list[Record]:
        """A GPIO edge (door beams, door contacts)."""
        return []

    def finish(self, t: float) -> list[Record]:
        """End of data at ``t``, after the core's own end."""
        return []


__all__ = ["Consumer", "CoreEvent", "CoreOutput", "StopEvent", "TripCancelled", "TripEnded", "TripStarted"]
