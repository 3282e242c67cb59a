"""station.departures: the pure departure list (countdown text, realtime vs timetable, staleness)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from station.departures import BoardOptions, build_board, countdown_text, is_fresh, scheduled_from_timetable
from tests.display.factories import DAY, NOW, normal_board_inputs, pred, sched


@given(st.floats(min_value=-600, max_value=4 * 3600, allow_nan=False))
def test_countdown_never_says_0_min(secs: float) -> None:
    text = countdown_text(NOW + timedelta(seconds=secs), NOW, 15)
    assert text != "0 min" and not text.startswith("-")
    if secs < 60:
        assert text == "Nu"
    elif secs < 16 * 60:
        assert text == f"{int(secs // 60)} min"
    else:
        assert len(text) == 5 and text[2] == ":"


def test_countdown_examples_and_local_clock() -> None:
    assert countdown_text(NOW + timedelta(seconds=59.9), NOW, 15) == "Nu"
    assert countdown_text(NOW + timedelta(seconds=60), NOW, 15) == "1 min"
    assert countdown_text(NOW + timedelta(minutes=15, seconds=59), NOW, 15) == "15 min"
    assert countdown_text(NOW + timedelta(minutes=16), NOW, 15) == "08:11"  # Copenhagen time (UTC+1)
    assert countdown_text(NOW + timedelta(minutes=16), NOW, 30) == "16 min"


def test_normal_board_merges_sorts_and_marks_realtime() -> None:
    s, p = normal_board_inputs()
    p[1] = replace(p[1], eta_dep=NOW + timedelta(minutes=3), eta_arr=NOW + timedelta(minutes=3))  # 930R early
    b = build_board(s, p, NOW)
    assert b.state == "ok"
    assert [(r.route, r.text, r.realtime) for r in b.rows] == [
        ("920R", "Nu", False), ("930R", "3 min", True), ("950R", "4 min", True),
        ("960R", "08:20", False), ("330R", "08:26", False)]
    r950 = b.rows[2]
    assert r950.delay_s == 20 and r950.occupancy == "MANY_SEATS_AVAILABLE" and r950.occupancy_level == 1
    assert r950.platform == "9" and r950.veh == "lint-01"
    assert b.realtime_rows == 2


def test_stale_or_expired_prediction_falls_back_to_timetable_with_its_mark() -> None:
    s = [sched("t1", "920R", "Hundested", 5)]
    late = pred(s[0], delay_s=300, age_s=91)
    b = build_board(s, [late], NOW)
    (row,) = b.rows
    assert (row.text, row.realtime, row.stale) == ("5 min", False, True)
    assert b.stale_predictions == 1
    fresh = pred(s[0], delay_s=300, age_s=89)
    assert build_board(s, [fresh], NOW).rows[0].text == "10 min"
    expired = build_board(s, [fresh], NOW, expires={fresh: NOW - timedelta(seconds=1)})
    assert (expired.rows[0].text, expired.rows[0].realtime) == ("5 min", False)
    future = pred(s[0], delay_s=300, age_s=-120)  # vehicle clock far ahead of the display: not trusted
    assert not is_fresh(future, NOW)
    assert build_board(s, [future], NOW).rows[0].realtime is False


def test_newest_prediction_wins() -> None:
    s = [sched("t1", "920R", "Hundested", 5)]
    old, new = pred(s[0], delay_s=600, age_s=50), pred(s[0], delay_s=120, age_s=5)
    assert build_board(s, [new, old], NOW).rows[0].text == "7 min"
    assert build_board(s, [old, new], NOW).rows[0].text == "7 min"


def test_cancelled_and_skipped_show_aflyst_until_scheduled_time() -> None:
    s = [sched("t1", "930R", "Helsingør St.", 6), sched("t2", "950R", "Gilleleje", 8)]
    b = build_board(s, [pred(s[0], status="CANCELED"), pred(s[1], status="SKIPPED")], NOW)
    assert [(r.text, r.cancelled) for r in b.rows] == [("Aflyst", True), ("Aflyst", True)]
    past = sched("t3", "930R", "Helsingør St.", -1)
    assert build_board([past], [pred(past, status="CANCELED")], NOW).state == "no_departures"


def test_no_ghost_departures_but_a_fresh_late_vehicle_stays() -> None:
    gone = sched("t1", "920R", "Hundested", -2)
    assert build_board([gone], [], NOW).rows == ()
    late = sched("t2", "920R", "Hundested", -3)
    b = build_board([late], [pred(late, delay_s=240)], NOW)
    assert [(r.text, r.realtime, r.delay_s) for r in b.rows] == [("1 min", True, 240)]
    dwelling = pred(late, delay_s=150)  # its predicted departure has just passed, the vehicle is still here
    assert build_board([late], [dwelling], NOW).rows[0].text == "Nu"


def test_prediction_without_timetable_row_is_shown() -> None:
    extra = sched("extra", "920R", "Hundested", 12)
    b = build_board([], [pred(extra, delay_s=60)], NOW)
    assert [(r.trip_id, r.text, r.realtime) for r in b.rows] == [("extra", "13 min", True)]


def test_prediction_for_parent_station_matches_platform_departure() -> None:
    s = sched("t1", "920R", "Hundested", 5, stop="hilleroed_8")
    p = replace(pred(s, delay_s=120), stop_id="hilleroed")
    b = build_board([s], [p], NOW)
    assert len(b.rows) == 1 and b.rows[0].realtime and b.rows[0].text == "7 min"


def test_states_no_data_and_no_departures() -> None:
    assert build_board(None, [], NOW).state == "no_data"
    assert build_board([], [], NOW).state == "no_departures"
    s = sched("t1", "920R", "Hundested", 5)
    assert build_board(None, [pred(s)], NOW).state == "ok"
    assert build_board(None, [pred(s, age_s=300)], NOW).state == "no_data"  # only stale data: no data
    far = sched("t9", "920R", "Hundested", 200)
    assert build_board([far], [], NOW, BoardOptions(horizon_s=3600)).state == "no_departures"


def test_terminating_trips_hidden_and_rows_limited() -> None:
    s = [sched(f"t{i}", "920R", "Hundested", 2 + i) for i in range(10)]
    s.append(sched("end", "920R", "Hillerød", 1, last=True))
    b = build_board(s, [], NOW, BoardOptions(max_rows=4))
    assert len(b.rows) == 4 and "end" not in {r.trip_id for r in b.rows}
    b2 = build_board(s, [], NOW, BoardOptions(max_rows=4, show_terminating=True))
    assert b2.rows[0].trip_id == "end"


def test_adapter_from_timetable_departures() -> None:
    from transit.timetable import Departure, Route, Stop, Trip

    trip = Trip("T1", "920R", "MT", headsign="Hundested Havn St.", direction_id=0)
    route = Route("920R", "920R", "Frederiksværkbanen", 2)
    dep = Departure(trip, route, DAY, 1, "hilleroed_8", NOW + timedelta(minutes=3), "Hundested Havn St.", False)
    stops = {"hilleroed_8": Stop("hilleroed_8", "Hillerød St.", 55.9, 12.3, "hilleroed", "8", 0)}
    (s,) = scheduled_from_timetable([dep], stops)
    assert (s.trip_id, s.route, s.headsign, s.platform, s.service_day) == ("T1", "920R", "Hundested Havn St.", "8", DAY)


@given(st.lists(st.tuples(st.floats(min_value=-30, max_value=180), st.sampled_from(["920R", "930R", "950R"]),
                          st.one_of(st.none(), st.tuples(st.floats(min_value=-120, max_value=900),
                                                         st.floats(min_value=-200, max_value=200),
                                                         st.sampled_from(["SCHEDULED", "CANCELED"])))),
                max_size=12))
def test_board_invariants(items) -> None:
    """Sorted by expected time; no ghosts (a timetable row is never in the past, a realtime row only when
    its prediction is fresh); never "0 min"; one row per trip."""
    s = [sched(f"t{i}", route, "X", minutes) for i, (minutes, route, _) in enumerate(items)]
    p = [pred(s[i], delay_s=extra[0], age_s=extra[1], status=extra[2]) for i, (_, _, extra) in enumerate(items)
         if extra is not None]
    b = build_board(s, p, NOW)
    exp = [r.expected for r in b.rows]
    assert exp == sorted(exp)
    assert len({r.trip_id for r in b.rows}) == len(b.rows)
    fresh = {x.trip_id for x in p if abs(x.tst - NOW).total_seconds() <= 90}
    for r in b.rows:
        assert r.text != "0 min"
        if r.realtime:
            assert r.trip_id in fresh
        else:
            assert r.expected >= NOW
        if r.cancelled:
            assert r.text == "Aflyst" and r.scheduled is not None and r.scheduled >= NOW


def test_predictions_of_trips_ending_here_are_not_departures() -> None:
    end = sched("in1", "920R", "Hillerød St.", 4, last=True)
    p = replace(pred(end, delay_s=60), sched_dep=None, eta_dep=None)  # how trip following marks the terminus
    assert build_board([end], [p], NOW).rows == ()
    assert build_board([], [p], NOW).rows == ()  # also when the timetable window does not hold the trip
    shown = build_board([end], [p], NOW, BoardOptions(show_terminating=True))
    assert [(r.trip_id, r.realtime) for r in shown.rows] == [("in1", True)]
