"""Geometry along a route: distances on the WGS84 sphere approximation and a polyline with chainage.

Distances are small (a line is < 100 km), so a local equirectangular projection around each segment is
accurate to well under a metre and far cheaper than full geodesics on a Pi.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north, 0..360."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def offset_m(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Move a point by metres north and east (small offsets)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


@dataclass(frozen=True, slots=True)
class Projection:
    """Where a point falls on a polyline."""

    distance_m: float  # chainage along the line from its start
    offset_m: float  # perpendicular distance from the line
    segment: int


class Polyline:
    """A route shape with cumulative distances, for chainage lookups both ways."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        pts = [(float(a), float(b)) for a, b in points]
        # Drop consecutive duplicates: zero-length segments break projection.
        dedup: list[tuple[float, float]] = []
        for p in pts:
            if not dedup or dedup[-1] != p:
                dedup.append(p)
        if len(dedup) < 2:
            raise ValueError("a polyline needs at least two distinct points")
        self.points: tuple[tuple[float, float], ...] = tuple(dedup)
        cum = [0.0]
        for (a, b), (c, d) in zip(self.points, self.points[1:], strict=False):
            cum.append(cum[-1] + haversine_m(a, b, c, d))
        self.cumulative: tuple[float, ...] = tuple(cum)

    @property
    def length_m(self) -> float:
        return self.cumulative[-1]

    def point_at(self, distance_m: float) -> tuple[float, float, float]:
        """(lat, lon, bearing) at a chainage, clamped to the line."""
        d = min(max(distance_m, 0.0), self.length_m)
        i = max(0, min(bisect.bisect_right(self.cumulative, d) - 1, len(self.points) - 2))
        seg = self.cumulative[i + 1] - self.cumulative[i]
        f = 0.0 if seg <= 0 else (d - self.cumulative[i]) / seg
        (a, b), (c, e) = self.points[i], self.points[i + 1]
        return a + (c - a) * f, b + (e - b) * f, bearing_deg(a, b, c, e)

    def project(self, lat: float, lon: float, *, lo_m: float | None = None,
                hi_m: float | None = None) -> Projection:
        """Nearest point on the line, optionally only within the chainage window [lo_m, hi_m].

        The window keeps a projection from jumping to a part of the line that runs close by
        (a loop, or the opposite direction on the same corridor).
        """
        n = len(self.points) - 1
        i0 = 0 if lo_m is None else max(0, bisect.bisect_right(self.cumulative, lo_m) - 1)
        i1 = n - 1 if hi_m is None else min(n - 1, bisect.bisect_right(self.cumulative, hi_m) - 1)
        best: Projection | None = None
        coslat = math.cos(math.radians(lat))
        k = math.radians(1.0) * EARTH_RADIUS_M
        for i in range(i0, max(i0, i1) + 1):
            (a, b), (c, d) = self.points[i], self.points[i + 1]
            ax, ay = (b - lon) * coslat * k, (a - lat) * k
            bx, by = (d - lon) * coslat * k, (c - lat) * k
            vx, vy = bx - ax, by - ay
            vv = vx * vx + vy * vy
            t = 0.0 if vv == 0 else max(0.0, min(1.0, -(ax * vx + ay * vy) / vv))
            px, py = ax + vx * t, ay + vy * t
            off = math.hypot(px, py)
            if best is None or off < best.offset_m:
                seg = self.cumulative[i + 1] - self.cumulative[i]
                best = Projection(self.cumulative[i] + seg * t, off, i)
        assert best is not None
        if lo_m is not None or hi_m is not None:
            lo = lo_m if lo_m is not None else 0.0
            hi = hi_m if hi_m is not None else self.length_m
            clamped = min(max(best.distance_m, lo), hi)
            if clamped != best.distance_m:
                best = Projection(clamped, best.offset_m, best.segment)
        return best
