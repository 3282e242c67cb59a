"""The driver's school-run panel (Danish): ride time, capacity, notices — drawn for the display sinks.

A small screen beside the driver (typically a 7" 800x480 TFT on the framebuffer, any ``hw.display`` sink)
shows what the school monitor knows, in the words the driver uses: the route and the next stop, the
longest ride on board against the limit, a red warning when a pupil is about to ride longer than agreed
("Køretid"), a red alarm when more passengers are on board than the vehicle is approved for
("Overbelastet"), and the last notices sent to families. Drawn with the frieze's fonts
(``signage.text``) so the same glyph checks apply; the picture changes only when the text does, so a
sink is fed once per change (:class:`PanelDriver`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image, ImageDraw

from hw.display.sink import Sink
from onboard.school.monitor import PanelState
from signage.colours import RGB, line_colour
from signage.text import get_font, text_colour_on
from transit.timeutil import COPENHAGEN, parse_iso

log = logging.getLogger(__name__)

BG: RGB = (16, 18, 22)
FG: RGB = (235, 235, 235)
DIM: RGB = (150, 155, 160)
OK: RGB = (46, 125, 50)
AMBER: RGB = (239, 108, 0)
RED: RGB = (198, 40, 40)


@dataclass(frozen=True)
class PanelLayout:
    width: int = 800
    height: int = 480
    font: str = "sans-bold"
    font_regular: str = "sans"


def _hhmm(iso_text: str | None) -> str:
    if not iso_text:
        return "--:--"
    return parse_iso(iso_text).astimezone(COPENHAGEN).strftime("%H:%M")


def _fit(d: ImageDraw.ImageDraw, text: str, font: str, size: int, width: int) -> tuple[str, int]:
    """The largest size (down to 60 %) at which ``text`` fits ``width``; then cut with an ellipsis."""
    s = size
    while s > size * 0.6:
        if d.textlength(text, font=get_font(font, s)) <= width:
            return text, s
        s -= 1
    f = get_font(font, s)
    while text and d.textlength(text + "…", font=f) > width:
        text = text[:-1]
    return text + "…", s


def _line(d: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: str, size: int, width: int,
          fill: RGB) -> None:
    t, s = _fit(d, text, font, size, width)
    d.text(xy, t, font=get_font(font, s), fill=fill)


def panel_lines(st: PanelState) -> dict[str, str]:
    """The panel's texts (Danish), also what a test or a text display reads."""
    out: dict[str, str] = {"top": f"{st.headsign or 'Skolekørsel'}", "clock": st.clock,
                           "next": f"Næste: {st.next_stop}" if st.next_stop else "Sidste stop"}
    if st.ride_min is not None:
        out["ride"] = f"Længste køretid nu: {st.ride_min:.0f} min af {st.limit_min:.0f}"
    else:
        out["ride"] = "Ingen elever om bord"
    w = st.ride_warning
    if w is not None:
        over = w.ride_s / 60.0
        out["warn1"] = f"KØRETID: {w.pupils} elev{'er' if w.pupils != 1 else ''} fra {w.board_stop_name}"
        out["warn2"] = (f"når {st.limit_min:.0f} min kl. {_limit_clock(w.boarded, w.limit_s)} - "
                        f"ved skolen ca. {_hhmm(w.end)} ({over:.0f} min)")
    if st.load is not None:
        cap = f" / {st.capacity} godkendt" if st.capacity is not None else ""
        out["load"] = f"Passagerer: {st.load}{cap}"
    a = st.capacity_alarm
    if a is not None:
        out["alarm1"] = f"OVERBELASTET: {a.vehicleload} om bord, godkendt til {a.capacity}"
        out["alarm2"] = f"{a.excess} for mange, siden {st.alarm_stop or a.stop_id or '?'} kl. {_hhmm(st.alarm_since or a.tst)}"
    for i, n in enumerate(st.notices[:3]):
        out[f"notice{i}"] = (f"Varslet {_hhmm(n.tst)}: {n.stop_name}, ankomst ca. {_hhmm(n.eta)}"
                             + (" (igen)" if n.resend else ""))
    return out


def _limit_clock(boarded: str, limit_s: float) -> str:
    t = parse_iso(boarded).timestamp() + limit_s
    return datetime.fromtimestamp(t, UTC).astimezone(COPENHAGEN).strftime("%H:%M")


def render_panel(st: PanelState, layout: PanelLayout = PanelLayout()) -> Image.Image:  # noqa: B008 - frozen
    """The panel as an RGB image of ``layout``'s size."""
    W, H = layout.width, layout.height
    u = H / 480.0
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    lines = panel_lines(st)
    pad = int(16 * u)
    # top: route badge, destination, clock
    bh = int(64 * u)
    col = line_colour(st.route)
    bf = get_font(layout.font, int(44 * u))
    bw = max(bh, int(d.textlength(st.route, font=bf)) + 2 * pad)
    d.rectangle((pad, pad, pad + bw, pad + bh), fill=col)
    d.text((pad + bw // 2, pad + bh // 2), st.route, font=bf, fill=text_colour_on(col), anchor="mm")
    cf = get_font(layout.font, int(40 * u))
    cw = int(d.textlength(lines["clock"], font=cf))
    d.text((W - pad - cw, pad + bh // 2), lines["clock"], font=cf, fill=FG, anchor="lm")
    _line(d, (pad * 2 + bw, pad + int(8 * u)), lines["top"], layout.font, int(40 * u), W - cw - bw - 5 * pad, FG)
    y = pad + bh + int(10 * u)
    _line(d, (pad, y), lines["next"], layout.font_regular, int(30 * u), W - 2 * pad, DIM)
    y += int(46 * u)
    # ride time: a bar against the limit
    ride_col = OK
    if st.ride_min is not None and st.ride_min >= st.limit_min - 10:
        ride_col = AMBER
    if st.ride_warning is not None or (st.ride_min is not None and st.ride_min > st.limit_min):
        ride_col = RED
    _line(d, (pad, y), lines["ride"], layout.font_regular, int(30 * u), W - 2 * pad, FG)
    y += int(40 * u)
    bar_w = W - 2 * pad
    d.rectangle((pad, y, pad + bar_w, y + int(12 * u)), outline=DIM)
    if st.ride_min is not None:
        frac = min(1.0, st.ride_min / st.limit_min)
        d.rectangle((pad, y, pad + int(bar_w * frac), y + int(12 * u)), fill=ride_col)
    y += int(24 * u)
    blocks: list[tuple[RGB, Sequence[str]]] = []
    if "warn1" in lines:
        blocks.append((RED, (lines["warn1"], lines["warn2"])))
    if "alarm1" in lines:
        blocks.append((RED, (lines["alarm1"], lines["alarm2"])))
    for colour, texts in blocks:
        h = int(84 * u)
        d.rectangle((pad, y, W - pad, y + h), fill=colour)
        _line(d, (pad * 2, y + int(6 * u)), texts[0], layout.font, int(32 * u), W - 4 * pad, (255, 255, 255))
        _line(d, (pad * 2, y + int(46 * u)), texts[1], layout.font_regular, int(26 * u), W - 4 * pad,
              (255, 255, 255))
        y += h + int(10 * u)
    if "load" in lines and "alarm1" not in lines:
        _line(d, (pad, y), lines["load"], layout.font_regular, int(28 * u), W - 2 * pad, FG)
        y += int(40 * u)
    for i in range(3):
        text = lines.get(f"notice{i}")
        if text is None or y > H - int(34 * u):
            break
        _line(d, (pad, y), text, layout.font_regular, int(24 * u), W - 2 * pad, DIM)
        y += int(32 * u)
    return img


class PanelDriver:
    """Feeds the sinks a new picture when the panel's text changes (not every record)."""

    def __init__(self, sinks: Sequence[Sink], layout: PanelLayout = PanelLayout()) -> None:  # noqa: B008
        self.sinks = list(sinks)
        self.layout = layout
        self._last: dict[str, str] | None = None
        self.frames = 0

    def update(self, st: PanelState | None) -> bool:
        """Render and show ``st`` if its text changed; True when a frame was shown."""
        if st is None:
            return False
        key = panel_lines(st)
        if key == self._last:
            return False
        self._last = key
        img = render_panel(st, self.layout)
        for s in self.sinks:
            try:
                s.show(img)
            except Exception as exc:  # noqa: BLE001 - a broken panel must not stop the unit
                log.warning("school panel sink %s failed: %s", type(s).__name__, exc)
        self.frames += 1
        return True


__all__ = ["PanelDriver", "PanelLayout", "panel_lines", "render_panel"]
