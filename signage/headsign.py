"""Destination texts as displays show them."""

from __future__ import annotations


def short_headsign(text: str) -> str:
    """Drop a trailing " St." (station): every destination of a train is a station, so it is the first
    thing to go when a destination does not fit; the name itself is never cut."""
    t = text.strip()
    for suffix in (" St.", " st.", " Station", " station"):
        if t.endswith(suffix) and len(t) > len(suffix):
            return t[: -len(suffix)]
    return t


__all__ = ["short_headsign"]
