"""Linux framebuffer sink (``/dev/fbN``): RGB565 and XRGB8888, geometry from sysfs or configuration.

Works on a plain file too (tests, or a file a remote viewer maps), because it only seeks and writes.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageChops

from hw.display.sink import Sink
from transit.errors import DeviceError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

FORMATS = {"rgb565": 2, "xrgb8888": 4}

# Pillow has no RGB -> RGB565 packer and we do not want numpy on the Pi for one conversion, so the two
# bytes of each little-endian pixel are built with lookup tables and merged as a two-band image.
_LO_G = [(g << 3) & 0xE0 for g in range(256)]
_LO_B = [b >> 3 for b in range(256)]
_HI_R = [r & 0xF8 for r in range(256)]
_HI_G = [g >> 5 for g in range(256)]


def to_rgb565(img: Image.Image) -> bytes:
    """Little-endian RGB565 bytes of an image (row-major, no padding)."""
    r, g, b = img.convert("RGB").split()
    lo = ImageChops.add(g.point(_LO_G), b.point(_LO_B))
    hi = ImageChops.add(r.point(_HI_R), g.point(_HI_G))
    return Image.merge("LA", (lo, hi)).tobytes()


def to_xrgb8888(img: Image.Image) -> bytes:
    """Little-endian XRGB8888 (bytes B, G, R, X) of an image, as the kernel's 32 bpp framebuffer."""
    return img.convert("RGB").tobytes("raw", "BGRX")


def read_sysfs_geometry(device: str, sysfs_root: str | Path = "/sys/class/graphics"
                        ) -> tuple[int, int, int, int] | None:
    """``(width, height, bits_per_pixel, stride)`` of ``/dev/fbN`` from sysfs, or ``None`` if absent."""
    m = re.search(r"(fb\d+)$", device)
    if not m:
        return None
    base = Path(sysfs_root) / m.group(1)
    try:
        w, h = (int(x) for x in (base / "virtual_size").read_text().strip().split(","))
        bpp = int((base / "bits_per_pixel").read_text().strip())
        stride_file = base / "stride"
        stride = int(stride_file.read_text().strip()) if stride_file.exists() else w * bpp // 8
    except (OSError, ValueError) as exc:
        log.debug("no usable sysfs geometry for %s: %s", device, exc)
        return None
    return w, h, bpp, stride


class FramebufferSink(Sink):
    """Writes frames at ``offset`` into the framebuffer; frames larger than it are cropped."""

    def __init__(self, device: str, width: int, height: int, fmt: str, stride: int | None = None,
                 offset: tuple[int, int] = (0, 0)) -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise DeviceError(f"framebuffer format '{fmt}' not supported (use {', '.join(FORMATS)})")
        self.device = device
        self.size = (width, height)
        self.fmt = fmt
        self.bpp = FORMATS[fmt]
        self.stride = stride or width * self.bpp
        self.offset = offset
        try:
            self._fh: BinaryIO = open(device, "r+b", buffering=0)  # noqa: SIM115 - kept open while showing
        except OSError as exc:
            raise DeviceError(f"cannot open framebuffer {device}: {exc.strerror or exc}") from exc

    @classmethod
    def from_node(cls, node: Node) -> FramebufferSink:
        """Geometry from sysfs when the kernel has it (the truth on a Pi), else from ``width``/``height``/
        ``format`` in the configuration; a configured format must agree with sysfs."""
        node.reject_unknown({"backend", "device", "format", "width", "height", "stride", "offset",
                             "sysfs"})
        device = node.get_str("device", "/dev/fb0")
        if not os.path.exists(device):
            # HDMI unplugged or the driver not loaded yet: a device problem the service retries every
            # 30 s, not a configuration error (that would exit 2 and loop through systemd restarts)
            raise DeviceError(f"framebuffer {device} does not exist (display not connected or driver not loaded)")
        geo = read_sysfs_geometry(device, node.get_str("sysfs", "/sys/class/graphics"))
        fmt_node = node.opt("format")
        fmt = fmt_node.choice(tuple(FORMATS)) if fmt_node else None
        if geo is not None:
            w, h, bits, stride = geo
            sys_fmt = {16: "rgb565", 32: "xrgb8888"}.get(bits)
            if sys_fmt is None:
                raise DeviceError(f"{device}: {bits} bits per pixel is not supported (16 or 32)")
            if fmt is not None and fmt != sys_fmt and fmt_node is not None:
                raise fmt_node.error(f"{device} is {bits} bpp ({sys_fmt}) according to sysfs")
            fmt = sys_fmt
        else:
            if fmt is None:
                raise node.error("no sysfs geometry for this device: set format, width and height")
            w, h = node.get_int("width", min=1), node.get_int("height", min=1)
            stride = node.get_int("stride", w * FORMATS[fmt], min=w * FORMATS[fmt])
        off = (0, 0)
        o = node.opt("offset")
        if o is not None:
            items = o.as_list()
            if len(items) != 2:
                raise o.error("expected [x, y]")
            off = (items[0].as_int(min=0), items[1].as_int(min=0))
        return cls(device, w, h, fmt, stride, off)

    def show(self, frame: Image.Image) -> None:
        w, h = self.size if self.size else frame.size
        ox, oy = self.offset
        cw, ch = min(frame.width, w - ox), min(frame.height, h - oy)
        if cw <= 0 or ch <= 0:
            return
        img = self.dim(frame)
        if (cw, ch) != img.size:
            img = img.crop((0, 0, cw, ch))
        data = to_rgb565(img) if self.fmt == "rgb565" else to_xrgb8888(img)
        row = cw * self.bpp
        try:
            if ox == 0 and row == self.stride:
                self._fh.seek(oy * self.stride)
                self._fh.write(data)
            else:
                for y in range(ch):
                    self._fh.seek((oy + y) * self.stride + ox * self.bpp)
                    self._fh.write(data[y * row:(y + 1) * row])
        except OSError as exc:
            raise DeviceError(f"cannot write to framebuffer {self.device}: {exc.strerror or exc}") from exc
        self.frames_shown += 1

    def close(self) -> None:
        self._fh.close()
