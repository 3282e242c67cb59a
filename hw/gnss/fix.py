"""The immutable GNSS fix the rest of the system consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum


class FixMode(IntEnum):
    """gpsd's TPV ``mode``: 0 unknown, 1 no fix, 2 2D, 3 3D."""

    UNKNOWN = 0
    NO_FIX = 1
    FIX_2D = 2
    FIX_3D = 3


@dataclass(frozen=True, slots=True)
class Fix:
    """One epoch of receiver output, assembled from the sentences that share a UTC time.

    ``time`` is the receiver's UTC time (aware). Values the receiver did not report are ``None``.
    """

    time: datetime
    lat: float | None = None
    lon: float | None = None
    alt_msl: float | None = None
    speed: float | None = None  # m/s over ground
    track: float | None = None  # degrees true
    mode: FixMode = FixMode.NO_FIX
    quality: int = 0  # GGA fix quality: 0 none, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR ...
    hdop: float | None = None
    sats_used: int | None = None
    eph: float | None = None  # horizontal error estimate in metres (from GST), when given
    sentences: int = 0  # sentences that contributed to this epoch

    @property
    def has_position(self) -> bool:
        return self.mode >= FixMode.FIX_2D and self.lat is not None and self.lon is not None

    def to_tpv(self) -> dict[str, object]:
        """The fix with gpsd's TPV field names (``time`` ISO UTC ms, ``altMSL``, speed m/s, ...);
        fields the receiver did not report are left out, as gpsd does."""
        u = self.time.astimezone(UTC)
        d: dict[str, object] = {
            "time": u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z",
            "mode": int(self.mode),
        }
        for key, value in (("lat", self.lat), ("lon", self.lon), ("altMSL", self.alt_msl),
                           ("speed", self.speed), ("track", self.track), ("eph", self.eph)):
            if value is not None:
                d[key] = value
        return d
