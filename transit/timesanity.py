"""Time sanity for a stream of receiver times: one epoch far from the rest is quarantined, not believed.

A GNSS receiver can send one checksum-valid epoch with a wrong date (a day ahead, a week-rollover
glitch, a cold start's default date). Believed, it moves the unit's notion of "now": the trip-following
core then ignores every later input as "older than the last one" — 0 arrivals for up to 24 h — and the
clock discipline stamps CAN frames and door edges with the wrong day. This filter sits in front of the
core and the clock (the live service and ``replay`` both) and decides which epochs are believed:

- an epoch within ``back_s`` behind .. ``gap_s`` ahead of the last believed one continues the timeline
  and passes at once;
- any other epoch is held in quarantine, grouped with the held epochs it agrees with (each within
  ``back_s`` .. ``gap_s`` of the group's newest). When the next epoch continues the believed timeline,
  the held ones were a glitch: dropped and counted (``quarantined``);
- a group that grows to ``confirm_n`` epochs spanning at least ``confirm_span_s`` of their own time,
  with no believed epoch in between, is the receiver's time really moving (a correction, a recording
  that resumes after a gap): it becomes the timeline and its epochs are released in order, none lost.
  A step backwards is reported (:attr:`Released.stepped_back`) so the caller can restart what assumed
  time only goes forward;
- at start there is no timeline yet: the first group to confirm becomes it, so a bad first epoch is
  quarantined too (start-up waits ``confirm_span_s`` for agreement).

Pure: times are passed in; generic over the item carried with each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Released", "TimeSanity"]


@dataclass
class Released(Generic[T]):
    """What one :meth:`TimeSanity.offer` lets through: (time, item) in time order."""

    items: list[tuple[float, T]] = field(default_factory=list)
    stepped_back: bool = False  # the believed timeline moved backwards (a confirmed correction)
    stepped: bool = False  # the believed timeline moved to a new group (forward or back)


class _Group(Generic[T]):
    __slots__ = ("items", "newest")

    def __init__(self, t: float, item: T) -> None:
        self.items: list[tuple[float, T]] = [(t, item)]
        self.newest = t

    def fits(self, t: float, back_s: float, gap_s: float) -> bool:
        return self.newest - back_s <= t <= self.newest + gap_s

    def add(self, t: float, item: T) -> None:
        self.items.append((t, item))
        self.newest = max(self.newest, t)

    @property
    def span(self) -> float:
        return self.newest - min(t for t, _ in self.items)


class TimeSanity(Generic[T]):
    """Believe a stream of times only where it is consistent (see the module docstring)."""

    def __init__(self, *, back_s: float = 2.0, gap_s: float = 30.0, confirm_n: int = 3,
                 confirm_span_s: float = 1.5, max_held: int = 600) -> None:
        self.back_s = back_s
        self.gap_s = gap_s
        self.confirm_n = confirm_n
        self.confirm_span_s = confirm_span_s
        self.max_held = max_held
        self.last: float | None = None  # newest believed time
        self.quarantined = 0  # epochs dropped as glitches
        self.steps = 0  # confirmed moves of the timeline
        self.steps_back = 0
        self._groups: list[_Group[T]] = []

    @property
    def held(self) -> int:
        return sum(len(g.items) for g in self._groups)

    def offer(self, t: float, item: T) -> Released[T]:
        """One epoch in; what may be believed now comes out."""
        out: Released[T] = Released()
        last = self.last
        if last is not None and last - self.back_s <= t <= last + self.gap_s:
            self._drop_groups()
            self.last = max(last, t)
            out.items.append((t, item))
            return out
        group = next((g for g in self._groups if g.fits(t, self.back_s, self.gap_s)), None)
        if group is None:
            group = _Group(t, item)
            self._groups.append(group)
        else:
            group.add(t, item)
        if len(group.items) >= self.confirm_n and group.span >= self.confirm_span_s:
            self._groups.remove(group)
            self._drop_groups()
            if last is not None:
                out.stepped = True
                self.steps += 1
                if group.newest < last:
                    out.stepped_back = True
                    self.steps_back += 1
            self.last = group.newest
            out.items.extend(sorted(group.items, key=lambda x: x[0]))
            return out
        while self.held > self.max_held:  # bounded: the oldest group goes first
            self.quarantined += len(self._groups.pop(0).items)
        return out

    def flush(self) -> Released[T]:
        """End of input: held epochs that never confirmed are dropped (counted); nothing comes out
        unless no timeline was ever believed, then the largest group is taken as it is."""
        out: Released[T] = Released()
        if self.last is None and self._groups:
            best = max(self._groups, key=lambda g: len(g.items))
            self._groups.remove(best)
            self.last = best.newest
            out.items.extend(sorted(best.items, key=lambda x: x[0]))
        self._drop_groups()
        return out

    def _drop_groups(self) -> None:
        for g in self._groups:
            self.quarantined += len(g.items)
        self._groups.clear()
