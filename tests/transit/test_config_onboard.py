"""onboard.service.config: the example unit files load, and every error names file, line and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from onboard.service.config import OnboardConfig
from tests.conftest import REPO
from transit.errors import ConfigError
from transit.timetable import Timetable

OPERATOR = REPO / "data" / "operators" / "lokaltog.yaml"
SAMPLE = REPO / "data" / "gtfs" / "lokaltog-sample"

BASE = f"""\
unit:
  id: onboard-1
  vehicle: "2091"
  operator: {OPERATOR}
vehicle:
  type: lint41
counting:
  doors:
    - {{index: 1, beams: [[5, 6]]}}
    - {{index: 2, beams: [[13, 19], [20, 21]], gate: none}}
assignment: auto
gnss:
  backend: file
  path: gnss.nmea
gpio:
  backend: mock
"""


@pytest.fixture(scope="module")
def sample() -> Timetable:
    return Timetable.load(SAMPLE)


def load(tmp_path: Path, text: str, timetable: Timetable | None = None) -> OnboardConfig:
    f = tmp_path / "onboard.yaml"
    f.write_text(text, encoding="utf-8")
    return OnboardConfig.load(f, timetable=timetable)


@pytest.mark.parametrize("name", ["onboard-train-920.yaml", "onboard-bus-rbus.yaml"])
def test_examples_load_and_match_the_sample_feed(name: str, sample: Timetable) -> None:
    cfg = OnboardConfig.load(REPO / "data" / "config" / name, timetable=sample)
    assert cfg.feed == SAMPLE
    assert cfg.counting is not None
    assert [d.index for d in cfg.counting.doors] == list(range(1, cfg.vehicle.vehicle_type.doors + 1))
    assert cfg.mqtt.use_tls and cfg.mqtt.client_id == cfg.unit.unit_id
    assert "frieze" in cfg.displays and cfg.displays["frieze"].child("backend").as_str() == "framebuffer"
    if cfg.assignment.mode == "block":
        assert cfg.assignment.block is not None
        assert sample.block_trips(cfg.assignment.block, date(2026, 11, 2))


def test_base_config(tmp_path: Path) -> None:
    cfg = load(tmp_path, BASE)
    assert cfg.vehicle_id == "2091" and cfg.operator_id == "lokaltog"
    assert cfg.vehicle.type_id == "lint41" and cfg.vehicle.vehicle_type.seats == 116
    assert cfg.counting is not None
    assert [d.beams for d in cfg.counting.doors] == [((5, 6),), ((13, 19), (20, 21))]
    assert cfg.counting.doors[1].gate == "none"
    assert cfg.assignment.mode == "auto"
    assert cfg.can is None and cfg.displays == {}
    assert cfg.gnss.child("path").as_str() == "gnss.nmea"  # kept as a Node for the driver
    assert cfg.frieze.delay_threshold_s == 120  # from the operator's display section
    assert cfg.feed == SAMPLE
    assert cfg.mqtt.url == "mqtt://127.0.0.1:1883" and cfg.mqtt.client_id == "onboard-1"


def test_assignments(tmp_path: Path, sample: Timetable) -> None:
    cfg = load(tmp_path, BASE.replace("assignment: auto", "assignment: {block: 920_MT_01}"), sample)
    assert (cfg.assignment.mode, cfg.assignment.block) == ("block", "920_MT_01")
    cfg = load(tmp_path, BASE.replace("assignment: auto",
                                      "assignment:\n  trips: [920R_MT_0_0715, 920R_MT_1_0845]"), sample)
    assert cfg.assignment.trips == ("920R_MT_0_0715", "920R_MT_1_0845")
    cfg = load(tmp_path, BASE.replace("assignment: auto\n", ""))
    assert cfg.assignment.mode == "auto"
    cfg = load(tmp_path, BASE.replace("assignment: auto", "assignment: {block: 920_MT_01, service_day: 2026-11-02}"),
               sample)
    assert cfg.assignment.service_day == date(2026, 11, 2)


def test_feed_override_and_frieze(tmp_path: Path) -> None:
    cfg = load(tmp_path, BASE + "feed: feeds/other.zip\nfrieze: {stops_shown: 6, delay_threshold_s: 60}\n")
    assert cfg.feed == tmp_path / "feeds" / "other.zip"
    assert cfg.frieze.stops_shown == 6 and cfg.frieze.delay_threshold_s == 60


def _line(text: str, marker: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(marker)


# (replace old, with new) in BASE or "+" to append; marker of the expected line; key; message
CASES = [
    (("    - {index: 2, beams: [[13, 19], [20, 21]], gate: none}", "    - {index: 2, beams: [[13, 19], [20]]}"),
     "index: 2", "counting.doors[1].beams[1]", "expected two GPIO numbers [outer A, inner B]"),
    (("    - {index: 2, beams: [[13, 19], [20, 21]], gate: none}", "    - {index: 5, beams: [[13, 19]]}"),
     "index: 5", "counting.doors[1].index", "door 5, but vehicle type 'lint41' has 4 doors"),
    (("    - {index: 2, beams: [[13, 19], [20, 21]], gate: none}", "    - {index: 2, beams: [[13, 6]]}"),
     "index: 2", "counting.doors[1].beams[0][1]", "pin 6 is already used by counting.doors[0].beams[0][1]"),
    (("gpio:\n  backend: mock\n", ""), "  doors:", "counting",
     "door beams are GPIO inputs: add a 'gpio' section (backend: lgpio, or mock for tests)"),
    (("gpio:\n  backend: mock\n", "gpio:\n  backend: replay\n"), "backend: replay", "gpio",
     "backend replay needs file: path of a gpio.csv"),
    (("  type: lint41", "  type: lint42"), "type: lint42", "vehicle.type",
     "unknown vehicle type 'lint42' (operator lokaltog has: lint41, regiosprinter)"),
    (("  type: lint41", "  type: lint41\n  seats: 100"), "seats", "vehicle.seats", "unknown key (allowed: mode, type)"),
    (("vehicle:\n  type: lint41", "vehicle: {}"), "vehicle: {}", "vehicle.type", "missing required key"),
    (("assignment: auto", "assignment: manual"), "assignment", "assignment",
     "expected 'auto' or a mapping with 'block' or 'trips'"),
    (("assignment: auto", "assignment: {block: b1, trips: [t1]}"), "assignment", "assignment",
     "give either 'block' or 'trips' (or write 'assignment: auto')"),
    (("assignment: auto", "assignment: {}"), "assignment", "assignment",
     "give either 'block' or 'trips' (or write 'assignment: auto')"),
    (("assignment: auto", "assignment: {trips: []}"), "assignment", "assignment.trips",
     "expected at least one trip_id"),
    (("gnss:\n  backend: file\n  path: gnss.nmea\n", ""), "unit:", "gnss", "missing required key"),
    (("  backend: file\n", "  backend: carrier-pigeon\n"), "carrier-pigeon", "gnss.backend",
     "expected one of file, gpsd, serial, got 'carrier-pigeon'"),
    (("  path: gnss.nmea", "  path: gnss.nmea\n  baudrate: 9600"), "baudrate", "gnss.baudrate",
     "unknown key (allowed: backend, log_interval_s, max_line, not_before, path, reconnect_max_s, "
     "reconnect_min_s, require_checksum, speed)"),
    (("+", "can:\n  backend: socketcan\n  bitrate: 250000\n"), "socketcan", "can.channel", "missing required key"),
    (("+", "can:\n  channel: can0\n"), "channel: can0", "can.backend", "missing required key"),
    (("+", "displays:\n  - {backend: png}\n"), "- {backend: png}", "displays",
     "expected a mapping of display names to sinks, e.g. 'frieze: {backend: png}'"),
    (("+", "displays:\n  frieze: {path: f.png}\n"), "frieze:", "displays.frieze.backend", "missing required key"),
    (("+", "frieze: {stops_shown: 0}\n"), "frieze:", "frieze.stops_shown", "must be at least 1, got 0"),
    (("+", "frieze: {page_s: 1}\n"), "frieze:", "frieze.page_s", "must be at least 3.0, got 1.0"),
    (("+", "frieze: {language: de}\n"), "frieze:", "frieze.language", "expected one of da, en, got 'de'"),
    (("+", "frieze: {scroll: true}\n"), "frieze:", "frieze.scroll",
     "unknown key (allowed: announce, clock, delay_threshold_s, height, language, page_s, stops_shown, width)"),
    (("+", "announce: {voice: 'da -w /etc/x'}\n"), "announce:", "announce.voice",
     "'da -w /etc/x' is no espeak-ng voice name (e.g. da, da+f3, gmq/da)"),
    (("+", "announce: {sink: {backend: jack}}\n"), "announce:", "announce.sink.backend",
     "unknown audio backend 'jack' (known: alsa, file, pulse)"),
    (("+", "announce: {quiet_hours: '23-6'}\n"), "announce:", "announce.quiet_hours",
     "expected HH:MM-HH:MM, got '23-6'"),
    (("+", "announce: {speed: 1000}\n"), "announce:", "announce.speed", "must be at most 450, got 1000"),
    (("+", "mqtt: {url: 'tcp://broker:1883'}\n"), "mqtt:", "mqtt.url",
     "MQTT url must start with mqtt:// or mqtts://, got 'tcp://broker:1883'"),
    (("+", "gps: {backend: serial}\n"), "gps:", "gps",
     "unknown key (allowed: announce, assignment, can, counting, displays, feed, frieze, gnss, gpio, mqtt, outbox, "
     "school, unit, vehicle)"),
    (("+", "outbox: {budget_mb: 2}\n"), "outbox:", "outbox.budget_mb",
     "outbox budget of 2 MB is too small: at least 4 MB (a week of 1 Hz positions needs about 364 MB)"),
    (("+", "outbox: {budget_mb: 400mb}\n"), "outbox:", "outbox.budget_mb", "expected a whole number, got text '400mb'"),
    (("+", "outbox: {group_commit_s: 30}\n"), "outbox:", "outbox.group_commit_s", "must be at most 10.0, got 30.0"),
    (("+", "outbox: {budget: 400}\n"), "outbox:", "outbox.budget", "unknown key (allowed: budget_mb, group_commit_s)"),
    (("assignment: auto", "assignment: {block: b1, service_day: '2026-02-30'}"), "assignment", "assignment.service_day",
     "expected a date YYYY-MM-DD (day is out of range for month)"),
    (("assignment: auto", "assignment: {trips: [t1], route: 920R}"), "assignment", "assignment.route",
     "unknown key (allowed: block, service_day, trips)"),
    ((f"  operator: {OPERATOR}", "  operator: ../nowhere/lokaltog.yaml"), "operator:", "unit.operator",
     "operator file {tmp}/../nowhere/lokaltog.yaml does not exist"),
]


@pytest.mark.parametrize(("edit", "marker", "key", "message"), CASES, ids=[c[2] + ":" + c[3][:30] for c in CASES])
def test_onboard_errors(tmp_path: Path, edit: tuple[str, str], marker: str, key: str, message: str) -> None:
    old, new = edit
    if old == "+":
        text = BASE + new
    else:
        assert old in BASE
        text = BASE.replace(old, new)
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, text)
    msg = message.replace("{tmp}/..", str(tmp_path.parent))
    assert str(ei.value) == f"{tmp_path}/onboard.yaml:{_line(text, marker)}: {key}: {msg}"


@pytest.mark.parametrize(("assignment", "marker", "key", "message"), [
    ("assignment: {block: 999_MT_01}", "assignment", "assignment.block", "block '999_MT_01' is not in the timetable"),
    ("assignment: {block: 920_MT_01, service_day: 2026-11-07}", "assignment", "assignment.block",
     "block '920_MT_01' does not run on 2026-11-07"),
    ("assignment: {trips: [920R_MT_0_0715], service_day: 2026-11-08}", "assignment", "assignment.trips[0]",
     "trip '920R_MT_0_0715' does not run on 2026-11-08"),
    ("assignment:\n  trips:\n    - 920R_MT_0_0715\n    - 920R_XX", "920R_XX", "assignment.trips[1]",
     "trip '920R_XX' is not in the timetable"),
])
def test_assignment_checked_against_timetable(tmp_path: Path, sample: Timetable, assignment: str, marker: str,
                                              key: str, message: str) -> None:
    text = BASE.replace("assignment: auto", assignment)
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, text, sample)
    assert str(ei.value) == f"{tmp_path}/onboard.yaml:{_line(text, marker)}: {key}: {message}"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = BASE.replace("    - {index: 1, beams: [[5, 6]]}", "    - {index: 1, beams: [[5, 6]]")
    assert text != BASE
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, text)
    assert str(ei.value).startswith(f"{tmp_path}/onboard.yaml:")
    assert "YAML syntax" in str(ei.value)


def test_operator_errors_name_the_operator_file(tmp_path: Path) -> None:
    op = tmp_path / "op.yaml"
    text = OPERATOR.read_text(encoding="utf-8").replace("late_threshold_s: 180", "late_threshold_s: -5")
    op.write_text(text.replace("feed: ../gtfs/lokaltog-sample", f"feed: {SAMPLE}"), encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, BASE.replace(str(OPERATOR), str(op)))
    assert ei.value.file == str(op) and ei.value.key == "punctuality.late_threshold_s"


def test_outbox_section(tmp_path: Path) -> None:
    from onboard.records.outbox import DEFAULT_BUDGET_BYTES

    assert load(tmp_path, BASE).outbox.budget_bytes == DEFAULT_BUDGET_BYTES
    cfg = load(tmp_path, BASE + "outbox: {budget_mb: 200, group_commit_s: 0}\n")
    assert cfg.outbox.budget_bytes == 200 << 20 and cfg.outbox.group_commit_s == 0.0
