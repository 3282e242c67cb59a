"""The school monitor behind a unit's record stream: built from run files and the unit's setup, for
``python -m onboard replay --school`` and the service (docs/school-buses.md)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onboard.school.monitor import SchoolMonitor
from transit.runfile import SchoolRun, load_runfile
from transit.schoolrules import SchoolRules
from transit.timetable import Timetable
from transit.yamlconf import Node, resolve_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchoolConfig:
    """``onboard.yaml`` ``school:``: the run files of the routes this vehicle drives and the driver's panel
    (a display sink section, as under ``displays:``; optional)."""

    runs: tuple[Path, ...]
    panel: Node | None = None
    width: int = 800
    height: int = 480

    @classmethod
    def from_node(cls, node: Node | None) -> SchoolConfig | None:
        if node is None:
            return None
        node.reject_unknown({"runs", "panel"})
        rn = node.child("runs")
        items = rn.as_list() if isinstance(rn.value, list) else [rn]
        if not items:
            raise rn.error("expected at least one run file")
        runs = []
        for n in items:
            p = resolve_path(n)
            if not p.is_file():
                raise n.error(f"run file not found: {p}")
            load_runfile(p)  # validated at start-up: file, line and field of the first problem
            runs.append(p)
        panel = node.opt("panel")
        width, height = 800, 480
        if panel is not None:
            if not panel.is_map() or panel.opt("backend") is None:
                raise panel.error("expected a display sink section, e.g. {backend: framebuffer, device: /dev/fb1}")
            width = panel.get_int("width", 800, min=64, max=4096)
            height = panel.get_int("height", 480, min=32, max=4096)
        return cls(tuple(runs), panel, width, height)


def school_runs(paths: Sequence[Path]) -> dict[str, SchoolRun]:
    """trip_id -> school run from every run file (a run id given twice is a configuration error)."""
    from transit.errors import ConfigError
    runs: dict[str, SchoolRun] = {}
    for p in paths:
        for tid, run in load_runfile(p).school_runs().items():
            if tid in runs:
                raise ConfigError(f"{p}: run {tid} is also in another run file", key="runs")
            runs[tid] = run
    return runs


def build_monitor(paths: Sequence[Path], *, operator: Any = None, capacity: Any = None,
                  feed: Path | None = None) -> SchoolMonitor:
    """A :class:`SchoolMonitor` for the runs of ``paths`` with the operator file's school rules, the
    vehicle's approved capacity and the feed's geometry (distance-based arrival predictions)."""
    rules = getattr(operator, "school", None)
    if not isinstance(rules, SchoolRules):
        rules = SchoolRules()
    runs = school_runs(paths)
    tt = Timetable.load(feed) if feed is not None else None
    if tt is not None:
        missing = sorted(t for t in runs if t not in tt.trips)
        if missing:
            log.warning("school runs not in the feed %s (not followed): %s", feed, ", ".join(missing[:10]))
    approved = getattr(capacity, "approved", None)
    return SchoolMonitor(runs, rules, capacity=approved if isinstance(approved, int) else None, timetable=tt)


__all__ = ["SchoolConfig", "build_monitor", "school_runs"]
