"""Danish public holidays, day types, school days and rush hours."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transit.calendar import day_type, in_periods, is_rush_departure, is_rush_hour, is_school_day
from transit.holidays import (
    danish_holidays,
    easter_sunday,
    holiday_name,
    holidays_between,
    is_public_holiday,
)

# Easter Sundays from published calendars (not computed).
KNOWN_EASTER = {
    1961: date(1961, 4, 2), 2000: date(2000, 4, 23), 2008: date(2008, 3, 23), 2011: date(2011, 4, 24),
    2019: date(2019, 4, 21), 2024: date(2024, 3, 31), 2025: date(2025, 4, 20), 2026: date(2026, 4, 5),
    2027: date(2027, 3, 28), 2028: date(2028, 4, 16), 2038: date(2038, 4, 25), 2285: date(2285, 3, 22),
}


@pytest.mark.parametrize("year,expected", sorted(KNOWN_EASTER.items()))
def test_easter_known_dates(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    e = easter_sunday(year)
    assert e.weekday() == 6
    assert date(year, 3, 22) <= e <= date(year, 4, 25)


def test_holidays_2027_full_list() -> None:
    assert danish_holidays(2027) == {
        date(2027, 1, 1): "Nytårsdag",
        date(2027, 3, 25): "Skærtorsdag",
        date(2027, 3, 26): "Langfredag",
        date(2027, 3, 28): "Påskedag",
        date(2027, 3, 29): "2. Påskedag",
        date(2027, 5, 6): "Kristi Himmelfartsdag",
        date(2027, 5, 16): "Pinsedag",
        date(2027, 5, 17): "2. Pinsedag",
        date(2027, 12, 25): "Juledag",
        date(2027, 12, 26): "2. Juledag",
    }


def test_store_bededag_abolished_from_2024() -> None:
    assert holiday_name(date(2023, 5, 5)) == "Store Bededag"
    assert len(danish_holidays(2023)) == 11
    # 2024's would-be Store Bededag (4th Friday after Easter) is a normal Friday.
    assert not is_public_holiday(date(2024, 4, 26))
    assert len(danish_holidays(2024)) == 10


@pytest.mark.parametrize("day", [date(2026, 6, 5), date(2026, 12, 24), date(2026, 12, 31)])
def test_grundlovsdag_and_christmas_and_new_years_eve_are_not_public_holidays(day: date) -> None:
    assert not is_public_holiday(day)
    assert holiday_name(day) is None


def test_holidays_between_feed_period() -> None:
    got = holidays_between(date(2026, 11, 1), date(2027, 12, 31))
    assert min(got) == date(2026, 12, 25)
    assert max(got) == date(2027, 12, 26)
    assert len(got) == 2 + 10


@pytest.mark.parametrize("day,expected", [
    (date(2026, 11, 23), "mon-thu"),  # Monday
    (date(2026, 11, 26), "mon-thu"),  # Thursday
    (date(2026, 11, 27), "friday"),
    (date(2026, 11, 28), "saturday"),
    (date(2026, 11, 29), "sunday"),
    (date(2026, 12, 25), "sunday"),  # Juledag on a Friday
    (date(2026, 12, 26), "sunday"),  # 2. Juledag on a Saturday
    (date(2026, 12, 24), "mon-thu"),  # Juleaften (Thursday): not a public holiday
    (date(2027, 3, 29), "sunday"),  # 2. Påskedag, Monday
    (date(2027, 5, 6), "sunday"),  # Kristi Himmelfartsdag, Thursday
    (date(2027, 5, 7), "friday"),  # the day after: a normal Friday
    (date(2027, 6, 5), "saturday"),  # Grundlovsdag 2027 is a Saturday anyway
])
def test_day_type(day: date, expected: str) -> None:
    assert day_type(day) == expected


def test_day_type_with_custom_holidays() -> None:
    assert day_type(date(2026, 12, 25), holidays=()) == "friday"
    assert day_type(date(2026, 11, 24), holidays={date(2026, 11, 24)}) == "sunday"
    assert day_type(date(2026, 11, 24), holidays=lambda d: d.day == 24) == "sunday"


def test_day_type_counts_2027() -> None:
    """Counted by hand: 2027 starts on a Friday (53 Fridays); 7 of its 10 holidays fall on Mon-Sat.

    The contract's "standard year" (251 weekdays, 52 Saturdays, 62 Sundays and holidays) is the same
    model with all ten holidays on weekdays.
    """
    counts: dict[str, int] = {}
    d = date(2027, 1, 1)
    while d.year == 2027:
        counts[day_type(d)] = counts.get(day_type(d), 0) + 1
        d += timedelta(days=1)
    assert counts == {"mon-thu": 208 - 4, "friday": 53 - 2, "saturday": 52 - 1, "sunday": 52 + 7}


AUTUMN = (date(2026, 10, 10), date(2026, 10, 18))
CHRISTMAS = (date(2026, 12, 19), date(2027, 1, 3))


@pytest.mark.parametrize("day,expected", [
    (date(2026, 11, 23), True),  # ordinary Monday
    (date(2026, 11, 28), False),  # Saturday
    (date(2026, 11, 29), False),  # Sunday
    (date(2026, 12, 18), True),  # last school day before Christmas
    (date(2026, 12, 21), False),  # Christmas holidays
    (date(2027, 1, 3), False),  # last day of the period (inclusive)
    (date(2027, 1, 4), True),
    (date(2027, 5, 6), False),  # Kristi Himmelfartsdag
    (date(2026, 10, 12), False),  # autumn holidays
])
def test_is_school_day(day: date, expected: bool) -> None:
    assert is_school_day(day, [AUTUMN, CHRISTMAS]) is expected


def test_in_periods_inclusive() -> None:
    assert in_periods(date(2026, 10, 10), [AUTUMN])
    assert in_periods(date(2026, 10, 18), [AUTUMN])
    assert not in_periods(date(2026, 10, 19), [AUTUMN])
    assert not in_periods(date(2026, 10, 19), [])


@pytest.mark.parametrize("t,expected", [
    (time(6, 59, 59), False), (time(7, 0), True), (time(8, 59), True), (time(9, 0), False),
    (time(14, 29), False), (time(14, 30), True), (time(17, 59), True), (time(18, 0), False),
    (time(12, 0), False),
])
def test_is_rush_hour_default_contract_windows(t: time, expected: bool) -> None:
    assert is_rush_hour(t) is expected


def test_is_rush_hour_custom_windows() -> None:
    windows = [(time(6, 0), time(6, 30))]
    assert is_rush_hour(time(6, 15), windows)
    assert not is_rush_hour(time(7, 15), windows)


def test_rush_departure_needs_a_school_day() -> None:
    assert is_rush_departure(date(2026, 11, 23), time(7, 30), [CHRISTMAS])
    assert not is_rush_departure(date(2026, 11, 28), time(7, 30), [CHRISTMAS])  # Saturday
    assert not is_rush_departure(date(2026, 12, 21), time(7, 30), [CHRISTMAS])  # school holidays
    assert not is_rush_departure(date(2026, 11, 23), time(12, 0), [CHRISTMAS])
