"""Raw beam event recording: every GPIO edge to a ``gpio.csv`` (``t,pin,level``) for later validation
against manual counts and for ``replay`` through the same counter code."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

from transit.errors import DeviceError

log = logging.getLogger(__name__)


class EdgeCsvWriter:
    """Append-only writer; flushes every ``flush_every`` edges so a power cut loses little."""

    HEADER = "t,pin,level\n"

    def __init__(self, path: str | Path, flush_every: int = 64) -> None:
        self.path = Path(path)
        self.flush_every = flush_every
        self.written = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._fh: TextIO | None = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise DeviceError(f"{self.path}: cannot record beam events: {exc}") from exc
        if new:
            self._fh.write(self.HEADER)

    def write(self, t: float, pin: int, level: int) -> None:
        """``t`` in epoch seconds (UTC), written with microseconds."""
        if self._fh is None:
            return
        self._fh.write(f"{t:.6f},{pin},{level}\n")
        self.written += 1
        if self.written % self.flush_every == 0:
            self._fh.flush()

    __call__ = write

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
