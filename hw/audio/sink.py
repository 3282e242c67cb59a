"""The audio sink interface and the backend registry chosen by configuration.

A sink plays one finished WAV file and returns when it has been played, so the caller (the announcement
queue, :mod:`onboard.passinfo.speaker`) knows the loudspeaker is free again: two announcements never
overlap because the queue plays them one after the other through one sink. Backends, imported only
when chosen (the shape of :mod:`hw.display.sink`):

- ``alsa`` — ``aplay -D <device>`` (alsa-utils), the vehicle's amplifier on a USB or HAT sound card;
- ``pulse`` — ``paplay --device <sink>`` (pulseaudio-utils / PipeWire's pulse server);
- ``file`` — copies each WAV into a directory (tests, ``sim_bus`` runs, a unit without a loudspeaker),
  optionally taking the WAV's own duration to "play" it like a device would.
"""

from __future__ import annotations

import importlib
import logging
import wave
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transit.errors import BackendError, DeviceError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

# backend name -> "module:Class"; the module is imported only when the backend is chosen.
_BACKENDS: dict[str, str] = {
    "alsa": "hw.audio.players:AlsaSink",
    "pulse": "hw.audio.players:PulseSink",
    "file": "hw.audio.filesink:FileSink",
}


@dataclass(frozen=True)
class Played:
    """One playback as the sink saw it (monotonic seconds): what a test checks for overlaps."""

    name: str
    start: float
    end: float
    duration_s: float  # of the WAV itself


class AudioSink(ABC):
    """Where finished WAV files go. :meth:`play` blocks until the sound has been played (or the device
    failed: :class:`~transit.errors.DeviceError`). ``from_node`` only validates and stores options: the
    device is touched at the first :meth:`play`, so a missing sound card is a logged, retried error in
    service, not a failed start."""

    def __init__(self) -> None:
        self.played = 0

    @abstractmethod
    def play(self, wav: Path, name: str) -> None:
        """Play ``wav``; ``name`` (a file name without directory, ``.wav``) says what it is."""

    def close(self) -> None:  # noqa: B027 - optional hook, most sinks hold nothing
        """Release the device; the default has nothing to release."""
        return None

    def __enter__(self) -> AudioSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wav_duration(path: Path) -> float:
    """Length of a PCM WAV file in seconds; :class:`DeviceError` when it is no readable WAV."""
    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else 0.0
    except (OSError, EOFError, wave.Error) as exc:
        raise DeviceError(f"{path.name}: not a readable WAV file ({exc})") from exc


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def open_audio(node: Node) -> AudioSink:
    """Open the audio sink described by a configuration node with a ``backend`` key. Unknown backends are
    :class:`BackendError` naming file, line and key; the backend's own options are checked by its
    ``from_node`` (errors name file, line and key too)."""
    bnode = node.child("backend")
    backend = bnode.as_str()
    target = _BACKENDS.get(backend)
    if target is None:
        raise BackendError(f"{bnode.file}:{bnode.line}: {bnode.path}: unknown audio backend "
                           f"'{backend}' (known: {', '.join(available_backends())})")
    mod_name, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:  # pragma: no cover - only when a stdlib-level import breaks
        raise BackendError(f"audio backend '{backend}' cannot be loaded: {exc}") from exc
    factory: Callable[[Node], AudioSink] = getattr(mod, attr).from_node
    sink = factory(node)
    log.info("audio sink %s opened (%s)", backend, node.path or "audio")
    return sink


def check_audio(node: Node) -> None:
    """Validate an audio section at configuration load without opening anything."""
    bnode = node.child("backend")
    backend = bnode.as_str()
    if backend not in _BACKENDS:
        raise bnode.error(f"unknown audio backend '{backend}' (known: {', '.join(available_backends())})")
    mod_name, _, attr = _BACKENDS[backend].partition(":")
    getattr(importlib.import_module(mod_name), attr).from_node(node)  # from_node never touches the device


__all__ = ["AudioSink", "Played", "available_backends", "check_audio", "open_audio", "wav_duration"]
