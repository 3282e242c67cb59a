"""The frieze inside the vehicle: view model (what to tell passengers) and layouts (how it looks).

Content follows VDV 301 customer information: line and destination (and via), the next stop
prominently, the following stops with expected times, "Stopper" when a stop is requested, connections
at the next stop from the timetable, the delay once it passes the operator's threshold, the clock, and
the terminus and "not in service" states.

:func:`build_view` is pure (timetable, trip, position in the trip, delay and data time in);
:func:`render_frieze` is a pure function from the view to a Pillow image for a configured panel: a wide
TFT strip (e.g. 1920x360) or a small LED strip (e.g. 192x32). Long text is set smaller, then paged
(>= 3 s a page) — never cut mid-word, never scrolled.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from PIL import Image, ImageDraw

from onboard.passinfo.connections import DEFAULT_TRANSFER, Connection, Lookup, connections_at, for_display
from signage.colours import RGB, line_colour, parse_colour
from signage.headsign import short_headsign
from signage.text import (
    MIN_PAGE_S,
    TextDoesNotFit,
    TextFit,
    fit_text,
    get_font,
    page_index,
    text_colour_on,
    text_width,
)
from signage.words import Mode, Words, mode_of, words
from transit.deviations import PRIORITIES, DepartureRef, Deviation, effect, trip_stop_index
from transit.operator import DEFAULT_REJSEGARANTI_TEXT
from transit.ratelimit import RateLimitedLog
from transit.records import Eta, Record, StopRecord
from transit.timeutil import COPENHAGEN, ensure_utc, parse_iso
from transit.yamlconf import Node

log = logging.getLogger(__name__)

FriezeState = Literal["in_service", "terminus", "not_in_service"]
StopStatus = Literal["SCHEDULED", "CANCELED", "SKIPPED"]

MIN_TRANSFER = DEFAULT_TRANSFER   # change time when the operator file gives none


@dataclass(frozen=True)
class FriezeStop:
    stop_id: str
    name: str
    scheduled: datetime | None   # public timetable (arrival) time, UTC
    expected: datetime | None    # predicted arrival, UTC
    platform: str | None = None  # track (train) or stand (bus) code; a changed one when the control room says so
    terminus: bool = False       # the trip's last stop
    status: StopStatus = "SCHEDULED"  # CANCELED / SKIPPED: the vehicle will not call here
    platform_changed: bool = False

    @property
    def served(self) -> bool:
        return self.status == "SCHEDULED"


@dataclass(frozen=True)
class FriezeView:
    now: datetime
    state: FriezeState
    route: str = ""
    destination: str = ""
    via: tuple[str, ...] = ()
    next_stop: FriezeStop | None = None
    following: tuple[FriezeStop, ...] = ()   # after the next stop, in order; the last may be the terminus
    at_stop: bool = False                    # standing at next_stop with doors released
    stop_requested: bool = False
    delay_s: int | None = None               # positive = late
    delay_threshold_s: int = 120
    connections: tuple[Connection, ...] = ()
    at_origin: bool = False                  # standing at the first stop before departure
    mode: Mode = "rail"                      # from GTFS route_type: the words (spor / stoppested)
    messages: tuple[str, ...] = ()           # deviation texts for this trip, most important first
    rejsegaranti: str | None = None          # the operator's travel-guarantee note, once late enough

    @property
    def show_delay(self) -> bool:
        """The delay is shown once it reaches the operator's threshold (minutes rounded down)."""
        return self.delay_s is not None and self.delay_s >= max(60, self.delay_threshold_s)

    @property
    def words(self) -> Words:
        return words(self.mode)


@dataclass(frozen=True)
class Rejsegaranti:
    """The operator's rule (``punctuality.rejsegaranti_min``) and note (``display.rejsegaranti_text``)."""

    threshold_min: int = 20
    text: str = DEFAULT_REJSEGARANTI_TEXT

    def note(self, delay_s: int | None) -> str | None:
        """The note when the delay is *more than* the threshold (contract: "mere end 20 minutter")."""
        if delay_s is None or delay_s <= self.threshold_min * 60:
            return None
        return self.text.replace("{min}", str(self.threshold_min))

    @classmethod
    def of(cls, operator: Any) -> Rejsegaranti:
        """From a ``transit.operator.Operator`` (the defaults without one)."""
        if operator is None:
            return cls()
        return cls(operator.punctuality.rejsegaranti_min, operator.display.rejsegaranti_text)


def build_view(tt: Any, trip_id: str, service_day: date, next_index: int | None, now: datetime, *,
               delay_s: int | None = None, etas: Mapping[int, datetime] | None = None,
               at_stop: bool = False, stop_requested: bool = False, delay_threshold_s: int = 120,
               stops_shown: int = 4, via: Sequence[str] = (), via_stations: Sequence[str] = (),
               max_connections: int = 4, statuses: Mapping[int, str] | None = None,
               platforms: Mapping[int, str] | None = None, deviations: Sequence[Deviation] = (),
               notices: Sequence[str] = (), realtime: Lookup | None = None,
               transfer: timedelta = MIN_TRANSFER, rejsegaranti: Rejsegaranti | None = None) -> FriezeView:
    """The frieze content for a vehicle on ``trip_id`` whose next stop is ``next_index`` (0-based in the
    trip's stop list; ``None`` when the trip is finished → terminus).

    ``etas`` (stop_sequence → expected arrival) come from trip following; without them a stop's
    expected time is its timetable time plus ``delay_s``. ``statuses`` and ``platforms`` (stop_sequence →
    CANCELED/SKIPPED, new platform) are what the unit's own predictions say; ``deviations`` (the control
    room's, as the unit holds them) are applied on top, to this trip's stops and to the connections, with
    ``realtime`` (other vehicles' predictions) for the connections' own state. ``notices`` are the message
    texts the control room addressed to this trip's stops or line. ``via`` names are shown as given;
    otherwise the ``via_stations`` (stop ids or parent stations, e.g. the line's registration stations)
    still ahead, before the destination, become the via (at most two). ``tt`` is a
    ``transit.timetable.Timetable``.
    """
    now = ensure_utc(now)
    sched = tt.trip_schedule(trip_id, service_day)
    rt = tt.route_of(trip_id)
    route, mode = rt.name, mode_of(rt.route_type)
    w = words(mode)
    destination = tt.headsign(trip_id, 0)
    oday = service_day.isoformat()
    index = trip_stop_index(tt, trip_id)
    texts: list[str] = []

    def stop(i: int) -> FriezeStop:
        s = sched[i]
        exp = (etas or {}).get(s.stop_sequence)
        if exp is None and delay_s is not None:
            exp = s.arrival + timedelta(seconds=delay_s)
        st = tt.stops.get(s.stop_id)
        planned = getattr(st, "platform_code", None) or None
        status = (statuses or {}).get(s.stop_sequence, "SCHEDULED")
        platform = (platforms or {}).get(s.stop_sequence) or planned
        if deviations:
            e = effect(deviations, DepartureRef(trip_id, oday, route, s.stop_id, s.departure if i < len(sched) - 1
                                                else s.arrival, tt.station_of(s.stop_id), i), index)
            if e.status != "SCHEDULED" and status == "SCHEDULED":
                status = e.status
            platform = e.platform or platform
            texts.extend(t for _, t in sorted(e.texts, key=lambda x: -PRIORITIES.index(x[0])))
        return FriezeStop(s.stop_id, tt.stop_name(s.stop_id), s.arrival, exp, platform, i == len(sched) - 1,
                          status if status in ("CANCELED", "SKIPPED") else "SCHEDULED",  # type: ignore[arg-type]
                          platform is not None and platform != planned)

    rg = (rejsegaranti or Rejsegaranti()).note(delay_s)
    if next_index is None or next_index >= len(sched):
        last = stop(len(sched) - 1)
        arr = last.expected or last.scheduled or now
        conns = connections_at(tt, trip_id, len(sched) - 1, arrive_sched=last.scheduled or arr, arrive_exp=arr,
                               transfer=transfer, deviations=deviations, realtime=realtime)
        return FriezeView(now, "terminus", route, destination, tuple(via), last, (), True, False, delay_s,
                          delay_threshold_s, for_display(conns, max_connections), mode=mode,
                          messages=_dedupe([*notices, *texts]), rejsegaranti=rg)
    ahead = [stop(i) for i in range(next_index, len(sched))]
    # the next stop is the next one the vehicle calls at; skipped ones before it are said in the messages
    k = next((j for j, s in enumerate(ahead) if s.served), 0)
    nxt = ahead[k]
    notes: list[str] = []
    skipped = [s.name for s in ahead if s.status == "SKIPPED"]
    served = [s for s in ahead if s.served]
    if ahead[-1].status == "CANCELED" and served:
        notes.append(f"{w.vehicle} kører kun til {served[-1].name}. Aflyst herfra til {short_headsign(destination)}.")
    elif not served:
        notes.append(f"{w.vehicle} er aflyst.")
    if skipped:
        notes.append(f"{w.vehicle} {w.skips} ved {_join(skipped)}.")
    if not via and via_stations:
        wanted = set(via_stations)
        ids = [s.stop_id for s in ahead[k + 1:-1] if s.served]
        dest = short_headsign(destination)
        names = [short_headsign(tt.stop_name(sid)) for sid in ids if sid in wanted or tt.station_of(sid) in wanted]
        via = [n for n in dict.fromkeys(names) if n not in dest][:2]  # "via Hundested" to Hundested Havn says nothing
    n_idx = next_index + k
    state: FriezeState = "terminus" if n_idx == len(sched) - 1 and at_stop else "in_service"
    following = tuple(ahead[k + 1:k + 1 + stops_shown])
    if n_idx + stops_shown < len(sched) - 1:  # always end the list with the destination
        following = following[:-1] + (ahead[-1],)
    arr = nxt.expected or nxt.scheduled or now
    conns = connections_at(tt, trip_id, n_idx, arrive_sched=nxt.scheduled or arr, arrive_exp=arr, transfer=transfer,
                           deviations=deviations, realtime=realtime) if nxt.served else []
    return FriezeView(now, state, route, destination, tuple(via), nxt, following, at_stop, stop_requested,
                      delay_s, delay_threshold_s, for_display(conns, max_connections),
                      at_origin=at_stop and n_idx == 0, mode=mode,
                      messages=_dedupe([*notes, *notices, *texts]), rejsegaranti=rg)


def _join(names: Sequence[str]) -> str:
    """Danish list: "A", "A og B", "A, B og C"."""
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def _dedupe(texts: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for t in dict.fromkeys(x.strip() for x in texts) if t)


def not_in_service(now: datetime) -> FriezeView:
    return FriezeView(ensure_utc(now), "not_in_service")


# --------------------------------------------------------------------------------------------- panel
@dataclass(frozen=True)
class FriezeColours:
    background: RGB = (0, 0, 0)
    text: RGB = (255, 255, 255)
    dim: RGB = (160, 160, 160)
    accent: RGB = (255, 176, 0)        # delay, "Stopper"
    band: RGB = (0, 40, 95)            # header band (Movia-like blue)
    band_dim: RGB = (190, 205, 230)    # secondary text on the band (via)
    line: RGB = (255, 255, 255)        # the line diagram
    request: RGB = (220, 30, 40)
    cancelled: RGB = (255, 70, 60)     # "Aflyst", a stop not called at (as the countdown display)


@dataclass(frozen=True)
class FriezePanel:
    width: int = 1920
    height: int = 360
    stops_shown: int = 4
    page_s: float = 5.0
    clock: bool = True
    colours: FriezeColours = field(default_factory=FriezeColours)
    font: str = "sans-bold"
    font_regular: str = "sans"
    font_condensed: str = "condensed-bold"
    antialias: bool = True
    line_colours: tuple[tuple[str, RGB], ...] = ()

    @property
    def compact(self) -> bool:
        """LED strips and other low panels get the two-line layout."""
        return self.height < 96

    @classmethod
    def from_config(cls, cfg: Any) -> FriezePanel:
        """From ``onboard.service.config.FriezeConfig`` (width, height, stops_shown, page_s, clock)."""
        return cls(width=cfg.width, height=cfg.height, stops_shown=cfg.stops_shown,
                   page_s=max(MIN_PAGE_S, cfg.page_s), clock=cfg.clock, antialias=cfg.height >= 96)

    @classmethod
    def from_node(cls, node: Node) -> FriezePanel:
        node.reject_unknown({"width", "height", "stops_shown", "page_s", "clock", "colours", "antialias",
                             "line_colours", "font"})
        cols = FriezeColours()
        cnode = node.opt("colours")
        if cnode is not None:
            cnode.reject_unknown(set(FriezeColours.__dataclass_fields__))
            cols = FriezeColours(**{k: parse_colour(v.as_str(), v) for k, v in cnode.items()})
        lnode = node.opt("line_colours")
        height = node.get_int("height", 360, min=16, max=4096)
        return cls(width=node.get_int("width", 1920, min=64, max=8192), height=height,
                   stops_shown=node.get_int("stops_shown", 4, min=1, max=12),
                   page_s=node.get_float("page_s", 5.0, min=MIN_PAGE_S, max=60.0),
                   clock=node.get_bool("clock", True), colours=cols,
                   font=node.get_str("font", "sans-bold"), antialias=node.get_bool("antialias", height >= 96),
                   line_colours=tuple((k, parse_colour(v.as_str(), v)) for k, v in lnode.items())
                   if lnode is not None else ())

    def line_colour(self, route: str) -> RGB:
        return line_colour(route, self.line_colours)


def _local(dt: datetime) -> str:
    return ensure_utc(dt).astimezone(COPENHAGEN).strftime("%H:%M")


def delay_text(delay_s: int) -> str:
    return f"Forsinket {delay_s // 60} min"


@functools.lru_cache(maxsize=512)
def _fit(text: str, fonts: tuple[tuple[str, int], ...], width: int, lines: int,
         size_first: bool = False) -> TextFit:
    """Cached fitting; paged only when nothing holds the text on one page.

    Default order: one line in any candidate font (full text, then without " St."), then two lines...
    ``size_first`` keeps the largest font and uses more lines first (columns that should look alike).
    """
    short = short_headsign(text)
    variants = list(dict.fromkeys((text, short)))
    if size_first:
        order = [(cand, t, n) for cand in fonts for n in range(1, lines + 1)
                 for t in (variants if n == 1 else variants[::-1])]
    else:
        order = [(cand, t, n) for n in range(1, lines + 1) for cand in fonts for t in variants]
    for cand, t, n in order:
        try:
            f = fit_text(t, [cand], width, n)
        except TextDoesNotFit:
            continue
        if not f.paged:
            return f
    return fit_text(short, list(fonts), width, lines)


def _sizes(font: str, size: int, *, down_to: float = 0.6, extra: str | None = None) -> tuple[tuple[str, int], ...]:
    out = [(font, size)]
    if extra:
        out.append((extra, size))
    s = size
    while s > max(7, int(size * down_to)):
        s = max(7, int(s * 0.88))
        out.append((extra or font, s))
    return tuple(dict.fromkeys(out))


def _page_line(fit: TextFit, now: datetime, page_s: float) -> tuple[str, ...]:
    return fit.pages[page_index(now, len(fit.pages), page_s)]


@functools.lru_cache(maxsize=256)
def _badge(route: str, h: int, panel: FriezePanel) -> Image.Image:
    f = get_font(panel.font, max(7, int(h * 0.72)))
    w = max(text_width(f, route) + h // 2, int(h * 1.6))
    bg = panel.line_colour(route)
    fg = text_colour_on(bg)
    img = Image.new("RGB", (w, h), panel.colours.background)
    d = ImageDraw.Draw(img)
    if not panel.antialias:
        d.fontmode = "1"
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(1, h // 6), fill=bg)
    d.text((w / 2, h / 2), route, font=f, fill=fg, anchor="mm")
    return img


@functools.lru_cache(maxsize=8)
def _static(panel: FriezePanel) -> Image.Image:
    """The parts that never change for a panel: background and header band."""
    img = Image.new("RGB", (panel.width, panel.height), panel.colours.background)
    if not panel.compact:
        ImageDraw.Draw(img).rectangle((0, 0, panel.width - 1, int(panel.height * 0.28) - 1),
                                      fill=panel.colours.band)
    return img


def render_frieze(view: FriezeView, panel: FriezePanel) -> Image.Image:
    """The frieze frame for ``view`` (pure; the page shown follows the view's data time)."""
    img = _static(panel).copy()
    d = ImageDraw.Draw(img)
    if not panel.antialias:
        d.fontmode = "1"
    try:
        if panel.compact:
            _render_compact(img, d, view, panel)
        else:
            _render_wide(img, d, view, panel)
    except TextDoesNotFit as exc:
        # A panel too small for a name (the stop-name test guards the configured sizes): never go dark
        # or crash in service; show the essentials clipped and say so once.
        _warn_once(str(exc))
        img = Image.new("RGB", (panel.width, panel.height), panel.colours.background)
        d = ImageDraw.Draw(img)
        f = get_font(panel.font_condensed, max(7, panel.height // 3))
        ns = view.next_stop.name if view.next_stop is not None else ""
        d.text((1, 0), f"{view.route} {view.destination}".strip() or "Ikke i drift", font=f, fill=panel.colours.text)
        d.text((1, panel.height // 2), ns, font=f, fill=panel.colours.text)
    return img


@functools.lru_cache(maxsize=64)
def _warn_once(message: str) -> None:
    log.warning("frieze layout: %s", message)


# ---------------------------------------------------------------------------------------- wide TFT
def _render_wide(img: Image.Image, d: ImageDraw.ImageDraw, v: FriezeView, p: FriezePanel) -> None:
    W, H = p.width, p.height
    c = p.colours
    band_h = int(H * 0.28)
    m = max(6, H // 30)  # margin
    # header: line badge, destination (+ via), clock
    clock_w = 0
    if p.clock:
        cf = get_font(p.font, int(band_h * 0.55))
        clock_w = text_width(cf, "88:88") + 2 * m
        d.text((W - m, band_h // 2), _local(v.now), font=cf, fill=c.text, anchor="rm")
    if v.state == "not_in_service":
        f = _fit("Ikke i drift", _sizes(p.font, int(band_h * 0.55)), W - clock_w - 2 * m, 1)
        d.text((m, band_h // 2), f.pages[0][0], font=f.font, fill=c.text, anchor="lm")
        big = _fit("Ikke i drift", _sizes(p.font, int(H * 0.3)), W - 2 * m, 1)
        d.text((W // 2, band_h + (H - band_h) // 2), big.pages[0][0], font=big.font, fill=c.dim, anchor="mm")
        return
    bh = int(band_h * 0.62)
    badge = _badge(v.route, bh, p)
    img.paste(badge, (m, (band_h - bh) // 2))
    x = m + badge.width + 2 * m
    dest_w = W - x - clock_w - m
    dest_size = int(band_h * 0.5)
    if v.via:
        dfit = _fit(v.destination, _sizes(p.font, dest_size), dest_w, 1)
        d.text((x, band_h * 0.42), _page_line(dfit, v.now, p.page_s)[0], font=dfit.font, fill=c.text, anchor="lm")
        vfit = _fit("via " + ", ".join(v.via), _sizes(p.font_regular, int(band_h * 0.24)), dest_w, 1)
        d.text((x, band_h * 0.82), _page_line(vfit, v.now, p.page_s)[0], font=vfit.font, fill=c.band_dim,
               anchor="lm")
    else:
        dfit = _fit(v.destination, _sizes(p.font, dest_size), dest_w, 1)
        d.text((x, band_h // 2), _page_line(dfit, v.now, p.page_s)[0], font=dfit.font, fill=c.text, anchor="lm")

    # main area: next stop on the left; following stops (or connections) on the right
    top = band_h + m
    left_w = int(W * 0.42)
    ns = v.next_stop
    label = {"terminus": "Endestation",
             "in_service": "Afgang fra" if v.at_origin else ("Nu" if v.at_stop else v.words.next_stop)}[v.state]
    lf = get_font(p.font_regular, int(H * 0.075))
    d.text((m, top), label, font=lf, fill=c.dim, anchor="la")
    if ns is not None:
        nfit = _fit(ns.name, _sizes(p.font, int(H * 0.2), extra=p.font_condensed), left_w - 2 * m, 2)
        lines = _page_line(nfit, v.now, p.page_s)
        y = top + int(H * 0.1)
        for ln in lines:
            d.text((m, y), ln, font=nfit.font, fill=c.text, anchor="la")
            y += int(nfit.size * 1.1)
        inf = get_font(p.font_regular, int(H * 0.075))
        ix = m
        if ns.platform:  # "Spor 2" on a train, "Stoppested B" on a bus; a changed one in amber
            t = v.words.platform_label(ns.platform) + (" (ændret)" if ns.platform_changed else "")
            d.text((ix, H - m), t, font=inf, fill=c.accent if ns.platform_changed else c.dim, anchor="ld")
            ix += text_width(inf, t) + 3 * m
        when = ns.expected or ns.scheduled
        if when is not None and v.state == "in_service":
            d.text((ix, H - m), f"Ankomst {_local(when)}", font=inf, fill=c.dim, anchor="ld")
    # status chips bottom-left of the main area: Stopper, delay
    chip_f = get_font(p.font, int(H * 0.07))
    cx = left_w - m
    if v.show_delay and v.delay_s is not None:
        t = delay_text(v.delay_s)
        d.text((cx, H - m), t, font=chip_f, fill=c.accent, anchor="rd")
        cx -= text_width(chip_f, t) + 3 * m
    if v.stop_requested and v.state == "in_service":
        t = "STOPPER"
        tw = text_width(chip_f, t)
        hgt = int(chip_f.size * 1.3)
        d.rounded_rectangle((cx - tw - 2 * m, H - m - hgt, cx, H - m), radius=hgt // 4, fill=c.request)
        d.text((cx - m, H - m - hgt // 2), t, font=chip_f, fill=(255, 255, 255), anchor="rm")

    d.line((left_w, top, left_w, H - m), fill=c.dim, width=2)
    rx0, rx1 = left_w + 2 * m, W - m
    pages = _wide_pages(v, p)
    if not pages:
        if v.state == "terminus":
            _draw_message(d, p, ("Tak for rejsen", "Husk at tage alt med"), rx0, top, rx1, H - m)
        return
    which, title, lines, extra = pages[page_index(v.now, len(pages), p.page_s)]
    if which == "stops":
        _draw_stop_diagram(d, v, p, rx0, top, rx1, H - m)
    elif which == "connections":
        _draw_connections(img, d, v, p, rx0, top, rx1, H - m)
    else:
        fit, colour = extra
        hf = get_font(p.font_regular, _note_head_size(p))
        d.text((rx0, top), title, font=hf, fill=c.accent if colour == c.accent else c.dim, anchor="la")
        y = top + int(hf.size * 1.5)
        for ln in lines:
            d.text((rx0, y), ln, font=fit.font, fill=colour, anchor="la")
            y += int(fit.size * 1.15)


def _wide_geometry(p: FriezePanel) -> tuple[int, int, int, int]:
    """(margin, top of the main area, left edge of the right-hand area, its right edge)."""
    m = max(6, p.height // 30)
    return m, int(p.height * 0.28) + m, int(p.width * 0.42) + 2 * m, p.width - m


def _wide_pages(v: FriezeView, p: FriezePanel) -> list[tuple[str, str, tuple[str, ...], Any]]:
    """The pages of the right-hand area, in order: stops, connections, each message (itself paged when
    long), the rejsegaranti note. Each page stays ``page_s`` (>= 3 s)."""
    c = p.colours
    m, top, rx0, rx1 = _wide_geometry(p)
    pages: list[tuple[str, str, tuple[str, ...], Any]] = []
    if v.following:
        pages.append(("stops", "", (), None))
    if v.connections:
        pages.append(("connections", "", (), None))
    notes = [("Trafikinformation", t, c.text) for t in v.messages]
    if v.rejsegaranti:
        notes.append(("Rejsegaranti", v.rejsegaranti, c.accent))
    for head, text, colour in notes:
        fit = _note_fit(text, p, rx1 - rx0, p.height - m - top)
        for k, lines in enumerate(fit.pages):
            title = head + (f"  {k + 1}/{len(fit.pages)}" if fit.paged else "")
            pages.append(("note", title, lines, (fit, colour)))
    return pages


def page_names(view: FriezeView, panel: FriezePanel) -> list[str]:
    """What the pages of a view are (``stops``, ``connections``, ``note:<title>``; the compact layout: its
    texts), in the order they are shown: for tests and for choosing a page to picture."""
    if view.state == "not_in_service":
        return []
    if panel.compact:
        return [t for t, _, _ in _compact_pages(view, panel)]
    return [k if k != "note" else f"note:{t}" for k, t, _, _ in _wide_pages(view, panel)]


def _note_head_size(p: FriezePanel) -> int:
    return int(p.height * 0.065)


def _note_fit(text: str, p: FriezePanel, width: int, height: int) -> TextFit:
    """A message in the right-hand area: as large as fits on one page (at most 4 lines), else the smallest
    readable size paged by whole words."""
    body = height - int(_note_head_size(p) * 1.5)
    for size in (int(p.height * 0.11), int(p.height * 0.095), int(p.height * 0.08)):
        n = max(1, (body - size // 3) // int(size * 1.15))
        f = fit_text(text, [(p.font, size)], width, n)
        if not f.paged:
            return f
    return f


def _draw_message(d: ImageDraw.ImageDraw, p: FriezePanel, lines: tuple[str, str], x0: int, y0: int,
                  x1: int, y1: int) -> None:
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    f1 = _fit(lines[0], _sizes(p.font, int((y1 - y0) * 0.3)), x1 - x0, 1)
    f2 = _fit(lines[1], _sizes(p.font_regular, int((y1 - y0) * 0.16)), x1 - x0, 1)
    d.text((cx, cy - 4), f1.pages[0][0], font=f1.font, fill=p.colours.text, anchor="md")
    d.text((cx, cy + 12), f2.pages[0][0], font=f2.font, fill=p.colours.dim, anchor="ma")


def _draw_stop_diagram(d: ImageDraw.ImageDraw, v: FriezeView, p: FriezePanel, x0: int, y0: int, x1: int,
                       y1: int) -> None:
    """Following stops on a horizontal line: a dot per stop, the name above, the expected time below."""
    c = p.colours
    stops = v.following
    n = len(stops)
    col_w = (x1 - x0) // max(n, 1)
    line_y = y0 + int((y1 - y0) * 0.62)
    r = max(4, (y1 - y0) // 18)
    first_x = x0 + col_w // 2
    last_x = x0 + col_w * (n - 1) + col_w // 2
    d.line((x0, line_y, last_x, line_y), fill=p.line_colour(v.route), width=max(3, r))
    name_size = int((y1 - y0) * 0.16)
    tf = get_font(p.font_regular, int((y1 - y0) * 0.14))
    for i, s in enumerate(stops):
        cx = first_x + i * col_w
        fit = _fit(s.name, _sizes(p.font, name_size, extra=p.font_condensed), col_w - 8, 2, size_first=True)
        lines = _page_line(fit, v.now, p.page_s)
        yb = line_y - r - 6
        if not s.served:
            # not called at: a dimmed ring with a cross, the name dimmed and struck through, and why below
            d.ellipse((cx - r, line_y - r, cx + r, line_y + r), fill=c.background, outline=c.dim, width=max(2, r // 2))
            k = int(r * 1.4)
            for a, b in (((cx - k, line_y - k), (cx + k, line_y + k)), ((cx - k, line_y + k), (cx + k, line_y - k))):
                d.line((a, b), fill=c.cancelled, width=max(2, r // 2))
            for ln in reversed(lines):
                d.text((cx, yb), ln, font=fit.font, fill=c.dim, anchor="md")
                tw = text_width(fit.font, ln)
                ym = yb - int(fit.size * 0.35)
                d.line((cx - tw // 2, ym, cx + tw // 2, ym), fill=c.cancelled, width=max(2, int(fit.size) // 12))
                yb -= int(fit.size * 1.05)
            why = "Aflyst" if s.status == "CANCELED" else f"{v.words.skips.capitalize()}"
            d.text((cx, line_y + r + 8), why, font=tf, fill=c.cancelled, anchor="ma")
            continue
        d.ellipse((cx - r, line_y - r, cx + r, line_y + r), fill=c.text if s.terminus else c.background,
                  outline=c.line, width=max(2, r // 2))
        for ln in reversed(lines):
            d.text((cx, yb), ln, font=fit.font, fill=c.text, anchor="md")
            yb -= int(fit.size * 1.05)
        t = s.expected or s.scheduled
        if t is not None:
            late = s.expected is not None and s.scheduled is not None and \
                (s.expected - s.scheduled).total_seconds() >= max(60, v.delay_threshold_s)
            d.text((cx, line_y + r + 8), _local(t), font=tf, fill=c.accent if late else c.dim, anchor="ma")


def _draw_connections(img: Image.Image, d: ImageDraw.ImageDraw, v: FriezeView, p: FriezePanel, x0: int,
                      y0: int, x1: int, y1: int) -> None:
    """"Skift" table: line badge, destination (with the connection's state under it when it is not simply
    leaving: "Aflyst", "Afgår før vi ankommer"), departure time (realtime when known), track or stand."""
    c = p.colours
    hf = get_font(p.font_regular, int((y1 - y0) * 0.13))
    where = v.next_stop.name if v.next_stop else ""
    d.text((x0, y0), f"Skift ved {short_headsign(where)}", font=hf, fill=c.dim, anchor="la")
    rows = v.connections[:4]
    top = y0 + int(hf.size * 1.4)
    row_h = (y1 - top) // max(len(rows), 1) if rows else 0
    row_h = min(row_h, (y1 - top) // 3)
    f = get_font(p.font, int(row_h * 0.6))
    sf = get_font(p.font, int(row_h * 0.5))
    time_w = text_width(f, "88:88")
    labels = [words(cn.mode).platform_label(cn.platform) if cn.platform else "" for cn in rows]
    plat_w = max([text_width(f, "Spor 88")] + [text_width(f, t) for t in labels])
    for i, cn in enumerate(rows):
        y = top + i * row_h
        bh = int(row_h * 0.78)
        b = _badge(cn.route, bh, p)
        img.paste(b, (x0, y + (row_h - bh) // 2))
        tx = x0 + b.width + max(8, bh // 3)
        right = x1 - time_w - plat_w - 40
        state = {"cancelled": ("Aflyst", c.cancelled), "missed": ("Afgår før vi ankommer", c.accent)}.get(cn.state)
        if state is not None:  # the state right-aligned before the time, the destination in what is left
            d.text((right, y + row_h // 2), state[0], font=sf, fill=state[1], anchor="rm")
            right -= text_width(sf, state[0]) + max(12, bh // 2)
        fit = _fit(cn.headsign, _sizes(p.font, int(f.size), extra=p.font_condensed), right - tx, 1)
        d.text((tx, y + row_h // 2), _page_line(fit, v.now, p.page_s)[0], font=fit.font,
               fill=c.dim if cn.state == "cancelled" else c.text, anchor="lm")
        tr = x1 - plat_w - 20
        changed = cn.expected is not None and abs((cn.expected - cn.departure).total_seconds()) >= 60
        colour = c.dim if cn.state != "departs" else (c.accent if changed else c.text)
        d.text((tr, y + row_h // 2), _local(cn.when), font=f, fill=colour, anchor="rm")
        if cn.state == "cancelled":  # the time struck through
            d.line((tr - time_w, y + row_h // 2, tr, y + row_h // 2), fill=c.cancelled, width=max(2, int(f.size) // 10))
        if labels[i]:
            d.text((x1, y + row_h // 2), labels[i], font=f, fill=c.accent if cn.platform_changed else c.dim,
                   anchor="rm")


# ---------------------------------------------------------------------------------------- LED strip
def _render_compact(img: Image.Image, d: ImageDraw.ImageDraw, v: FriezeView, p: FriezePanel) -> None:
    """Two lines: [line] destination + clock; then next stop / delay / connections in timed pages."""
    W, H = p.width, p.height
    c = p.colours
    lh = H // 2
    size = max(7, int(lh * 0.85))
    x = 1
    clock_w = 0
    if p.clock:
        cf = get_font(p.font_condensed, size)
        clock_w = text_width(cf, "88:88") + 3
        d.text((W - 1, lh // 2), _local(v.now), font=cf, fill=c.accent, anchor="rm")
    if v.state == "not_in_service":
        f = _fit("Ikke i drift", _sizes(p.font, size, extra=p.font_condensed), W - clock_w - 2, 1)
        d.text((1, lh // 2), f.pages[0][0], font=f.font, fill=c.text, anchor="lm")
        return
    badge = _badge(v.route, lh - 2, p)
    img.paste(badge, (0, 1))
    x = badge.width + 3
    dfit = _fit(v.destination, _sizes(p.font, size, extra=p.font_condensed), W - x - clock_w - 2, 1)
    d.text((x, lh // 2), _page_line(dfit, v.now, p.page_s)[0], font=dfit.font, fill=c.text, anchor="lm")
    flat = _compact_pages(v, p)
    if not flat:
        return
    if _requested(v):
        rf = get_font(p.font_condensed, max(7, int(lh * 0.7)))
        req_w = text_width(rf, "STOP") + 4
        d.rectangle((W - req_w, lh + 1, W - 1, H - 1), fill=c.request)
        d.text((W - req_w // 2, lh + lh // 2), "STOP", font=rf, fill=(255, 255, 255), anchor="mm")
    text, font, col = flat[page_index(v.now, len(flat), p.page_s)]
    d.text((1, lh + lh // 2), text, font=font, fill=col, anchor="lm")


def _requested(v: FriezeView) -> bool:
    return v.stop_requested and v.state == "in_service"


def _compact_pages(v: FriezeView, p: FriezePanel) -> list[tuple[str, Any, RGB]]:
    """The second line's pages: one per text (each >= 3 s), a text too long itself paged by words."""
    lh = p.height // 2
    size = max(7, int(lh * 0.85))
    req_w = 0
    if _requested(v):
        req_w = text_width(get_font(p.font_condensed, max(7, int(lh * 0.7))), "STOP") + 4
    fits = [(_fit(t, _sizes(p.font, size, extra=p.font_condensed), p.width - 2 - req_w - 2, 1), col)
            for t, col in _compact_texts(v, p)]
    return [(pg[0], f.font, col) for f, col in fits for pg in f.pages]


def _compact_texts(v: FriezeView, p: FriezePanel) -> list[tuple[str, RGB]]:
    """The second line's texts of the LED strip, in the order they are paged."""
    c = p.colours
    msgs: list[tuple[str, RGB]] = []
    ns = v.next_stop
    if v.state == "terminus":
        msgs.append(("Endestation" + (f": {ns.name}" if ns else ""), c.text))
        msgs.append(("Tak for rejsen", c.text))
    elif ns is not None:
        msgs.append((("Nu: " if v.at_stop else "Næste: ") + ns.name, c.text))
    if ns is not None and ns.platform_changed and ns.platform:
        msgs.append((f"Ændret: {v.words.platform_label(ns.platform)}", c.accent))
    if v.show_delay and v.delay_s is not None:
        msgs.append((delay_text(v.delay_s), c.accent))
    for text in v.messages:
        msgs.append((text, c.text))
    if v.rejsegaranti:
        msgs.append((v.rejsegaranti, c.accent))
    for cn in v.connections[:2]:
        what = {"cancelled": "aflyst", "missed": "afgår før vi ankommer"}.get(cn.state, _local(cn.when))
        msgs.append((f"Skift: {cn.route} {short_headsign(cn.headsign)} {what}",
                     c.dim if cn.state == "departs" else (c.cancelled if cn.cancelled else c.accent)))
    return msgs


# ------------------------------------------------------------------------------ from trip following
_AT_STOP_EVENTS = frozenset({"arr", "ars", "doo"})
_LEFT_STOP_EVENTS = frozenset({"dep", "pas"})


class FriezeTracker:
    """Keeps what the frieze needs from the onboard records (``eta``, ``arr``/``ars``/``doo``,
    ``dep``/``pas``) and builds the view for any data time. Pure: records in, views out.

    After the trip ends (an ``eta`` record clearing the remaining stops, or the arrival at the last
    stop) the terminus is shown for ``terminus_hold_s``, then "not in service" until the next trip.
    """

    def __init__(self, tt: Any, *, delay_threshold_s: int = 120, stops_shown: int = 4,
                 terminus_hold_s: float = 300.0, via_stations: Mapping[str, Sequence[str]] | None = None,
                 rejsegaranti: Rejsegaranti | None = None, transfer: timedelta = MIN_TRANSFER) -> None:
        self.tt = tt
        self.rejsegaranti = rejsegaranti or Rejsegaranti()
        self.transfer = transfer
        self.next_tt: Any = None  # a timetable rolled out during a trip: taken at the next trip
        self.via_stations = dict(via_stations or {})  # line -> stop ids, e.g. the registration stations
        self.delay_threshold_s = delay_threshold_s
        self.stops_shown = stops_shown
        self.terminus_hold_s = terminus_hold_s
        self.stop_requested = False  # set by the service from the vehicle's stop-request signal
        self.rejected = 0
        self._rlog = RateLimitedLog(log)  # paced by count: a bad record has no trustworthy time
        self._reset(None, None)

    def _reset(self, trip_id: str | None, day: date | None) -> None:
        self.trip_id, self.day = trip_id, day
        self._seqs: list[int] = []
        self.next_seq: int | None = None
        self.at_stop = False
        self.delay_s: int | None = None
        self.etas: dict[int, datetime] = {}
        self.statuses: dict[int, str] = {}  # stop_sequence -> CANCELED / SKIPPED (the unit's predictions)
        self.platforms: dict[int, str] = {}  # stop_sequence -> platform the predictions give
        self.ended_at: datetime | None = None

    def swap_timetable(self, tt: Any) -> None:
        """A new timetable: now when no trip is shown, else from the next trip on (the trip being shown
        keeps the stops it was announced with)."""
        if self.trip_id is None or self.ended_at is not None:
            self.tt, self.next_tt = tt, None
        else:
            self.next_tt = tt

    def _switch(self, trip_id: str, day: date) -> None:
        if self.next_tt is not None:
            self.tt, self.next_tt = self.next_tt, None
        if trip_id not in self.tt.trips:
            raise KeyError(f"unknown trip {trip_id}")
        self._reset(trip_id, day)
        self._seqs = [s.stop_sequence for s in self.tt.trip_schedule(trip_id, day)]
        self.next_seq = self._seqs[0] if self._seqs else None

    def begin(self, trip_id: str, day: date) -> None:
        """The unit is in service on ``trip_id`` (trip following started it) before any record of it came:
        show it from its first stop at once ("Afgang fra ..."), not "Ikke i drift" until the first
        prediction. Nothing changes when the trip is already the one shown."""
        if (trip_id, day) == (self.trip_id, self.day):
            return
        try:
            self._switch(trip_id, day)
        except KeyError as exc:
            self.rejected += 1
            self._rlog.warn("bad_trip", "frieze: trip %s not shown: %s", trip_id, exc)
            return
        self.at_stop = True

    def on_record(self, rec: Record) -> None:
        """Apply one record; records of other kinds are ignored, ones the timetable does not know counted."""
        event = rec.event
        if event not in ("eta", *_AT_STOP_EVENTS, *_LEFT_STOP_EVENTS):
            return
        try:
            tst = parse_iso(rec.tst)
            trip_id = rec.trip_id
            if not trip_id or rec.oday is None:
                return
            day = date.fromisoformat(rec.oday)
            if (trip_id, day) != (self.trip_id, self.day):
                self._switch(trip_id, day)
            if isinstance(rec, Eta):
                self._on_eta(rec, tst)
            elif event in _AT_STOP_EVENTS and rec.seq is not None:
                self.next_seq, self.at_stop = rec.seq, True
                if self._seqs and self.next_seq == self._seqs[-1]:
                    self.ended_at = self.ended_at or tst
            elif isinstance(rec, StopRecord) and event in _LEFT_STOP_EVENTS and rec.seq is not None:
                seq = rec.seq
                delay = self.delay_s if not isinstance(rec.dl, float | int) else int(round(rec.dl))
                later = [s for s in self._seqs if s > seq]
                self.at_stop = False
                self.next_seq = later[0] if later else None
                self.delay_s = delay
        except (KeyError, ValueError, TypeError, OverflowError) as exc:  # OverflowError: round(inf)
            self.rejected += 1
            self._rlog.warn("bad_record", "frieze: record %s skipped (%d so far): %s", rec.id[:20],
                            self.rejected, exc)

    def _on_eta(self, rec: Eta, tst: datetime) -> None:
        # everything is read before anything is changed: a bad field rejects the whole record
        stops = rec.stops
        delay = self.delay_s if not isinstance(rec.dl, float | int) else int(round(rec.dl))
        if not stops:
            self.delay_s = delay
            if rec.clear:
                self.ended_at = self.ended_at or tst
            return
        if any(s.seq is None for s in stops):
            raise ValueError("an eta stop without seq")
        etas = {s.seq: parse_iso(s.eta_arr) for s in stops if s.eta_arr and s.seq is not None}
        statuses: dict[int, str] = {s.seq: s.status for s in stops if s.seq is not None and s.status != "SCHEDULED"}
        platforms = {s.seq: s.platform for s in stops if s.seq is not None and s.platform}
        first = stops[0].seq
        self.delay_s, self.etas = delay, etas
        self.statuses, self.platforms = statuses, platforms
        if not (self.at_stop and self.next_seq == first):
            self.at_stop = False
        self.next_seq = first

    def view(self, now: datetime, *, deviations: Sequence[Deviation] = (), notices: Sequence[str] = (),
             realtime: Lookup | None = None) -> FriezeView:
        """The view at data time ``now``; ``deviations`` (the control room's, as the unit holds them),
        ``notices`` (their texts for this trip's stops and line) and ``realtime`` (other vehicles'
        predictions) as :func:`build_view` takes them."""
        now = ensure_utc(now)
        if self.trip_id is None or self.day is None:
            return not_in_service(now)
        if self.ended_at is not None and (not self.at_stop or
                                          (now - self.ended_at).total_seconds() > self.terminus_hold_s):
            return not_in_service(now)  # held at the terminus for a while; a trip cut short: at once
        idx = None
        if self.next_seq is not None and self.next_seq in self._seqs and self.ended_at is None:
            idx = self._seqs.index(self.next_seq)
        elif self.ended_at is not None and self.at_stop:
            idx = len(self._seqs) - 1
        route = self.tt.route_of(self.trip_id).name
        return build_view(self.tt, self.trip_id, self.day, idx, now, delay_s=self.delay_s, etas=self.etas,
                          at_stop=self.at_stop, stop_requested=self.stop_requested,
                          delay_threshold_s=self.delay_threshold_s, stops_shown=self.stops_shown,
                          via_stations=self.via_stations.get(route, ()), statuses=self.statuses,
                          platforms=self.platforms, deviations=deviations, notices=notices, realtime=realtime,
                          transfer=self.transfer, rejsegaranti=self.rejsegaranti)


__all__ = ["MIN_TRANSFER", "Connection", "FriezeColours", "FriezePanel", "FriezeState", "FriezeStop", "FriezeTracker",
           "FriezeView", "Rejsegaranti", "StopStatus", "build_view", "delay_text", "not_in_service", "page_names",
           "render_frieze"]
