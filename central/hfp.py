"""HSL High-Frequency Positioning v2 output, for consumers that already speak HFP.

Topic layout and payload as HSL publishes them (digitransit.fi "High-frequency positioning")::

    /hfp/v2/journey/ongoing/<event>/<mode>/<oper>/<veh>/<route>/<dir>/<headsign>/<start>/<next_stop>/
        <geohash_level>/<geohash>
    {"VP": {"desi": "920R", "dir": "1", "oper": ..., "veh": ..., "tst": "...Z", "tsi": 1795...,
            "spd": 12.5, "hdg": 87, "lat": 55.9, "long": 12.3, "acc": null, "dl": 30, "odo": 1234,
            "drst": 0, "oday": "2026-11-23", "jrn": null, "line": null, "start": "06:55", "loc": "GPS",
            "stop": null, "route": "920R", "occu": 0}}

Differences from our own schema, all as HSL has them: the event is the upper-case key, ``dir`` is
"1"/"2" (GTFS direction_id 0/1 + 1), ``long`` not ``lon``, ``tsi`` epoch seconds, ``dl`` whole seconds,
``odo`` metres since the start of the trip, ``occu`` 0–100 (we send the measured % capped at 100).
HSL's geohash is its own digit interleaving: integer degrees ``<lat>;<long>`` then one level per
decimal digit pair; ``geohash_level`` is the first level that changed since the vehicle's previous
message (0 = the integer degrees). Numbers that are digits in our ids (``veh`` "2051") are sent as
integers, as HSL does; other ids stay strings.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from transit.messages import JOURNEY_EVENTS, topic_level
from transit.records import Record
from transit.timeutil import parse_iso

HFP_EVENTS = JOURNEY_EVENTS  # vp due arr ars pde dep pas wait doo doc
GEOHASH_DIGITS = 3


def geohash(lat: float, lon: float, digits: int = GEOHASH_DIGITS) -> list[str]:
    """HSL's levels: ``"55;12"`` then ``"93"``, ``"31"`` ... (n-th decimal of lat, then of lon)."""
    la, lo = f"{abs(lat):.{digits}f}", f"{abs(lon):.{digits}f}"
    ip_la, dec_la = la.split(".")
    ip_lo, dec_lo = lo.split(".")
    head = f"{'-' if lat < 0 else ''}{ip_la};{'-' if lon < 0 else ''}{ip_lo}"
    return [head] + [dec_la[i] + dec_lo[i] for i in range(digits)]


def _num(v: Any) -> Any:
    return int(v) if isinstance(v, str) and v.isdigit() else v


class HfpConverter:
    """Record → ``(topic, payload)`` in HFP v2; remembers each vehicle's last geohash for its level."""

    def __init__(self, prefix: str = "/hfp/v2", mode: str = "train") -> None:
        self.prefix = prefix.rstrip("/")
        self.mode = mode
        self._last: dict[tuple[str, str], list[str]] = {}

    def convert(self, record: Record, mode: str | None = None) -> tuple[str, bytes] | None:
        """A decoded record's HFP v2 topic and payload (None: the record has no HFP form)."""
        rec: dict[str, Any] = msgspec.to_builtins(record)
        ev = rec.get("event")
        if ev not in HFP_EVENTS:
            return None  # punctuality, apc, ... have no HFP form
        t = parse_iso(rec["tst"])
        d = rec.get("dir")
        hdir = str(d + 1) if isinstance(d, int) and d in (0, 1) else None
        lat, lon = rec.get("lat"), rec.get("lon")
        has_pos = isinstance(lat, int | float) and isinstance(lon, int | float)
        dl = rec.get("dl")
        occu = rec.get("occu")
        odo = rec.get("dist") if isinstance(rec.get("dist"), int | float) else None
        body = {
            "desi": rec.get("route"), "dir": hdir, "oper": _num(rec.get("oper")), "veh": _num(rec.get("veh")),
            "tst": rec["tst"], "tsi": int(t.timestamp()),
            "spd": rec.get("spd"), "hdg": None if rec.get("hdg") is None else int(round(rec["hdg"])),
            "lat": lat if has_pos else None, "long": lon if has_pos else None, "acc": rec.get("acc"),
            "dl": None if not isinstance(dl, int | float) else int(round(dl)),
            "odo": None if odo is None else int(round(odo)), "drst": rec.get("drst"), "oday": rec.get("oday"),
            "jrn": None, "line": None, "start": rec.get("start"), "loc": rec.get("loc"),
            "stop": None if ev == "vp" else rec.get("stop_id"), "route": rec.get("route"),
            "occu": None if not isinstance(occu, int | float) else max(0, min(100, int(round(occu)))),
        }
        key = (str(rec.get("oper")), str(rec.get("veh")))
        if has_pos:
            gh = geohash(float(lat), float(lon))  # type: ignore[arg-type]
            prev = self._last.get(key)
            level = 0 if prev is None else next((i for i, (a, b) in enumerate(zip(prev, gh, strict=True))
                                                 if a != b), GEOHASH_DIGITS)
            self._last[key] = gh
            geo = [str(level), *gh]
        else:
            geo = ["", ""]
        levels = ["journey", "ongoing", ev, str(rec.get("mode") or mode or self.mode), rec.get("oper"),
                  rec.get("veh"), rec.get("route"), hdir, rec.get("headsign"), rec.get("start"),
                  rec.get("stop_id"), *geo]
        topic = self.prefix + "/" + "/".join(topic_level(v) for v in levels)
        payload = json.dumps({str(ev).upper(): body}, ensure_ascii=False, separators=(",", ":"))
        return topic, payload.encode("utf-8")


__all__ = ["HfpConverter", "geohash"]
