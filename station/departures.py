"""The departure list of a stop display: timetable departures merged with vehicle predictions.

Pure: everything comes in as arguments (timetable departures, the latest predictions, the display's
current time), so the same instant always gives the same rows, live, in replay and in tests.

Rules (issue 8, DESIGN.md "Displays"):
- rows are sorted by expected time; "Nu" under a minute (never "0 min"), "N min" up to a configurable
  limit, the clock time (Europe/Copenhagen) beyond;
- a prediction is used only while fresh: older than 90 s by its ``tst`` against the display's time (or
  that far in the future: one of the clocks is wrong), or past its MQTT expiry, and the row falls back to
  the timetable time, marked as timetable;
- cancelled (or skipped at this stop) departures show "Aflyst" until their scheduled time — whether the
  vehicle's prediction says so or the control room's deviations do (``deviations``: applied to every
  row, timetable fallback rows included, since a vehicle's prediction can lag by one ``eta``); a new
  track/stand replaces the timetable's and is marked as changed; the deviations' texts for the rows
  shown and for the stop form the board's message line;
- "no data" when neither a usable timetable nor fresh predictions exist, "no departures" when the data
  is fine but nothing is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from transit.deviations import DisplayMessage, Effect, sort_messages
from transit.ratelimit import RateLimitedLog
from transit.timeutil import COPENHAGEN, TIME_MAX, TIME_MIN, ensure_utc

log = logging.getLogger(__name__)
_ratelog = RateLimitedLog(log)

STALE_AFTER_S = 90.0  # GTFS-Realtime convention: realtime data older than 90 s is stale (DOMAIN.md)

BoardState = Literal["ok", "no_departures", "no_data"]

# GTFS-Realtime OccupancyStatus -> 0 (no data) .. 3 (full): the number of filled person icons.
OCCUPANCY_LEVEL = {
    "EMPTY": 1, "MANY_SEATS_AVAILABLE": 1, "FEW_SEATS_AVAILABLE": 2, "STANDING_ROOM_ONLY": 3,
    "CRUSHED_STANDING_ROOM_ONLY": 3, "FULL": 3, "NOT_ACCEPTING_PASSENGERS": 3, "NOT_BOARDABLE": 3,
}


class PredictionLike(Protocol):
    """The fields of ``transit.messages.StopPrediction`` this module reads (docs/architecture.md)."""

    @property
    def stop_id(self) -> str: ...
    @property
    def trip_id(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def headsign(self) -> str: ...
    @property
    def oday(self) -> str: ...
    @property
    def veh(self) -> str: ...
    @property
    def sched_arr(self) -> datetime | None: ...
    @property
    def sched_dep(self) -> datetime | None: ...
    @property
    def eta_arr(self) -> datetime | None: ...
    @property
    def eta_dep(self) -> datetime | None: ...
    @property
    def tst(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def occu(self) -> str | None: ...


@dataclass(frozen=True)
class Scheduled:
    """One timetable departure at one of the display's stops (see :func:`scheduled_from_timetable`)."""

    trip_id: str
    service_day: date
    route: str
    headsign: str
    stop_id: str
    departure: datetime  # aware UTC
    platform: str | None = None
    is_last_stop: bool = False


@dataclass(frozen=True)
class BoardOptions:
    minutes_limit: int = 15        # "N min" up to this many minutes, clock time beyond
    max_rows: int = 20             # rows kept (layouts page through them)
    horizon_s: float = 2 * 3600    # how far ahead departures are listed
    stale_after_s: float = STALE_AFTER_S
    show_terminating: bool = False  # trips ending here cannot be boarded


@dataclass(frozen=True)
class Row:
    route: str
    headsign: str
    stop_id: str
    trip_id: str
    service_day: date | None
    scheduled: datetime | None  # public timetable time (UTC)
    expected: datetime          # what the row counts down to (UTC)
    text: str                   # "Nu", "7 min", "08:12", "Aflyst"
    realtime: bool              # expected comes from a fresh vehicle prediction
    stale: bool                 # a prediction existed but is stale or expired: timetable shown instead
    cancelled: bool
    delay_s: int | None         # expected - scheduled when realtime
    platform: str | None
    occupancy: str | None       # GTFS-RT OccupancyStatus name when known
    veh: str | None = None
    platform_changed: bool = False  # a deviation (or the vehicle) moved it to another track/stand
    skipped: bool = False       # cancelled at this stop only (the trip runs, but does not stop here)

    @property
    def occupancy_level(self) -> int:
        return OCCUPANCY_LEVEL.get(self.occupancy or "", 0)


@dataclass(frozen=True)
class Board:
    state: BoardState
    now: datetime
    rows: tuple[Row, ...]
    realtime_rows: int
    stale_predictions: int
    horizon_s: float = BoardOptions.horizon_s
    messages: tuple[DisplayMessage, ...] = ()  # the message line: severe first


#: What the control room's deviations make of a row (``station.deviations.RowDeviations``).
RowEffect = Callable[[Row], Effect]


def countdown_text(expected: datetime, now: datetime, minutes_limit: int) -> str:
    """"Nu" under a minute (also when a still-valid prediction is slightly past), "N min" (whole
    minutes, rounded down) up to ``minutes_limit``, else the local clock time ``HH:MM``."""
    secs = (expected - now).total_seconds()
    if secs < 60:
        return "Nu"
    minutes = int(secs // 60)
    if minutes <= minutes_limit:
        return f"{minutes} min"
    return expected.astimezone(COPENHAGEN).strftime("%H:%M")


def is_fresh(p: PredictionLike, now: datetime, stale_after_s: float = STALE_AFTER_S,
             expires_at: datetime | None = None) -> bool:
    """A prediction counts only within ``stale_after_s`` of the display's time and before its expiry."""
    if expires_at is not None and expires_at <= now:
        return False
    age = (now - ensure_utc(p.tst)).total_seconds()
    return -stale_after_s <= age <= stale_after_s


def build_board(scheduled: Iterable[Scheduled] | None, predictions: Iterable[PredictionLike],
                now: datetime, options: BoardOptions = BoardOptions(),
                expires: Mapping[Any, datetime] | None = None, *, deviations: RowEffect | None = None,
                messages: Iterable[DisplayMessage] = ()) -> Board:
    """Merge timetable departures and predictions into the rows shown at ``now``.

    ``scheduled`` is ``None`` when there is no usable timetable for the stop (feed missing or not
    covering the day). ``expires`` maps a prediction to its MQTT expiry instant when the subscriber
    knows it. Predictions are matched to departures by (trip, operating day): a vehicle may publish for
    the platform or for its parent station, and a trip calls at a station once. ``deviations`` gives the
    control room's effect on a row; ``messages`` are the stop's own texts for the message line.
    """
    now = ensure_utc(now)
    end = now + timedelta(seconds=options.horizon_s)
    fresh: dict[tuple[str, str], PredictionLike] = {}
    stale_keys: set[tuple[str, str]] = set()
    for p in predictions:
        key = (p.trip_id, p.oday)
        if not is_fresh(p, now, options.stale_after_s, (expires or {}).get(p)):
            stale_keys.add(key)
            continue
        old = fresh.get(key)
        if old is None or ensure_utc(p.tst) > ensure_utc(old.tst):
            fresh[key] = p
    stale_keys -= set(fresh)

    rows: list[Row] = []
    used: set[tuple[str, str]] = set()
    for s in scheduled or ():
        key = (s.trip_id, s.service_day.isoformat())
        if s.is_last_stop and not options.show_terminating:
            used.add(key)  # its prediction (an arrival) must not come back as a row below
            continue
        match = fresh.get(key)
        if match is not None:
            used.add(key)
            row = _row_from_prediction(match, now, options, s)
        else:
            row = _row_from_timetable(s, now, options, stale=key in stale_keys)
        if row is not None and deviations is not None:
            row = _apply(row, deviations, now)
        if row is not None and row.expected <= end:
            rows.append(row)
    for key, p in fresh.items():
        if key in used:
            continue  # already merged; remaining ones are trips outside the timetable window
        if p.sched_dep is None and p.eta_dep is None and not options.show_terminating:
            continue  # an arrival at the trip's last stop: nobody can board it here
        row = _row_from_prediction(p, now, options, None)
        if row is not None and deviations is not None:
            row = _apply(row, deviations, now)
        if row is not None and row.expected <= end:
            rows.append(row)

    rows.sort(key=lambda r: (r.expected, r.route, r.headsign))
    rows = rows[:options.max_rows]
    texts = list(messages)
    if deviations is not None:
        for r in rows:
            texts.extend(DisplayMessage(prio, text, "") for prio, text in deviations(r).texts)
    if rows:
        state: BoardState = "ok"
    elif scheduled is None and not fresh:
        state = "no_data"
    else:
        state = "no_departures"
    return Board(state, now, tuple(rows), sum(1 for r in rows if r.realtime), len(stale_keys), options.horizon_s,
                 tuple(sort_messages(texts)))


def _apply(row: Row, deviations: RowEffect, now: datetime) -> Row | None:
    """A row with the control room's deviations applied: "Aflyst" until its scheduled time (then gone),
    the new track/stand marked as changed."""
    e = deviations(row)
    if not e.changed:
        return row
    if e.platform is not None and e.platform != row.platform:
        row = replace(row, platform=e.platform, platform_changed=True)
    if e.status != "SCHEDULED" and not row.cancelled:
        sched = row.scheduled or row.expected
        if sched < now:
            return None
        row = replace(row, expected=sched, text="Aflyst", cancelled=True, delay_s=None, occupancy=None,
                      skipped=e.status == "SKIPPED")
    return row


def _row_from_timetable(s: Scheduled, now: datetime, o: BoardOptions, stale: bool) -> Row | None:
    dep = ensure_utc(s.departure)
    if dep < now:
        return None  # without a live prediction we cannot know it is still there: no ghost departures
    return Row(s.route, s.headsign, s.stop_id, s.trip_id, s.service_day, dep, dep,
               countdown_text(dep, now, o.minutes_limit), realtime=False, stale=stale, cancelled=False,
               delay_s=None, platform=s.platform, occupancy=None)


def _row_from_prediction(p: PredictionLike, now: datetime, o: BoardOptions,
                         s: Scheduled | None) -> Row | None:
    sched = s.departure if s is not None else (p.sched_dep or p.sched_arr)
    sched = ensure_utc(sched) if sched is not None else None
    day = s.service_day if s is not None else _parse_day(p.oday)
    platform = p.platform or (s.platform if s is not None else None)
    headsign = p.headsign or (s.headsign if s is not None else "")
    route = p.route or (s.route if s is not None else "")
    changed = bool(s is not None and s.platform and p.platform and p.platform != s.platform)
    if p.status in ("CANCELED", "SKIPPED"):
        if sched is None or sched < now:
            return None
        return Row(route, headsign, p.stop_id, p.trip_id, day, sched, sched, "Aflyst", realtime=True,
                   stale=False, cancelled=True, delay_s=None, platform=platform, occupancy=None, veh=p.veh,
                   platform_changed=changed, skipped=p.status == "SKIPPED")
    eta = p.eta_dep or p.eta_arr
    if eta is None:  # a prediction without a time says nothing about when: keep the timetable
        row = _row_from_timetable(s, now, o, stale=False) if s is not None else None
        return replace(row, veh=p.veh) if row is not None else None
    eta = ensure_utc(eta)
    delay = int(round((eta - sched).total_seconds())) if sched is not None else None
    return Row(route, headsign, p.stop_id, p.trip_id, day, sched, eta,
               countdown_text(eta, now, o.minutes_limit), realtime=True, stale=False, cancelled=False,
               delay_s=delay, platform=platform, occupancy=p.occu if p.occu in OCCUPANCY_LEVEL else None,
               veh=p.veh, platform_changed=changed)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def scheduled_from_timetable(departures: Iterable[Any], stops: Mapping[str, Any] | None = None
                             ) -> list[Scheduled]:
    """Adapt ``transit.timetable.Departure`` values to :class:`Scheduled`; the platform comes from the
    stop's ``platform_code`` in ``stops`` (``Timetable.stops``) when given.

    Kept as an adapter so the pure board does not depend on the timetable's classes.
    """
    out = []
    for d in departures:
        stop = (stops or {}).get(d.stop_id)
        platform = getattr(stop, "platform_code", None) or None
        out.append(Scheduled(d.trip.trip_id, d.service_day, d.route.name, d.headsign or d.trip.headsign,
                             d.stop_id, d.departure, platform, bool(d.is_last_stop)))
    return out


LOOKBACK = timedelta(minutes=45)  # delayed trips whose timetable time has passed may still come


def scheduled_for(tt: Any, stop_ids: Iterable[str], at: datetime, horizon: timedelta) -> list[Scheduled]:
    """Timetable departures at the display's stops (a parent station includes its platforms) from
    ``LOOKBACK`` before ``at`` to ``horizon`` after, one per (trip, service day). ``tt`` is a
    ``transit.timetable.Timetable``."""
    seen: set[tuple[str, str]] = set()
    out: list[Scheduled] = []
    if not TIME_MIN <= at < TIME_MAX:  # a broken clock: no timetable rather than an OverflowError
        _ratelog.warn("range", "display time %s is out of range: no timetable departures", at.isoformat())
        return out
    for sid in stop_ids:
        for s in scheduled_from_timetable(tt.departures(sid, at - LOOKBACK, at + horizon), tt.stops):
            key = (s.trip_id, s.service_day.isoformat())
            if key not in seen:
                seen.add(key)
                out.append(s)
    return out


def stops_watched(tt: Any, stop_ids: Iterable[str]) -> set[str]:
    """The configured stops and all their platforms: a vehicle publishes for the stop it calls at."""
    out: set[str] = set()
    for sid in stop_ids:
        out.add(sid)
        out.update(tt.children(sid))
    return out
