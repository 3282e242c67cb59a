"""Unit health: one snapshot of what an operator needs to see on a running unit.

The service collects counters from its parts into a :class:`HealthInputs`, :func:`build_health` turns
them into a plain dict (pure), :func:`write_health` writes it to ``<state_dir>/health.json`` by atomic
rename (``python -m onboard status`` reads it), and :func:`health_delivery` makes the retained MQTT
message (``<prefix>/record/health/<mode>/<oper>/<veh>////``, one per unit, latest wins in the outbox).

Ages are measured on the monotonic clock by the caller (``*_age_s``), never from the wall clock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from transit.messages import Delivery, deliveries_for_record
from transit.records import Health

log = logging.getLogger(__name__)

HEALTH_FILE = "health.json"
#: a GNSS fix or CAN frame older than this (monotonic s) counts as lost
SILENT_AFTER_S = 5.0


def software_version() -> str:
    try:
        return metadata.version("rettid")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class HealthInputs:
    """Raw material for one health snapshot (filled by the service on its own thread)."""

    unit_id: str
    veh: str
    oper: str
    role: str = "onboard"
    version: str = field(default_factory=software_version)
    uptime_s: float = 0.0
    data_time: str | None = None  # ISO UTC of "now" from the clock discipline; None before any anchor
    clock: dict[str, Any] = field(default_factory=dict)
    gnss_configured: bool = True
    gnss_last_fix: dict[str, Any] | None = None  # mode, quality, sats_used, hdop, has_position
    gnss_fix_age_s: float | None = None
    gnss_stats: dict[str, int] = field(default_factory=dict)
    can_configured: bool = False
    can_last_age_s: float | None = None
    can_stats: dict[str, int] = field(default_factory=dict)
    doors: dict[str, Any] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)
    display: dict[str, Any] = field(default_factory=dict)
    core: dict[str, Any] = field(default_factory=dict)
    trip: dict[str, Any] | None = None
    loops: dict[str, bool] = field(default_factory=dict)
    #: full (bool), held (records waiting in memory for space), reserve_bytes, outbox_quarantined
    #: (where a corrupt outbox was moved), salvaged, torn_bytes (cut from punctuality.jsonl on open)
    storage: dict[str, Any] = field(default_factory=dict)


def _state(configured: bool, age: float | None, ok: str = "ok") -> str:
    if not configured:
        return "not_configured"
    if age is None:
        return "never"
    return ok if age <= SILENT_AFTER_S else "silent"


def build_health(h: HealthInputs) -> dict[str, Any]:
    """The health payload (pure). ``ok`` is false when an input is silent, the clock is unknown or a
    loop is dead, so a fleet view can sort units by it."""
    fix = h.gnss_last_fix or {}
    gnss_state = _state(h.gnss_configured, h.gnss_fix_age_s)
    if gnss_state == "ok" and not fix.get("has_position"):
        gnss_state = "no_fix"
    can_state = _state(h.can_configured, h.can_last_age_s)
    if can_state == "ok" and h.can_stats.get("bus_off", 0):
        can_state = "bus_off"
    problems = []
    if gnss_state not in ("ok", "not_configured"):
        problems.append(f"gnss {gnss_state}")
    if can_state not in ("ok", "not_configured"):
        problems.append(f"can {can_state}")
    if not h.clock.get("synced"):
        problems.append("no clock source")
    if h.storage.get("full"):
        problems.append(f"storage full: {h.storage.get('held', 0)} record(s) held in memory")
    if h.storage.get("outbox_quarantined"):
        problems.append(f"outbox was corrupt: moved to {h.storage['outbox_quarantined']}, "
                        f"{h.storage.get('salvaged', 0)} message(s) salvaged")
    if h.outbox.get("at_budget"):
        problems.append(f"outbox at its disk budget of {h.outbox.get('budget_mb')} MB: positions thinned "
                        f"and refused, records kept")
    dead = sorted(k for k, v in h.loops.items() if not v)
    if dead:
        problems.append("loops stalled: " + ", ".join(dead))
    return {
        "unit": h.unit_id, "role": h.role, "veh": h.veh, "oper": h.oper, "version": h.version,
        "uptime_s": round(h.uptime_s, 1), "data_time": h.data_time, "ok": not problems, "problems": problems,
        "clock": h.clock,
        "gnss": {"state": gnss_state, "fix_age_s": _r(h.gnss_fix_age_s), **{k: fix.get(k) for k in
                 ("mode", "quality", "sats_used", "hdop")}, "counters": _nonzero(h.gnss_stats)},
        "can": {"state": can_state, "last_frame_age_s": _r(h.can_last_age_s), "counters": _nonzero(h.can_stats)},
        "doors": h.doors,
        "outbox": h.outbox,
        "display": h.display,
        "core": _nonzero(h.core),
        "current_trip": h.trip,
        "loops": h.loops,
        "storage": h.storage,
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _nonzero(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(d.items()) if v}


def write_health(state_dir: Path, payload: dict[str, Any], name: str = HEALTH_FILE) -> Path:
    """Write atomically: a reader sees the old or the new file, never half of one."""
    path = state_dir / name
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_health(state_dir: Path, name: str = HEALTH_FILE) -> dict[str, Any]:
    data = json.loads((state_dir / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("health file is not a JSON object")
    return data


def health_delivery(payload: dict[str, Any], t: float, *, prefix: str, mode: str) -> Delivery:
    """The retained health message at data time ``t``. The record carries no trip fields in its
    envelope so its topic is the same all day (one retained message per unit); the current trip is
    inside ``current_trip``."""
    body = {k: v for k, v in payload.items() if k not in ("veh", "oper")}
    rec = Health.make(t, veh=payload["veh"], oper=payload["oper"], **body)
    d = deliveries_for_record(rec, prefix=prefix, mode=mode)[0]
    return dataclasses.replace(d, retain=True, coalesce=d.topic)


__all__ = ["HEALTH_FILE", "HealthInputs", "build_health", "health_delivery", "read_health",
           "software_version", "write_health"]
