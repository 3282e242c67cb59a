"""Vehicle load, occupancy and GTFS-Realtime OccupancyStatus from per-stop passenger counts.

Rules (DOMAIN.md, belægningskriterier): occupancy is the share of *seats* taken, folding seats count as
seats; a school bus must never carry more than it is approved for. Load is a running sum of counted
deltas, so counting errors accumulate: it is clamped at zero after every stop (a negative load is always a
counting error) and reconciled at the terminus, where everybody has left (the residual is reported, then
the load is reset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transit.yamlconf import Node

# GTFS-Realtime VehiclePosition.OccupancyStatus names; coarse values only.
EMPTY = "EMPTY"
MANY_SEATS = "MANY_SEATS_AVAILABLE"
FEW_SEATS = "FEW_SEATS_AVAILABLE"
STANDING = "STANDING_ROOM_ONLY"
CRUSHED = "CRUSHED_STANDING_ROOM_ONLY"
FULL = "FULL"
NO_DATA = "NO_DATA_AVAILABLE"


@dataclass(frozen=True)
class VehicleCapacity:
    """Seats of a vehicle type. ``approved`` is the approved total (seated + standing) capacity."""

    seats: int
    folding_seats: int = 0
    approved: int | None = None
    type_name: str = ""

    @property
    def seat_total(self) -> int:
        """Seats for occupancy: folding seats count (contract definition)."""
        return self.seats + self.folding_seats

    @classmethod
    def from_node(cls, node: Node) -> VehicleCapacity:
        """A vehicle type mapping: ``seats``, ``folding_seats``, ``approved_capacity`` (optional)."""
        seats = node.get_int("seats", min=1)
        folding = node.get_int("folding_seats", 0, min=0)
        approved = node.get_int("approved_capacity", None, min=1)
        if approved is not None and approved < seats + folding:
            raise node.child("approved_capacity").error(
                f"approved capacity {approved} is below the seats ({seats + folding})")
        return cls(seats, folding, approved, node.path)

    @classmethod
    def from_object(cls, obj: Any) -> VehicleCapacity:
        """From any vehicle-type object with ``seats``, ``folding_seats``, ``approved_capacity``
        attributes (``transit.operator`` vehicle types), so this module does not depend on its layout."""
        seats = int(obj.seats)
        folding = int(getattr(obj, "folding_seats", 0) or 0)
        approved = getattr(obj, "approved_capacity", None)
        return cls(seats, folding, int(approved) if approved is not None else None,
                   str(getattr(obj, "name", getattr(obj, "id", ""))))


@dataclass(frozen=True)
class OccupancyThresholds:
    """Where the coarse OccupancyStatus steps are, as shares of seats / approved capacity."""

    many_seats_below: float = 0.5  # load < 50 % of seats: many seats available
    few_seats_below: float = 1.0  # below all seats: few seats available
    crushed_from: float = 0.9  # of approved capacity
    full_from: float = 1.0  # of approved capacity


def occupancy_percent(load: int, cap: VehicleCapacity) -> int:
    """Share of seats taken, in whole percent (may exceed 100 when people stand)."""
    return int(round(100.0 * load / cap.seat_total))


def occupancy_status(load: int | None, cap: VehicleCapacity | None,
                     th: OccupancyThresholds = OccupancyThresholds()) -> str:
    """GTFS-RT OccupancyStatus. ``None`` load or capacity = no data, which is *not* EMPTY."""
    if load is None or cap is None:
        return NO_DATA
    if load <= 0:
        return EMPTY
    seats = cap.seat_total
    if cap.approved is not None:
        if load >= th.full_from * cap.approved:
            return FULL
        if load >= th.crushed_from * cap.approved:
            return CRUSHED
    if load < th.many_seats_below * seats:
        return MANY_SEATS
    if load < th.few_seats_below * seats:
        return FEW_SEATS
    return STANDING


@dataclass(frozen=True)
class LoadStep:
    """Outcome of one stop: the load after it and how much had to be clamped to keep it >= 0."""

    load: int
    clamped: int  # persons the counts would have put below zero (0 when consistent)


@dataclass(frozen=True)
class Reconciliation:
    load_before: int
    residual: int  # load left when everybody should have left (positive: missed alightings)


class LoadTracker:
    """Running vehicle load over one vehicle's stops."""

    def __init__(self) -> None:
        self.load = 0
        self.clamp_events = 0

    def apply(self, boarded: int, alighted: int) -> LoadStep:
        """Alightings first, then boardings (the order at the door); never below zero."""
        raw = self.load - alighted + boarded
        clamped = 0
        if self.load - alighted < 0:
            clamped = alighted - self.load
        if raw < 0:
            clamped = max(clamped, -raw)
        if clamped:
            self.clamp_events += 1
        self.load = max(0, self.load - alighted) + boarded
        return LoadStep(self.load, clamped)

    def reconcile(self) -> Reconciliation:
        """At the terminus everybody has left: report what is left over and start from zero."""
        r = Reconciliation(self.load, self.load)
        self.load = 0
        return r
