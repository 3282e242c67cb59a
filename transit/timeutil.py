"""Time rules: UTC inside, Europe/Copenhagen for service days and displays, GTFS service-day semantics.

GTFS stop times are seconds since "noon minus 12 h" of the service day in the agency time zone. On DST
days that origin is not local midnight: on the last Sunday of March in Europe/Copenhagen noon minus 12 h
is 23:00 of the previous wall-clock day, so a stop time of 02:30 is 01:30 wall-clock (still CET).
Times past 24:00 belong to the service day they are listed under.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

_GTFS_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


def parse_gtfs_time(text: str) -> int:
    """``"25:10:00"`` → seconds since the service-day origin; ``ValueError`` when malformed."""
    m = _GTFS_TIME.match(text)
    if not m:
        raise ValueError(f"malformed GTFS time '{text}' (expected H:MM:SS, hours may exceed 24)")
    h, mi, s = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s


def format_gtfs_time(seconds: int) -> str:
    """Seconds since the service-day origin → ``HH:MM:SS`` (hours may exceed 24)."""
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def service_day_origin(day: date, tz: ZoneInfo = COPENHAGEN) -> datetime:
    """GTFS "noon minus 12 h" of ``day`` in ``tz``, as an aware UTC datetime."""
    noon = datetime.combine(day, time(12, 0), tzinfo=tz)
    return noon.astimezone(UTC) - timedelta(hours=12)


def gtfs_datetime(day: date, seconds: int, tz: ZoneInfo = COPENHAGEN) -> datetime:
    """The aware UTC instant of a GTFS stop time ``seconds`` on service day ``day``."""
    return service_day_origin(day, tz) + timedelta(seconds=seconds)


def service_days_for(instant: datetime, tz: ZoneInfo = COPENHAGEN, max_hours: int = 30) -> list[date]:
    """Service days whose GTFS time range (0 .. ``max_hours`` h) may contain ``instant``, newest first.

    A departure at 00:40 local time may belong to today (00:40) or to yesterday (24:40).
    """
    local_day = instant.astimezone(tz).date()
    out = []
    for back in range(0, 3):
        d = local_day - timedelta(days=back)
        secs = (instant - service_day_origin(d, tz)).total_seconds()
        if -3600 <= secs <= max_hours * 3600:
            out.append(d)
    return out


def ensure_utc(dt: datetime) -> datetime:
    """Aware datetime in UTC; naive datetimes are rejected (they hide a time-zone bug)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: rettid uses aware UTC datetimes inside")
    return dt.astimezone(UTC)


def to_epoch_ms(dt: datetime) -> int:
    return int(round(ensure_utc(dt).timestamp() * 1000))


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso_utc_ms(dt: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-11-23T06:55:00.000Z``."""
    u = ensure_utc(dt)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 with an offset or ``Z``; naive input is an error."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        raise ValueError(f"time '{text}' has no UTC offset")
    return dt.astimezone(UTC)


#: Times a record or message may carry: a wider range is a broken clock or a forgery, and near the ends
#: of ``datetime``'s range arithmetic overflows (9999-12-31 + a look-ahead raised OverflowError in the
#: station's departure list, on every restart because the message was retained).
TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)


def parse_iso_bounded(text: str) -> datetime:
    """:func:`parse_iso` for data from the outside: also a ``ValueError`` (never an ``OverflowError``)
    for a time outside :data:`TIME_MIN` .. :data:`TIME_MAX`."""
    try:
        dt = parse_iso(text)
    except OverflowError as exc:
        raise ValueError(f"time '{text}' is out of range ({exc})") from None
    if not TIME_MIN <= dt < TIME_MAX:
        raise ValueError(f"time '{text}' is outside {TIME_MIN.year}..{TIME_MAX.year - 1}")
    return dt


def local(dt: datetime, tz: ZoneInfo = COPENHAGEN) -> datetime:
    """For display and service days only."""
    return ensure_utc(dt).astimezone(tz)
