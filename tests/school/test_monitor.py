"""The school monitor's rules on hand-made record streams: notice once, not on jitter, again when the ETA
grows by more than 5 minutes, never for a pickup reached or passed; window verdicts at their edges; the
ride-time warning's lead; the panel's capacity alarm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onboard.school.monitor import SchoolMonitor
from transit.records import (
    Alarm,
    ArrivalStopped,
    Departure,
    Eta,
    EtaStop,
    Occupancy,
    PickupNotice,
    Position,
    Record,
    RideTime,
    SchoolArrival,
    TripRef,
    iso,
)
from transit.runfile import NoticePickup, School, SchoolRun
from transit.schoolrules import SchoolRules

DAY = "2026-11-24"
T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC).timestamp()  # 07:00 Copenhagen
REF = TripRef("run1", DAY, "12", 0, "07:00")
KW = {"veh": "bus-1", "oper": "viborg"}
# stops a (07:00), b (07:20, flagged), c (07:30, flagged), s = school (07:52, bell 08:00)
SCHED = {"a": T0, "b": T0 + 1200, "c": T0 + 1800, "s": T0 + 3120}
RUN = SchoolRun("run1", "12", "to_school", {"s": School("s", "Skolen", 8 * 3600)},
                {"b": NoticePickup("b", "B-vej", "ref-b"), "c": NoticePickup("c", "C-vej", None)}, 3600.0)


def eta(t: float) -> Eta:
    stops = [EtaStop(stop_id=k, seq=i, sched_arr=iso(v), sched_dep=iso(v), eta_arr=iso(v), eta_dep=iso(v))
             for i, (k, v) in enumerate(SCHED.items(), 1)]
    return Eta.make(t, trip=REF, headsign="Skolen", occu=None, stops=stops, **KW)


def vp(t: float, dl: float) -> Position:
    # standing (speed 0): the pace stays 1, so the predicted arrival is the schedule plus the delay
    return Position.make(t, trip=REF, spd=0.0, odo=None, drst=0, dl=dl, **KW)


def feed(m: SchoolMonitor, recs: list[Record]) -> list[Record]:
    out: list[Record] = []
    for r in recs:
        out += m.on_record(r)
    return out


def test_notice_once_despite_jitter_then_resent_when_the_eta_grows() -> None:
    m = SchoolMonitor({"run1": RUN})
    out = feed(m, [eta(T0 - 60), ArrivalStopped.make(T0 - 30, trip=REF, stop_id="a", odo=None, drst=1, **KW),
                   Departure.make(T0, trip=REF, stop_id="a", odo=None, drst=0, **KW)])
    assert out == []
    # on time: b is due at T0 + 1200, the notice goes at T0 + 600; jitter of +-40 s after that repeats nothing
    got = []
    for k in range(0, 900):
        t = T0 + k
        dl = 0.0 if t <= T0 + 600 else (40.0 if k % 2 else -40.0)
        got += feed(m, [vp(t, dl)])
    b = [r for r in got if isinstance(r, PickupNotice) and r.stop_id == "b"]
    assert len(b) == 1
    assert b[0].tst == iso(T0 + 600) and b[0].eta == iso(T0 + 1200) and b[0].minutes == 10
    assert b[0].ref == "ref-b" and not b[0].resend
    # the bus gets held up: the ETA grows by 5 min + 1 s over the one announced -> sent again, once
    got = feed(m, [vp(T0 + 900, 250.0), vp(T0 + 901, 301.0), vp(T0 + 902, 302.0), vp(T0 + 903, 310.0)])
    again = [r for r in got if isinstance(r, PickupNotice) and r.stop_id == "b"]
    assert len(again) == 1 and again[0].resend and again[0].previous_eta == iso(T0 + 1200)
    assert again[0].eta == iso(T0 + 1200 + 301.0)
    # c (due T0 + 1800 + 301) gets its own
    # the bus serves b (no notice for b from now on) and leaves it 301 s late: c is due at T0 + 1800 + 301
    got = feed(m, [ArrivalStopped.make(T0 + 1501, trip=REF, stop_id="b", odo=None, drst=1, **KW),
                   vp(T0 + 1510, 301.0), Departure.make(T0 + 1521, trip=REF, stop_id="b", odo=None, drst=0, **KW),
                   vp(T0 + 1522, 301.0), vp(T0 + 1523, 301.0)])
    c = [r for r in got if isinstance(r, PickupNotice)]
    assert [r.stop_id for r in c] == ["c"] and c[0].eta == iso(T0 + 1800 + 301) and c[0].tst == iso(T0 + 1521)


def test_no_notice_for_a_pickup_reached_or_passed() -> None:
    m = SchoolMonitor({"run1": RUN})
    feed(m, [eta(T0 - 60), Departure.make(T0, trip=REF, stop_id="a", odo=None, drst=0, **KW)])
    # trip following finds the bus 50 s from b (it joined late): too late to tell anyone; then it is at b
    # and leaves: nothing for b, ever
    recs: list[Record] = [vp(T0 + 100, -1050.0),
                          ArrivalStopped.make(T0 + 101, trip=REF, stop_id="b", odo=None, drst=1, **KW)]
    recs += [vp(T0 + 102 + k, 0.0) for k in range(5)]
    recs.append(Departure.make(T0 + 110, trip=REF, stop_id="b", odo=None, drst=0, **KW))
    recs += [vp(T0 + 111 + k, 0.0) for k in range(5)]
    out = feed(m, recs)
    assert not [r for r in out if isinstance(r, PickupNotice) and r.stop_id == "b"]


@pytest.mark.parametrize(("local", "verdict"), [
    ("07:44:59", "early"),   # before the window
    ("07:49:59", "early"),   # in 07:45-08:15 but more than 10 min before the 08:00 bell
    ("07:50:00", "in_window"),
    ("08:00:00", "in_window"),
    ("08:00:01", "late"),    # after the bell (ours: late for school)
])
def test_window_verdicts(local: str, verdict: str) -> None:
    h, mi, s = (int(x) for x in local.split(":"))
    t = datetime(2026, 11, 24, h - 1, mi, s, tzinfo=UTC).timestamp()
    m = SchoolMonitor({"run1": RUN})
    out = feed(m, [eta(T0 - 60), ArrivalStopped.make(t, trip=REF, stop_id="s", odo=None, drst=1, **KW)])
    v = [r for r in out if isinstance(r, SchoolArrival)]
    assert len(v) == 1 and v[0].verdict == verdict and v[0].bell == "2026-11-24T07:00:00.000Z"


def test_window_after_bell_rule_follows_the_configured_window() -> None:
    late_bell = SchoolRun("run1", "12", "to_school", {"s": School("s", "Skolen", 8 * 3600 + 30 * 60)}, {}, 3600.0)
    m = SchoolMonitor({"run1": late_bell}, SchoolRules())
    t = datetime(2026, 11, 24, 7, 16, tzinfo=UTC).timestamp()  # 08:16, bell 08:30: after the window's end
    out = feed(m, [eta(T0 - 60), ArrivalStopped.make(t, trip=REF, stop_id="s", odo=None, drst=1, **KW)])
    assert [r.verdict for r in out if isinstance(r, SchoolArrival)] == ["late"]


def drive_late(m: SchoolMonitor, dl: float) -> list[Record]:
    """``dl`` late all the way: at b and c for 20 s each, a vp every 10 s in between."""
    out: list[Record] = []
    visits = {SCHED["b"] + dl: "b", SCHED["c"] + dl: "c"}
    for k in range(0, 3300, 10):
        t = T0 + k
        for tv, sid in visits.items():
            if tv <= t < tv + 10:
                out += feed(m, [ArrivalStopped.make(tv, trip=REF, stop_id=sid, odo=None, drst=1, **KW),
                                Departure.make(tv + 20, trip=REF, stop_id=sid, odo=None, drst=0, **KW)])
        out += feed(m, [vp(t, dl)])
    return out


def test_ride_time_warning_comes_lead_before_the_limit() -> None:
    m = SchoolMonitor({"run1": RUN}, SchoolRules(warn_lead_min=10.0))
    occ = Occupancy.make(T0, trip=REF, stop_id="a", vehicleload=4, in_=4, out=0, occu=13,
                         occupancy_status="MANY_SEATS_AVAILABLE", countquality="regular", **KW)
    feed(m, [eta(T0 - 60), ArrivalStopped.make(T0 - 30, trip=REF, stop_id="a", odo=None, drst=1, **KW), occ,
             Departure.make(T0, trip=REF, stop_id="a", odo=None, drst=0, **KW)])
    # 12 min late: school at 07:52 + 12 = 08:04, ride from 06:59:30 = 64.5 min > 60
    out = drive_late(m, 720.0)
    w = [r for r in out if isinstance(r, RideTime)]
    assert len(w) == 1 and w[0].kind == "warning" and w[0].pupils == 4 and w[0].stop_id == "a"
    assert w[0].tst == iso(T0 - 30 + 3000)  # at boarding + 60 - 10 min
    assert w[0].ride_s == pytest.approx(SCHED["s"] + 720.0 - (T0 - 30), abs=1.0)
    panel = m.panel()
    assert panel is not None and panel.ride_warning is not None


def test_no_warning_when_the_ride_stays_within_the_limit() -> None:
    m = SchoolMonitor({"run1": RUN})
    occ = Occupancy.make(T0, trip=REF, stop_id="a", vehicleload=4, in_=4, out=0, occu=13,
                         occupancy_status="MANY_SEATS_AVAILABLE", countquality="regular", **KW)
    feed(m, [eta(T0 - 60), ArrivalStopped.make(T0, trip=REF, stop_id="a", odo=None, drst=1, **KW), occ])
    out = drive_late(m, 60.0)
    assert not [r for r in out if isinstance(r, RideTime)]


def test_panel_capacity_alarm_until_the_load_is_back_within() -> None:
    m = SchoolMonitor({"run1": RUN}, capacity=35)
    al = Alarm.make(T0, trip=REF, stop_id="b", alarm="capacity", vehicleload=38, capacity=35, excess=3, **KW)
    feed(m, [eta(T0 - 60), al])
    p = m.panel()
    assert p is not None and p.capacity_alarm is not None and p.capacity_alarm.stop_id == "b"
    occ = Occupancy.make(T0 + 300, trip=REF, stop_id="c", vehicleload=33, in_=0, out=5, occu=100,
                         occupancy_status="STANDING_ROOM_ONLY", countquality="regular", capacity=35, **KW)
    feed(m, [occ])
    p = m.panel()
    assert p is not None and p.capacity_alarm is None and p.load == 33
