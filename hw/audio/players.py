"""ALSA and PulseAudio sinks: the WAV is handed to ``aplay`` / ``paplay``, which return when it has been
played. A subprocess rather than a Python binding: pyalsaaudio and the PulseAudio bindings need C
builds on the Pi and add nothing for "play this file to that device" — and a stuck device can be killed
by a timeout without taking the service's thread with it."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path

from hw.audio.sink import AudioSink, wav_duration
from transit.errors import DeviceError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

#: extra seconds a player may take beyond the WAV's duration (device open, buffer drain)
PLAY_MARGIN_S = 10.0


class CommandSink(AudioSink):
    """Plays through an external program; :class:`DeviceError` when it is missing, fails or hangs."""

    program = ""
    package = ""

    def __init__(self, device: str | None = None, program: str | None = None) -> None:
        super().__init__()
        self.device = device
        if program is not None:
            self.program = program

    def command(self, prog: str, wav: Path) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def play(self, wav: Path, name: str) -> None:
        prog = shutil.which(self.program)
        if prog is None:
            raise DeviceError(f"audio player '{self.program}' not found (apt-get install {self.package})")
        timeout = wav_duration(wav) + PLAY_MARGIN_S
        try:
            # its own process group: a stuck player (and anything it started) is killed as a whole
            proc = subprocess.Popen(self.command(prog, wav), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise DeviceError(f"{self.program} cannot run: {exc}") from exc
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise DeviceError(f"{self.program} did not finish {name} within {timeout:.1f} s "
                              f"(device {self.device or 'default'} stuck?)") from exc
        if proc.returncode != 0:
            err = stderr.decode(errors="replace").strip().splitlines()
            raise DeviceError(f"{self.program} exited {proc.returncode} on device {self.device or 'default'}: "
                              f"{err[-1][:200] if err else 'no message'}")
        self.played += 1


class AlsaSink(CommandSink):
    """``aplay -q -D <device>``: ``device`` is an ALSA PCM name (``default``, ``plughw:1,0``,
    ``null``); the service's user needs the ``audio`` group for ``/dev/snd``."""

    program = "aplay"
    package = "alsa-utils"

    @classmethod
    def from_node(cls, node: Node) -> AlsaSink:
        node.reject_unknown({"backend", "device", "program"})
        return cls(node.get_str("device", "default"), node.get_str("program", "aplay"))

    def command(self, prog: str, wav: Path) -> list[str]:
        return [prog, "-q", "-D", self.device or "default", str(wav)]


class PulseSink(CommandSink):
    """``paplay``: ``device`` is a PulseAudio/PipeWire sink name (``pactl list short sinks``); without
    one, the server's default sink."""

    program = "paplay"
    package = "pulseaudio-utils"

    @classmethod
    def from_node(cls, node: Node) -> PulseSink:
        node.reject_unknown({"backend", "device", "program"})
        dev = node.opt("device")
        return cls(None if dev is None else dev.as_str(), node.get_str("program", "paplay"))

    def command(self, prog: str, wav: Path) -> list[str]:
        return [prog, *(["--device", self.device] if self.device else []), str(wav)]


__all__ = ["AlsaSink", "CommandSink", "PulseSink"]
