"""The frieze on a bad day (issue 16): words per mode, connections that are connections and their realtime
state, skipped stops and trips turned short, the control room's messages, the rejsegaranti note, and the
first frame of a unit in service. Reference images of each state (onboard.passinfo.showcase)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from onboard.passinfo.connections import Realtime, connections_at
from onboard.passinfo.frieze import FriezeTracker, Rejsegaranti, build_view, page_names, render_frieze
from onboard.passinfo.showcase import STATES, state_view
from tests.conftest import REPO
from tests.display.golden import assert_golden
from transit.deviations import Notice, StopSkip, TrackChange, TripCancellation
from transit.errors import ConfigError
from transit.operator import load_operator, parse_operator
from transit.yamlconf import parse_yaml

FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
DAY = date(2026, 11, 23)
TRIP = "920R_MT_0_0715"  # Hillerød 06:15 (UTC) -> Hundested Havn, block 920_MT_02


@pytest.fixture(scope="module")
def tt():
    from transit.timetable import Timetable

    return Timetable.load(FEED)


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_golden_frieze_states(state) -> None:
    assert_golden(render_frieze(state_view(state), state.panel), state.name)


def _index(tt, trip: str, stop: str) -> int:
    return [s.stop_id for s in tt.stop_times(trip)].index(stop)


def test_bus_words_from_route_type(tt) -> None:
    bus = sorted(t.trip_id for t in tt.trips_on(DAY) if t.route_id == "330R")[3]
    sched = tt.trip_schedule(bus, DAY)
    v = build_view(tt, bus, DAY, 1, sched[1].arrival - timedelta(minutes=1))
    assert v.mode == "bus" and v.words.next_stop == "Næste stoppested"
    assert v.words.platform_label("B") == "Stoppested B"
    trn = build_view(tt, TRIP, DAY, 1, tt.trip_schedule(TRIP, DAY)[1].arrival)
    assert trn.mode == "rail" and trn.words.platform_label("2") == "Spor 2"
    # connections carry their own mode: from a bus at Hillerød, trains leave from a track, buses from a stand
    k = next(i for i, s in enumerate(sched) if tt.station_of(s.stop_id) == "hilleroed")
    hv = build_view(tt, bus, DAY, k, sched[k].arrival - timedelta(minutes=1))
    modes = {c.route: c.mode for c in hv.connections}
    assert modes and all(m == ("bus" if r == "330R" else "rail") for r, m in modes.items())


def test_connections_are_other_lines_or_directions(tt) -> None:
    sched = tt.trip_schedule(TRIP, DAY)
    own = tt.trips[TRIP]
    for i, s in enumerate(sched):
        ahead = {tt.station_of(x.stop_id) for x in sched[i + 1:]}
        for c in connections_at(tt, TRIP, i, arrive_sched=s.arrival, arrive_exp=s.arrival):
            t = tt.trips[c.trip_id]
            assert not (t.route_id == own.route_id and t.direction_id == own.direction_id)
            assert t.block_id != own.block_id
            rest = {tt.station_of(x.stop_id) for x in tt.stop_times(c.trip_id)
                    if x.stop_sequence > next(y.stop_sequence for y in tt.stop_times(c.trip_id)
                                              if tt.station_of(y.stop_id) == tt.station_of(s.stop_id))}
            assert not rest <= ahead, f"{c.route} to {c.headsign} only goes where we go"
    # the brief's case: at Skævinge a 920E to Hundested leaves 11 min after our 920R to Hundested Havn arrives
    k = _index(tt, TRIP, "skaevinge")
    deps = tt.departures("skaevinge", sched[k].arrival, sched[k].arrival + timedelta(minutes=30))
    assert any(d.route.name == "920E" and d.trip.direction_id == 0 for d in deps)
    conns = connections_at(tt, TRIP, k, arrive_sched=sched[k].arrival, arrive_exp=sched[k].arrival)
    assert not [c for c in conns if c.route == "920E" and c.direction == 0]
    # at its terminus a 920R from Hundested offers the 920E back to Hundested: another direction
    back = sorted(t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 1)[10]
    bs = tt.trip_schedule(back, DAY)
    end = connections_at(tt, back, len(bs) - 1, arrive_sched=bs[-1].arrival, arrive_exp=bs[-1].arrival)
    assert {c.route for c in end} >= {"920E", "330R"}


def test_connection_states_from_deviations_and_predictions(tt) -> None:
    back = sorted(t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 1)[10]
    bs = tt.trip_schedule(back, DAY)
    arr = bs[-1].arrival
    base = connections_at(tt, back, len(bs) - 1, arrive_sched=arr, arrive_exp=arr)
    assert base and all(c.state == "departs" for c in base)
    first, second = base[0], base[1]
    cancel = TripCancellation(id="c1", oper="lokaltog", tst=arr, valid_from=arr - timedelta(hours=1),
                              valid_to=arr + timedelta(hours=2), trip_id=first.trip_id, oday=DAY.isoformat())
    track = TrackChange(id="t1", oper="lokaltog", tst=arr, valid_from=arr - timedelta(hours=1),
                        valid_to=arr + timedelta(hours=2), trip_id=second.trip_id, oday=DAY.isoformat(),
                        stop_id="hilleroed", platform="3")
    got = {c.trip_id: c for c in connections_at(tt, back, len(bs) - 1, arrive_sched=arr, arrive_exp=arr,
                                                deviations=[cancel, track])}
    assert got[first.trip_id].state == "cancelled"
    assert got[second.trip_id].platform == "3" and got[second.trip_id].platform_changed
    # we arrive 10 min late: what left within the change time is marked, and the next one of the line shown
    late = connections_at(tt, back, len(bs) - 1, arrive_sched=arr, arrive_exp=arr + timedelta(minutes=10))
    missed = [c for c in late if c.state == "missed"]
    assert missed and all(c.departure < arr + timedelta(minutes=12) for c in missed)
    # another vehicle predicts its departure 5 min late: it is the realtime time that counts

    def rt(trip_id: str, oday: str, stop_id: str) -> Realtime | None:
        return Realtime(first.departure + timedelta(minutes=15)) if trip_id == first.trip_id else None

    re = {c.trip_id: c for c in connections_at(tt, back, len(bs) - 1, arrive_sched=arr,
                                               arrive_exp=arr + timedelta(minutes=10), realtime=rt)}
    assert re[first.trip_id].state == "departs" and re[first.trip_id].when == first.departure + timedelta(minutes=15)


def test_skipped_stop_and_trip_turned_short(tt) -> None:
    sched = tt.trip_schedule(TRIP, DAY)
    seq = {s.stop_id: s.stop_sequence for s in sched}
    k = _index(tt, TRIP, "skaevinge")
    now = sched[k].arrival - timedelta(minutes=1)
    # the unit's own predictions say Skævinge is skipped: the next stop is Grimstrup, and the frieze says why
    v = build_view(tt, TRIP, DAY, k, now, statuses={seq["skaevinge"]: "SKIPPED"})
    assert v.next_stop is not None and v.next_stop.stop_id == "grimstrup"
    assert any("standser ikke ved Skævinge St." in m for m in v.messages)
    # the control room cancels the trip from Hanehoved (turned short at Frederiksværk) and skips Ølsted
    t0 = sched[0].departure
    devs = [TripCancellation(id="short", oper="lokaltog", tst=t0, valid_from=t0 - timedelta(hours=1),
                             valid_to=t0 + timedelta(hours=3), trip_id=TRIP, oday=DAY.isoformat(),
                             from_stop="hanehoved", text="Toget vender i Frederiksværk."),
            StopSkip(id="skip", oper="lokaltog", tst=t0, valid_from=t0 - timedelta(hours=1),
                     valid_to=t0 + timedelta(hours=3), trip_id=TRIP, oday=DAY.isoformat(), stop_id="oelsted")]
    v = build_view(tt, TRIP, DAY, _index(tt, TRIP, "grimstrup"), now, deviations=devs, stops_shown=4)
    by = {s.stop_id: s.status for s in v.following}
    assert by["oelsted"] == "SKIPPED" and by["hundested_havn"] == "CANCELED" and by["kregme"] == "SCHEDULED"
    assert v.messages[0].startswith("Toget kører kun til Frederiksværk St.")
    assert "Toget vender i Frederiksværk." in v.messages
    assert any("Ølsted St." in m and "standser ikke" in m for m in v.messages)
    names = page_names(v, STATES[0].panel)
    assert names[0] == "stops" and sum(n.startswith("note:") for n in names) >= 3


def test_rejsegaranti_note_from_the_operator_file(tt) -> None:
    op = load_operator(REPO / "data" / "operators" / "lokaltog.yaml")
    rule = Rejsegaranti.of(op)
    assert rule.threshold_min == 20
    assert rule.note(20 * 60) is None  # contract: "mere end 20 minutter"
    note = rule.note(20 * 60 + 1)
    assert note is not None and "20 minutter" in note and "rejsegaranti" in note
    sched = tt.trip_schedule(TRIP, DAY)
    v = build_view(tt, TRIP, DAY, 3, sched[3].arrival, delay_s=25 * 60, rejsegaranti=rule)
    assert v.rejsegaranti == note and "note:Rejsegaranti" in page_names(v, STATES[0].panel)
    assert build_view(tt, TRIP, DAY, 3, sched[3].arrival, delay_s=19 * 60, rejsegaranti=rule).rejsegaranti is None
    bus = Rejsegaranti.of(load_operator(REPO / "data" / "operators" / "movia-rbus.yaml")).note(1500)
    assert bus is not None and bus.startswith("Bussen")


@pytest.mark.parametrize("text, why", [
    ("", "empty"), ("Forsinket {minutes} min", "only placeholder"), ("x" * 201, "at most 200"),
    ("to\\nlinjer", "one line")])
def test_rejsegaranti_text_is_validated(text: str, why: str) -> None:
    src = (REPO / "data" / "operators" / "lokaltog.yaml").read_text(encoding="utf-8")
    src = src.replace("../gtfs/lokaltog-sample", str(FEED))
    lines = [ln for ln in src.splitlines() if "rejsegaranti_text" not in ln]
    i = lines.index("display:")
    lines.insert(i + 1, f'  rejsegaranti_text: "{text}"')
    with pytest.raises(ConfigError, match="rejsegaranti_text") as exc:
        parse_operator(parse_yaml("\n".join(lines), "op.yaml"), REPO / "data" / "operators" / "op.yaml")
    assert why in str(exc.value)


def test_first_frame_of_a_trip_in_service_is_its_first_stop(tt) -> None:
    """A unit whose trip following has started its trip shows it before the first prediction comes."""
    sched = tt.trip_schedule(TRIP, DAY)
    tr = FriezeTracker(tt)
    now = sched[0].departure - timedelta(minutes=5)
    assert tr.view(now).state == "not_in_service"
    tr.begin(TRIP, DAY)
    v = tr.view(now)
    assert v.state == "in_service" and v.at_origin and v.next_stop is not None
    assert v.next_stop.stop_id == sched[0].stop_id and v.destination == "Hundested Havn St."
    tr.begin(TRIP, DAY)  # the same trip again changes nothing
    assert tr.view(now) == v
    tr.begin("no-such-trip", DAY)
    assert tr.rejected == 1 and tr.trip_id == TRIP


def test_notices_reach_the_frieze_through_the_tracker(tt) -> None:
    sched = tt.trip_schedule(TRIP, DAY)
    t0 = sched[0].departure
    n = Notice(id="n", oper="lokaltog", tst=t0, valid_from=t0 - timedelta(hours=1), valid_to=t0 + timedelta(hours=3),
               routes=("920R",), text="Husk: sporarbejde i weekenden.", priority="warning")
    tr = FriezeTracker(tt)
    tr.begin(TRIP, DAY)
    v = tr.view(t0, deviations=[n], notices=[n.text])
    assert v.messages == ("Husk: sporarbejde i weekenden.",)
