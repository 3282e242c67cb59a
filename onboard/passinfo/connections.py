"""Connections at a stop ahead: which departures are worth telling passengers about, and their state.

A connection is a departure of *another* journey from the station the vehicle is about to reach, one that
takes passengers somewhere this trip does not: another line, or another direction. A departure that only
goes where this vehicle goes anyway (same line and direction, or a variant such as 920E to Hundested on a
920R bound for Hundested, whose remaining calls are all calls of ours) is no connection; on the way, one
that only goes back through stations this trip came from (920R to Hillerød at every stop of a 920R from
Hillerød) is none either — at the trip's last stop it is. Our own vehicle's next trip in its block is
never one (passengers stay on board).

Each connection carries its realtime state when the unit knows it — from the control room's deviations
(:func:`transit.deviations.effect`) and from other vehicles' predictions (a :data:`Lookup`) — and is judged
against *our* expected arrival and the operator's change time:

- ``departs``: reachable;
- ``missed``: it leaves before we arrive (plus the change time) — "Afgår før vi ankommer";
- ``cancelled``: the control room cancelled it or it skips this stop — "Aflyst".

Pure: the timetable, times and lookups go in, no clock or network is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from signage.words import Mode, mode_of
from transit.deviations import DepartureRef, Deviation, effect, trip_stop_index
from transit.timeutil import ensure_utc

ConnState = Literal["departs", "missed", "cancelled"]

#: how far after our arrival departures are offered as connections
CONNECTION_WINDOW = timedelta(minutes=30)
#: change time when the operator file does not give one (``punctuality.connection_transfer_min``)
DEFAULT_TRANSFER = timedelta(minutes=2)


@dataclass(frozen=True)
class Realtime:
    """What another vehicle predicts for its departure from a stop (its retained stop prediction)."""

    expected: datetime | None  # predicted departure, UTC
    status: str = "SCHEDULED"  # GTFS-RT: SCHEDULED, CANCELED, SKIPPED
    platform: str | None = None


#: (trip_id, operating day YYYY-MM-DD, stop_id) -> the latest prediction, or None when nobody predicts it
Lookup = Callable[[str, str, str], "Realtime | None"]


@dataclass(frozen=True)
class Connection:
    """One connecting departure as the frieze and the announcements show it."""

    route: str
    headsign: str
    departure: datetime          # UTC (timetable)
    platform: str | None = None  # the platform it leaves from now (a changed one when the control room says so)
    state: ConnState = "departs"
    expected: datetime | None = None  # realtime departure when known
    mode: Mode = "rail"
    platform_changed: bool = False
    trip_id: str = ""
    service_day: date | None = None
    direction: int | None = None

    @property
    def cancelled(self) -> bool:
        return self.state == "cancelled"

    @property
    def when(self) -> datetime:
        """The departure passengers should go by: realtime when known, else the timetable."""
        return self.expected or self.departure


def _stations_after(tt: Any, trip_id: str, seq: int) -> set[str]:
    return {tt.station_of(st.stop_id) for st in tt.stop_times(trip_id) if st.stop_sequence > seq}


def connections_at(tt: Any, trip_id: str, stop_index: int, *, arrive_sched: datetime, arrive_exp: datetime,
                   transfer: timedelta = DEFAULT_TRANSFER, window: timedelta = CONNECTION_WINDOW,
                   until: datetime | None = None, deviations: Sequence[Deviation] = (),
                   realtime: Lookup | None = None) -> list[Connection]:
    """Every connection at the ``stop_index``-th stop of ``trip_id`` (0-based in its stop times), in time
    order: departures scheduled from our *scheduled* arrival plus the change time (the ones passengers
    planned on; those we now miss are kept, marked ``missed``) until our expected arrival plus ``window``
    (or ``until``)."""
    times = tt.stop_times(trip_id)
    here = times[stop_index]
    station = tt.station_of(here.stop_id)
    own = tt.trips[trip_id]
    ahead = {tt.station_of(st.stop_id) for st in times[stop_index + 1:]}
    behind = {tt.station_of(st.stop_id) for st in times[:stop_index + 1]}
    at_end = stop_index == len(times) - 1
    arrive_sched, arrive_exp = ensure_utc(arrive_sched), ensure_utc(arrive_exp)
    lo = min(arrive_sched, arrive_exp) + transfer
    hi = until if until is not None else arrive_exp + window
    out: list[Connection] = []
    for d in tt.departures(station, lo, hi):
        t = d.trip
        if t.trip_id == trip_id or d.is_last_stop or d.pickup_type == 1:
            continue
        if own.block_id and t.block_id == own.block_id:
            continue  # this vehicle's own next trip: passengers stay on board
        if t.route_id == own.route_id and t.direction_id == own.direction_id:
            continue  # our line, our direction: a later vehicle of ours is no connection
        rest = _stations_after(tt, t.trip_id, d.stop_sequence)
        if rest <= ahead:
            continue  # goes only where we go anyway (920E to Hundested on a 920R to Hundested)
        if not at_end and rest <= behind:
            continue  # only back the way we came (920R to Hillerød at every stop of a 920R from Hillerød)
        oday = d.service_day.isoformat()
        index = trip_stop_index(tt, t.trip_id)
        e = effect(deviations, DepartureRef(t.trip_id, oday, d.route.name, d.stop_id, d.departure,
                                            tt.station_of(d.stop_id), index(d.stop_id)), index) \
            if deviations else None
        rt = realtime(t.trip_id, oday, d.stop_id) if realtime is not None else None
        st = tt.stops.get(d.stop_id)
        planned = getattr(st, "platform_code", None) or None
        platform = (e.platform if e is not None and e.platform else None) or (rt.platform if rt else None) or planned
        expected = rt.expected if rt is not None and rt.status == "SCHEDULED" else None
        cancelled = (e is not None and e.status != "SCHEDULED") or (rt is not None and rt.status in ("CANCELED",
                                                                                                    "SKIPPED"))
        leaves = expected or d.departure
        state: ConnState = "cancelled" if cancelled else ("missed" if leaves < arrive_exp + transfer else "departs")
        out.append(Connection(d.route.name, d.headsign, d.departure, platform, state, expected,
                              mode_of(d.route.route_type), platform is not None and platform != planned,
                              t.trip_id, d.service_day, t.direction_id))
    return out


def for_display(conns: Sequence[Connection], limit: int) -> tuple[Connection, ...]:
    """What the frieze lists: per line and destination, the departures up to and including the first one
    passengers can reach (so a missed or cancelled one is shown with the one to take instead), at most
    ``limit`` rows, in time order."""
    done: set[tuple[str, str]] = set()
    out: list[Connection] = []
    for c in conns:
        key = (c.route, c.headsign)
        if key in done:
            continue
        out.append(c)
        if c.state == "departs":
            done.add(key)
        if len(out) >= limit:
            break
    return tuple(out)


__all__ = ["CONNECTION_WINDOW", "DEFAULT_TRANSFER", "ConnState", "Connection", "Lookup", "Realtime",
           "connections_at", "for_display"]
