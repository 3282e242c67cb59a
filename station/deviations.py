"""The control room's deviations at a stop display: which rows they touch and what the message line says.

:class:`RowDeviations` turns a :class:`transit.deviations.DeviationStore` and the timetable into the
``deviations`` callable of :func:`station.departures.build_board` (a row → its
:class:`~transit.deviations.Effect`) and the stop's own messages. It knows the order of each trip's stops
(for a cancellation from or to a stop) from the timetable, cached per trip, and the parent station of a
platform, so a deviation may name either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from station.departures import Row
from transit.deviations import (
    NO_EFFECT,
    AnyDeviation,
    DepartureRef,
    DisplayMessage,
    Effect,
    effect,
    trip_stop_index,
)


class RowDeviations:
    """The deviations known at ``now``, applied to rows of a board (``tt``: the station's timetable)."""

    def __init__(self, tt: Any, deviations: Sequence[AnyDeviation]) -> None:
        self.tt = tt
        self.deviations = list(deviations)

    def __call__(self, row: Row) -> Effect:
        if not self.deviations or row.service_day is None:
            return NO_EFFECT
        index = trip_stop_index(self.tt, row.trip_id)
        when = row.scheduled or row.expected
        ref = DepartureRef(row.trip_id, row.service_day.isoformat(), row.route, row.stop_id, when,
                           self.tt.station_of(row.stop_id) if row.stop_id in self.tt.stops else None,
                           index(row.stop_id))
        return effect(self.deviations, ref, index)


def stop_messages(store: Any, tt: Any, stop_ids: Iterable[str], routes: Iterable[str],
                  now: datetime) -> list[DisplayMessage]:
    """The stop's own texts (notices, planned works, closed stops): ``stop_ids`` with their parent stations."""
    stops = set(stop_ids)
    stops |= {tt.station_of(s) for s in stops if s in tt.stops}
    return list(store.messages(stops, routes, now))


__all__ = ["RowDeviations", "stop_messages"]
