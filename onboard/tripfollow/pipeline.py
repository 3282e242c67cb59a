"""Trip following and its consumers as one pipeline: every input enters once, events go out in order.

:class:`Pipeline` feeds the :class:`~onboard.tripfollow.core.Core` and hands what it emits to the
consumers synchronously, in the order they were added (python-can's ``Listener`` interface without
``Notifier``'s thread: replay is deterministic only while dispatch is). Records come out in this order:
for each stop event its own record, then each consumer's records for it; consumers see raw vehicle
states and GPIO edges before the core does. ``onboard.service.bootstrap`` builds it for the service,
replay and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from hw.can.state import VehicleState
from hw.gnss.fix import Fix
from onboard.tripfollow.core import Core
from onboard.tripfollow.events import Consumer, CoreOutput, StopEvent
from transit.records import Record

if TYPE_CHECKING:
    from transit.messages import Assignment


class Pipeline:
    """The core plus its consumers; each input method returns the records of that input, in order."""

    def __init__(self, core: Core, consumers: Sequence[Consumer] = ()) -> None:
        self.core = core
        self.consumers: list[Consumer] = list(consumers)

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def on_fix(self, fix: Fix) -> list[Record]:
        return self._dispatch(self.core.on_fix(fix))

    def on_vehicle(self, st: VehicleState, *, speed_sample: bool | None = None) -> list[Record]:
        out: list[Record] = []
        if st.t.timestamp() >= self.core.t - 1.0:  # what the core would take as in order
            for c in self.consumers:
                out += c.on_vehicle_state(st)
        return out + self._dispatch(self.core.on_vehicle(st, speed_sample=speed_sample))

    def on_edge(self, t: datetime | float, pin: int, level: int) -> list[Record]:
        out: list[Record] = []
        for c in self.consumers:
            out += c.on_edge(t, pin, level)
        return out

    def on_assignment(self, a: Assignment) -> list[Record]:
        return self._dispatch(self.core.on_assignment(a))

    def finish(self, t: float | None = None) -> list[Record]:
        """End of data: the core ends its trip, then every consumer finishes at the same time."""
        te = self.core.t if t is None else t
        out = self._dispatch(self.core.finish(te))
        for c in self.consumers:
            out += c.finish(te)
        return out

    def _dispatch(self, items: list[CoreOutput]) -> list[Record]:
        out: list[Record] = []
        for item in items:
            if isinstance(item, Record):
                out.append(item)
                continue
            if isinstance(item, StopEvent):
                out.append(item.record)
            for c in self.consumers:
                out += c.on_event(item)
        return out


__all__ = ["Pipeline"]
