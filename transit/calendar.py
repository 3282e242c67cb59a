"""Day types, school days and rush hours: the calendar rules of the Lokaltog contract.

- The timetable has four day types: ``mon-thu``, ``friday``, ``saturday``, ``sunday``; public holidays
  run the Sunday timetable (the contract's standard year counts "søn- og helligdage" together).
- Rush hours (myldretid) are departures on *school days* between 07:00-09:00 and 14:30-18:00; a school
  day is Monday-Friday, not a public holiday and not in a school holiday period. School holidays are
  not in GTFS, so they come from the operator file.

Pure functions of dates and local times; callers convert instants with ``transit.timeutil.local``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, time
from typing import Literal

from transit.holidays import is_public_holiday

DayType = Literal["mon-thu", "friday", "saturday", "sunday"]
DAY_TYPES: tuple[DayType, ...] = ("mon-thu", "friday", "saturday", "sunday")

# Contract rush hours (belægningskriterier); operators may configure others.
DEFAULT_RUSH_HOURS: tuple[tuple[time, time], ...] = ((time(7, 0), time(9, 0)), (time(14, 30), time(18, 0)))

HolidayRule = Callable[[date], bool] | Iterable[date] | None


def _is_holiday(day: date, holidays: HolidayRule) -> bool:
    if holidays is None:
        return is_public_holiday(day)
    if callable(holidays):
        return bool(holidays(day))
    return day in (holidays if isinstance(holidays, set | frozenset) else set(holidays))


def day_type(day: date, holidays: HolidayRule = None) -> DayType:
    """The timetable day type of a service day; public holidays are Sundays.

    ``holidays`` defaults to the Danish public holidays; pass a predicate or a collection of dates to
    use another calendar (or an empty tuple to ignore holidays).
    """
    if _is_holiday(day, holidays):
        return "sunday"
    wd = day.weekday()
    if wd <= 3:
        return "mon-thu"
    if wd == 4:
        return "friday"
    if wd == 5:
        return "saturday"
    return "sunday"


def in_periods(day: date, periods: Iterable[tuple[date, date]]) -> bool:
    """Whether ``day`` falls in one of the inclusive ``(first, last)`` date ranges."""
    return any(first <= day <= last for first, last in periods)


def is_school_day(day: date, school_holidays: Iterable[tuple[date, date]] = (),
                  holidays: HolidayRule = None) -> bool:
    """Monday-Friday, not a public holiday, not in a configured school holiday period."""
    if day.weekday() >= 5 or _is_holiday(day, holidays):
        return False
    return not in_periods(day, school_holidays)


def is_rush_hour(local_time: time, windows: Iterable[tuple[time, time]] = DEFAULT_RUSH_HOURS) -> bool:
    """Whether a local wall-clock time falls in a rush-hour window ``[start, end)``.

    Only the time of day; the contract's rush hours also need a school day (:func:`is_rush_departure`).
    """
    t = local_time.replace(tzinfo=None)
    return any(start <= t < end for start, end in windows)


def is_rush_departure(day: date, local_time: time, school_holidays: Iterable[tuple[date, date]] = (),
                      windows: Iterable[tuple[time, time]] = DEFAULT_RUSH_HOURS,
                      holidays: HolidayRule = None) -> bool:
    """Contract rush hour: a departure on a school day inside a rush-hour window."""
    return is_school_day(day, school_holidays, holidays) and is_rush_hour(local_time, windows)
