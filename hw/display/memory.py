"""A sink that keeps frames in memory: the simulated backend for tests and the demo."""

from __future__ import annotations

from collections import deque

from PIL import Image

from hw.display.sink import Sink
from transit.yamlconf import Node


class MemorySink(Sink):
    """Keeps the last ``keep`` frames (copies, as shown after software dimming)."""

    def __init__(self, size: tuple[int, int] | None = None, keep: int = 16) -> None:
        super().__init__()
        self.size = size
        self.frames: deque[Image.Image] = deque(maxlen=max(1, keep))

    @classmethod
    def from_node(cls, node: Node) -> MemorySink:
        node.reject_unknown({"backend", "width", "height", "keep"})
        size = None
        if node.has("width") or node.has("height"):
            size = (node.get_int("width", min=1), node.get_int("height", min=1))
        return cls(size, node.get_int("keep", 16, min=1))

    def show(self, frame: Image.Image) -> None:
        self.frames.append(self.dim(frame).copy())
        self.frames_shown += 1

    @property
    def last(self) -> Image.Image | None:
        return self.frames[-1] if self.frames else None
