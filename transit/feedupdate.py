"""Rolling a new timetable onto a running unit: validated, installed atomically, rolled back on failure.

A unit keeps its rolled-out timetables under one directory (``<state_dir>/timetable``)::

    incoming            the next feed, a GTFS zip or folder or the unit's slice (``stage`` puts it there atomically)
    versions/<id>/      installed feeds, ``<id>`` from their content (the same feed twice is one version)
    current -> versions/<id>     the one in use (a symlink, replaced with one rename: never half a feed)
    previous -> versions/<id>    the one before (what ``rollback`` returns to)
    rejected/, rejected.txt      the last feed that failed, and why

:meth:`FeedStore.install` validates ``incoming`` exactly as ``feed-check`` does (``Timetable.load(
strict=True)``: any error refuses it), runs the caller's own check on the new timetable (the operator
file's lines and stops, the unit's assignment), and only then switches ``current``. The service swaps the
timetable in memory at a safe point and keeps the trip it is driving; if that fails it calls
:meth:`FeedStore.rollback`. Nothing here knows about a service, so the same piece serves a stop display
and per-unit timetable slices rolled out from the office (:mod:`transit.slice`: validated by their schema
version and checksum instead of feed-check; the caller's check adds the horizon).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transit.errors import FeedError, RettidError
from transit.slice import feed_hash, open_timetable
from transit.timetable import Timetable

log = logging.getLogger(__name__)

#: Installed versions kept besides ``current`` and ``previous`` (older ones are deleted).
KEEP_VERSIONS = 3


@dataclass(frozen=True)
class FeedUpdate:
    """What :meth:`FeedStore.install` did: ``ok`` with the new ``timetable`` and its ``version``, or the
    ``problems`` that refused it (nothing changed then)."""

    ok: bool
    version: str | None
    path: Path | None
    timetable: Timetable | None
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        if self.ok:
            return f"timetable {self.version} installed"
        head = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        return f"new timetable refused: {head}{more}"


class FeedStore:
    """The directory of a unit's rolled-out timetables (see the module docstring)."""

    def __init__(self, root: str | Path, *, keep: int = KEEP_VERSIONS) -> None:
        self.root = Path(root)
        self.keep = keep

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    def has_incoming(self) -> bool:
        return self.incoming.exists()

    def current(self) -> Path | None:
        """The installed feed in use, or None before the first roll-out."""
        link = self.root / "current"
        return link.resolve() if link.is_symlink() and link.resolve().exists() else None

    def version(self) -> str | None:
        cur = self.current()
        return cur.name if cur is not None else None

    def stage(self, source: str | Path) -> Path:
        """Copy a feed (zip or folder) or a slice file to ``incoming`` (a copy first, then one rename)."""
        src = Path(source)
        if not src.exists():
            raise FeedError([f"{src}: no such GTFS folder or zip file"])
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "incoming.tmp"
        _remove(tmp)
        if src.is_dir():
            shutil.copytree(src, tmp)
        else:
            shutil.copy2(src, tmp)
        _remove(self.incoming)
        os.replace(tmp, self.incoming)
        return self.incoming

    def install(self, check: Callable[[Timetable], object] | None = None) -> FeedUpdate:
        """Validate ``incoming`` and make it ``current``; on any problem leave everything as it was."""
        src = self.incoming
        if not src.exists():
            return FeedUpdate(False, None, None, None, (f"{src}: nothing staged",))
        try:
            tt = open_timetable(src, strict=True)  # a feed: exactly feed-check's verdict; a slice: validated
            if check is not None:
                check(tt)
        except FeedError as exc:
            return self._reject([str(p) for p in exc.problems])
        except (RettidError, OSError) as exc:
            return self._reject([str(exc)])
        version = feed_hash(src)[:12]  # the same feed (or slice) is one version
        versions = self.root / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        dest = versions / version
        if dest.exists():
            _remove(src)  # the same feed again
        else:
            os.replace(src, dest)
        previous = self.current()
        if previous is not None and previous != dest.resolve():
            _point(self.root / "previous", previous)
        _point(self.root / "current", dest)
        self._prune()
        tt.source = dest
        log.info("timetable %s installed (%d trips)%s", version, len(tt.trips),
                 f", previous {previous.name}" if previous is not None else "")
        return FeedUpdate(True, version, dest, tt, ())

    def rollback(self) -> Path | None:
        """Back to ``previous`` (after a swap that failed in the service); returns it, or None."""
        prev = self.root / "previous"
        if not (prev.is_symlink() and prev.resolve().exists()):
            return None
        target = prev.resolve()
        cur = self.current()
        _point(self.root / "current", target)
        if cur is not None and cur != target:
            _point(prev, cur)
        log.warning("timetable rolled back to %s", target.name)
        return target

    def _reject(self, problems: list[str]) -> FeedUpdate:
        rejected = self.root / "rejected"
        _remove(rejected)
        os.replace(self.incoming, rejected)
        (self.root / "rejected.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
        log.error("new timetable refused (%d problem(s), kept in %s): %s", len(problems), rejected,
                  "; ".join(problems[:3]))
        return FeedUpdate(False, None, None, None, tuple(problems))

    def _prune(self) -> None:
        keep = {p for p in (self.current(), (self.root / "previous").resolve()) if p is not None}
        others = sorted((p for p in (self.root / "versions").iterdir() if p.resolve() not in keep),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for p in others[self.keep:]:
            _remove(p)


def _point(link: Path, target: Path) -> None:
    """Make ``link`` point at ``target`` in one rename (readers see the old or the new, never none)."""
    tmp = link.with_name(link.name + ".tmp")
    _remove(tmp)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)
    _fsync_dir(link.parent)


def _remove(p: Path) -> None:
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["KEEP_VERSIONS", "FeedStore", "FeedUpdate"]
