"""GPIO input sources: raw level changes ``(t, pin, level)`` of door beams and door contacts.

Backends, chosen by configuration (``gpio.backend``), never by an ``if simulate:`` in the logic:

* ``lgpio`` - gpiozero with the lgpio pin factory on a Raspberry Pi (``chip`` selects /dev/gpiochipN);
* ``mock`` - gpiozero's ``MockFactory``: the simulator or a test drives the pins;
* ``replay`` - a recorded ``gpio.csv`` (``t,pin,level``), read line by line.

gpiozero is imported only when a gpiozero backend is chosen, lgpio only for ``lgpio``. We take the raw
pin callbacks (not gpiozero's device events): debouncing is done by the door counter's stable-time
filter, which gpiozero's ``bounce_time`` cannot replace. Live edge times come from the pin factory's
tick counter mapped onto ``clock`` (default ``time.monotonic``; the service maps monotonic time to UTC
from GNSS, never from the wall clock).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from transit.errors import BackendError, DecodeError, DeviceError
from transit.ratelimit import RateLimitedLog
from transit.yamlconf import Node, resolve_path

log = logging.getLogger(__name__)

EdgeCallback = Callable[[float, int, int], None]
BACKENDS = ("lgpio", "mock", "replay")


@dataclass(frozen=True)
class GpioConfig:
    """The ``gpio`` section: backend, pins, pull resistors; ``file`` for replay, ``chip`` for lgpio."""

    backend: str
    pins: tuple[int, ...] = ()
    pull: str = "none"  # up | down | none (beam sensors with push-pull outputs need none)
    chip: int = 0
    file: str | None = None

    @classmethod
    def from_node(cls, node: Node, pins: tuple[int, ...] = ()) -> GpioConfig:
        """``pins`` from elsewhere (the counting section) are added to the section's own ``pins``."""
        node.reject_unknown({"backend", "pins", "pull", "chip", "file"})
        backend = node.child("backend").choice(BACKENDS)
        own: list[int] = []
        pn = node.opt("pins")
        if pn is not None:
            own = [p.as_int(min=0, max=1023) for p in pn.as_list()]
        allp = tuple(dict.fromkeys(own + list(pins)))
        pull = node.child("pull").choice(("up", "down", "none")) if node.opt("pull") else "none"
        fnode = node.opt("file")
        if backend == "replay" and fnode is None:
            raise node.error("backend replay needs file: path of a gpio.csv")
        file = None if fnode is None else str(resolve_path(fnode))  # relative to the config file
        return cls(backend, allp, pull, node.get_int("chip", 0, min=0), file)


class GpioInputs(Protocol):
    """What the onboard service needs from a GPIO backend."""

    pins: tuple[int, ...]

    def start(self, callback: EdgeCallback) -> None: ...
    def levels(self) -> dict[int, int]: ...
    def close(self) -> None: ...


class GpiozeroInputs:
    """Pins through a gpiozero pin factory (lgpio on a Pi, MockFactory in simulation and tests)."""

    def __init__(self, factory: Any, pins: tuple[int, ...], pull: str = "none",
                 clock: Callable[[], float] | None = None) -> None:
        from gpiozero import InputDevice  # imported only when a gpiozero backend is chosen

        self.factory = factory
        self.pins = pins
        self._clock = clock
        self._cb: EdgeCallback | None = None
        self._devices: dict[int, Any] = {}
        self._handlers: list[Callable[[Any, bool], None]] = []  # gpiozero keeps weak references
        self._t0 = time.monotonic()
        self._ticks0 = factory.ticks()
        self.edges = 0
        pull_up: bool | None = {"up": True, "down": False, "none": None}[pull]
        try:
            for p in pins:
                kw: dict[str, Any] = {"pull_up": pull_up, "pin_factory": factory}
                if pull_up is None:
                    kw["active_state"] = True
                self._devices[p] = InputDevice(p, **kw)
        except Exception as exc:  # gpiozero raises its own tree (PinInvalidPin, GPIOPinInUse, ...)
            self.close()
            raise DeviceError(f"cannot open GPIO pin(s) {list(pins)}: {exc}") from exc

    def start(self, callback: EdgeCallback) -> None:
        self._cb = callback
        for p, dev in self._devices.items():
            handler = self._handler(p)
            self._handlers.append(handler)
            dev.pin.bounce = None
            dev.pin.edges = "both"
            dev.pin.when_changed = handler

    def _handler(self, pin: int) -> Callable[[Any, bool], None]:
        def on_change(ticks: Any, state: bool) -> None:
            if self._clock is not None:
                t = self._clock()
            else:
                t = self._t0 + self.factory.ticks_diff(ticks, self._ticks0)
            self.edges += 1
            cb = self._cb
            if cb is not None:
                cb(t, pin, 1 if state else 0)
        return on_change

    def levels(self) -> dict[int, int]:
        return {p: 1 if dev.pin.state else 0 for p, dev in self._devices.items()}

    def close(self) -> None:
        for dev in self._devices.values():
            try:
                dev.close()
            except Exception:  # closing must not hide the original error
                log.debug("closing a GPIO device failed", exc_info=True)
        self._devices.clear()


class ReplayInputs:
    """Edges from a recorded ``gpio.csv`` (``t,pin,level``; a header line and ``#`` comments allowed).

    Bad lines are counted and logged (1st, 10th, 100th ...); good lines are never lost.
    """

    def __init__(self, path: str | Path, pins: tuple[int, ...] = ()) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DeviceError(f"{self.path}: no such GPIO recording")
        self.pins = pins
        self.bad_lines = 0
        self._rlog = RateLimitedLog(log)  # paced by count: a bad line has no trustworthy time
        self._levels: dict[int, int] = {p: 0 for p in pins}

    def edges(self) -> Iterator[tuple[float, int, int]]:
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                s = line.strip()
                if not s or s.startswith("#") or (lineno == 1 and s.startswith("t")):
                    continue
                try:
                    e = parse_edge(s)
                except DecodeError as exc:
                    self.bad_lines += 1
                    self._rlog.warn("bad_line", "%s:%d: %s (bad line %d)", self.path, lineno, exc,
                                    self.bad_lines)
                    continue
                self._levels[e[1]] = e[2]
                yield e

    def start(self, callback: EdgeCallback) -> None:
        for t, pin, level in self.edges():
            callback(t, pin, level)

    def levels(self) -> dict[int, int]:
        return dict(self._levels)

    def close(self) -> None:
        pass


def parse_edge(line: str) -> tuple[float, int, int]:
    """One ``t,pin,level`` line; :class:`DecodeError` when it is not one."""
    parts = line.split(",")
    if len(parts) != 3:
        raise DecodeError(f"expected t,pin,level, got {line[:60]!r}")
    try:
        t = float(parts[0])
        pin = int(parts[1])
        level = int(parts[2])
    except ValueError:
        raise DecodeError(f"expected numbers in t,pin,level, got {line[:60]!r}") from None
    if level not in (0, 1) or pin < 0 or not math.isfinite(t):
        raise DecodeError(f"level must be 0 or 1, pin >= 0 and t finite, got {line[:60]!r}")
    return t, pin, level


def open_gpio(node: Node, pins: tuple[int, ...] = (), clock: Callable[[], float] | None = None) -> GpioInputs:
    """Open the configured backend for ``pins`` (door beams and contacts) plus the section's own pins."""
    cfg = GpioConfig.from_node(node, pins)
    return open_from_config(cfg, clock)


def open_from_config(cfg: GpioConfig, clock: Callable[[], float] | None = None) -> GpioInputs:
    if cfg.backend == "replay":
        assert cfg.file is not None
        return ReplayInputs(cfg.file, cfg.pins)
    if cfg.backend == "mock":
        from gpiozero.pins.mock import MockFactory

        return GpiozeroInputs(MockFactory(), cfg.pins, cfg.pull, clock)
    if cfg.backend == "lgpio":
        try:
            from gpiozero.pins.lgpio import LGPIOFactory
        except ImportError as exc:  # lgpio is the 'pi' extra
            raise BackendError(f"gpio backend lgpio needs the lgpio package (pip install rettid[pi]): {exc}") \
                from exc
        try:
            factory = LGPIOFactory(chip=cfg.chip)
        except Exception as exc:  # lgpio.error, OSError: no /dev/gpiochipN or no permission
            raise DeviceError(f"cannot open /dev/gpiochip{cfg.chip}: {exc}") from exc
        return GpiozeroInputs(factory, cfg.pins, cfg.pull, clock)
    raise BackendError(f"unknown gpio backend {cfg.backend!r}")
