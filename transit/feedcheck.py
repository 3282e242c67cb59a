"""GTFS feed validation: every problem with file, CSV row and column, all of them, not just the first.

The loader in :mod:`transit.timetable` uses the row rules here while it builds the timetable, so a
problem is found once and a feed that loads is exactly the feed that was checked. ``check_feed`` adds
the checks that do not change what loads (unused stops, unrealistic speeds between stops, calendar
coverage: :func:`transit.timetable.whole_feed_problems`) and returns the problems together with the
timetable when the feed is usable. ``Timetable.load`` agrees: it refuses what feed-check calls UNUSABLE,
and with ``strict=True`` exactly what it calls INVALID, with the same problems.

Row numbers are the line numbers an editor shows: the header is line 1, the first record line 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transit.gtfsfiles import ERROR, FeedProblem
from transit.timetable import MAX_PLAUSIBLE_SPEED_MPS, Timetable, load_with_problems

log = logging.getLogger(__name__)

__all__ = ["MAX_PLAUSIBLE_SPEED_MPS", "FeedCheck", "FeedProblem", "check_feed"]

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


def check_feed(path: str | Path, progress: Callable[[float, str], None] | None = None) -> FeedCheck:
    """Validate a feed (folder or zip): load problems plus consistency checks on the loaded timetable."""
    timetable, problems = load_with_problems(path, whole_feed=True, progress=progress)
    return FeedCheck(Path(path), tuple(problems), timetable)
