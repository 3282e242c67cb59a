"""Next-stop announcements in Danish: the text on every next-stop change and at the terminus, spoken
to a WAV file through espeak-ng when configured.

:class:`Announcer` is pure: it is fed frieze views (data time inside) and returns an
:class:`Announcement` only when something new must be said, so a replay announces exactly the same
things at the same data times. :func:`speak_to_wav` is the I/O edge.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from onboard.passinfo.frieze import FriezeView
from transit.errors import DeviceError
from transit.timeutil import COPENHAGEN
from transit.yamlconf import Node, base_dir, resolve_path

log = logging.getLogger(__name__)

Kind = Literal["origin", "next_stop", "terminus"]


@dataclass(frozen=True)
class Announcement:
    tst: datetime          # data time of the view that caused it
    kind: Kind
    stop_id: str
    text: str              # what the frieze/PA shows and says
    speech: str            # the same, with abbreviations spelt out for the speech synthesiser


_ABBREVIATIONS = [
    (re.compile(r"\bSt\.(?=\s+[A-ZÆØÅ]|$)"), "Station."),  # "St." that also ends the sentence
    (re.compile(r"\bSt\.(?=[\s.,])"), "Station"),
    (re.compile(r"\bSkt\.(?=\s|$)"), "Sankt"),
    (re.compile(r"\bvej\.(?=\s|$)"), "vej"),
]


def speech_text(text: str) -> str:
    """Spell out what a synthesiser would read wrongly ("St." → "Station")."""
    for rx, full in _ABBREVIATIONS:
        text = rx.sub(full, text)
    return text


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _clock(dt: datetime) -> str:
    return dt.astimezone(COPENHAGEN).strftime("%H:%M")


def announcement_text(view: FriezeView, max_connections: int = 2) -> tuple[Kind, str] | None:
    """The Danish announcement for a view, or ``None`` when there is nothing to announce."""
    ns = view.next_stop
    if view.state == "not_in_service" or ns is None:
        return None
    if view.state == "terminus":
        parts = [_sentence(ns.name), "Endestation.", "Husk at tage alt med. Tak for rejsen."]
    elif view.at_origin:  # boarding at the first stop: say where this vehicle goes, not "next: here"
        via = f" via {', '.join(view.via)}" if view.via else ""
        return "origin", f"Velkommen. Linje {view.route} mod {_sentence(view.destination + via)}"
    else:
        parts = [_sentence(f"Næste stop: {ns.name}")]
        if view.show_delay and view.delay_s is not None:
            parts.append(f"Vi er cirka {view.delay_s // 60} minutter forsinket.")
    conns = view.connections[:max_connections]
    if conns:
        parts.append("Skift til " + ", ".join(
            f"linje {c.route} mod {c.headsign} klokken {_clock(c.departure)}"
            + (f" fra spor {c.platform}" if c.platform else "") for c in conns) + ".")
        parts[-1] = parts[-1].replace("..", ".")
    return ("terminus" if view.state == "terminus" else "next_stop"), " ".join(parts)


class Announcer:
    """Says each next stop once: on the change of (trip route/destination, next stop) and once at the
    terminus. A view repeated every second produces nothing new."""

    def __init__(self) -> None:
        self._last: tuple[str, str, str, str] | None = None

    def update(self, view: FriezeView) -> Announcement | None:
        made = announcement_text(view)
        if made is None:
            if view.state == "not_in_service":
                self._last = None
            return None
        kind, text = made
        assert view.next_stop is not None
        key = (view.route, view.destination, view.next_stop.stop_id, kind)
        if key == self._last:
            return None
        self._last = key
        return Announcement(view.now, kind, view.next_stop.stop_id, text, speech_text(text))


@dataclass(frozen=True)
class SpeechConfig:
    """``announce:`` section: ``enabled``, ``voice`` (espeak-ng voice, ``da``), ``speed`` (words/min),
    ``out_dir`` (WAV files, one per announcement), ``program``."""

    enabled: bool = False
    voice: str = "da"
    speed: int = 150
    out_dir: Path = Path("out/announce")
    program: str = "espeak-ng"

    @classmethod
    def from_node(cls, node: Node | None) -> SpeechConfig:
        if node is None:
            return cls()
        node.reject_unknown({"enabled", "voice", "speed", "out_dir", "program"})
        out = node.opt("out_dir")  # relative to the config file, like every path in it
        return cls(enabled=node.get_bool("enabled", True), voice=node.get_str("voice", "da"),
                   speed=node.get_int("speed", 150, min=80, max=450),
                   out_dir=base_dir(node) / "out/announce" if out is None else resolve_path(out),
                   program=node.get_str("program", "espeak-ng"))


def wav_name(a: Announcement) -> str:
    """Deterministic file name from the data time and the stop (replays overwrite, never pile up)."""
    stamp = a.tst.strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", a.stop_id)[:40]
    return f"{stamp}_{a.kind}_{safe}.wav"


def speak_to_wav(a: Announcement, cfg: SpeechConfig, timeout_s: float = 30.0) -> Path:
    """Synthesise the announcement with espeak-ng into ``cfg.out_dir``; :class:`DeviceError` if the
    program is missing or fails (the caller logs it and carries on: the frieze still shows the text)."""
    prog = shutil.which(cfg.program)
    if prog is None:
        raise DeviceError(f"speech program '{cfg.program}' not found (apt-get install espeak-ng)")
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.out_dir / wav_name(a)
    try:
        res = subprocess.run([prog, "-v", cfg.voice, "-s", str(cfg.speed), "-w", str(path), a.speech],
                             capture_output=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeviceError(f"{cfg.program} failed: {exc}") from exc
    if res.returncode != 0 or not path.exists() or path.stat().st_size <= 44:
        raise DeviceError(f"{cfg.program} exited {res.returncode}: "
                          f"{res.stderr.decode(errors='replace').strip()[:200]}")
    log.info("announcement %s -> %s", a.text, path)
    return path
