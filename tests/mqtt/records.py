"""Deterministic onboard records for MQTT tests (the shape of docs/architecture.md's event records): a bus
running a trip with 1 Hz positions, stop events, punctuality, passenger counts and stop predictions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transit.records import Apc, Arrival, Departure, Eta, EtaStop, Position, Punctuality, Record, TripRef
from transit.timeutil import iso_utc_ms

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def trip_records(n_seconds: int, *, veh: str = "2051", oper: str = "lokaltog", stop_every: int = 60,
                 trip_id: str = "920R-0655", route: str = "920R") -> list[Record]:
    """``n_seconds`` of a trip: one ``vp`` per second; every ``stop_every`` s an arrival, departure,
    punctuality record, an ``apc`` delta and an ``eta`` update for the next stop (clearing the last)."""
    out: list[Record] = []
    ref = TripRef(trip_id, "2026-11-23", route, 0, "06:55")
    env = {"veh": veh, "oper": oper, "trip": ref, "loc": "GPS"}
    for s in range(n_seconds):
        t = T0 + timedelta(seconds=s)
        k = s // stop_every
        stop = f"S{k:03d}"
        out.append(Position.make(t, **env, stop_id=stop, seq=k, spd=12.5, odo=s * 12.5, drst=0,
                                 lat=55.9 + s * 1e-5, lon=12.3 + s * 1e-5, hdg=90.0, dl=30.0))
        if s % stop_every == stop_every - 1:
            for kind in (Arrival, Departure):
                out.append(kind.make(t, **env, stop_id=stop, seq=k, odo=s * 12.5, drst=0, dl=30.0))
            out.append(Punctuality.make(t, **env, stop_id=stop, seq=k, status="measured", station=stop,
                                        measured="arrival", counted=True, sched=iso_utc_ms(t - timedelta(seconds=30)),
                                        actual=iso_utc_ms(t), dl=30.0, late=False, policy="rail"))
            out.append(Apc.make(t, **env, stop_id=stop, seq=k, id_extra="1/adult/", door=1, class_="adult",
                                in_=2, out=1, countquality="regular", vehicleload=1))
            nxt = f"S{k + 1:03d}"
            out.append(Eta.make(t, **env, stop_id=nxt, seq=k + 1, headsign="Hundested", occu="MANY_SEATS_AVAILABLE",
                                stops=[EtaStop(stop_id=nxt, seq=k + 1,
                                               sched_arr=iso_utc_ms(t + timedelta(seconds=stop_every)),
                                               sched_dep=iso_utc_ms(t + timedelta(seconds=stop_every + 20)),
                                               eta_arr=iso_utc_ms(t + timedelta(seconds=stop_every + 30)),
                                               eta_dep=iso_utc_ms(t + timedelta(seconds=stop_every + 50)))],
                                clear=[stop]))
    return out
