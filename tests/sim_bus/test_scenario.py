"""Scenario validation: malformed files name file, line and key; unknown ids are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim_bus.engine import build, load_timetable
from sim_bus.plan import build_plans
from sim_bus.scenario import load_scenario, parse_scenario
from transit.errors import ConfigError, ScenarioError

from .conftest import SCENARIOS, SHORT


def _err(text: str, tmp_path: Path) -> ScenarioError:
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as ei:
        sc = load_scenario(p)
        build(sc)
    return ei.value


def test_short_scenario_parses(short_scenario: Path) -> None:
    sc = load_scenario(short_scenario)
    assert sc.trips == ("910_MT_0_0715",)
    assert sc.vehicle.doors[1].beams == ((13, 19), (16, 20))
    assert sc.vehicle.stop_position == "middle"  # trains default to the middle at the platform
    assert sc.gnss.talker == "GN" and "GSV" in sc.gnss.sentences
    assert sc.gnss.outages[0].from_m == 2500


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path: Path) -> None:
    sc = load_scenario(path)
    plans = build_plans(sc, load_timetable(sc))
    assert plans and all(len(p.served) >= 2 for p in plans)


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    text = SHORT.replace("  seats: 72\n", "  seats: 72\n  seets: 80\n")
    e = _err(text, tmp_path)
    assert e.file is not None and e.file.endswith("bad.yaml")
    assert e.key == "vehicle.seets"
    assert e.line == text.splitlines().index("  seets: 80") + 1
    assert "unknown key" in str(e) and f"bad.yaml:{e.line}: vehicle.seets" in str(e)


def test_wrong_type_names_key(tmp_path: Path) -> None:
    text = SHORT.replace("max_speed_kmh: 60", "max_speed_kmh: fast")
    e = _err(text, tmp_path)
    assert e.key == "vehicle.max_speed_kmh" and "expected a number" in str(e)
    assert e.line == text.splitlines().index("  max_speed_kmh: fast") + 1


def test_missing_key(tmp_path: Path) -> None:
    e = _err(SHORT.replace("  capacity: 160\n", ""), tmp_path)
    assert e.key == "vehicle.capacity" and "missing" in str(e)


def test_duplicate_beam_pin(tmp_path: Path) -> None:
    e = _err(SHORT.replace("[[13, 19], [16, 20]]", "[[13, 19], [16, 5]]"), tmp_path)
    assert e.key == "vehicle.doors[1].beams[1][1]" and "GPIO 5" in str(e)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    e = _err(SHORT.replace("seed: 5", "seed: [5"), tmp_path)
    assert e.line is not None and "YAML syntax" in str(e)


def test_unknown_trip_id_is_named(tmp_path: Path) -> None:
    text = SHORT.replace("trips: [910_MT_0_0715]", "trips: [910_MT_0_0715, 910_XX_9_9999]")
    e = _err(text, tmp_path)
    assert "910_XX_9_9999" in str(e) and e.key == "trips[1]"
    assert e.line == text.splitlines().index("trips: [910_MT_0_0715, 910_XX_9_9999]") + 1


def test_trip_not_running_on_service_day(tmp_path: Path) -> None:
    e = _err(SHORT.replace("2026-11-23", "2026-11-28"), tmp_path)  # a Saturday
    assert "910_MT_0_0715" in str(e) and "does not run" in str(e)


def test_unknown_block(tmp_path: Path) -> None:
    e = _err(SHORT.replace("trips: [910_MT_0_0715]", "block: nope"), tmp_path)
    assert "block 'nope'" in str(e) and e.key == "block"


def test_unknown_stop_in_signal_stops(tmp_path: Path) -> None:
    e = _err(SHORT.replace("before: brede", "before: nowhere"), tmp_path)
    assert "nowhere" in str(e) and e.key == "signal_stops[0]"


def test_baud_too_low_for_rate(tmp_path: Path) -> None:
    e = _err(SHORT.replace("rate_hz: 1\n  baud: 38400", "rate_hz: 10\n  baud: 9600"), tmp_path)
    assert e.key == "gnss.baud" and "bytes/s" in str(e)


def test_trips_or_block_required() -> None:
    text = SHORT.replace("trips: [910_MT_0_0715]\n", "")
    with pytest.raises(ScenarioError, match="exactly one of 'trips'"):
        parse_scenario(text, Path("."), "x.yaml")


def test_scenario_error_is_a_config_and_value_error() -> None:
    with pytest.raises(ValueError):
        parse_scenario("name: [", Path("."), "x.yaml")
    assert issubclass(ScenarioError, ConfigError)


def test_signal_stop_inside_platform_zone_is_refused(tmp_path: Path) -> None:
    text = SHORT.replace("distance_m: 200", "distance_m: 25").replace(
        "motion: {hold_at: all, lead_s: 30}", "motion: {hold_at: all, lead_s: 30, platform_margin_m: 30}")
    e = _err(text, tmp_path)
    assert e.key == "signal_stops[0].distance_m" and "platform zone" in str(e)


def test_part_of_a_block(tmp_path: Path) -> None:
    text = SHORT.replace("trips: [910_MT_0_0715]",
                         "block: {id: 910_MT_04, from_trip: 910_MT_1_0740, max_trips: 2}")
    p = tmp_path / "b.yaml"
    p.write_text(text, encoding="utf-8")
    sc = load_scenario(p)
    plans = build_plans(sc, load_timetable(sc))
    assert [x.trip_id for x in plans] == ["910_MT_1_0740", "910_MT_0_0805"]
    e = _err(text.replace("from_trip: 910_MT_1_0740", "from_trip: 910_MT_1_0720"), tmp_path)
    assert "910_MT_1_0720" in str(e) and e.key == "block.from_trip"


def test_check_command_lists_trips_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    from sim_bus.__main__ import COMMANDS
    from transit.cli import main

    rc = main("sim_bus", "t", COMMANDS, ["check", "--stops", str(SCENARIOS / "920E-express.yaml")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "920E_MT_0_0630" in out and "7 stops, 11 passed" in out
    assert out.count(" pass  ") == 11


def test_check_command_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim_bus.__main__ import COMMANDS
    from transit.cli import main

    p = tmp_path / "bad.yaml"
    p.write_text(SHORT.replace("trips: [910_MT_0_0715]", "trips: [nope]"), encoding="utf-8")
    assert main("sim_bus", "t", COMMANDS, ["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "trips[0]: unknown trip_id 'nope'" in err


def test_sensor_knobs_default_realistic_and_parse(tmp_path: Path, short_scenario: Path) -> None:
    sc = load_scenario(short_scenario)
    # a real wheel-speed sensor reads 0 below a few km/h, is filtered and reports doors late
    assert 1.5 <= sc.can.wheel_cutoff_kmh <= 3.0
    assert sc.can.wheel_lag_ms > 0 and sc.can.wheel_update_ms == 100.0 and sc.can.door_latency_ms > 0
    assert sc.gnss.speed_sigma_mps > 0
    text = SHORT.replace("can: {background_fps: 60}",
                         "can: {background_fps: 60, wheel_cutoff_kmh: 3.5, wheel_lag_ms: 250, "
                         "wheel_update_ms: 50, door_latency_ms: 400}").replace(
        "noise: {sigma_m: 1.5, outlier_rate: 0.01}", "noise: {sigma_m: 1.5, outlier_rate: 0.01, speed_sigma_mps: 0.2}")
    p = tmp_path / "knobs.yaml"
    p.write_text(text, encoding="utf-8")
    sc = load_scenario(p)
    assert (sc.can.wheel_cutoff_kmh, sc.can.wheel_lag_ms, sc.can.wheel_update_ms, sc.can.door_latency_ms) == (
        3.5, 250.0, 50.0, 400.0)
    assert sc.gnss.speed_sigma_mps == 0.2


@pytest.mark.parametrize(("knob", "value"), [("wheel_cutoff_kmh", "-1"), ("wheel_cutoff_kmh", "slow"),
                                             ("wheel_lag_ms", "5000"), ("wheel_update_ms", "0"),
                                             ("door_latency_ms", "-5")])
def test_sensor_knob_out_of_range_names_key(tmp_path: Path, knob: str, value: str) -> None:
    text = SHORT.replace("can: {background_fps: 60}", f"can: {{background_fps: 60, {knob}: {value}}}")
    e = _err(text, tmp_path)
    assert e.key == f"can.{knob}"
    assert e.line == next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("can:"))


def test_gnss_speed_noise_out_of_range_names_key(tmp_path: Path) -> None:
    text = SHORT.replace("noise: {sigma_m: 1.5, outlier_rate: 0.01}",
                         "noise: {sigma_m: 1.5, outlier_rate: 0.01, speed_sigma_mps: 7}")
    assert _err(text, tmp_path).key == "gnss.noise.speed_sigma_mps"


def test_stop_jerk_default_and_range(tmp_path: Path, short_scenario: Path) -> None:
    assert load_scenario(short_scenario).motion.stop_jerk_mps3 == 0.6  # drivers ease the brake off
    text = SHORT.replace("motion: {hold_at: all, lead_s: 30}", "motion: {hold_at: all, lead_s: 30, stop_jerk_mps3: -1}")
    assert _err(text, tmp_path).key == "motion.stop_jerk_mps3"


def test_unknown_stop_in_skips_and_bad_deferred(tmp_path: Path) -> None:
    from sim_bus.engine import build
    p = tmp_path / "s.yaml"
    p.write_text(SHORT + "skips:\n  - {stop: nowhere}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as ei:
        build(load_scenario(p))
    assert "nowhere" in str(ei.value) and ei.value.key == "skips[0]"
    e = _err(SHORT.replace("rate_hz: 1\n", "rate_hz: 1\n  deferred: [GNS]\n"), tmp_path)
    assert e.key == "gnss.deferred"
