"""Countdown display layout: a pure function from a :class:`~station.departures.Board` to a Pillow image.

Looks like a Danish stop countdown sign: black background, one departure per row with the line in a
coloured badge, the destination, and the time right-aligned ("Nu", "7 min", "08:42", "Aflyst"), a small
radio mark for realtime times and a clock mark for timetable times. Rows beyond the panel are shown in
timed pages (>= 3 s each); destinations that do not fit are set condensed, then paged by words — never
cut mid-word, never scrolled. A track/stand the control room changed is shown inverted in amber; the
deviations' texts take the bottom row as a message line, paged by words (each page >= 3 s, never
scrolled), severe first. Night dimming and the anti-burn-in pixel shift are pure functions of the
data time so replays and tests render the same frames.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from PIL import Image, ImageDraw

from signage.colours import RGB, line_colour, parse_colour
from signage.headsign import short_headsign
from signage.text import (
    MIN_PAGE_S,
    Font,
    TextDoesNotFit,
    TextFit,
    fit_text,
    get_font,
    page_index,
    text_colour_on,
    text_width,
)
from station.departures import Board, Row
from transit.timeutil import COPENHAGEN, ensure_utc
from transit.yamlconf import Node

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Colours:
    background: RGB = (0, 0, 0)
    text: RGB = (255, 255, 255)
    dim: RGB = (150, 150, 150)
    realtime: RGB = (70, 220, 90)
    delayed: RGB = (255, 176, 0)
    cancelled: RGB = (255, 70, 60)
    header_bg: RGB = (30, 30, 30)


@dataclass(frozen=True)
class DimStep:
    start: time   # local time (Europe/Copenhagen) from which ``level`` applies
    level: float  # 0..1


@dataclass(frozen=True)
class CountdownPanel:
    """A stop display panel: size, rows, colours, fonts, QR code, paging, dimming and burn-in care."""

    width: int = 256
    height: int = 64
    rows: int = 4
    colours: Colours = field(default_factory=Colours)
    font: str = "sans-bold"
    font_condensed: str = "condensed-bold"
    font_size: int | None = None      # default from the row height
    header: bool | None = None         # stop name and clock on top; default when the panel is tall enough
    title: str = ""                    # stop name for the header and the status screen
    antialias: bool = True             # False for LED matrices (on/off pixels)
    line_colours: tuple[tuple[str, RGB], ...] = ()
    qr_url: str | None = None
    page_s: float = 5.0
    max_pages: int = 2
    dimming: tuple[DimStep, ...] = ()
    pixel_shift_px: int = 0            # anti-burn-in: 0 = off (TFT); 1-2 for OLED/LED
    pixel_shift_period_s: int = 60

    @classmethod
    def from_node(cls, node: Node, title: str = "") -> CountdownPanel:
        """Parse a ``panel`` (or ``display``) configuration section."""
        node.reject_unknown({"width", "height", "rows", "colours", "colors", "font", "font_condensed",
                             "font_size", "header", "antialias", "line_colours", "qr", "qr_url",
                             "page_s", "max_pages", "dimming", "pixel_shift", "pixel_shift_period_s",
                             "title"})
        cols = Colours()
        cnode = node.opt("colours") or node.opt("colors")
        if cnode is not None:
            cnode.reject_unknown(set(Colours.__dataclass_fields__))
            cols = Colours(**{k: parse_colour(v.as_str(), v) for k, v in cnode.items()})
        lines: list[tuple[str, RGB]] = []
        lnode = node.opt("line_colours")
        if lnode is not None:
            lines = [(k, parse_colour(v.as_str(), v)) for k, v in lnode.items()]
        qr = node.opt("qr_url") or node.opt("qr")
        panel = cls(
            width=node.get_int("width", 256, min=32, max=4096),
            height=node.get_int("height", 64, min=16, max=4096),
            rows=node.get_int("rows", 4, min=1, max=20),
            colours=cols,
            font=node.get_str("font", "sans-bold"),
            font_condensed=node.get_str("font_condensed", "condensed-bold"),
            font_size=node.get_int("font_size", None, min=6, max=200),
            header=node.get_bool("header", None),
            title=node.get_str("title", title),
            antialias=node.get_bool("antialias", True),
            line_colours=tuple(lines),
            qr_url=qr.as_str() if qr is not None else None,
            page_s=node.get_float("page_s", 5.0, min=MIN_PAGE_S, max=60.0),
            max_pages=node.get_int("max_pages", 2, min=1, max=10),
            dimming=parse_dimming(node.opt("dimming")),
            pixel_shift_px=node.get_int("pixel_shift", 0, min=0, max=4),
            pixel_shift_period_s=node.get_int("pixel_shift_period_s", 60, min=10),
        )
        if panel.row_height < 10:
            raise node.error(f"{panel.rows} rows do not fit {panel.height} px (need >= 10 px per row)")
        return panel

    @property
    def show_header(self) -> bool:
        if self.header is not None:
            return self.header
        return self.height - self.rows * 16 >= 18

    @property
    def header_height(self) -> int:
        return max(14, min(40, self.height // (self.rows + 2))) if self.show_header else 0

    @property
    def qr_size(self) -> int:
        """Square QR area on the right: the content height, at most a quarter of the width."""
        return min(self.height - self.header_height, self.width // 4) if self.qr_url else 0

    @property
    def row_height(self) -> int:
        return (self.height - self.header_height) // self.rows

    def line_colour(self, route: str) -> RGB:
        return line_colour(route, self.line_colours)


def parse_dimming(node: Node | None) -> tuple[DimStep, ...]:
    """``dimming: [{from: "22:00", level: 0.3}, {from: "06:00", level: 1.0}]`` (local times)."""
    if node is None:
        return ()
    steps = []
    for item in node.as_list():
        item.reject_unknown({"from", "level"})
        t = item.child("from").convert(lambda v: time.fromisoformat(str(v)), "a time HH:MM")
        steps.append(DimStep(t, item.child("level").as_float(min=0.0, max=1.0)))
    return tuple(sorted(steps, key=lambda s: s.start))


def brightness_at(now: datetime, steps: Sequence[DimStep]) -> float:
    """The dimming level at data time ``now``: the last step started before it (wrapping midnight)."""
    if not steps:
        return 1.0
    t = ensure_utc(now).astimezone(COPENHAGEN).time()
    level = steps[-1].level  # before the first step of the day, yesterday's last step still applies
    for s in steps:
        if s.start <= t:
            level = s.level
    return level


def pixel_shift(now: datetime, max_px: int, period_s: int = 60) -> tuple[int, int]:
    """Anti-burn-in offset: walks a small square (±``max_px``) one position per ``period_s``."""
    if max_px <= 0:
        return (0, 0)
    side = 2 * max_px + 1
    k = int(ensure_utc(now).timestamp() // period_s) % (side * side)
    return (k % side - max_px, k // side - max_px)


# ----------------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class _Metrics:
    row_h: int
    size: int
    badge_w: int
    badge_font: Font
    time_font: Font
    time_w: int
    icon_w: int
    plat_w: int
    occ_w: int
    text_x: int
    text_w_max: int


@functools.lru_cache(maxsize=32)
def _metrics(panel: CountdownPanel) -> _Metrics:
    """Everything that depends on the panel only, computed once (fonts, column widths)."""
    row_h = panel.row_height
    size = panel.font_size or max(8, int(row_h * 0.78))
    content = panel.width - panel.qr_size
    time_font_name = panel.font
    while True:  # condense the times, then shrink, until destinations get >= 40 % of the width
        badge_font = get_font(panel.font_condensed, max(7, size - 1))
        time_font = get_font(time_font_name, size)
        pad = max(2, row_h // 6)
        badge_w = max(text_width(badge_font, "920R"), text_width(badge_font, "888")) + 2 * pad
        icon_w = max(5, min(row_h // 2, size * 2 // 3))
        time_w = max(text_width(time_font, s) for s in ("88 min", "88:88", "Aflyst"))
        plat_w = text_width(get_font(panel.font_condensed, max(7, size - 3)), "88") + 4
        occ_h = row_h - 2 * max(1, row_h // 10) - 2   # as drawn by _draw_occupancy
        occ_w = 3 * (max(1, (occ_h - 2) // 4) + 1) + 2
        text_x = badge_w + pad + 2
        right = panel.width - panel.qr_size - time_w - icon_w - 4
        text_w_max = right - text_x - 3
        if text_w_max - plat_w - 3 >= 0.40 * content:
            break
        if time_font_name != panel.font_condensed:
            time_font_name = panel.font_condensed
            continue
        if size <= 8 or panel.font_size:
            break
        size -= 1
    return _Metrics(row_h, size, badge_w, badge_font, time_font, time_w, icon_w, plat_w, occ_w,
                    text_x, text_w_max)


@functools.lru_cache(maxsize=256)
def _badge(route: str, panel: CountdownPanel, w: int, h: int) -> Image.Image:
    """The line badge (rounded box in the line colour with the line name), cached per line."""
    bg = panel.line_colour(route)
    fg = text_colour_on(bg)
    img = Image.new("RGB", (w, h), panel.colours.background)
    d = ImageDraw.Draw(img)
    if not panel.antialias:
        d.fontmode = "1"
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(1, h // 5), fill=bg)
    font = _metrics(panel).badge_font
    size = font.size
    while text_width(font, route) > w - 2 and size > 6:
        size -= 1
        font = get_font(panel.font_condensed, size)
    d.text((w / 2, h / 2), route, font=font, fill=fg, anchor="mm")
    return img


@functools.lru_cache(maxsize=8)
def _qr(url: str, size: int, fg: RGB, bg: RGB) -> Image.Image:
    import qrcode  # optional feature; imported only when a QR code is configured

    qr = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(url)
    qr.make(fit=True)
    modules = qr.modules_count + 2
    scale = max(1, size // modules)
    img: Image.Image = qr.make_image(fill_color=fg, back_color=bg).get_image().convert("RGB")
    img = img.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    if modules * scale < size // 2:
        log.warning("QR code for %s needs %d modules: too dense for %d px", url, modules, size)
    return img


# ----------------------------------------------------------------------------------------- drawing
def _headsign_candidates(panel: CountdownPanel, size: int) -> list[tuple[str, int]]:
    sizes = dict.fromkeys((size, max(7, size - 2), max(7, int(size * 0.8)), max(7, int(size * 0.7))))
    return [(panel.font, size)] + [(panel.font_condensed, s) for s in sizes]


@functools.lru_cache(maxsize=1024)
def _fit_headsign(text: str, width: int, panel: CountdownPanel, size: int, start: int = 0,
                  short: bool = False) -> TextFit:
    """Per font from ``start``, largest first: the full destination (or first the short form when
    ``short``), then the other; paged only when no font holds either on one line. Cached: destinations
    repeat every frame."""
    cands = _headsign_candidates(panel, size)[start:]
    k = _one_line_index(text, width, panel, size)
    variants = (short_headsign(text), text) if short else (text, short_headsign(text))
    if k is not None and k >= start:
        cand = _headsign_candidates(panel, size)[k]
        for t in dict.fromkeys(variants):
            fit = _try_fit(t, cand, width)
            if fit is not None and not fit.paged:
                return fit
    for cand in cands:
        for t in dict.fromkeys(variants):
            fit = _try_fit(t, cand, width)
            if fit is not None and not fit.paged:
                return fit
    return fit_text(short_headsign(text), cands, width, 1)


def _try_fit(text: str, cand: tuple[str, int], width: int) -> TextFit | None:
    try:
        return fit_text(text, [cand], width, 1)
    except TextDoesNotFit:
        return None


@functools.lru_cache(maxsize=1024)
def _one_line_index(text: str, width: int, panel: CountdownPanel, size: int) -> int | None:
    """The first (largest) candidate font that holds the destination (or its short form) on one line."""
    for i, cand in enumerate(_headsign_candidates(panel, size)):
        for t in dict.fromkeys((text, short_headsign(text))):
            fit = _try_fit(t, cand, width)
            if fit is not None and not fit.paged:
                return i
    return None


def _draw_realtime_icon(d: ImageDraw.ImageDraw, x: int, y: int, s: int, colour: RGB) -> None:
    """Radio waves in the corner: the sign Danish travellers know for live times."""
    width = max(1, s // 8)  # thicker strokes on big panels
    for r in (s - 1, (2 * s) // 3, s // 3):
        if r <= 0:
            continue
        box = (x - r, y + s - 1 - r, x + r, y + s - 1 + r)
        d.arc(box, 270, 360, fill=colour, width=width)
    d.point((x, y + s - 1), fill=colour)


def _draw_clock_icon(d: ImageDraw.ImageDraw, x: int, y: int, s: int, colour: RGB) -> None:
    """A small clock face: the time comes from the timetable, not from the vehicle."""
    d.ellipse((x, y, x + s - 1, y + s - 1), outline=colour)
    c = (s - 1) // 2
    d.line((x + c, y + c, x + c, y + 1 + s // 5), fill=colour)
    d.line((x + c, y + c, x + s - 2 - s // 5, y + c), fill=colour)


def _draw_occupancy(d: ImageDraw.ImageDraw, x: int, y: int, h: int, level: int, panel: CountdownPanel) -> None:
    """Three bars, filled by level (1 = seats free, 2 = few seats, 3 = standing/full)."""
    colours = {1: panel.colours.realtime, 2: panel.colours.delayed, 3: panel.colours.cancelled}
    bw = max(1, (h - 2) // 4)
    for i in range(3):
        bh = (i + 1) * h // 3
        box = (x + i * (bw + 1), y + h - bh, x + i * (bw + 1) + bw - 1, y + h - 1)
        if i < level:
            d.rectangle(box, fill=colours.get(level, panel.colours.dim))
        else:
            d.rectangle(box, outline=panel.colours.dim)


def _draw_row(img: Image.Image, d: ImageDraw.ImageDraw, row: Row, y: int, panel: CountdownPanel,
              m: _Metrics, now: datetime, style: tuple[int, bool] = (0, False)) -> None:
    c = panel.colours
    h = m.row_h
    mid = y + h // 2
    pad_v = max(1, h // 10)
    img.paste(_badge(row.route, panel, m.badge_w, h - 2 * pad_v), (0, y + pad_v))
    # time column, right-aligned before the QR code
    right = panel.width - panel.qr_size - 1
    if row.cancelled:
        tcol = c.cancelled
    elif row.realtime and row.delay_s is not None and row.delay_s >= 120:
        tcol = c.delayed
    elif row.realtime:
        tcol = c.text
    else:
        tcol = c.dim if row.text[0].isdigit() and ":" in row.text else c.text
    d.text((right, mid), row.text, font=m.time_font, fill=tcol, anchor="rm")
    icon_x = right - m.time_w - m.icon_w - 4
    icon_s = m.icon_w
    if not row.cancelled:
        iy = y + (h - icon_s) // 2
        if row.realtime:
            _draw_realtime_icon(d, icon_x + 1, iy, icon_s, c.realtime)
        else:
            _draw_clock_icon(d, icon_x, iy, icon_s, c.dim)
    # optional platform and occupancy between destination and time
    text_right = icon_x - 3
    if row.platform:
        pf = get_font(panel.font_condensed, max(7, m.size - 3))
        pw = max(m.plat_w, text_width(pf, row.platform) + 4)
        x0 = text_right - pw
        box = (x0, y + pad_v + 1, text_right - 1, y + h - pad_v - 2)
        if row.platform_changed:  # a new track: inverted, in the warning colour, so it is noticed
            d.rectangle(box, fill=c.delayed)
            d.text((x0 + pw / 2, mid), row.platform, font=pf, fill=text_colour_on(c.delayed), anchor="mm")
        else:
            d.rectangle(box, outline=c.dim)
            d.text((x0 + pw / 2, mid), row.platform, font=pf, fill=c.text, anchor="mm")
        text_right = x0 - 3
    if row.occupancy_level and not row.cancelled and _room_for_occupancy(panel, row.headsign, row.platform):
        x0 = text_right - m.occ_w
        _draw_occupancy(d, x0, y + pad_v + 1, h - 2 * pad_v - 2, row.occupancy_level, panel)
        text_right = x0 - 2
    # destination: full size, condensed, smaller, then paged by words at the page clock
    width = _row_destination_width(panel, row)
    try:
        fit = _fit_headsign(row.headsign or "-", width, panel, m.size, *style)
        line, font = fit.pages[page_index(now, len(fit.pages), panel.page_s)][0], fit.font
    except TextDoesNotFit as exc:  # a panel configured too narrow: show what fits, say so once
        _warn_once(str(exc))
        line, font = row.headsign, get_font(panel.font_condensed, max(7, m.size - 2))
        width = max(1, width)
        layer = Image.new("RGB", (width, h), c.background)
        ImageDraw.Draw(layer).text((0, h // 2), line, font=font, fill=c.text, anchor="lm")
        img.paste(layer, (m.text_x, y))
        return
    d.text((m.text_x, mid), line, font=font, fill=c.dim if row.cancelled else c.text, anchor="lm")
    if row.cancelled:
        tw = min(text_width(font, line), width)
        d.line((m.text_x, mid, m.text_x + tw, mid), fill=c.cancelled, width=max(1, h // 14))


def _row_destination_width(panel: CountdownPanel, row: Row) -> int:
    return destination_width(panel, row.platform, bool(row.occupancy_level and not row.cancelled)
                             and _room_for_occupancy(panel, row.headsign, row.platform))


def _common_font_start(panel: CountdownPanel, rows: Sequence[Row]) -> tuple[int, bool]:
    """One destination style for the whole page (mixed sizes look untidy): the largest candidate every
    row fits on one line with (rows that need pages anyway do not count), and whether " St." is dropped
    everywhere because some row needs its short form."""
    m = _metrics(panel)
    widths = [_row_destination_width(panel, r) for r in rows]
    idx = [_one_line_index(r.headsign or "-", w, panel, m.size) for r, w in zip(rows, widths, strict=True)]
    # at most the condensed face at the full size: rows that need smaller type get it on their own,
    # rather than shrinking every row of the page
    start = min(1, max((i for i in idx if i is not None), default=0))
    cand = _headsign_candidates(panel, m.size)[start]
    short = False
    for r, w, i in zip(rows, widths, idx, strict=True):
        if i is None or i > start:
            continue
        fit = _try_fit(r.headsign or "-", cand, w)
        if fit is None or fit.paged:
            short = True
    return start, short


def destination_width(panel: CountdownPanel, platform: str | None = None, occupancy: bool = False) -> int:
    """Pixels left for the destination in a row (same arithmetic as the row drawing)."""
    m = _metrics(panel)
    text_right = panel.width - panel.qr_size - 1 - m.time_w - m.icon_w - 4 - 3
    if platform:
        pf = get_font(panel.font_condensed, max(7, m.size - 3))
        text_right -= max(m.plat_w, text_width(pf, platform) + 4) + 3
    if occupancy:
        text_right -= m.occ_w + 2
    return max(10, text_right - m.text_x)


def destination_fit(panel: CountdownPanel, text: str, platform: str | None = None,
                    occupancy: bool = False) -> TextFit:
    """How a destination is set in a row; :class:`TextDoesNotFit` when a word is wider than the row
    even condensed (the start-up check and the stop-name test use this)."""
    return _fit_headsign(text or "-", destination_width(panel, platform, occupancy), panel, _metrics(panel).size)


@functools.lru_cache(maxsize=1024)
def _room_for_occupancy(panel: CountdownPanel, headsign: str, platform: str | None) -> bool:
    """Occupancy is secondary: shown only when the destination still fits on one page beside it."""
    try:
        return not destination_fit(panel, headsign, platform, True).paged
    except TextDoesNotFit:
        return False


@functools.lru_cache(maxsize=64)
def _warn_once(message: str) -> None:
    """Rate limit: each distinct layout problem is logged once per process."""
    log.warning("layout: %s", message)


def _draw_header(d: ImageDraw.ImageDraw, panel: CountdownPanel, now: datetime) -> None:
    hh = panel.header_height
    c = panel.colours
    d.rectangle((0, 0, panel.width - 1, hh - 1), fill=c.header_bg)
    fsize = max(8, int(hh * 0.65))
    f = get_font(panel.font, fsize)
    clock = ensure_utc(now).astimezone(COPENHAGEN).strftime("%H:%M")
    d.text((panel.width - 3, hh // 2), clock, font=f, fill=c.text, anchor="rm")
    if panel.title:
        fit = fit_text(panel.title, [(panel.font, fsize), (panel.font_condensed, fsize)],
                       panel.width - text_width(f, "88:88") - 12, 1)
        d.text((3, hh // 2), fit.pages[page_index(now, len(fit.pages), panel.page_s)][0], font=fit.font,
               fill=c.text, anchor="lm")


def _draw_message(d: ImageDraw.ImageDraw, panel: CountdownPanel, title: str, detail: str,
                  now: datetime, colour: RGB, reserve: int = 0) -> None:
    """A centred state message ("Ingen afgange", "Ingen data") in two sizes, fitted and paged, above the
    ``reserve`` px kept at the bottom (the message line)."""
    top = panel.header_height
    w = panel.width - panel.qr_size - 6
    h = panel.height - top - reserve
    big = max(9, min(h // 3, 40))
    fit1 = fit_text(title, [(panel.font, big), (panel.font_condensed, big), (panel.font_condensed, big - 3)],
                    w, 1)
    fit2 = fit_text(detail, [(panel.font_condensed, max(8, big * 2 // 3)),
                             (panel.font_condensed, max(7, big // 2))], w, 2)
    cx = (panel.width - panel.qr_size) // 2
    lines2 = fit2.pages[page_index(now, len(fit2.pages), panel.page_s)]
    line_h = fit2.size + 2
    total = fit1.size + 4 + line_h * len(lines2)
    y = top + (h - total) // 2
    d.text((cx, y), fit1.pages[0][0], font=fit1.font, fill=colour, anchor="ma")
    y += fit1.size + 4
    for ln in lines2:
        d.text((cx, y), ln, font=fit2.font, fill=panel.colours.dim, anchor="ma")
        y += line_h


def message_pages(board: Board, panel: CountdownPanel, width: int, size: int) -> list[tuple[str, str, Font]]:
    """The message line's pages in the order shown: every message (severe first) split into whole-word
    pages of one line each; ``(priority, text, font)``."""
    out: list[tuple[str, str, Font]] = []
    for msg in board.messages:
        fit = None
        for s in (size, max(7, size - 2), max(6, size * 2 // 3)):
            try:  # one size per message, paged rather than shrunk below readability
                fit = fit_text(msg.text, [(panel.font_condensed, s)], width, 1)
                break
            except TextDoesNotFit:
                continue
        if fit is None:
            _warn_once(f"message word wider than {width} px: {msg.text[:60]!r}")
            continue
        out.extend((msg.priority, page[0], fit.font) for page in fit.pages)
    return out


def _draw_message_line(d: ImageDraw.ImageDraw, panel: CountdownPanel, board: Board, y: int, h: int,
                       now: datetime) -> None:
    """The bottom row: the deviations' texts, a page at a time (>= ``page_s``), a priority bar on the left
    and ``k/n`` on the right while there is more than one page."""
    c = panel.colours
    right = panel.width  # the full width: the QR code moves up beside the departures
    d.rectangle((0, y, right - 1, y + h - 1), fill=c.header_bg)
    bar = max(2, h // 6)
    size = max(7, min(int(h * 0.72), max(11, int(_metrics(panel).size * 0.7))))
    counter_font = get_font(panel.font_condensed, max(6, size - 3))
    counter_w = text_width(counter_font, "88/88") + 3
    pages = message_pages(board, panel, right - bar - 4 - counter_w, size)
    if not pages:
        return
    k = page_index(now, len(pages), panel.page_s)
    prio, text, font = pages[k]
    colour = {"severe": c.cancelled, "warning": c.delayed}.get(prio, c.dim)
    d.rectangle((0, y, bar - 1, y + h - 1), fill=colour)
    d.text((bar + 3, y + h // 2), text, font=font, fill=c.text, anchor="lm")
    if len(pages) > 1:
        d.text((right - 2, y + h // 2), f"{k + 1}/{len(pages)}", font=counter_font, fill=c.dim, anchor="rm")


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes % 60 == 0:
        return "time" if minutes == 60 else f"{minutes // 60} timer"
    return f"{minutes} minutter"


def pages_of(rows: Sequence[Row], panel: CountdownPanel, n: int | None = None) -> list[Sequence[Row]]:
    """Rows split into pages of ``n`` (default ``panel.rows``; at most ``max_pages``)."""
    n = n or panel.rows
    pages = [rows[i:i + n] for i in range(0, len(rows), n)][:panel.max_pages]
    return pages or [rows[:0]]


def render_countdown(board: Board, panel: CountdownPanel, now: datetime | None = None) -> Image.Image:
    """The countdown frame for ``board`` at data time ``now`` (default: the board's time). Pure."""
    now = ensure_utc(now or board.now)
    img = Image.new("RGB", (panel.width, panel.height), panel.colours.background)
    d = ImageDraw.Draw(img)
    if not panel.antialias:
        d.fontmode = "1"
    if panel.show_header:
        _draw_header(d, panel, now)
    m = _metrics(panel)
    line = bool(board.messages) and panel.rows >= 2
    reserve = m.row_h if line else 0
    if board.state == "no_data":
        _draw_message(d, panel, "Ingen data", "Se afgange på rejseplanen.dk", now, panel.colours.delayed, reserve)
    elif board.state == "no_departures":
        _draw_message(d, panel, "Ingen afgange", f"i de næste {_span(board.horizon_s)}", now, panel.colours.text,
                      reserve)
    else:
        pages = pages_of(board.rows, panel, panel.rows - 1 if line else panel.rows)
        k = page_index(now, len(pages), panel.page_s)
        style = _common_font_start(panel, pages[k])
        for i, row in enumerate(pages[k]):
            _draw_row(img, d, row, panel.header_height + i * m.row_h, panel, m, now, style)
    if line:
        _draw_message_line(d, panel, board, panel.header_height + (panel.rows - 1) * m.row_h, m.row_h, now)
    if panel.qr_url:
        top = panel.header_height
        room = panel.height - top - reserve
        q = _qr(panel.qr_url, min(panel.qr_size, room), (0, 0, 0), (255, 255, 255))
        x = panel.width - panel.qr_size + (panel.qr_size - q.width) // 2
        img.paste(q, (x, top + (room - q.height) // 2))
    return img


@dataclass(frozen=True)
class Frame:
    """A frame ready for a sink: the image (already shifted) and the brightness to set."""

    image: Image.Image
    brightness: float
    shift: tuple[int, int]


def compose(board: Board, panel: CountdownPanel, now: datetime | None = None) -> Frame:
    """Render, then apply the anti-burn-in shift and pick the dimming level for ``now``."""
    now = ensure_utc(now or board.now)
    img = render_countdown(board, panel, now)
    dx, dy = pixel_shift(now, panel.pixel_shift_px, panel.pixel_shift_period_s)
    if (dx, dy) != (0, 0):
        shifted = Image.new("RGB", img.size, panel.colours.background)
        shifted.paste(img, (dx, dy))
        img = shifted
    return Frame(img, brightness_at(now, panel.dimming), (dx, dy))


# ------------------------------------------------------------------------------------ status screen
@dataclass(frozen=True)
class StatusInfo:
    """What a technician needs at the stop: who the unit is and whether data flows."""

    unit_id: str
    stops: tuple[str, ...]
    now: datetime
    broker: str = "—"
    connected: bool = False
    last_prediction_age_s: float | None = None
    predictions: int = 0
    feed_version: str = "—"
    extra: tuple[tuple[str, str], ...] = ()


def render_status(info: StatusInfo, panel: CountdownPanel) -> Image.Image:
    """The status screen shown on demand (button, MQTT command, systemd): small text, key: value."""
    img = Image.new("RGB", (panel.width, panel.height), panel.colours.background)
    d = ImageDraw.Draw(img)
    if not panel.antialias:
        d.fontmode = "1"
    local = ensure_utc(info.now).astimezone(COPENHAGEN)
    age = "—" if info.last_prediction_age_s is None else f"{info.last_prediction_age_s:.0f} s"
    lines: list[tuple[str, str, Any]] = [
        ("Enhed", info.unit_id, panel.colours.text),
        ("Tid", local.strftime("%Y-%m-%d %H:%M:%S"), panel.colours.text),
        ("MQTT", f"{'forbundet' if info.connected else 'afbrudt'} {info.broker}",
         panel.colours.realtime if info.connected else panel.colours.cancelled),
        ("Prognoser", f"{info.predictions}, seneste {age}", panel.colours.text),
        ("Køreplan", info.feed_version, panel.colours.text),
        ("Stop", ", ".join(info.stops), panel.colours.text),
        *((k, v, panel.colours.text) for k, v in info.extra),
    ]
    line_h = max(8, min(panel.height // len(lines), 22))
    size = max(7, int(line_h * 0.85))
    font = get_font(panel.font_condensed, size)
    key_w = max(text_width(font, k) for k, _, _ in lines) + 4
    for i, (k, v, colour) in enumerate(lines):
        y = i * line_h
        if y + line_h > panel.height:
            break
        d.text((1, y), k, font=font, fill=panel.colours.dim)
        fit = fit_text(v or "—", [(panel.font_condensed, size), (panel.font_condensed, max(6, size - 2))],
                       panel.width - key_w - 2, 1)
        d.text((key_w, y), fit.pages[page_index(info.now, len(fit.pages), panel.page_s)][0],
               font=fit.font, fill=colour)
    return img
