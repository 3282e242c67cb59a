"""Is the configured hardware there? For ``check-config``: presence, not function — nothing is opened for
writing, no bus is joined. Each function takes a configuration section (a ``Node``) and returns the
problems, each naming file, line and key; an empty list means the device can be opened."""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

from transit.errors import RettidError
from transit.yamlconf import Node


def _missing_modules(*names: str) -> list[str]:
    return [n for n in names if importlib.util.find_spec(n) is None]


def _where(node: Node, key: str, message: str) -> str:
    target = node.opt(key) or node
    return str(target.error(message))


def gnss_problems(node: Node) -> list[str]:
    from hw.gnss.config import GnssConfig

    try:
        cfg = GnssConfig.from_node(node)
    except RettidError as exc:
        return [str(exc)]
    if cfg.backend == "serial":
        if "://" in cfg.url:  # a pyserial URL (loop://, socket://, rfc2217://): nothing to look at
            return []
        if not os.path.exists(cfg.url):
            return [_where(node, "url", f"serial device {cfg.url} does not exist (receiver unplugged?)")]
        if not os.access(cfg.url, os.R_OK):
            return [_where(node, "url", f"serial device {cfg.url} is not readable (group dialout?)")]
    elif cfg.backend == "file":
        if not os.path.isfile(cfg.path):
            return [_where(node, "path", f"NMEA file {cfg.path} does not exist")]
    elif cfg.backend == "gpsd":
        try:
            socket.create_connection((cfg.host, cfg.port), timeout=1.0).close()
        except OSError as exc:
            return [_where(node, "host", f"gpsd at {cfg.host}:{cfg.port} does not answer ({exc.strerror or exc})")]
    return []


def can_problems(node: Node) -> list[str]:
    from hw.can.config import CanConfig

    try:
        cfg = CanConfig.from_node(node)
    except RettidError as exc:
        return [str(exc)]
    if cfg.backend == "socketcan":
        if not Path("/sys/class/net", cfg.channel).exists():
            return [_where(node, "channel", f"CAN interface {cfg.channel} does not exist (overlay loaded? "
                           "systemd-networkd file?)")]
    elif cfg.backend == "slcan":
        if "://" not in cfg.channel and not os.path.exists(cfg.channel):
            return [_where(node, "channel", f"SLCAN adapter {cfg.channel} does not exist")]
    elif cfg.backend == "replay":
        if cfg.file is None or not cfg.file.is_file():
            return [_where(node, "file", f"CAN log {cfg.file} does not exist")]
    return []


def gpio_problems(node: Node) -> list[str]:
    from hw.gpio.inputs import GpioConfig

    try:
        cfg = GpioConfig.from_node(node)
    except RettidError as exc:
        return [str(exc)]
    if cfg.backend == "lgpio":
        out = []
        if _missing_modules("lgpio"):
            out.append(_where(node, "backend", "the lgpio module is not installed (pip install 'rettid[pi]')"))
        chip = f"/dev/gpiochip{cfg.chip}"
        if not os.path.exists(chip):
            out.append(_where(node, "chip", f"{chip} does not exist"))
        elif not os.access(chip, os.R_OK | os.W_OK):
            out.append(_where(node, "chip", f"{chip} is not accessible (group gpio? docs/deploy.md step 1)"))
        return out
    if cfg.backend == "replay" and (cfg.file is None or not os.path.isfile(cfg.file)):
        return [_where(node, "file", f"GPIO recording {cfg.file} does not exist")]
    return []


def display_problems(node: Node) -> list[str]:
    backend = node.child("backend").as_str()
    if backend == "framebuffer":
        dev = node.get_str("device", "/dev/fb0")
        if not os.path.exists(dev):
            return [_where(node, "device", f"framebuffer {dev} does not exist (display not connected or "
                           "driver not loaded; the service retries every 30 s)")]
        if not os.access(dev, os.W_OK):
            return [_where(node, "device", f"framebuffer {dev} is not writable (group video?)")]
    elif backend in ("ssd1322", "max7219"):
        out = []
        missing = _missing_modules("luma.core", "spidev", "RPi.GPIO")
        if missing:
            out.append(_where(node, "backend", f"{', '.join(missing)} not installed (pip install 'rettid[luma]')"))
        dev = f"/dev/spidev{node.get_int('port', 0, min=0)}.{node.get_int('device', 0, min=0)}"
        if not os.path.exists(dev):
            out.append(_where(node, "port", f"{dev} does not exist (dtparam=spi=on in config.txt?)"))
        return out
    elif backend == "rgbmatrix" and _missing_modules("rgbmatrix"):
        return [_where(node, "backend", "the rgbmatrix module (hzeller/rpi-rgb-led-matrix) is not installed")]
    elif backend == "png":
        path = node.opt("path")
        if path is not None:
            from transit.yamlconf import resolve_path

            parent = resolve_path(path).parent
            while not parent.exists():
                parent = parent.parent
            if not os.access(parent, os.W_OK):
                return [_where(node, "path", f"{parent} is not writable")]
    return []


def audio_problems(node: Node | None) -> list[str]:
    """The announcements' sound device (``announce.sink``; None: ALSA's ``default``): the player program
    installed, the ALSA card present and accessible, a file sink's directory writable."""
    import re
    import shutil

    backend = "alsa" if node is None else node.child("backend").as_str()
    if backend in ("alsa", "pulse"):
        prog = "aplay" if backend == "alsa" else "paplay"
        prog = prog if node is None else node.get_str("program", prog)
        if shutil.which(prog) is None:
            pkg = "alsa-utils" if backend == "alsa" else "pulseaudio-utils"
            msg = f"audio player '{prog}' not found (apt-get install {pkg})"
            return [msg if node is None else _where(node, "backend", msg)]
    if backend == "alsa":
        device = "default" if node is None else node.get_str("device", "default")
        if device == "null":
            return []
        m = re.search(r"hw:(?:CARD=)?(\d+)", device)
        ctl = Path("/dev/snd") / (f"controlC{m.group(1)}" if m else "")
        if not ctl.exists():
            msg = (f"ALSA device '{device}': {ctl} does not exist (sound card not connected, or no sound "
                   "driver loaded; the service retries every 30 s)")
            return [msg if node is None else _where(node, "device", msg)]
        if not os.access(ctl, os.R_OK | os.W_OK):
            msg = f"ALSA device '{device}': {ctl} is not accessible (group audio?)"
            return [msg if node is None else _where(node, "device", msg)]
    elif backend == "file" and node is not None:
        from transit.yamlconf import resolve_path

        parent = resolve_path(node.child("dir"))
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK):
            return [_where(node, "dir", f"{parent} is not writable")]
    return []


__all__ = ["audio_problems", "can_problems", "display_problems", "gnss_problems", "gpio_problems"]
