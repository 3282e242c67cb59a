"""station.layout: countdown frames (reference images), dimming schedule, anti-burn-in shift, status."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest
from msgspec.structs import replace
from PIL import Image

from hw.display.memory import MemorySink
from signage.headsign import short_headsign
from station.departures import build_board
from station.layout import (
    Colours,
    CountdownPanel,
    DimStep,
    StatusInfo,
    brightness_at,
    compose,
    pixel_shift,
    render_countdown,
    render_status,
)
from tests.display.factories import NOW, normal_board_inputs, sched, with_delay
from tests.display.golden import assert_golden
from transit.errors import ConfigError
from transit.yamlconf import parse_yaml

AMBER = CountdownPanel(colours=Colours(text=(255, 176, 0)), qr_url="https://rettid.example/stop/hilleroed",
                       dimming=(DimStep(time(6, 0), 1.0), DimStep(time(22, 0), 0.3)), pixel_shift_px=1)


def test_golden_normal() -> None:
    s, p = normal_board_inputs()
    img = render_countdown(build_board(s, p, NOW), CountdownPanel())
    assert img.size == (256, 64)
    assert_golden(img, "countdown_normal")


def test_golden_delayed() -> None:
    s, p = normal_board_inputs()
    p = [with_delay(p[0], 6 * 60), p[1]]  # 950R six minutes late: 10 min, amber
    b = build_board(s, p, NOW)
    assert [r.text for r in b.rows][:3] == ["Nu", "9 min", "10 min"]
    assert_golden(render_countdown(b, CountdownPanel()), "countdown_delayed")


def test_golden_cancelled() -> None:
    s, p = normal_board_inputs()
    p = [p[0], replace(p[1], status="CANCELED")]
    b = build_board(s, p, NOW)
    assert "Aflyst" in [r.text for r in b.rows]
    assert_golden(render_countdown(b, CountdownPanel()), "countdown_cancelled")


def test_golden_no_data_and_no_departures() -> None:
    assert_golden(render_countdown(build_board(None, [], NOW), CountdownPanel()), "countdown_no_data")
    assert_golden(render_countdown(build_board([], [], NOW), CountdownPanel()), "countdown_no_departures")


def test_golden_last_departure_of_the_night_dimmed_and_shifted() -> None:
    night = NOW.replace(hour=23, minute=5)  # 00:05 in Copenhagen
    s = [dataclasses.replace(sched("t1", "920R", "Hundested Havn St.", 0, "8"), departure=night + timedelta(minutes=10))]
    frame = compose(build_board(s, [], night), AMBER, night)
    assert frame.brightness == pytest.approx(0.3)
    assert frame.shift != (0, 0) or pixel_shift(night, 1) == (0, 0)
    sink = MemorySink()
    sink.set_brightness(frame.brightness)
    sink.show(frame.image)
    assert sink.last is not None
    assert_golden(sink.last, "countdown_night")


def test_golden_large_panel_with_header_and_qr() -> None:
    s, p = normal_board_inputs()
    panel = CountdownPanel(width=480, height=272, rows=6, title="Hillerød St.",
                           qr_url="https://rettid.example/stop/hilleroed")
    assert panel.show_header
    assert_golden(render_countdown(build_board(s, p, NOW), panel), "countdown_large")


def test_golden_status_screen() -> None:
    info = StatusInfo("station-hilleroed-1", ("hilleroed",), NOW, broker="mqtts://mqtt.rettid.example:8883",
                      connected=True, last_prediction_age_s=12, predictions=3, feed_version="sample-2026-11")
    assert_golden(render_status(info, CountdownPanel()), "countdown_status")


def test_rows_beyond_panel_are_paged_by_data_time() -> None:
    s = [sched(f"t{i}", "920R", f"Stop {i}", 2 + i) for i in range(7)]
    b = build_board(s, [], NOW)
    panel = CountdownPanel(page_s=5)
    frames = {render_countdown(b, panel, NOW + timedelta(seconds=k)).tobytes() for k in range(0, 10)}
    assert len(frames) == 2  # two pages, each held for 5 s
    again = render_countdown(b, panel, NOW)
    assert again.tobytes() == render_countdown(b, panel, NOW).tobytes()  # pure


def test_long_destination_is_condensed_shortened_or_paged_never_cut() -> None:
    assert short_headsign("Hundested Havn St.") == "Hundested Havn"
    assert short_headsign("St.") == "St."
    s = [sched("t1", "920R", "Hundested Havn St. via Frederiksværk og Kregme", 3)]
    b = build_board(s, [], NOW)
    panel = CountdownPanel(page_s=3)
    pages = {render_countdown(b, panel, NOW + timedelta(seconds=k)).tobytes() for k in range(0, 30, 3)}
    assert len(pages) >= 2


def test_brightness_schedule_wraps_midnight() -> None:
    steps = (DimStep(time(6, 0), 1.0), DimStep(time(22, 0), 0.3))
    at = lambda h, m=0: datetime(2026, 11, 23, h, m, tzinfo=UTC) - timedelta(hours=1)  # noqa: E731 local CET
    assert brightness_at(at(12), steps) == 1.0
    assert brightness_at(at(22), steps) == 0.3
    assert brightness_at(at(3), steps) == 0.3   # before the first step: yesterday's last step
    assert brightness_at(at(6), steps) == 1.0
    assert brightness_at(at(3), ()) == 1.0


def test_pixel_shift_stays_within_bounds_and_visits_every_offset() -> None:
    seen = {pixel_shift(NOW + timedelta(minutes=k), 1, 60) for k in range(9)}
    assert seen == {(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert pixel_shift(NOW, 0) == (0, 0)
    assert all(abs(dx) <= 2 and abs(dy) <= 2 for dx, dy in
               (pixel_shift(NOW + timedelta(seconds=37 * k), 2, 30) for k in range(100)))


def test_panel_from_node_and_errors() -> None:
    n = parse_yaml("width: 192\nheight: 32\nrows: 2\ncolours: {text: '#FFB000'}\nline_colours: {'920R': '#112233'}\n"
                   "dimming: [{from: '22:00', level: 0.2}, {from: '06:00', level: 1.0}]\npixel_shift: 1\n",
                   "p.yaml")
    p = CountdownPanel.from_node(n)
    assert (p.width, p.height, p.rows, p.colours.text) == (192, 32, 2, (255, 176, 0))
    assert p.line_colour("920R") == (0x11, 0x22, 0x33) and p.dimming[0].start == time(6, 0)
    with pytest.raises(ConfigError, match=r"p.yaml:1: colours.text: expected a colour"):
        CountdownPanel.from_node(parse_yaml("colours: {text: amber}\n", "p.yaml"))
    with pytest.raises(ConfigError, match="rows do not fit"):
        CountdownPanel.from_node(parse_yaml("height: 32\nrows: 4\n", "p.yaml"))
    with pytest.raises(ConfigError, match="page_s: must be at least 3"):
        CountdownPanel.from_node(parse_yaml("page_s: 1\n", "p.yaml"))


def test_every_row_state_renders_on_a_led_panel_without_antialiasing() -> None:
    s, p = normal_board_inputs()
    panel = CountdownPanel(width=192, height=32, rows=2, antialias=False)
    img = render_countdown(build_board(s, p, NOW), panel)
    colours = {c for _, c in img.getcolors(maxcolors=4096) or []}
    assert len(colours) < 40  # on/off pixels in a few colours, no anti-aliasing ramps
    assert isinstance(img, Image.Image)
