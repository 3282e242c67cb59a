"""Deterministic onboard records for MQTT tests (the shape of docs/architecture.md's event records): a bus
running a trip with 1 Hz positions, stop events, punctuality, passenger counts and stop predictions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from transit.timeutil import iso_utc_ms

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _rid(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def trip_records(n_seconds: int, *, veh: str = "2051", oper: str = "lokaltog", stop_every: int = 60,
                 trip_id: str = "920R-0655", route: str = "920R") -> list[dict[str, Any]]:
    """``n_seconds`` of a trip: one ``vp`` per second; every ``stop_every`` s an arrival, departure,
    punctuality record, an ``apc`` delta and an ``eta`` update for the next stop (clearing the last)."""
    out: list[dict[str, Any]] = []
    base = {"veh": veh, "oper": oper, "oday": "2026-11-23", "route": route, "dir": 0, "start": "06:55",
            "trip_id": trip_id, "loc": "GPS"}
    for s in range(n_seconds):
        t = T0 + timedelta(seconds=s)
        k = s // stop_every
        stop = f"S{k:03d}"
        rec = dict(base, event="vp", id=_rid(veh, "vp", trip_id, s), tst=iso_utc_ms(t), stop_id=stop,
                   seq=k, lat=55.9 + s * 1e-5, lon=12.3 + s * 1e-5, spd=12.5, hdg=90.0, odo=s * 12.5, dl=30)
        out.append(rec)
        if s % stop_every == stop_every - 1:
            for ev in ("arr", "dep"):
                out.append(dict(base, event=ev, id=_rid(veh, ev, trip_id, k), tst=iso_utc_ms(t),
                                stop_id=stop, seq=k, dl=30, drst=0))
            out.append(dict(base, event="punctuality", id=_rid(veh, "punct", trip_id, k), tst=iso_utc_ms(t),
                            stop_id=stop, seq=k, sched=iso_utc_ms(t - timedelta(seconds=30)), dl=30,
                            late=False))
            out.append(dict(base, event="apc", id=_rid(veh, "apc", trip_id, k), tst=iso_utc_ms(t),
                            stop_id=stop, seq=k, door=1, cls="adult", **{"in": 2, "out": 1}))
            nxt = f"S{k + 1:03d}"
            out.append(dict(base, event="eta", id=_rid(veh, "eta", trip_id, k), tst=iso_utc_ms(t),
                            stop_id=nxt, seq=k + 1, headsign="Hundested", occu="MANY_SEATS_AVAILABLE",
                            stops=[{"stop_id": nxt, "seq": k + 1,
                                    "sched_arr": iso_utc_ms(t + timedelta(seconds=stop_every)),
                                    "sched_dep": iso_utc_ms(t + timedelta(seconds=stop_every + 20)),
                                    "eta_arr": iso_utc_ms(t + timedelta(seconds=stop_every + 30)),
                                    "eta_dep": iso_utc_ms(t + timedelta(seconds=stop_every + 50))}],
                            clear=[stop]))
    return out
