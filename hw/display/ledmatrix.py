"""HUB75 RGB LED matrix sink through hzeller's rpi-rgb-led-matrix Python binding (``rgbmatrix``).

A 192x32 LED strip is typically three chained 64x32 HUB75 panels. The binding is imported only when
this backend is chosen.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from hw.display.sink import Sink
from transit.errors import BackendError, DeviceError
from transit.yamlconf import Node


class RGBMatrixSink(Sink):
    def __init__(self, matrix: Any) -> None:
        super().__init__()
        self.matrix = matrix
        self.size = (int(matrix.width), int(matrix.height))

    @classmethod
    def from_node(cls, node: Node) -> RGBMatrixSink:
        node.reject_unknown({"backend", "rows", "cols", "chain_length", "parallel", "hardware_mapping",
                             "gpio_slowdown", "width", "height"})
        try:
            from rgbmatrix import RGBMatrix, RGBMatrixOptions
        except ImportError as exc:
            raise BackendError(f"{node.file}:{node.line}: display backend 'rgbmatrix' needs the "
                               f"rpi-rgb-led-matrix Python binding: {exc}") from exc
        opts = RGBMatrixOptions()
        opts.rows = node.get_int("rows", 32, min=8)
        opts.cols = node.get_int("cols", 64, min=8)
        opts.chain_length = node.get_int("chain_length", 3, min=1)
        opts.parallel = node.get_int("parallel", 1, min=1, max=3)
        opts.hardware_mapping = node.get_str("hardware_mapping", "regular")
        opts.gpio_slowdown = node.get_int("gpio_slowdown", 2, min=0)
        try:
            matrix = RGBMatrix(options=opts)
        except Exception as exc:  # the binding raises plain exceptions for missing /dev/mem etc.
            raise DeviceError(f"{node.file}:{node.line}: cannot open the LED matrix: {exc}") from exc
        return cls(matrix)

    def show(self, frame: Image.Image) -> None:
        self.matrix.SetImage(frame.convert("RGB"))
        self.frames_shown += 1

    def set_brightness(self, level: float) -> None:
        super().set_brightness(level)
        self.matrix.brightness = max(1, int(round(self.brightness * 100)))

    def dim(self, frame: Image.Image) -> Image.Image:
        return frame

    def close(self) -> None:
        self.matrix.Clear()
