"""luma.oled / luma.led_matrix sinks (SPI OLED SSD1322 256x64, MAX7219 LED matrices).

luma is imported only here and only when one of these backends is chosen (``pip install .[luma]``).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from hw.display.sink import Sink
from transit.errors import BackendError, DeviceError
from transit.yamlconf import Node


class LumaSink(Sink):
    """Wraps a luma device: frames are converted to the device's mode, brightness is its contrast."""

    def __init__(self, device: Any) -> None:
        super().__init__()
        self.device = device
        self.size = (int(device.width), int(device.height))

    @classmethod
    def from_node(cls, node: Node) -> LumaSink:
        backend = node.child("backend").as_str()
        node.reject_unknown({"backend", "port", "device", "gpio_dc", "gpio_rst", "width", "height",
                             "rotate", "cascaded", "block_orientation", "bus_speed_hz"})
        try:
            from luma.core.interface.serial import spi
        except ImportError as exc:
            raise BackendError(f"{node.file}:{node.line}: display backend '{backend}' needs luma "
                               f"(pip install 'rettid[luma]'): {exc}") from exc
        port = node.get_int("port", 0, min=0)
        dev = node.get_int("device", 0, min=0)
        try:
            if backend == "ssd1322":
                from luma.oled.device import ssd1322
                serial = spi(port=port, device=dev, gpio_DC=node.get_int("gpio_dc", 24),
                             gpio_RST=node.get_int("gpio_rst", 25),
                             bus_speed_hz=node.get_int("bus_speed_hz", 8_000_000))
                device = ssd1322(serial, width=node.get_int("width", 256), height=node.get_int("height", 64),
                                 rotate=node.get_int("rotate", 0, min=0, max=3))
            else:
                from luma.core.interface.serial import noop
                from luma.led_matrix.device import max7219
                serial = spi(port=port, device=dev, gpio=noop())
                device = max7219(serial, cascaded=node.get_int("cascaded", 4, min=1),
                                 block_orientation=node.get_int("block_orientation", 0),
                                 rotate=node.get_int("rotate", 0, min=0, max=3))
        except ImportError as exc:  # spi() imports spidev and RPi.GPIO only when it opens the port
            missing = exc.name or str(exc)
            raise BackendError(f"{node.file}:{node.line}: display backend '{backend}' needs the Python module "
                               f"'{missing}' (pip install 'rettid[luma]' brings luma.oled, luma.led_matrix, "
                               "spidev and RPi.GPIO)") from exc
        except Exception as exc:  # luma raises its own DeviceNotFoundError and OSError subclasses
            raise DeviceError(f"{node.file}:{node.line}: cannot open {backend}: {exc}") from exc
        return cls(device)

    def show(self, frame: Image.Image) -> None:
        self.device.display(frame.convert(self.device.mode))
        self.frames_shown += 1

    def set_brightness(self, level: float) -> None:
        super().set_brightness(level)
        self.device.contrast(int(round(self.brightness * 255)))

    def dim(self, frame: Image.Image) -> Image.Image:
        return frame  # the controller dims in hardware

    def close(self) -> None:
        self.device.cleanup()
