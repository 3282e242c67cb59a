"""Operator files: loading the shipped files, every validation error, the bonus curve, policies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transit.errors import ConfigError
from transit.operator import bonus_pct, load_operator, round_pct
from transit.timetable import Timetable

REPO = Path(__file__).resolve().parents[2]
OPERATORS = REPO / "data" / "operators"
FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
LOKALTOG = OPERATORS / "lokaltog.yaml"
POINTS = ((86.0, -2.3), (93.0, 0.0), (100.0, 2.3))


@pytest.fixture(scope="module")
def timetable() -> Timetable:
    return Timetable.load(FEED)


# -- the bonus curve -------------------------------------------------------------------------------------
@pytest.mark.parametrize("regularity,shown", [
    (100.0, 2.3), (96.5, 1.2), (93.0, 0.0), (89.5, -1.2), (86.0, -2.3), (80.0, -2.3), (101.0, 2.3),
])
def test_bonus_source_examples(regularity: float, shown: float) -> None:
    """The purchase basis's table: 100.0 -> +2.3, 96.5 -> +1.2, 93.0 -> 0, 89.5 -> -1.2, <=86.0 -> -2.3."""
    assert round_pct(bonus_pct(regularity, POINTS)) == shown


def test_bonus_is_linear_between_points() -> None:
    assert bonus_pct(96.5, POINTS) == pytest.approx(1.15)
    assert bonus_pct(89.5, POINTS) == pytest.approx(-1.15)
    assert bonus_pct(94.0, POINTS) == pytest.approx(2.3 / 7)
    # Order of the points does not matter.
    assert bonus_pct(96.5, POINTS[::-1]) == pytest.approx(1.15)


@given(st.floats(min_value=0.0, max_value=100.0), st.floats(min_value=0.0, max_value=100.0))
def test_bonus_is_monotonic_and_capped(a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    assert -2.3 <= bonus_pct(lo, POINTS) <= bonus_pct(hi, POINTS) <= 2.3


def test_bonus_needs_two_points() -> None:
    with pytest.raises(ValueError):
        bonus_pct(95.0, [(93.0, 0.0)])


def test_round_pct_half_away_from_zero() -> None:
    assert round_pct(1.15) == 1.2
    assert round_pct(-1.15) == -1.2
    assert round_pct(1.14) == 1.1
    assert round_pct(0.05) == 0.1


# -- the shipped files -------------------------------------------------------------------------------------
def test_lokaltog_file_loads_and_matches_the_contract(timetable: Timetable) -> None:
    op = load_operator(LOKALTOG, timetable)
    assert op.operator_id == "lokaltog" and op.authority == "Movia"
    assert op.feed == FEED.resolve()
    p = op.punctuality
    assert (p.policy, p.measure_on, p.late_threshold_s, p.early_threshold_s) == ("rail", "arrival", 180, None)
    assert p.target_pct == 93.0
    assert p.is_punctual(179) and not p.is_punctual(180) and p.is_punctual(-600)
    assert p.rejsegaranti(20 * 60 + 1) and not p.rejsegaranti(20 * 60)
    assert round_pct(p.bonus_pct(96.5)) == 1.2
    assert set(op.registration_stations) == {"910", "920R", "920E", "930R", "940R", "950R", "960R"}
    assert op.registration_stops("920R") == ("hilleroed", "frederiksvaerk", "hundested")
    assert op.registration_stops("950R") == ("hilleroed", "graested", "gilleleje")
    assert op.registration_stops("960R") == ("hilleroed", "helsinge", "tisvildeleje")
    # A platform of a shared station counts through its parent.
    assert op.is_registration_stop("920R", "hilleroed_8", timetable.station_of("hilleroed_8"))
    assert not op.is_registration_stop("920R", "skaevinge", timetable.station_of("skaevinge"))
    lint = op.vehicle_types["lint41"]
    assert lint.seat_capacity == lint.seats + lint.folding_seats
    assert op.vehicle_type_for("910") == op.vehicle_types["regiosprinter"]
    assert op.occupancy.rush_hours == ((time(7, 0), time(9, 0)), (time(14, 30), time(18, 0)))
    assert op.display.delay_threshold_s == 120


def test_movia_bus_file_policy(timetable: Timetable) -> None:
    op = load_operator(OPERATORS / "movia-rbus.yaml", timetable)
    p = op.punctuality
    assert (p.policy, p.measure_on, p.early_threshold_s, p.late_threshold_s) == ("bus", "departure", 60, 240)
    assert p.is_punctual(-59) and not p.is_punctual(-60)
    assert p.is_punctual(239) and not p.is_punctual(240)
    assert op.vehicle_type_for("330R") is not None


def test_rush_departure_uses_local_time_and_school_holidays() -> None:
    op = load_operator(LOKALTOG)
    # 06:30 UTC = 07:30 CET on a school Monday.
    assert op.is_rush_departure(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    assert op.occupancy_limit_pct(datetime(2026, 11, 23, 6, 30, tzinfo=UTC)) == 100
    # 05:30 UTC = 06:30 CET: before the window.
    assert not op.is_rush_departure(datetime(2026, 11, 23, 5, 30, tzinfo=UTC))
    # Christmas school holidays.
    assert not op.is_rush_departure(datetime(2026, 12, 21, 6, 30, tzinfo=UTC))
    assert op.occupancy_limit_pct(datetime(2026, 12, 21, 6, 30, tzinfo=UTC)) == 90
    assert not op.is_school_day(date(2027, 5, 7))
    assert op.day_type(date(2027, 5, 6)) == "sunday"


# -- every error -------------------------------------------------------------------------------------------
def write_variant(tmp_path: Path, old: str, new: str, name: str = "op.yaml") -> Path:
    text = LOKALTOG.read_text(encoding="utf-8").replace("feed: ../gtfs/lokaltog-sample", f"feed: {FEED}")
    if old:
        assert old in text, f"test setup: {old!r} not in lokaltog.yaml"
        text = text.replace(old, new, 1)
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


ERRORS = [
    # (old text, new text, expected key, message fragment, text on the reported line)
    ("  policy: rail ", "  policy: tram ", "punctuality.policy", "expected one of bus, rail", "policy: tram"),
    ("measure_on: arrival", "measure_on: halfway", "punctuality.measure_on", "expected one of", "halfway"),
    ("late_threshold_s: 180", "late_threshold_s: 0", "punctuality.late_threshold_s", "at least 1",
     "late_threshold_s"),
    ("late_threshold_s: 180", "late_threshold_s: three", "punctuality.late_threshold_s",
     "expected a whole number", "late_threshold_s"),
    ("early_threshold_s: null", "early_threshold_s: -5", "punctuality.early_threshold_s", "at least 1",
     "early_threshold_s"),
    ("target_pct: 93.0", "target_pct: 193.0", "punctuality.target_pct", "at most 100", "target_pct"),
    ("target_pct: 93.0", "target: 93.0", "punctuality.target", "unknown key", "target: 93.0"),
    ("[[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]", "[[93.0, 0.0]]", "punctuality.bonus_points",
     "at least two", "bonus_points"),
    ("[[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]", "[[93.0, 0.0], [86.0, -2.3]]",
     "punctuality.bonus_points[1]", "must increase", "bonus_points"),
    ("[[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]", "[[86.0, 2.3], [100.0, -2.3]]",
     "punctuality.bonus_points[1]", "must not decrease", "bonus_points"),
    ("[[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]", "[[86.0, -2.3, 1], [100.0, 2.3]]",
     "punctuality.bonus_points[0]", "expected [regularity %, bonus %]", "bonus_points"),
    ("timezone: Europe/Copenhagen", "timezone: Europe/Kobenhavn", "operator.timezone", "unknown time zone",
     "Kobenhavn"),
    ("  id: lokaltog", "  id: lokal tog", "operator.id", "expected an id", "lokal tog"),
    ("  name: Lokaltog A/S\n", "", "operator.name", "missing required key", "  id: lokaltog"),
    ('  "910": [jaegersborg, naerum]', '  "910": []', "registration_stations.910", "at least one stop_id",
     '"910"'),
    ('  "910": [jaegersborg, naerum]', '  "910": [naerum, naerum]', "registration_stations.910",
     "listed twice", '"910"'),
    ('[["07:00", "09:00"], ["14:30", "18:00"]]', '[[7:00, "09:00"]]', "occupancy.rush_hours[0][0]",
     "write times in quotes", "rush_hours"),
    ('[["07:00", "09:00"], ["14:30", "18:00"]]', '[["09:00", "07:00"]]', "occupancy.rush_hours[0]",
     "end after it starts", "rush_hours"),
    ('[["07:00", "09:00"], ["14:30", "18:00"]]', '[["7 o\'clock", "09:00"]]', "occupancy.rush_hours[0][0]",
     "expected a time HH:MM", "rush_hours"),
    ("other_limit_pct: 90", "other_limit_pct: 0", "occupancy.other_limit_pct", "at least 1", "other_limit_pct"),
    ('["2027-02-13", "2027-02-21"]', '["2027-02-21", "2027-02-13"]', "school_holidays[2]",
     "last day is before the first", "2027-02-21"),
    ('["2027-02-13", "2027-02-21"]', '["2027-02-30", "2027-03-01"]', "school_holidays[2][0]",
     "expected a date YYYY-MM-DD", "2027-02-30"),
    ('["2027-02-13", "2027-02-21"]', '["2027-02-13"]', "school_holidays[2]", "expected [first day, last day]",
     "2027-02-13"),
    ("approved_capacity: 280", "approved_capacity: 100", "vehicle_types.lint41.approved_capacity",
     "less than the 126 seats", "lint41"),
    ("doors: 4}\n  regiosprinter", "doors: 0}\n  regiosprinter", "vehicle_types.lint41.doors", "at least 1",
     "lint41"),
    ("seats: 116,", "seat: 116,", "vehicle_types.lint41.seat", "unknown key", "lint41"),
    ('  "910": regiosprinter', '  "910": sprinter', "line_vehicle_types.910", "unknown vehicle type",
     '"910": sprinter'),
    ("delay_threshold_s: 120", "delay_threshold_s: soon", "display.delay_threshold_s", "expected a whole number",
     "delay_threshold_s"),
    ("display:\n", "displays:\n", "displays", "unknown key", "delay_threshold_s"),
    ('  "910": [jaegersborg, naerum]', '  "910": jaegersborg', "registration_stations.910", "expected a list",
     '"910": jaegersborg'),
    ("  authority: Movia\n", "  authority: Movia\n  region: Hovedstaden\n", "operator.region", "unknown key",
     "region: Hovedstaden"),
    ('[["07:00", "09:00"], ["14:30", "18:00"]]', '[["07:00", "08:00", "09:00"]]', "occupancy.rush_hours[0]",
     "expected [", "rush_hours"),
    ("bonus_points: [[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]", "bonus_points: [[86.0, -250], [100.0, 2.3]]",
     "punctuality.bonus_points[0][1]", "at least -100", "bonus_points"),
    ("rejsegaranti_min: 20 ", "rejsegaranti_min: -20 ", "punctuality.rejsegaranti_min", "at least 0",
     "rejsegaranti_min"),
]


@pytest.mark.parametrize("old,new,key,fragment,on_line", ERRORS, ids=[e[2] + ":" + e[3] for e in ERRORS])
def test_every_validation_error_names_file_line_and_key(tmp_path: Path, old: str, new: str, key: str,
                                                        fragment: str, on_line: str) -> None:
    p = write_variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as exc:
        load_operator(p)
    err = exc.value
    assert err.file == str(p)
    assert err.key == key
    assert fragment in err.message
    assert err.line == line_of(p, on_line)
    assert str(err).startswith(f"{p}:{err.line}: {key}: ")


def test_missing_feed_is_an_error(tmp_path: Path) -> None:
    text = LOKALTOG.read_text(encoding="utf-8")
    p = tmp_path / "op.yaml"
    p.write_text(text, encoding="utf-8")  # ../gtfs/lokaltog-sample relative to tmp_path: missing
    with pytest.raises(ConfigError) as exc:
        load_operator(p)
    assert exc.value.key == "feed" and "GTFS feed not found" in exc.value.message
    assert exc.value.line == line_of(p, "feed:")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_operator(tmp_path / "absent.yaml")
    assert "cannot read" in str(exc.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("operator: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_operator(bad)
    assert "YAML syntax" in exc.value.message and exc.value.file == str(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_operator(top)


# -- errors that need the timetable -----------------------------------------------------------------------
@pytest.mark.parametrize("old,new,key,fragment,on_line", [
    ('  "960R": [hilleroed, helsinge, tisvildeleje]', '  "960X": [hilleroed, helsinge, tisvildeleje]',
     "registration_stations.960X", "line '960X' is not in the timetable", '"960X"'),
    ('  "960R": [hilleroed, helsinge, tisvildeleje]', '  "960R": [hilleroed, helsinge, tisvilde]',
     "registration_stations.960R[2]", "unknown stop_id 'tisvilde'", '"960R"'),
    ('  "960R": [hilleroed, helsinge, tisvildeleje]', '  "960R": [hilleroed, graested, tisvildeleje]',
     "registration_stations.960R[1]", "not served by line 960R", '"960R"'),
    ('  "960R": lint41', '  "999R": lint41', "line_vehicle_types.999R", "not in the timetable", '"999R"'),
])
def test_timetable_errors(tmp_path: Path, timetable: Timetable, old: str, new: str, key: str, fragment: str,
                          on_line: str) -> None:
    p = write_variant(tmp_path, old, new)
    load_operator(p)  # fine without a timetable
    with pytest.raises(ConfigError) as exc:
        load_operator(p, timetable)
    assert exc.value.key == key
    assert fragment in exc.value.message
    assert exc.value.line == line_of(p, on_line)
