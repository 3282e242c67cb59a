"""Every stop name of the sample feed renders: no missing glyph, and it either fits or pages (never a
word wider than its box) on the countdown panels and the frieze panels."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest

from onboard.passinfo.frieze import Connection, FriezePanel, FriezeStop, FriezeView, render_frieze
from signage.text import missing_glyphs, text_width
from station.layout import CountdownPanel, destination_fit
from tests.conftest import REPO

STOPS_TXT = REPO / "data" / "gtfs" / "lokaltog-sample" / "stops.txt"
# Until the sample feed exists: the Lokaltog stations named in DOMAIN.md.
FALLBACK = ["Jægersborg St.", "Nærum St.", "Nørgaardsvej St.", "Hillerød St.", "Frederiksværk St.",
            "Hundested Havn St.", "Vibehus St.", "Lille Kregme St.", "Ølsted St.", "Skævinge St.",
            "Fredensborg St.", "Snekkersten St.", "Helsingør St.", "Hornbæk St.", "Gilleleje St.",
            "Gilleleje Øst St.", "Søborg St.", "Kagerup St.", "Tisvildeleje St.", "Græsted St.", "Helsinge St.",
            "Pårup St.", "Slotspavillonen St.", "Troldebakkerne St.", "Gribsø St.", "Ørby St."]
FONTS = ("sans", "sans-bold", "condensed", "condensed-bold")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def stop_names() -> list[str]:
    if not STOPS_TXT.exists():
        return FALLBACK
    with STOPS_TXT.open(encoding="utf-8-sig", newline="") as fh:
        names = sorted({row["stop_name"] for row in csv.DictReader(fh) if row.get("stop_name")})
    assert names, "stops.txt has no names"
    return names


NAMES = stop_names()


def test_there_are_names_with_danish_letters() -> None:
    assert len(NAMES) >= 20
    assert any(set(n) & set("æøåÆØÅ") for n in NAMES)


@pytest.mark.parametrize("font", FONTS)
def test_no_missing_glyphs(font: str) -> None:
    missing = {n: missing_glyphs(n, font) for n in NAMES}
    assert {n: m for n, m in missing.items() if m} == {}


COUNTDOWN_PANELS = {
    "256x64": CountdownPanel(),
    "256x64-qr": CountdownPanel(qr_url="https://rettid.example/stop/hilleroed"),
    "192x32-led": CountdownPanel(width=192, height=32, rows=2, antialias=False),
    "480x272": CountdownPanel(width=480, height=272, rows=6, title="x", qr_url="https://rettid.example/s/x"),
}


@pytest.mark.parametrize("panel_name", sorted(COUNTDOWN_PANELS))
def test_countdown_destinations_fit_or_page(panel_name: str) -> None:
    panel = COUNTDOWN_PANELS[panel_name]
    from station.layout import _room_for_occupancy, destination_width

    for name in NAMES:
        for platform, occu in ((None, False), ("10", False), ("10", True)):
            if occu and not _room_for_occupancy(panel, name, platform):
                continue  # occupancy is left out where it would crowd the destination (tested below)
            fit = destination_fit(panel, name, platform, occu)  # raises TextDoesNotFit otherwise
            width = destination_width(panel, platform, occu)
            assert len(fit.pages) <= 3, f"{name}: {len(fit.pages)} pages on {panel_name}"
            words = [w for page in fit.pages for line in page for w in line.split()]
            assert " ".join(words) in (name, name.removesuffix(" St."))  # whole words, nothing lost
            for page in fit.pages:
                for line in page:
                    assert text_width(fit.font, line) <= width


@pytest.mark.parametrize("panel", [FriezePanel(), FriezePanel(width=192, height=32, antialias=False)],
                         ids=["1920x360", "192x32"])
def test_frieze_renders_every_name_in_every_slot(panel: FriezePanel) -> None:
    for i, name in enumerate(NAMES):
        other = NAMES[(i + 7) % len(NAMES)]
        stop = FriezeStop("x", name, NOW, NOW, "10")
        view = FriezeView(NOW + timedelta(seconds=5 * i), "in_service", "920R", name, (other,), stop,
                          tuple(FriezeStop(f"f{k}", NAMES[(i + k) % len(NAMES)], NOW, NOW) for k in range(1, 5)),
                          stop_requested=True, delay_s=600,
                          connections=(Connection("950R", other, NOW, "10"),))
        for k in range(4):  # several pages
            img = render_frieze(FriezeView(**{**view.__dict__, "now": view.now + timedelta(seconds=5 * k)}), panel)
            assert img.size == (panel.width, panel.height)
        render_frieze(FriezeView(NOW, "terminus", "920R", name, (), stop, (), True), panel)


def test_occupancy_shown_beside_short_names_on_the_narrow_qr_panel() -> None:
    from station.layout import _room_for_occupancy

    panel = COUNTDOWN_PANELS["256x64-qr"]
    assert _room_for_occupancy(panel, "Nærum St.", "1")
    assert sum(_room_for_occupancy(panel, n, "10") for n in NAMES) >= len(NAMES) // 3
