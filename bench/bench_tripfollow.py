"""Trip-following accuracy against sim_bus ground truth (issue 5).

Scenarios: the shipped ones plus randomised variants built from them programmatically (seeds, 920E
passes, signal stops before stations, GNSS outages up to 60 s around stations, multipath outliers of
30-80 m, 1 Hz and 10 Hz receivers). Each is recorded with ``sim_bus`` into a temporary folder and replayed
through ``onboard.replay``; arrivals are compared with the true standstill times.

Metrics: ``arrival_error_p95_s``, ``arrival_error_max_s`` (|observed ``ars`` - true arrival| over stop
visits that are arrivals; a trip's first stop is a layover start, not an arrival, and is left out),
``false_arrivals``, ``missed_arrivals``, ``pass_misclassified``, ``missed_registrations``, ``visits``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transit.timeutil import parse_iso

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "data" / "scenarios"


@dataclasses.dataclass
class Score:
    visits: int = 0
    passes: int = 0
    errors: list[float] = dataclasses.field(default_factory=list)
    false_arrivals: int = 0
    missed_arrivals: int = 0
    pass_misclassified: int = 0
    registrations: int = 0
    missed_registrations: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, o: Score) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            setattr(self, f.name, v + getattr(o, f.name))


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score(truth: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]],
          registration: Any = None) -> Score:
    """Compare replayed events with ground truth. ``registration(route, stop_id, station) -> bool``."""
    sc = Score()
    visits: dict[tuple[str, str], dict[str, Any]] = {}
    passes: dict[tuple[str, str], dict[str, Any]] = {}
    first: set[tuple[str, str]] = set()
    seen_trips: set[str] = set()
    for r in truth:
        if r.get("kind") == "visit":
            key = (r["trip_id"], r["stop_id"])
            visits[key] = r
            if r["trip_id"] not in seen_trips:
                seen_trips.add(r["trip_id"])
                first.add(key)
        elif r.get("kind") == "pass":
            passes[(r["trip_id"], r["stop_id"])] = r
    ars: dict[tuple[str, str], list[float]] = {}
    pas: dict[tuple[str, str], float] = {}
    measured: set[tuple[str, str]] = set()
    routes: dict[str, str] = {}
    for e in events:
        ev = e.get("event")
        if e.get("trip_id") is None or e.get("stop_id") is None:
            continue
        key = (e["trip_id"], e["stop_id"])
        routes[e["trip_id"]] = e.get("route") or ""
        if ev == "ars":
            ars.setdefault(key, []).append(parse_iso(e["tst"]).timestamp())
        elif ev == "pas":
            pas[key] = parse_iso(e["tst"]).timestamp()
        elif ev == "punctuality" and e.get("status") == "measured":
            measured.add(key)
    sc.visits = len(visits)
    sc.passes = len(passes)
    for key, v in visits.items():
        got = ars.get(key)
        if not got:
            sc.missed_arrivals += 1
            sc.notes.append(f"missed arrival {key}")
            continue
        if len(got) > 1:
            sc.false_arrivals += len(got) - 1
            sc.notes.append(f"{len(got)} arrivals for one visit {key}")
        if key not in first:
            sc.errors.append(abs(got[0] - float(v["arrival"])))
        if key in pas:
            sc.pass_misclassified += 1
            sc.notes.append(f"pas at a visited stop {key}")
    for key in ars:
        if key not in visits:
            sc.false_arrivals += len(ars[key])
            sc.notes.append(f"false arrival {key}")
    for key in passes:
        if key not in pas:
            sc.pass_misclassified += 1
            sc.notes.append(f"pass not reported {key}")
    if registration is not None:
        for key in visits:
            station = key[1]
            if registration(routes.get(key[0], ""), key[1], station):
                sc.registrations += 1
                if key not in measured:
                    sc.missed_registrations += 1
                    sc.notes.append(f"registration not measured {key}")
    return sc


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
