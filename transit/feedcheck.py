"""GTFS feed validation: every problem with file, CSV row and column, all of them, not just the first.

The loader in :mod:`transit.timetable` uses the row rules here while it builds the timetable, so a
problem is found once and a feed that loads is exactly the feed that was checked. ``check_feed`` adds
the checks that do not change what loads (unused stops, unrealistic speeds between stops, calendar
coverage) and returns the problems together with the timetable when the feed is usable.

Row numbers are the line numbers an editor shows: the header is line 1, the first record line 2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from transit.geo import haversine_m
from transit.gtfsfiles import ERROR, WARNING, FeedProblem
from transit.timetable import Timetable, load_with_problems

log = logging.getLogger(__name__)

# Faster than 250 km/h between two consecutive stops is a timetable or coordinate error for local
# trains and buses (Lokaltog's Lint 41 runs at most 120 km/h).
MAX_PLAUSIBLE_SPEED_MPS = 250 / 3.6


# -- whole-feed checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedCheck:
    """Result of :func:`check_feed`: every problem, and the timetable when the feed is usable."""

    path: Path
    problems: tuple[FeedProblem, ...]
    timetable: Timetable | None

    @property
    def errors(self) -> list[FeedProblem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def valid(self) -> bool:
        """Usable and without errors (warnings allowed)."""
        return self.timetable is not None and not self.errors


def check_feed(path: str | Path) -> FeedCheck:
    """Validate a feed (folder or zip): load problems plus consistency checks on the loaded timetable."""
    timetable, problems = load_with_problems(path)
    out = list(problems)
    if timetable is not None:
        out.extend(_consistency(timetable))
    return FeedCheck(Path(path), tuple(out), timetable)


def _consistency(tt: Timetable) -> list[FeedProblem]:
    """Checks on a loaded feed that do not change what loads."""
    out: list[FeedProblem] = []
    used: set[str] = set()
    for trip_id in tt.trips:
        times = tt.stop_times(trip_id)
        used.update(st.stop_id for st in times)
        for a, b in zip(times, times[1:], strict=False):
            sa, sb = tt.stops[a.stop_id], tt.stops[b.stop_id]
            if sa.lat is None or sa.lon is None or sb.lat is None or sb.lon is None:
                continue
            dist = haversine_m(sa.lat, sa.lon, sb.lat, sb.lon)
            dt = b.arrival_s - a.departure_s
            if dist > 1000 and (dt <= 0 or dist / dt > MAX_PLAUSIBLE_SPEED_MPS):
                out.append(FeedProblem(
                    "stop_times.txt", None, "arrival_time",
                    f"trip {trip_id}: {dist / 1000:.1f} km from {a.stop_id} to {b.stop_id} in {dt} s "
                    "is faster than 250 km/h (times or coordinates wrong?)"))
    for trip_id in tt.trips:
        if len(tt.stop_times(trip_id)) < 2:
            out.append(FeedProblem("trips.txt", None, "trip_id",
                                   f"trip {trip_id} has fewer than two stop times", WARNING))
    parents = {s.parent_station for s in tt.stops.values() if s.parent_station}
    for s in tt.stops.values():
        if s.location_type == 0 and s.stop_id not in used and s.stop_id not in parents:
            out.append(FeedProblem("stops.txt", None, "stop_id",
                                   f"stop {s.stop_id} ({s.name}) is not served by any trip", WARNING))
    for sid in sorted({t.service_id for t in tt.trips.values()}):
        if not tt.service_has_days(sid):
            out.append(FeedProblem("trips.txt", None, "service_id",
                                   f"service {sid} runs on no day at all", WARNING))
    return out
