"""Speech through espeak-ng: Danish text in, a WAV file out.

espeak-ng is run as a subprocess (``espeak-ng -v da -s 150 -a 100 -w out.wav``, text on stdin): there
is no maintained Python binding (``py-espeak-ng`` and ``espeakng`` wrap the same command line, the
ctypes bindings of libespeak-ng are unmaintained and not packaged by Debian), and a separate process can
be bounded by a timeout and cannot take the service down with it. Debian's ``espeak-ng`` package brings
the Danish voice (``da``, ``gmq/da``). The text goes on stdin, never on the command line, so a text that
starts with ``-`` is spoken rather than read as an option.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from transit.errors import DeviceError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

#: espeak-ng voice names: a language (``da``, ``en-gb``) or voice file (``gmq/da``), optionally
#: ``+variant`` (``da+f3``)
_VOICE = re.compile(r"^[A-Za-z][A-Za-z0-9_/-]{0,40}(\+[A-Za-z0-9_-]{1,40})?$")
#: longest text handed to the engine (a deviation's text is at most 500 characters; several of them
#: and the stop names fit well inside this)
MAX_SPEECH_CHARS = 4000


@dataclass(frozen=True)
class EspeakConfig:
    """``voice`` (espeak-ng voice, ``da``), ``speed`` (words per minute, 80–450), ``volume`` (espeak-ng
    amplitude 0–200, 100 = normal), ``pitch`` (0–99, 50 = normal), ``program``."""

    voice: str = "da"
    speed: int = 150
    volume: int = 100
    pitch: int = 50
    program: str = "espeak-ng"
    timeout_s: float = 30.0

    KEYS = frozenset({"voice", "speed", "volume", "pitch", "program"})

    @classmethod
    def from_node(cls, node: Node | None, *, allowed_extra: frozenset[str] = frozenset()) -> EspeakConfig:
        """From a configuration section holding these keys (and ``allowed_extra``, parsed by the caller)."""
        if node is None:
            return cls()
        node.reject_unknown(cls.KEYS | allowed_extra)
        vnode = node.opt("voice")
        voice = "da" if vnode is None else vnode.as_str()
        if vnode is not None and not _VOICE.match(voice):
            raise vnode.error(f"'{voice}' is no espeak-ng voice name (e.g. da, da+f3, gmq/da)")
        return cls(voice=voice, speed=node.get_int("speed", 150, min=80, max=450),
                   volume=node.get_int("volume", 100, min=0, max=200),
                   pitch=node.get_int("pitch", 50, min=0, max=99),
                   program=node.get_str("program", "espeak-ng"))


class Espeak:
    """The speech engine: :meth:`synthesize` writes a WAV; :meth:`problems` says what keeps it from
    working (program missing, voice not installed) without speaking."""

    def __init__(self, cfg: EspeakConfig | None = None) -> None:
        self.cfg = cfg or EspeakConfig()

    def _program(self) -> str:
        prog = shutil.which(self.cfg.program)
        if prog is None:
            raise DeviceError(f"speech program '{self.cfg.program}' not found (apt-get install espeak-ng)")
        return prog

    def voices(self) -> set[str]:
        """Every name espeak-ng accepts for a voice (languages, voice files, names) and variant."""
        prog = self._program()
        names: set[str] = set()
        for arg, prefix in (("--voices", ""), ("--voices=variant", "+")):
            try:
                res = subprocess.run([prog, arg], capture_output=True, timeout=self.cfg.timeout_s, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise DeviceError(f"{self.cfg.program} {arg} failed: {exc}") from exc
            for line in res.stdout.decode(errors="replace").splitlines()[1:]:
                cols = line.split()
                if len(cols) < 5:
                    continue
                if prefix:  # variants: "!v/f3" -> "+f3", also by name ("+Alicia")
                    names.update({prefix + cols[4].rsplit("/", 1)[-1], prefix + cols[3]})
                else:
                    names.update({cols[1], cols[3], cols[4]})
        return names

    def problems(self) -> list[str]:
        """Empty when the program runs and knows the configured voice (and variant)."""
        try:
            known = self.voices()
        except DeviceError as exc:
            return [str(exc)]
        base, plus, variant = self.cfg.voice.partition("+")
        out = []
        if base not in known:
            out.append(f"espeak-ng has no voice '{base}' (espeak-ng --voices lists them; Danish is 'da')")
        if plus and "+" + variant not in known:
            out.append(f"espeak-ng has no variant '{variant}' (espeak-ng --voices=variant lists them)")
        return out

    def synthesize(self, text: str, path: Path) -> Path:
        """Speak ``text`` into the WAV file ``path`` (22.05 kHz mono 16 bit); :class:`DeviceError` when
        the program is missing, fails, hangs or writes nothing."""
        if not text.strip():
            raise DeviceError("nothing to speak (empty text)")
        prog = self._program()
        c = self.cfg
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        cmd = [prog, "-v", c.voice, "-s", str(c.speed), "-a", str(c.volume), "-p", str(c.pitch), "-b", "1",
               "-w", str(path)]
        try:
            res = subprocess.run(cmd, input=text[:MAX_SPEECH_CHARS].encode("utf-8"), capture_output=True,
                                 timeout=c.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeviceError(f"{c.program} failed: {exc}") from exc
        # an unknown voice exits 1; text of punctuation only gives a header without samples
        if res.returncode != 0 or not path.exists() or path.stat().st_size <= 44:
            err = res.stderr.decode(errors="replace").strip()
            raise DeviceError(f"{c.program} -v {c.voice} exited {res.returncode} without speech: "
                              f"{err[:200] or 'no message'}")
        return path


__all__ = ["MAX_SPEECH_CHARS", "Espeak", "EspeakConfig"]
