"""station.config: the Hillerød example loads, and every error names file, line and key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from station.config import StationConfig
from tests.conftest import REPO
from transit.errors import ConfigError
from transit.timetable import Timetable
from transit.timeutil import parse_iso

OPERATOR = REPO / "data" / "operators" / "lokaltog.yaml"
SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"

BASE = f"""\
unit:
  id: station-1
  stop_display: hil-1
  operator: {OPERATOR}
stops:
  ids: [hilleroed]
  max_rows: 6
panel:
  width: 256
  height: 64
  rows: 4
sink:
  backend: png
  path: out/frame.png
"""


@pytest.fixture(scope="module")
def sample() -> Timetable:
    return Timetable.load(SAMPLE)


def load(tmp_path: Path, text: str, timetable: Timetable | None = None) -> StationConfig:
    f = tmp_path / "station.yaml"
    f.write_text(text, encoding="utf-8")
    return StationConfig.load(f, timetable=timetable)


def _line(text: str, marker: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(marker)


def test_hilleroed_example(sample: Timetable) -> None:
    cfg = StationConfig.load(REPO / "data" / "config" / "station-hilleroed.yaml", timetable=sample)
    assert cfg.display_id == "hilleroed-1" and cfg.operator_id == "lokaltog"
    assert cfg.stops.ids == ("hilleroed",) and cfg.stops.title == "Hillerød St."
    assert (cfg.panel.width, cfg.panel.height, cfg.panel.rows) == (256, 64, 4)
    assert cfg.stops.minutes_limit == 15
    assert cfg.dimming[0].start == time(6, 0) and cfg.dimming[1].level == 0.3
    assert cfg.qr_url == "https://rettid.example/stop/hilleroed"
    assert cfg.sink.child("backend").as_str() == "ssd1322"
    assert cfg.feed == SAMPLE
    # The display's stop really has departures in the sample feed (trains and the R-bus).
    deps = {d.route.short_name for d in sample.departures(
        "hilleroed", parse_iso("2026-11-02T06:00:00Z"), parse_iso("2026-11-02T10:00:00Z"))}
    assert {"920R", "330R"} <= deps


def test_title_defaults_to_the_stop_name(tmp_path: Path, sample: Timetable) -> None:
    cfg = load(tmp_path, BASE, sample)
    assert cfg.stops.title == "Hillerød St." and cfg.panel.title == "Hillerød St."
    cfg = load(tmp_path, BASE)  # without a timetable there is no name to take
    assert cfg.stops.title == ""


def test_dimming_and_qr_inside_the_panel(tmp_path: Path) -> None:
    text = BASE.replace("  rows: 4\n", "  rows: 4\n  qr_url: https://x.example/s\n"
                        "  dimming: [{from: '23:00', level: 0.2}]\n")
    cfg = load(tmp_path, text)
    assert cfg.qr_url == "https://x.example/s" and cfg.dimming[0].level == 0.2


CASES = [
    (("  ids: [hilleroed]", "  ids: []"), "ids: []", "stops.ids", "expected at least one stop_id"),
    (("  ids: [hilleroed]", "  ids: [hilleroed, hilleroed]"), "ids:", "stops.ids[1]",
     "stop_id 'hilleroed' is listed twice"),
    (("  ids: [hilleroed]", "  ids: hilleroed"), "ids:", "stops.ids", "expected a list"),
    (("  ids: [hilleroed]\n", ""), "max_rows", "stops.ids", "missing required key"),
    (("  max_rows: 6", "  max_rows: 2"), "max_rows", "stops.max_rows",
     "max_rows 2 is less than the panel's 4 rows"),
    (("  max_rows: 6", "  max_rows: 6\n  minutes_limit: 0"), "minutes_limit", "stops.minutes_limit",
     "must be at least 1, got 0"),
    (("  max_rows: 6", "  max_rows: 6\n  rows: 4"), "  rows: 4", "stops.rows",
     "unknown key (allowed: horizon_min, ids, max_rows, minutes_limit, show_terminating, stale_after_s, title)"),
    (("  rows: 4", "  rows: 10"), "width", "panel", "10 rows do not fit 64 px (need >= 10 px per row)"),
    (("  width: 256", "  width: 8"), "width", "panel.width", "must be at least 32, got 8"),
    (("+", "dimming: [{from: '22:00', level: 2}]\n"), "dimming", "dimming[0].level", "must be at most 1.0, got 2.0"),
    (("+", "dimming: [{from: 'late', level: 0.5}]\n"), "dimming", "dimming[0].from",
     "expected a time HH:MM (Invalid isoformat string: 'late')"),
    (("+", "qr_url: ftp://x/y\n"), "qr_url", "qr_url", "expected an http(s) URL for the QR code, got 'ftp://x/y'"),
    (("  rows: 4", "  rows: 4\n  qr_url: https://a.example"), "qr_url: https://b", "qr_url",
     "'qr_url' is also set in panel: keep one"),
    (("sink:\n  backend: png\n  path: out/frame.png\n", ""), "unit:", "sink", "missing required key"),
    (("  backend: png\n", ""), "path: out", "sink.backend", "missing required key"),
    (("  stop_display: hil-1\n", ""), "id: station-1", "unit.stop_display",
     "missing required key (the stop display id)"),
    (("+", "displays: {}\n"), "displays", "displays",
     "unknown key (allowed: dimming, feed, mqtt, panel, qr_url, sink, stops, unit, web)"),
    (("+", "mqtt: {url: 'mqtt://broker:1883', tls: {ca: ca.crt}}\n"), "mqtt:", "mqtt.tls",
     "TLS files need an mqtts:// url (e.g. mqtts://broker:8883)"),
]


@pytest.mark.parametrize(("edit", "marker", "key", "message"), CASES, ids=[c[2] + ":" + c[3][:30] for c in CASES])
def test_station_errors(tmp_path: Path, edit: tuple[str, str], marker: str, key: str, message: str) -> None:
    old, new = edit
    if old == "+":
        text = BASE + new
    elif marker == "qr_url: https://b":
        text = BASE.replace(old, new) + "qr_url: https://b.example\n"
    else:
        assert old in BASE
        text = BASE.replace(old, new)
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, text)
    assert str(ei.value) == f"{tmp_path}/station.yaml:{_line(text, marker)}: {key}: {message}"


def test_stop_ids_checked_against_timetable(tmp_path: Path, sample: Timetable) -> None:
    text = BASE.replace("  ids: [hilleroed]", "  ids:\n    - hilleroed\n    - hillerod_x")
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, text, sample)
    assert str(ei.value) == (f"{tmp_path}/station.yaml:{_line(text, 'hillerod_x')}: stops.ids[1]: stop_id "
                             f"'hillerod_x' is not in the timetable ({SAMPLE})")
