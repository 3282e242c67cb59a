"""A sink that keeps each announcement as a WAV file: the simulated backend (tests, ``sim_bus`` runs,
the demo) and a unit without a loudspeaker that should still show what it would have said."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import deque
from pathlib import Path

from hw.audio.sink import AudioSink, Played, wav_duration
from transit.errors import DeviceError
from transit.yamlconf import Node, resolve_path

log = logging.getLogger(__name__)


class FileSink(AudioSink):
    """Copies each WAV to ``dir/<name>`` atomically (temp file + rename), so a reader never sees half a
    file. ``pace`` > 0 holds :meth:`play` for the WAV's duration / ``pace`` — a device takes as long as
    the sound lasts, and the queue's no-overlap guarantee is only tested when "playing" takes time.
    ``keep`` bounds the directory: the oldest files this sink wrote go first (a unit must never fill its
    disk with speech). :attr:`log` keeps the last playbacks with their monotonic start and end."""

    def __init__(self, directory: str | Path, *, pace: float = 0.0, keep: int = 500) -> None:
        super().__init__()
        self.dir = Path(directory)
        self.pace = max(0.0, float(pace))
        self.keep = max(1, int(keep))
        self.written: deque[Path] | None = None  # oldest first; read from the directory at the first play
        self.log: deque[Played] = deque(maxlen=1000)

    @classmethod
    def from_node(cls, node: Node) -> FileSink:
        node.reject_unknown({"backend", "dir", "pace", "keep"})
        return cls(resolve_path(node.child("dir")), pace=node.get_float("pace", 0.0, min=0.0, max=1000.0),
                   keep=node.get_int("keep", 500, min=1, max=100_000))

    def play(self, wav: Path, name: str) -> None:
        start = time.monotonic()
        duration = wav_duration(wav)
        target = self.dir / name
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(wav, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            raise DeviceError(f"cannot write announcement {target}: {exc.strerror or exc}") from exc
        if self.written is None:  # what an earlier run left counts towards ``keep`` too
            self.written = deque(sorted((p for p in self.dir.glob("*.wav") if p != target),
                                        key=lambda p: (p.stat().st_mtime, p.name)))
        if target in self.written:
            self.written.remove(target)  # a replay writes the same name again: still one file
        self.written.append(target)
        while len(self.written) > self.keep:
            old = self.written.popleft()
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                log.debug("cannot remove old announcement %s: %s", old, exc)
        if self.pace > 0:
            left = duration / self.pace - (time.monotonic() - start)
            if left > 0:
                time.sleep(left)
        self.log.append(Played(name, start, time.monotonic(), duration))
        self.played += 1


__all__ = ["FileSink"]
