"""Display sinks: registry, PNG, memory, framebuffer byte layouts on a plain file, optional backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from hw.display import available_backends, open_sink
from hw.display.framebuffer import FramebufferSink, read_sysfs_geometry, to_rgb565, to_xrgb8888
from hw.display.memory import MemorySink
from hw.display.png import PngSink
from transit.errors import BackendError, ConfigError, DeviceError
from transit.yamlconf import parse_yaml


def node(text: str, file: str = "<test>"):
    return parse_yaml(text, file)


def test_registry_lists_backends_and_rejects_unknown() -> None:
    assert {"png", "memory", "dummy", "framebuffer", "ssd1322", "max7219", "rgbmatrix"} <= set(available_backends())
    with pytest.raises(BackendError, match=r"cfg.yaml:1: backend: unknown display backend 'vga'"):
        open_sink(node("backend: vga\n", "cfg.yaml"))


def test_importing_hw_display_does_not_import_driver_libraries() -> None:
    code = ("import sys, hw.display, hw.display.png, hw.display.framebuffer, hw.display.memory;"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('luma','rgbmatrix')]; print(bad); "
            "assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("backend", ["ssd1322", "max7219", "rgbmatrix"])
def test_optional_backend_without_library_is_a_clear_error(backend: str) -> None:
    try:
        __import__("luma.core" if backend != "rgbmatrix" else "rgbmatrix")
        pytest.skip("driver library installed here")
    except ImportError:
        pass
    with pytest.raises(BackendError, match=backend):
        open_sink(node(f"backend: {backend}\n"))


def test_memory_sink_keeps_frames_and_dims_in_software() -> None:
    sink = open_sink(node("backend: memory\nwidth: 4\nheight: 2\nkeep: 2\n"))
    assert isinstance(sink, MemorySink) and sink.size == (4, 2)
    for v in (10, 20, 200):
        sink.show(Image.new("RGB", (4, 2), (v, v, v)))
    assert len(sink.frames) == 2 and sink.frames_shown == 3
    sink.set_brightness(0.5)
    sink.show(Image.new("RGB", (4, 2), (200, 100, 0)))
    assert sink.last is not None and sink.last.getpixel((0, 0)) == (100, 50, 0)
    sink.blank()
    assert sink.last.size == (4, 2) and sink.last.getextrema() == ((0, 0), (0, 0), (0, 0))


def test_png_sink_writes_atomically_relative_to_config_and_scales(tmp_path: Path) -> None:
    cfg = tmp_path / "station.yaml"
    n = parse_yaml("backend: png\npath: out/frame.png\nscale: 3\n", str(cfg))
    sink = open_sink(n)
    assert isinstance(sink, PngSink)
    sink.show(Image.new("RGB", (5, 4), (255, 0, 0)))
    out = tmp_path / "out" / "frame.png"
    img = Image.open(out)
    assert img.size == (15, 12) and img.getpixel((14, 11)) == (255, 0, 0)
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_png_sink_numbered_frames(tmp_path: Path) -> None:
    sink = PngSink(tmp_path / "f{n}.png")
    for _ in range(3):
        sink.show(Image.new("RGB", (2, 2)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f000000.png", "f000001.png", "f000002.png"]


def test_png_sink_unwritable_is_device_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DeviceError, match="cannot write"):
        PngSink(blocker / "sub" / "x.png").show(Image.new("RGB", (2, 2)))


def test_rgb565_and_xrgb8888_byte_layout() -> None:
    img = Image.new("RGB", (3, 1))
    img.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    # little-endian RGB565: red 0xF800, green 0x07E0, blue 0x001F
    assert to_rgb565(img) == bytes([0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00])
    assert to_xrgb8888(img) == bytes([0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0])
    grey = Image.new("RGB", (1, 1), (0x84, 0x86, 0x88))  # r>>3=16, g>>2=33, b>>3=17
    value = (16 << 11) | (33 << 5) | 17
    assert to_rgb565(grey) == value.to_bytes(2, "little")


def _fb_file(tmp_path: Path, size: int) -> Path:
    p = tmp_path / "fb0"
    p.write_bytes(b"\xee" * size)
    return p


def test_framebuffer_on_plain_file_with_stride_and_offset(tmp_path: Path) -> None:
    fb = _fb_file(tmp_path, 4 * 10 * 3)  # 3 lines of stride 40 (8 px used + padding)
    n = parse_yaml(f"backend: framebuffer\ndevice: {fb}\nformat: xrgb8888\nwidth: 8\nheight: 3\nstride: 40\n"
                   "offset: [1, 1]\nsysfs: {tmp_path}/nosysfs\n".replace("{tmp_path}", str(tmp_path)), "x.yaml")
    sink = open_sink(n)
    assert isinstance(sink, FramebufferSink)
    sink.show(Image.new("RGB", (20, 20), (1, 2, 3)))  # larger than the framebuffer: cropped
    sink.close()
    data = fb.read_bytes()
    assert data[:40] == b"\xee" * 40                     # line 0 untouched (offset y=1)
    line1 = data[40:80]
    assert line1[:4] == b"\xee" * 4                      # x=0 untouched (offset x=1)
    assert line1[4:32] == bytes([3, 2, 1, 0]) * 7        # 7 pixels written, BGRX
    assert line1[32:] == b"\xee" * 8                     # stride padding untouched


def test_framebuffer_geometry_from_sysfs(tmp_path: Path) -> None:
    sysfs = tmp_path / "sys" / "fb1"
    sysfs.mkdir(parents=True)
    (sysfs / "virtual_size").write_text("4,2\n")
    (sysfs / "bits_per_pixel").write_text("16\n")
    (sysfs / "stride").write_text("8\n")
    dev = tmp_path / "fb1"
    dev.write_bytes(bytes(16))
    assert read_sysfs_geometry(str(dev), tmp_path / "sys") == (4, 2, 16, 8)
    sink = open_sink(parse_yaml(f"backend: framebuffer\ndevice: {dev}\nsysfs: {tmp_path / 'sys'}\n"))
    assert isinstance(sink, FramebufferSink) and sink.fmt == "rgb565" and sink.size == (4, 2)
    sink.show(Image.new("RGB", (4, 2), (255, 255, 255)))
    sink.close()
    assert dev.read_bytes() == b"\xff" * 16
    with pytest.raises(ConfigError, match="16 bpp"):
        open_sink(parse_yaml(f"backend: framebuffer\ndevice: {dev}\nformat: xrgb8888\nsysfs: {tmp_path / 'sys'}\n"))


def test_framebuffer_config_errors(tmp_path: Path) -> None:
    (tmp_path / "fb7").write_bytes(b"")  # a device without sysfs geometry needs it configured
    with pytest.raises(ConfigError, match="set format, width and height"):
        open_sink(parse_yaml(f"backend: framebuffer\ndevice: {tmp_path}/fb7\nsysfs: {tmp_path}\n"))
    with pytest.raises(DeviceError, match="does not exist"):  # retried by the services, not exit 2
        open_sink(parse_yaml(f"backend: framebuffer\ndevice: {tmp_path}/missing/fb7\nformat: rgb565\n"
                             f"width: 2\nheight: 2\nsysfs: {tmp_path}\n"))
    with pytest.raises(ConfigError, match="unknown key"):
        open_sink(parse_yaml("backend: framebuffer\ndevcie: /dev/fb0\n"))


class _FakeLumaDevice:
    """Stands in for a luma device (same attributes and methods our wrapper uses)."""

    width, height, mode = 256, 64, "RGB"

    def __init__(self) -> None:
        self.shown: list[Image.Image] = []
        self.contrast_level: int | None = None
        self.cleaned = False

    def display(self, img: Image.Image) -> None:
        self.shown.append(img)

    def contrast(self, level: int) -> None:
        self.contrast_level = level

    def cleanup(self) -> None:
        self.cleaned = True


def test_luma_wrapper_uses_device_mode_and_hardware_contrast() -> None:
    from hw.display.luma import LumaSink

    dev = _FakeLumaDevice()
    dev.mode = "1"  # monochrome OLED
    sink = LumaSink(dev)
    assert sink.size == (256, 64)
    sink.set_brightness(0.3)
    sink.show(Image.new("RGB", (256, 64), (255, 255, 255)))
    assert dev.contrast_level == 76 and dev.shown[0].mode == "1"
    assert dev.shown[0].getpixel((0, 0)) == 255  # not dimmed in software: the controller does it
    sink.close()
    assert dev.cleaned


def test_rgbmatrix_wrapper_sets_image_and_brightness() -> None:
    from hw.display.ledmatrix import RGBMatrixSink

    class Matrix:
        width, height, brightness = 192, 32, 100

        def __init__(self) -> None:
            self.images: list[Image.Image] = []
            self.cleared = False

        def SetImage(self, img: Image.Image) -> None:  # noqa: N802 - the binding's name
            self.images.append(img)

        def Clear(self) -> None:  # noqa: N802
            self.cleared = True

    m = Matrix()
    sink = RGBMatrixSink(m)
    sink.set_brightness(0.0)
    assert m.brightness == 1  # never fully off through brightness: blank() is for that
    sink.show(Image.new("L", (192, 32), 128))
    assert m.images[0].mode == "RGB" and sink.frames_shown == 1
    sink.close()
    assert m.cleared
