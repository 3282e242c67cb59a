"""Fonts and text fitting shared by all layouts: cached fonts, glyph coverage, word wrap and pages.

Rules from the passenger-information spec: text is never cut mid-word and never scrolls endlessly; text
that does not fit is set smaller (or condensed) and, failing that, split into timed pages of >= 3 s.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import ImageFont

from transit.errors import ConfigError

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONTS = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "condensed": "DejaVuSansCondensed.ttf",
    "condensed-bold": "DejaVuSansCondensed-Bold.ttf",
}
MIN_PAGE_S = 3.0  # each page stays at least 3 s (readable, no flicker)

Font = ImageFont.FreeTypeFont


def font_path(name: str) -> Path:
    """A shipped font by short name (``sans``, ``sans-bold``, ``condensed``, ``condensed-bold``) or a path."""
    if name in FONTS:
        return FONT_DIR / FONTS[name]
    p = Path(name)
    if not p.exists():
        raise ConfigError(f"unknown font '{name}' (shipped: {', '.join(FONTS)}; or a .ttf path)")
    return p


@functools.lru_cache(maxsize=128)
def get_font(name: str, size: int) -> Font:
    """Loaded once per (font, size): FreeType loading costs milliseconds, renders must not pay it."""
    return ImageFont.truetype(str(font_path(name)), size)


@functools.lru_cache(maxsize=16)
def _cmap(path: str) -> frozenset[int]:
    # fontTools reads the font's character map; Pillow silently draws a .notdef box for a missing glyph.
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as tt:
        return frozenset(tt.getBestCmap().keys())


def missing_glyphs(text: str, font: str = "sans") -> set[str]:
    """Characters of ``text`` (other than whitespace) the font has no glyph for."""
    cmap = _cmap(str(font_path(font)))
    return {c for c in text if not c.isspace() and ord(c) not in cmap}


def text_width(font: Font, text: str) -> int:
    return int(round(font.getlength(text)))


def wrap_words(text: str, font: Font, width: int) -> list[str] | None:
    """Greedy word wrap to ``width`` pixels; ``None`` if a single word is wider than ``width``
    (we never cut a word)."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if text_width(font, word) > width:
            return None
        trial = f"{cur} {word}" if cur else word
        if text_width(font, trial) <= width:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


@dataclass(frozen=True)
class TextFit:
    """How a text is set in a box: the font chosen and pages of lines (one page when it fits)."""

    font: Font
    font_name: str
    size: int
    pages: tuple[tuple[str, ...], ...]

    @property
    def paged(self) -> bool:
        return len(self.pages) > 1


class TextDoesNotFit(ConfigError):
    """A text has a word wider than the box even in the smallest configured font (a layout bug or a
    panel configured too small); raised so a test or start-up check catches it."""


def fit_text(text: str, candidates: Sequence[tuple[str, int]], width: int, lines: int = 1) -> TextFit:
    """Set ``text`` in a box ``width`` px wide and ``lines`` lines high.

    Tries each (font, size) candidate in order (largest first); the first that holds the whole text on
    one page wins. Otherwise the last candidate that can hold every word is split into pages.
    """
    fallback: TextFit | None = None
    for name, size in candidates:
        font = get_font(name, size)
        wrapped = wrap_words(text, font, width)
        if wrapped is None:
            continue
        if len(wrapped) <= lines:
            return TextFit(font, name, size, (tuple(wrapped),))
        pages = tuple(tuple(wrapped[i:i + lines]) for i in range(0, len(wrapped), lines))
        fallback = TextFit(font, name, size, pages)
    if fallback is None:
        raise TextDoesNotFit(f"'{text}' has a word wider than {width} px even in "
                             f"{candidates[-1][0]} {candidates[-1][1]} px")
    return fallback


def text_colour_on(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white text, whichever reads better on ``bg`` (ITU-R BT.601 luma): line badges."""
    return (0, 0, 0) if (0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]) > 150 else (255, 255, 255)


def page_index(now: datetime, n_pages: int, page_s: float = MIN_PAGE_S) -> int:
    """Which page to show at data time ``now``: pages advance every ``page_s`` (>= 3 s) seconds.

    Pure: the same instant always shows the same page, so renders are reproducible in replay and tests.
    """
    if n_pages <= 1:
        return 0
    return int(now.timestamp() // max(page_s, MIN_PAGE_S)) % n_pages
