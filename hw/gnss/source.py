"""GNSS sources: the small interface the onboard service reads fixes from, and the backend registry.

A backend is chosen by configuration (``backend: serial|file|gpsd``), the way python-can picks an
interface: the registry maps a name to ``"module:Class"`` and imports the module only when chosen, so a
laptop without a receiver (or without pyserial) still imports everything else.
"""

from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from hw.gnss.config import GnssConfig
from hw.gnss.fix import Fix
from transit.errors import BackendError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

_BACKENDS: dict[str, str] = {
    "serial": "hw.gnss.serial_source:SerialSource",
    "file": "hw.gnss.file_source:FileSource",
    "gpsd": "hw.gnss.gpsd_source:GpsdSource",
}


class GnssSource(ABC):
    """Yields :class:`Fix` objects, one per receiver epoch, in receiver order."""

    @abstractmethod
    def read(self, timeout: float | None = None) -> list[Fix]:
        """Fixes completed since the last call; waits at most ``timeout`` seconds (None: no wait
        beyond what is already buffered). Never raises on bad input or a vanished device."""

    @abstractmethod
    def close(self) -> None:
        """Release the device; ``read`` afterwards returns nothing."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counters (sentences, errors, garbage, reconnects, ...) for health reports."""

    @property
    def finished(self) -> bool:
        """True when no fix will ever come again (end of a replayed file); live sources never finish."""
        return False

    def __enter__(self) -> GnssSource:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def register_backend(name: str, target: str) -> None:
    """Add a backend as ``"package.module:Class"`` (the class takes a :class:`GnssConfig`)."""
    _BACKENDS[name] = target


def backends() -> list[str]:
    return sorted(_BACKENDS)


def open_source(config: GnssConfig) -> GnssSource:
    """Instantiate the configured backend; an unknown or unimportable one is a :class:`BackendError`."""
    target = _BACKENDS.get(config.backend)
    if target is None:
        raise BackendError(f"unknown GNSS backend '{config.backend}' (have: {', '.join(backends())})")
    mod_name, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"GNSS backend '{config.backend}' is not available: {exc}") from exc
    source = cls(config)
    assert isinstance(source, GnssSource)
    return source


def open_gnss(node: Node) -> GnssSource:
    """Open the source described by a ``gnss:`` configuration node (see :mod:`hw.gnss.config`)."""
    return open_source(GnssConfig.from_node(node))


class Backoff:
    """Exponential reconnect delays (min, 2·min, ... max), reset after a success.

    Uses the monotonic clock: it paces I/O retries, it never stamps data.
    """

    __slots__ = ("_min", "_max", "_delay", "_next", "_clock")

    def __init__(self, min_s: float, max_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._min = min_s
        self._max = max_s
        self._delay = min_s
        self._next = 0.0
        self._clock = clock

    def ready(self) -> bool:
        return self._clock() >= self._next

    def wait_s(self) -> float:
        return max(0.0, self._next - self._clock())

    def failed(self) -> float:
        """Schedule the next attempt; returns the delay chosen."""
        d = self._delay
        self._next = self._clock() + d
        self._delay = min(self._max, self._delay * 2.0)
        return d

    def succeeded(self) -> None:
        self._delay = self._min
        self._next = 0.0
