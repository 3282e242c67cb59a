"""What sox says about a WAV file: its length, loudness and the silence at its ends (``sox f.wav -n stat``,
``sox f.wav -n silence ...``), so speech is checked by a real audio tool rather than by our own reader."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_binary


@dataclass(frozen=True)
class SoxStat:
    length_s: float
    rms: float          # RMS amplitude, 0..1 of full scale
    max_amplitude: float


def stat(path: Path) -> SoxStat:
    sox = require_binary("sox")
    res = subprocess.run([sox, str(path), "-n", "stat"], capture_output=True, text=True, timeout=60, check=True)
    fields = dict(re.findall(r"^([A-Za-z ]+?(?:\(seconds\))?):\s+(-?[\d.]+)\s*$", res.stderr, re.M))
    return SoxStat(float(fields["Length (seconds)"]), float(fields["RMS     amplitude"]),
                   float(fields["Maximum amplitude"]))


def trimmed_length(path: Path, out: Path, *, threshold: str = "1%", min_silence_s: float = 0.05) -> float:
    """Length after sox removes the silence at the start and at the end (``silence 1 ... reverse silence 1
    ... reverse``): what is left is the sound."""
    sox = require_binary("sox")
    spec = ["1", str(min_silence_s), threshold]
    subprocess.run([sox, str(path), str(out), "silence", *spec, "reverse", "silence", *spec, "reverse"],
                   capture_output=True, timeout=60, check=True)
    return stat(out).length_s if out.exists() and out.stat().st_size > 44 else 0.0


def longest_pause(path: Path, out_dir: Path, *, threshold: str = "1%", pause_s: float = 1.5) -> int:
    """Number of pieces sox splits the sound into at pauses longer than ``pause_s`` (``silence 1 0.05 1%
    1 pause_s 1% : newfile : restart``); 1 means no pause that long inside the speech."""
    sox = require_binary("sox")
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sox, str(path), str(out_dir / "piece.wav"), "silence", "1", "0.05", threshold, "1",
                    str(pause_s), threshold, ":", "newfile", ":", "restart"], capture_output=True, timeout=60,
                   check=True)
    return sum(1 for p in out_dir.glob("piece*.wav") if p.stat().st_size > 44 and stat(p).length_s > 0.05)
