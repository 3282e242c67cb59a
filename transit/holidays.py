"""Danish public holidays (helligdage) for any year.

Public holidays run the Sunday timetable (the contract's standard year counts "søn- og helligdage"
together), so the calendar and the sample feed need them. Hand-written rather than a dependency: the
rule set is ten dates, and the ``holidays`` package would be a new runtime dependency for that.

Not public holidays, on purpose: Grundlovsdag (5 June), Juleaftensdag (24 Dec) and Nytårsaftensdag
(31 Dec) are customary days off for many but not helligdage; trains run their weekday timetable.
Store Bededag (4th Friday after Easter) was abolished by law from 2024; it is kept for earlier years.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

STORE_BEDEDAG_LAST_YEAR = 2023


def easter_sunday(year: int) -> date:
    """Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def _holidays(year: int) -> tuple[tuple[date, str], ...]:
    easter = easter_sunday(year)

    def rel(days: int) -> date:
        return easter + timedelta(days=days)

    days = [
        (date(year, 1, 1), "Nytårsdag"),
        (rel(-3), "Skærtorsdag"),
        (rel(-2), "Langfredag"),
        (easter, "Påskedag"),
        (rel(1), "2. Påskedag"),
        (rel(39), "Kristi Himmelfartsdag"),
        (rel(49), "Pinsedag"),
        (rel(50), "2. Pinsedag"),
        (date(year, 12, 25), "Juledag"),
        (date(year, 12, 26), "2. Juledag"),
    ]
    if year <= STORE_BEDEDAG_LAST_YEAR:
        days.append((rel(26), "Store Bededag"))
    return tuple(sorted(days))


def danish_holidays(year: int) -> dict[date, str]:
    """Public holidays of ``year``: date → Danish name, in date order."""
    return dict(_holidays(year))


def holidays_between(first: date, last: date) -> dict[date, str]:
    """Public holidays from ``first`` to ``last`` inclusive."""
    out: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        for d, name in _holidays(year):
            if first <= d <= last:
                out[d] = name
    return out


def is_public_holiday(day: date) -> bool:
    return any(d == day for d, _ in _holidays(day.year))


def holiday_name(day: date) -> str | None:
    for d, name in _holidays(day.year):
        if d == day:
            return name
    return None


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday (24 and 31 December and Grundlovsdag are working days
    here: they are not helligdage, see the module docstring)."""
    return day.weekday() < 5 and not is_public_holiday(day)


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself not counted): a deadline "``n``
    arbejdsdage efter" a date. November 2026 ends on the 30th; 10 working days later is 14 December."""
    if n < 0:
        raise ValueError("n must not be negative")
    d = day
    left = n
    while left:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d
