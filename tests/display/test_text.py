"""Text fitting: never cut a word, condense then page, pages >= 3 s, glyph coverage of the shipped font."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.text import (
    FONT_DIR,
    MIN_PAGE_S,
    TextDoesNotFit,
    fit_text,
    get_font,
    missing_glyphs,
    page_index,
    text_width,
    wrap_words,
)


def test_shipped_fonts_with_licence() -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf",
                 "DejaVuSansCondensed-Bold.ttf", "LICENSE-DejaVu.txt"):
        assert (FONT_DIR / name).is_file(), name
    assert "Bitstream" in (FONT_DIR / "LICENSE-DejaVu.txt").read_text()


def test_glyph_coverage_danish_and_missing() -> None:
    for font in ("sans", "sans-bold", "condensed", "condensed-bold"):
        assert missing_glyphs("ÆØÅ æøå Ølsted Græsted Helsingør Jægersborg Nærum é ü –", font) == set()
    assert missing_glyphs("Tokyo 東京", "sans") == {"東", "京"}


def test_fit_prefers_largest_font_then_condensed_then_pages() -> None:
    cands = [("sans-bold", 20), ("condensed-bold", 20), ("condensed-bold", 14)]
    short = fit_text("Nærum", cands, 200)
    assert (short.font_name, short.size, short.pages) == ("sans-bold", 20, (("Nærum",),))
    w_bold = text_width(get_font("sans-bold", 20), "Hundested Havn")
    w_cond = text_width(get_font("condensed-bold", 20), "Hundested Havn")
    assert w_cond < w_bold
    cond = fit_text("Hundested Havn", cands, w_cond)
    assert cond.font_name == "condensed-bold" and not cond.paged
    paged = fit_text("Hundested Havn St. via Frederiksværk", cands, 120)
    assert paged.paged and all(len(p) == 1 for p in paged.pages)
    assert " ".join(line for page in paged.pages for line in page) == "Hundested Havn St. via Frederiksværk"


def test_word_wider_than_box_is_an_error_not_a_cut() -> None:
    with pytest.raises(TextDoesNotFit, match="Frederiksværk"):
        fit_text("Frederiksværk", [("sans", 30)], 40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Hillerød", "St.", "Ølsted", "Kregme", "Lille", "Skævinge", "Jægersborg",
                                 "Nørre", "Herlev", "Hundested", "Havn", "Tisvildeleje", "via"]),
                min_size=1, max_size=8),
       st.integers(min_value=90, max_value=400))
def test_wrap_never_cuts_words_and_respects_width(words: list[str], width: int) -> None:
    font = get_font("condensed-bold", 14)
    lines = wrap_words(" ".join(words), font, width)
    assert lines is not None  # every sample word is narrower than 90 px at 14 px
    assert " ".join(lines).split() == words
    assert all(text_width(font, ln) <= width for ln in lines)


def test_page_index_is_pure_and_pages_last_at_least_3_s() -> None:
    t0 = datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC)
    assert page_index(t0, 1) == 0
    seq = [page_index(t0 + timedelta(seconds=s), 3, page_s=1.0) for s in range(0, 18)]
    runs = []
    for k in seq:
        if runs and runs[-1][0] == k:
            runs[-1][1] += 1
        else:
            runs.append([k, 1])
    assert all(n >= MIN_PAGE_S for _, n in runs[1:-1])  # a too-short page_s is raised to 3 s
    assert set(seq) == {0, 1, 2}
    assert page_index(t0, 4, 5.0) == page_index(t0, 4, 5.0)
