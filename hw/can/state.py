"""Vehicle state decoded from the CAN bus (SAE J1939 / Bus-FMS), with the CAN receive time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DoorState:
    """One door as DC2 reports it. ``None`` means the bus did not say (not 'closed')."""

    index: int  # 1-based door number, front to back
    open: bool | None = None
    enabled: bool | None = None  # released by the driver: passengers may open it


@dataclass(frozen=True, slots=True)
class VehicleState:
    """Snapshot after a decoded update. ``t`` is the CAN receive timestamp (UTC, aware).

    Each field holds the latest value the bus sent (``None``: never sent, or sent as J1939 error /
    not available).
    """

    t: datetime
    speed_mps: float | None = None  # CCVS1 wheel-based vehicle speed (or TCO1, if so configured)
    odometer_m: float | None = None  # VDHR high-resolution total vehicle distance
    parking_brake: bool | None = None  # CCVS1
    doors: tuple[DoorState, ...] = ()
    doors_any_open: bool | None = None  # DC1 position of doors (at least one open, or closing the last)
    engine_rpm: float | None = None  # EEC1, only when the tracker is asked to follow it
