"""The sink interface and the backend registry chosen by configuration.

A sink takes finished frames (Pillow images of the panel's size) and pushes them to a device. Layouts
never know which sink they feed; a test uses the ``memory`` sink, a demo the ``png`` sink, a Pi the
framebuffer or an SPI/HUB75 panel.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

from PIL import Image

from transit.errors import BackendError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

# backend name -> "module:factory"; the module is imported only when the backend is chosen.
_BACKENDS: dict[str, str] = {
    "png": "hw.display.png:PngSink",
    "memory": "hw.display.memory:MemorySink",
    "dummy": "hw.display.memory:MemorySink",
    "framebuffer": "hw.display.framebuffer:FramebufferSink",
    "ssd1322": "hw.display.luma:LumaSink",
    "max7219": "hw.display.luma:LumaSink",
    "rgbmatrix": "hw.display.ledmatrix:RGBMatrixSink",
}


class Sink(ABC):
    """Where frames go. ``size`` is the device's pixel size when it has one (else ``None``)."""

    size: tuple[int, int] | None = None

    def __init__(self) -> None:
        self.brightness = 1.0
        self.frames_shown = 0

    @abstractmethod
    def show(self, frame: Image.Image) -> None:
        """Push one frame to the device."""

    def set_brightness(self, level: float) -> None:
        """0..1. Devices with a hardware control override this; others dim the pixels (see ``dim``)."""
        self.brightness = min(1.0, max(0.0, float(level)))

    def dim(self, frame: Image.Image) -> Image.Image:
        """The frame scaled by the software brightness (for PNG/framebuffer sinks without a dimmer)."""
        if self.brightness >= 0.999:
            return frame
        k = self.brightness
        return frame.point([int(v * k + 0.5) for v in range(256)] * len(frame.getbands()))

    def blank(self, size: tuple[int, int] | None = None) -> None:
        """Show a black frame (shutdown, night switch-off): ``size`` defaults to the device's."""
        w, h = size or self.size or (1, 1)
        self.show(Image.new("RGB", (w, h), (0, 0, 0)))

    def close(self) -> None:  # noqa: B027 - optional hook, most sinks hold nothing
        """Release the device; the default has nothing to release."""
        return None

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def open_sink(node: Node) -> Sink:
    """Open the sink described by a configuration node with a ``backend`` key.

    Unknown backends and missing driver libraries are :class:`BackendError` naming file, line and key.
    """
    bnode = node.child("backend")
    backend = bnode.as_str()
    target = _BACKENDS.get(backend)
    if target is None:
        raise BackendError(f"{bnode.file}:{bnode.line}: {bnode.path}: unknown display backend "
                           f"'{backend}' (known: {', '.join(available_backends())})")
    mod_name, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:  # pragma: no cover - only when a stdlib-level import breaks
        raise BackendError(f"display backend '{backend}' cannot be loaded: {exc}") from exc
    factory: Callable[[Node], Sink] = getattr(mod, attr).from_node
    sink = factory(node)
    log.info("display sink %s opened (%s)", backend, node.path or "display")
    return sink
