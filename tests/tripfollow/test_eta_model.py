"""The prediction model (``onboard.tripfollow.eta``) on hand-built trip states, against hand-computed
expectations: a slow trip, a fast trip, a held stop, an early vehicle at a timing point, a whole-minute
timetable (no "Nu" for a vehicle kilometres away), and no realtime data.

The trip: A (0 m) → B (3 km) → C (6 km) → D (9 km) → E (12 km), 300 s scheduled running per section,
60 s scheduled dwell at B, C, D. With the default prior (240 s of scheduled running at ratio 1), two
sections achieved at 330 s each give a ratio of (660 + 240) / (600 + 240) = 15/14.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from onboard.tripfollow import FollowConfig
from onboard.tripfollow.eta import EtaConfig, delay_now, learn, predict, ref_speed, standing_left, trapezoid_s
from onboard.tripfollow.stops import TripFollower, _Visit
from transit.records import EtaStop
from transit.timeutil import parse_iso

from .drive import T0, plan, stop

SLOW = 15.0 / 14.0
FAST = 13.0 / 14.0


def trip(timepoints: tuple[bool, ...] = (True,) * 5, d_sched: float = 1020.0) -> list:
    xs = (0.0, 3000.0, 6000.0, 9000.0, 12000.0)
    arr = (T0, T0 + 300, T0 + 660, T0 + d_sched, T0 + 1380)
    dep = (T0, T0 + 360, T0 + 720, T0 + 1080, T0 + 1380)
    return [stop(sid, x, a, d, seq=i + 1, timepoint=tp)
            for i, (sid, x, a, d, tp) in enumerate(zip("ABCDE", xs, arr, dep, timepoints, strict=True))]


def follower(stops: list, mode: str, visits: dict[int, tuple[float, float | None]], i: int,
             doors_closed: bool = False) -> TripFollower:
    """A follower that has seen these (arrival, departure) pairs, ``i`` the next stop not yet left."""
    f = TripFollower(plan(stops), FollowConfig.for_mode(mode), T0 - 300)
    for k, (ars, dep) in visits.items():
        v = _Visit(arr=ars, ars=ars, due=True, doors_opened=True, s_stand=stops[k].chainage_m, dep=dep,
                   pde=(dep - 5.0) if dep is not None else (ars + 20.0 if doors_closed else None))
        f.visits[k] = v
        if dep is not None:
            f.done[k] = "dep"
    f.i = i
    return f


def at(e: EtaStop, what: str) -> float:
    v = getattr(e, what)
    assert v is not None
    return parse_iso(v).timestamp() - T0


def test_slow_trip_learns_its_ratio_and_is_predicted_late() -> None:
    # sections A-B and B-C took 330 s (scheduled 300 s), 35 s dwells; just left C at 730
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 730)}, i=3)
    run = learn(f, T0 + 730, 6000.0)
    assert run.ratio == pytest.approx(SLOW)
    assert run.sections == 2 and run.dwells == 2
    assert run.dwell_s == pytest.approx(27.5)  # median of 35, 35 and the 20 s prior (counted twice)
    d, e = predict(f, T0 + 730, 6000.0)
    assert at(d, "eta_arr") == pytest.approx(730 + 300 * SLOW)
    # arrival + 27.5 s dwell = 1078.9: a train is held to its scheduled 1080
    assert at(d, "eta_dep") == pytest.approx(1080)
    assert at(e, "eta_arr") == pytest.approx(1080 + 300 * SLOW)
    assert e.eta_dep is None and d.status == e.status == "SCHEDULED"
    # the old model (timetable + delay now, 10 s, the slack at D absorbing it) had D at 1030 and E at 1380
    assert delay_now(f, T0 + 730, 6000.0) == pytest.approx(10.0)


def test_fast_bus_leaves_early_between_timepoints_and_waits_at_one() -> None:
    # a bus 10 % fast (270 s a section), 15 s dwells; B and C are not timing points, D is
    stops = trip(timepoints=(True, False, False, True, True))
    f = follower(stops, "bus", {0: (T0 - 60, T0), 1: (T0 + 270, T0 + 285), 2: (T0 + 555, T0 + 570)}, i=3)
    run = learn(f, T0 + 570, 6000.0)
    assert run.ratio == pytest.approx(FAST)  # (540 + 240) / (600 + 240)
    assert run.dwell_s == pytest.approx(12.5)  # median of 15, 15, 10, 10
    d, e = predict(f, T0 + 570, 6000.0)
    # from C's scheduled departure point: 300 s scheduled to D, run at 13/14
    assert at(d, "eta_arr") == pytest.approx(570 + 300 * FAST)
    assert at(d, "eta_dep") == pytest.approx(1080)  # early at a timing point: waits for its time
    assert at(e, "eta_arr") == pytest.approx(1080 + 300 * FAST)


def test_late_vehicle_recovers_scheduled_dwell() -> None:
    # 200 s late leaving C, on time in running: the 60 s scheduled dwell at D shrinks to the typical 25 s
    f = follower(trip(), "train", {0: (T0 + 150, T0 + 170), 1: (T0 + 470, T0 + 495), 2: (T0 + 795, T0 + 920)},
                 i=3)
    run = learn(f, T0 + 920, 6000.0)
    assert run.ratio == pytest.approx(1.0)
    # dwells: B 25 s, C 125 s (an unscheduled hold), prior 20 s twice: the expected dwell is their mean with
    # each clipped at 3x their median (22.5 s), so the hold counts as 67.5 s, not 125 s
    dwell = (25 + 67.5 + 20 + 20) / 4
    assert run.dwell_s == pytest.approx(dwell)
    d, e = predict(f, T0 + 920, 6000.0)
    assert at(d, "eta_dep") - at(d, "eta_arr") == pytest.approx(dwell)
    assert at(e, "eta_arr") - 1380 == pytest.approx(200 - (60 - dwell))  # 173.1 s late at E, not 200


def test_held_vehicle_pushes_the_predictions_on_with_the_hold() -> None:
    # standing at C since 695 with the doors open, due to leave at its scheduled 720 (arrival + the typical
    # 25 s is earlier; a train is held to its time): at 900 it has overrun by 180 s, an unscheduled hold.
    # It leaves no sooner than now + 8 s to close the doors and pull away, plus half the overrun again
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, None)}, i=2)
    c, d, _e = predict(f, T0 + 900, 6000.0)
    assert at(c, "eta_arr") == pytest.approx(695)
    assert at(c, "eta_dep") == pytest.approx(900 + 8 + 90)
    assert at(d, "eta_arr") == pytest.approx(998 + 300 * 15.0 / 14.0)  # sections A-B, B-C at 330 s
    later = predict(f, T0 + 960, 6000.0)
    assert at(later[1], "eta_arr") - at(d, "eta_arr") == pytest.approx(60.0 * 1.5)  # faster than the clock
    # the longer it stands the longer it is expected to, up to 3 more minutes
    assert at(predict(f, T0 + 1500, 6000.0)[0], "eta_dep") == pytest.approx(1500 + 8 + 180)
    # doors closed: leaving in 3 s, whatever the overrun
    closed = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, None)}, i=2,
                      doors_closed=True)
    assert at(predict(closed, T0 + 900, 6000.0)[0], "eta_dep") == pytest.approx(903)
    # a standing vehicle that has not yet dwelt its typical time: arrival + the typical dwell (25 s: the
    # mean of B's 35 s and the 20 s prior twice), here earlier than the scheduled 720 it is held to
    assert at(predict(f, T0 + 700, 6000.0)[0], "eta_dep") == pytest.approx(720)
    bus = follower(trip(timepoints=(True, False, False, False, True)), "bus",
                   {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, None)}, i=2)
    # a bus: B's 35 s clipped at 3x the median (10 s, the bus prior twice) and the prior: 695 + 50 / 3 s,
    # later than now + 8 s
    due = 695 + 50 / 3
    assert at(predict(bus, T0 + 700, 6000.0)[0], "eta_dep") == pytest.approx(due)
    # past it: now + 8 s + half of the overrun
    assert at(predict(bus, T0 + 715, 6000.0)[0], "eta_dep") == pytest.approx(715 + 8 + (715 - due) / 2)


def test_late_start_at_the_first_stop_is_an_overrun() -> None:
    # standing at A with the doors open a minute after its scheduled departure (a driver change, a late
    # connection): leaves in 8 s plus half that minute
    f = follower(trip(), "train", {0: (T0 - 120, None)}, i=0)
    a = predict(f, T0 + 60, 0.0)[0]
    assert at(a, "eta_dep") == pytest.approx(60 + 8 + 30)
    assert at(predict(f, T0 - 60, 0.0)[0], "eta_dep") == pytest.approx(0)  # before its time: its time


def test_standing_between_stops_pulls_away_later() -> None:
    # left C at 730, stopped at 8 km (a signal before D) since 800; at 860 it has stood 60 s
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 730)}, i=3)
    run = replace(learn(f, T0 + 860, 8000.0), blend=1.0)  # the timetable's minutes alone: no length term
    moving = predict(f, T0 + 860, 8000.0, run=run)[0]
    halted = predict(f, T0 + 860, 8000.0, run=run, stopped_since=T0 + 800)[0]
    assert at(halted, "eta_arr") - at(moving, "eta_arr") == pytest.approx(30.0)  # half the 60 s stood
    # by the section's length it starts from standstill: 1 km at the timetable's pace from rest, never less
    # than what is left of the moving run
    by_len = replace(run, blend=0.0)
    m0 = at(predict(f, T0 + 860, 8000.0, run=by_len)[0], "eta_arr")
    h0 = at(predict(f, T0 + 860, 8000.0, run=by_len, stopped_since=T0 + 860)[0], "eta_arr")
    v = ref_speed(f)
    assert v is not None
    assert h0 - 860 == pytest.approx(max(m0 - 860, trapezoid_s(f.halt(3) - 8000.0, v) * run.ratio), abs=1e-3)  # ms in the record
    assert h0 > m0
    # standing at a stop is not standing between stops: its dwell rules
    at_c = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, None)}, i=2)
    assert predict(at_c, T0 + 700, 6000.0, stopped_since=T0 + 695) == predict(at_c, T0 + 700, 6000.0)


def test_a_bus_that_passes_quiet_stops_is_not_expected_to_dwell_at_every_one() -> None:
    # a bus passed B (nobody to set down or pick up) and stopped 15 s at C: of today's stops it stopped at
    # one of two; with two stops counted as stopped before any are seen it is expected to stop at 3 of 4
    stops = trip(timepoints=(True, False, False, False, True))
    f = follower(stops, "bus", {0: (T0 - 60, T0), 2: (T0 + 560, T0 + 575)}, i=3)
    f.visits[1] = _Visit(arr=T0 + 270, due=True)
    f.done[1] = "pas"
    run = learn(f, T0 + 575, 6000.0)
    assert (run.stopped, run.passed) == (1, 1)
    assert run.stop_share() == pytest.approx(0.75)
    d = predict(f, T0 + 575, 6000.0)[0]
    assert at(d, "eta_dep") - at(d, "eta_arr") == pytest.approx(run.dwell_s * 0.75)
    # what the day saw carries to the next trip
    nxt = learn(follower(stops, "bus", {0: (T0 - 60, None)}, i=0), T0 - 30, 0.0, day=run)
    assert (nxt.stopped, nxt.passed) == (1, 1)


def test_standing_left_is_a_share_of_the_overrun_with_a_ceiling() -> None:
    assert standing_left(-5.0) == 0.0
    assert standing_left(40.0) == pytest.approx(20.0)
    assert standing_left(1000.0) == pytest.approx(180.0)
    assert standing_left(40.0, EtaConfig(overrun_share=0.0)) == 0.0


def test_vehicle_kilometres_away_is_never_due_now() -> None:
    # a whole-minute timetable: D scheduled to arrive the minute C departs (0 s scheduled running)
    stops = trip(d_sched=720.0)
    f = follower(stops, "train", {0: (T0 - 60, T0), 1: (T0 + 300, T0 + 360), 2: (T0 + 660, T0 + 720)}, i=3)
    d = predict(f, T0 + 740, 6500.0)[0]
    # 2.5 km to go: the timetable's 0 s says nothing, the section's length does (half the baseline before
    # the trip shows which explains its running better); never sooner than at 40 m/s (144 km/h): 62.5 s.
    # The old model said 740 ("Nu")
    assert 740 + 2500 / 40.0 < at(d, "eta_arr") < 740 + 300
    no_length = predict(f, T0 + 740, 6500.0, run=replace(learn(f, T0 + 740, 6500.0), blend=1.0))[0]
    assert at(no_length, "eta_arr") == pytest.approx(740 + 2500 / 40.0)  # the timetable alone: the bound
    old = delay_now(f, T0 + 740, 6500.0)
    assert old is not None and 720 + old == pytest.approx(740)


def test_no_observation_for_minutes_is_no_data() -> None:
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365)}, i=2)
    out = predict(f, T0 + 600, 4500.0, observed_t=T0 + 400)
    assert [e.status for e in out] == ["NO_DATA"] * 3
    assert all(e.eta_arr is None and e.eta_dep is None for e in out)
    assert [e.status for e in predict(f, T0 + 600, 4500.0, observed_t=T0 + 500)] == ["SCHEDULED"] * 3


def test_recent_running_of_other_vehicles_counts_for_the_sections_ahead() -> None:
    class Recent:
        def run_s(self, from_stop: str, to_stop: str, t: float) -> float | None:
            return 400.0 if (from_stop, to_stop) == ("D", "E") else None

    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 730)}, i=3)
    d, e = predict(f, T0 + 730, 6000.0, sections=Recent(), cfg=EtaConfig(sections_share=1.0))
    assert at(e, "eta_arr") == pytest.approx(at(d, "eta_dep") + 400.0)  # theirs alone
    d, e = predict(f, T0 + 730, 6000.0, sections=Recent(), cfg=EtaConfig(sections_share=0.0))
    assert (d, e) == tuple(predict(f, T0 + 730, 6000.0))  # the trip's own alone


def test_the_collectors_section_times_drive_the_sections_ahead() -> None:
    # the collector saw another vehicle run D-E in 400 s (its dep at D, its ars at E, 700 s into the hour)
    from transit.records import ArrivalStopped, Departure, TripRef
    from transit.sections import RecentSections, SectionLearner, encode_sections, sections_topic

    other = TripRef("T2", "2026-11-23", "X", 0, "06:00")
    lrn = SectionLearner()
    lrn.on_records([Departure.make(T0 + 300, veh="2", oper="o", trip=other, stop_id="D", seq=4, odo=None, drst=0),
                    ArrivalStopped.make(T0 + 700, veh="2", oper="o", trip=other, stop_id="E", seq=5, odo=None,
                                        drst=0)])
    msg = lrn.message("o")
    assert msg is not None
    recent = RecentSections(prefix="p", oper="o")
    assert recent.handle(sections_topic("p", "o"), encode_sections(msg))
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 730)}, i=3)
    d, e = predict(f, T0 + 730, 6000.0, sections=recent)
    d0, e0 = predict(f, T0 + 730, 6000.0)
    own = at(e0, "eta_arr") - at(d0, "eta_dep")
    # half theirs, half this trip's own estimate of the section
    assert at(e, "eta_arr") - at(d, "eta_dep") == pytest.approx(0.5 * 400.0 + 0.5 * own, abs=2e-3)
    # more than an hour later (data time) the run is too old: the trip's own estimate alone
    late = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 4400)}, i=3)
    assert predict(late, T0 + 4400, 6000.0, sections=recent) == predict(late, T0 + 4400, 6000.0)


def test_one_signal_stop_is_clipped_not_trusted() -> None:
    # A-B took 900 s (a 10 min signal stop): clipped to 1.8 x 300 = 540 s
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 900, T0 + 930)}, i=2)
    run = learn(f, T0 + 930, 3000.0)
    assert run.ratio == pytest.approx((540 + 240) / (300 + 240))
    wide = learn(f, T0 + 930, 3000.0, replace(EtaConfig(), section_clip=(0.5, 4.0)))
    assert wide.ratio == pytest.approx(1.5)  # the ratio's own bound


def test_the_vehicles_earlier_trip_today_is_the_prior_of_the_next() -> None:
    # the first trip ran at 15/14 over 600 s of scheduled running; the next trip has seen nothing yet
    first = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 365), 2: (T0 + 695, T0 + 730)}, i=3)
    day = learn(first, T0 + 730, None)
    assert day.pace == pytest.approx(SLOW) and day.run_s == pytest.approx(600.0)
    nxt = follower(trip(), "train", {0: (T0 - 60, None)}, i=0)
    run = learn(nxt, T0 - 30, 0.0, day=day)
    # prior: 240 s at the timetable's pace (1.0) + 600 s at 15/14
    assert run.ratio == pytest.approx((240 + 600 * SLOW) / 840)
    assert run.dwell_s == pytest.approx(27.5)  # the day's dwells 35, 35 with the prior twice
    assert learn(nxt, T0 - 30, 0.0).ratio == pytest.approx(1.0)


def uneven(minutes: tuple[float, ...]) -> list:
    """Six stops 2 km apart, the running minutes of each section as given, 60 s dwells."""
    out, t = [stop("A", 0.0, T0, T0, seq=1)], T0
    for i, sid in enumerate("BCDEF", 1):
        t += minutes[i - 1]
        out.append(stop(sid, 2000.0 * i, t, t + 60 if i < 5 else t, seq=i + 1))
        t += 60
    return out


def run_at(stops: list, secs: tuple[float, ...]) -> TripFollower:
    """A train that ran the first sections in ``secs`` with 25 s dwells and just left the next stop."""
    visits: dict[int, tuple[float, float | None]] = {0: (T0 - 60, T0)}
    t = T0
    for k, r in enumerate(secs, 1):
        visits[k] = (t + r, t + r + 25)
        t += r + 25
    return follower(stops, "train", visits, i=len(secs) + 1)


def test_section_lengths_explain_running_the_minutes_do_not() -> None:
    # equal sections scheduled 2, 3, 2, 3, 2 minutes (slack where the planner put it); the train needs 150 s
    # for each: after three sections the lengths explain its running, the next "3 minutes" is 150 s too
    stops = uneven((120.0, 180.0, 120.0, 180.0, 120.0))
    f = run_at(stops, (150.0, 150.0, 150.0))
    now = T0 + 3 * 175
    run = learn(f, now, 6000.0)
    assert run.blend == 0.0 and run.sections == 3
    e = predict(f, now, 6000.0, run=run)[0]
    assert at(e, "eta_arr") - (now - T0) == pytest.approx(150.0, abs=5.0)
    # before three sections are known: half the timetable's minutes, half the lengths
    assert learn(run_at(stops, (150.0, 150.0)), T0 + 2 * 175, 4000.0).blend == 0.5


def test_timetable_minutes_that_explain_the_running_are_kept() -> None:
    # the same sections, a train that runs them in the timetable's minutes (a slow zone in B-C and D-E)
    stops = uneven((120.0, 180.0, 120.0, 180.0, 120.0))
    f = run_at(stops, (120.0, 180.0, 120.0))
    now = T0 + 120 + 180 + 120 + 75
    run = learn(f, now, 6000.0)
    assert run.blend == 1.0
    e = predict(f, now, 6000.0, run=run)[0]
    assert at(e, "eta_arr") - (now - T0) == pytest.approx(180.0 * run.ratio)
    assert run.ratio == pytest.approx(1.0, abs=0.05)


def test_standing_at_a_signal_is_not_running_but_a_cost_of_the_sections_ahead() -> None:
    # A-B took 390 s, 90 of them standing at a signal: the train ran at the timetable's pace (ratio 1,
    # not (390 + 240) / 540), and each whole section ahead costs the 90 s over 1 section seen + 3 without
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 390, T0 + 420)}, i=2)
    f.halts[1] = 90.0
    run = learn(f, T0 + 420, 3000.0)
    assert run.ratio == pytest.approx(1.0)
    assert (run.halted, run.halt_sections) == (90.0, 1)
    assert run.halt_s(EtaConfig().prior_halt_sections) == pytest.approx(22.5)
    unhalted = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 390, T0 + 420)}, i=2)
    assert learn(unhalted, T0 + 420, 3000.0).ratio == pytest.approx(630.0 / 540.0)
    c, d, e = predict(f, T0 + 420, 3000.0, run=replace(run, blend=1.0))
    assert at(c, "eta_arr") == pytest.approx(420 + 300)  # the section under way: no allowance
    assert at(d, "eta_arr") - at(c, "eta_dep") == pytest.approx(300 + 22.5)
    assert at(e, "eta_arr") - at(d, "eta_dep") == pytest.approx(300 + 22.5)
    # none counted: the sections ahead cost their running alone
    plain = predict(f, T0 + 420, 3000.0, run=replace(run, blend=1.0), cfg=replace(EtaConfig(), halt_share=0.0))
    assert at(plain[1], "eta_arr") - at(plain[0], "eta_dep") == pytest.approx(300)
    # the day carries the standstill to the next trip
    nxt = learn(follower(trip(), "train", {0: (T0 - 60, None)}, i=0), T0 - 30, 0.0, day=run)
    assert (nxt.halted, nxt.halt_sections) == (90.0, 1)


def test_standing_at_a_signal_now_is_not_running_either() -> None:
    # left B at 360, at 4.5 km since 440 standing at a signal: at 500 the run in progress is what it was
    # when it stopped
    f = follower(trip(), "train", {0: (T0 - 60, T0), 1: (T0 + 330, T0 + 360)}, i=2)
    f.visits[2] = _Visit()  # on the way there (the follower opens the visit as it steps)
    halted = learn(f, T0 + 500, 4500.0, halted_since=T0 + 440)
    assert halted.ratio == pytest.approx(learn(f, T0 + 440, 4500.0).ratio)
    assert halted.ratio < learn(f, T0 + 500, 4500.0).ratio
