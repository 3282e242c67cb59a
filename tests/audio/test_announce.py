"""onboard.passinfo.announce: what is said, in Danish, and when — pure, on the sample timetable and on the
control room's own deviation messages (no audio here: tests/audio/test_speaker.py and test_golden.py speak)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from onboard.passinfo.announce import (
    Announcer,
    QuietHours,
    connections_text,
    deviation_text,
    speech_text,
    stop_text,
    wav_name,
)
from onboard.passinfo.connections import Connection
from onboard.passinfo.frieze import FriezeStop, FriezeView, build_view, not_in_service
from tests.conftest import REPO
from transit.deviations import StopSkip, TrackChange, TripCancellation
from transit.errors import ConfigError
from transit.yamlconf import parse_yaml

DAY = date(2026, 11, 23)
TRIP = "920R_MT_0_0715"  # Hillerød 07:15 -> Hundested Havn, 19 stops
NOW = datetime(2026, 11, 23, 9, 26, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def tt():  # type: ignore[no-untyped-def]
    from transit.timetable import Timetable

    return Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")


def _stop(sid: str, name: str, minutes: int, platform: str | None = None, terminus: bool = False,
          changed: bool = False) -> FriezeStop:
    t = NOW + timedelta(minutes=minutes)
    return FriezeStop(sid, name, t, t, platform, terminus, platform_changed=changed)


def view(**kw: object) -> FriezeView:
    base = FriezeView(
        now=NOW, state="in_service", route="920R", destination="Hundested Havn St.", via=("Frederiksværk",),
        next_stop=_stop("skaevinge", "Skævinge St.", 2),
        following=(_stop("grimstrup", "Grimstrup St.", 5),
                   _stop("hundested_havn", "Hundested Havn St.", 32, terminus=True)),
        connections=(Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=9), "2"),
                     Connection("330R", "Frederikssund St.", NOW + timedelta(minutes=13, seconds=30), "A", mode="bus"),
                     Connection("960R", "Tisvildeleje St.", NOW + timedelta(minutes=33, seconds=30), "1",
                                state="cancelled"),
                     Connection("930R", "Helsingør St.", NOW + timedelta(minutes=1), "5", state="missed")))
    return replace(base, **kw)  # type: ignore[arg-type]


def test_stop_texts_use_the_words_of_the_mode() -> None:
    assert stop_text(view()) == ("next_stop", "Næste stop: Skævinge St.")
    assert stop_text(view(mode="bus")) == ("next_stop", "Næste stoppested: Skævinge St.")
    late = view(delay_s=7 * 60 + 40, delay_threshold_s=120)
    assert stop_text(late) == ("next_stop", "Næste stop: Skævinge St. Vi er cirka 7 minutter forsinket.")
    assert stop_text(view(delay_s=100)) == ("next_stop", "Næste stop: Skævinge St.")  # under the threshold
    moved = view(next_stop=_stop("skaevinge", "Skævinge St.", 2, "3", changed=True))
    assert stop_text(moved)[1] == "Næste stop: Skævinge St. Ændret spor: toget ankommer til spor 3."  # type: ignore[index]
    assert stop_text(replace(moved, mode="bus"))[1] == \
        "Næste stoppested: Skævinge St. Ændret stoppested: bussen holder ved stoppested 3."  # type: ignore[index]
    origin = view(at_origin=True, at_stop=True, next_stop=_stop("hilleroed_8", "Hillerød St.", 0, "8"))
    assert stop_text(origin) == ("origin", "Velkommen. Linje 920R mod Hundested Havn St. via Frederiksværk.")
    term = FriezeView(NOW, "terminus", "920R", "Hundested Havn St.", (),
                      _stop("hundested_havn", "Hundested Havn St.", 0, terminus=True), (), True)
    assert stop_text(term) == ("terminus", "Hundested Havn St. Endestation. Husk at tage alt med. Tak for rejsen.")
    assert stop_text(not_in_service(NOW)) is None


def test_connections_name_track_or_stand_by_the_connecting_line_and_say_their_state() -> None:
    text = connections_text(view(), limit=4)
    assert text == ("Skift ved Skævinge St.: linje 950R mod Gilleleje St. klokken 10:35 fra spor 2; "
                    "linje 330R mod Frederikssund St. klokken 10:40 fra stoppested A; "
                    "linje 960R mod Tisvildeleje St. klokken 11:00 er aflyst; "
                    "linje 930R mod Helsingør St. klokken 10:27 kører før vi ankommer.")
    assert speech_text(text).startswith("Skift ved Skævinge Station: linje 950R mod Gilleleje Station klokken "
                                        "10:35 fra spor 2;")
    assert "klokken 11 er aflyst" in speech_text(text)  # a full hour is said as one
    assert connections_text(view(), limit=1).count("linje") == 1  # type: ignore[union-attr]
    assert connections_text(view(), limit=0) is None
    assert connections_text(view(connections=()), limit=2) is None
    assert connections_text(view(at_origin=True)) is None  # boarding: where we go, not where to change


def test_deviation_text_is_the_friezes_messages_the_new_track_and_the_rejsegaranti() -> None:
    assert deviation_text(view()) is None
    short = view(messages=("Toget kører kun til Frederiksværk St. Aflyst herfra til Hundested Havn.",
                           "Signalfejl ved Kregme"))
    assert deviation_text(short) == ("Vigtig meddelelse. Toget kører kun til Frederiksværk St. Aflyst herfra til "
                                     "Hundested Havn. Signalfejl ved Kregme.")
    moved = view(mode="bus", next_stop=_stop("skaevinge", "Skævinge St.", 2, "B", changed=True),
                 rejsegaranti="Mere end 20 minutter forsinket: rejsegaranti, se dinoffentligetransport.dk")
    assert deviation_text(moved) == ("Vigtig meddelelse. Ved Skævinge St. holder bussen ved stoppested B. "
                                     "Mere end 20 minutter forsinket: rejsegaranti, se dinoffentligetransport.dk.")
    assert deviation_text(not_in_service(NOW)) is None


def _common(i: str, **kw: object) -> dict:  # type: ignore[type-arg]
    return {"id": i, "oper": "lokaltog", "tst": NOW, "valid_from": NOW - timedelta(hours=3),
            "valid_to": NOW + timedelta(hours=3), **kw}


def test_announcer_says_each_stop_once_then_its_connections_and_each_change_of_deviations() -> None:
    a = Announcer(connections=2)
    first = a.update(view(), trip="t1")
    assert [x.kind for x in first] == ["next_stop", "connections"]
    assert first[0].speech == "Næste stop: Skævinge Station."
    assert first[0].key == first[1].key and first[0].slot == first[1].slot == "stop"
    assert a.update(view(now=NOW + timedelta(seconds=1)), trip="t1") == []  # the same view a second later
    bad = view(now=NOW + timedelta(seconds=2), messages=("Sporskift.",))
    said = a.update(bad, trip="t1")
    assert [x.kind for x in said] == ["deviation"] and said[0].priority < first[0].priority
    assert a.update(replace(bad, now=NOW + timedelta(seconds=3)), trip="t1") == []  # said once
    nxt = replace(bad, next_stop=_stop("grimstrup", "Grimstrup St.", 5), now=NOW + timedelta(minutes=3))
    said = a.update(nxt, trip="t1")
    assert [x.kind for x in said] == ["next_stop", "connections"] and said[0].key != first[0].key
    assert a.update(replace(nxt, messages=()), trip="t1") == []  # a withdrawn deviation is not announced
    assert a.update(not_in_service(NOW), trip="t1") == []
    again = a.update(view(), trip="t1")  # back in service: the stop is said again
    assert [x.kind for x in again] == ["next_stop", "connections"]
    assert wav_name(again[0]) == "20261123T092630Z_next_stop_skaevinge.wav"


def test_announcer_on_the_sample_timetable_with_the_control_rooms_deviations(tt) -> None:  # type: ignore[no-untyped-def]
    sched = tt.trip_schedule(TRIP, DAY)
    a = Announcer(connections=4)
    t0 = sched[0].departure - timedelta(minutes=1)
    origin = a.update(build_view(tt, TRIP, DAY, 0, t0, at_stop=True), trip=TRIP)
    assert [x.text for x in origin] == ["Velkommen. Linje 920R mod Hundested Havn St."]
    # on the way: turned short at Hanehoved, Kregme skipped, Skævinge on another track
    devs = [TripCancellation(**_common("c1", text="Toget vender i Frederiksværk."), trip_id=TRIP, oday="2026-11-23",
                             from_stop="hanehoved"),
            StopSkip(**_common("s1"), stop_id="kregme", trip_id=TRIP, oday="2026-11-23"),
            TrackChange(**_common("t1"), trip_id=TRIP, oday="2026-11-23", stop_id="skaevinge", platform="2")]
    k = next(i for i, s in enumerate(sched) if s.stop_id == "skaevinge")
    v = build_view(tt, TRIP, DAY, k, sched[k - 1].departure + timedelta(seconds=30), deviations=devs)
    said = a.update(v, trip=TRIP)
    assert [x.kind for x in said][:2] == ["deviation", "next_stop"]
    dev = said[0].text
    assert dev.startswith("Vigtig meddelelse. ") and "Frederiksværk St." in dev and "Kregme" in dev
    assert "Toget vender i Frederiksværk." in dev and "ankommer toget til spor 2" in dev
    assert said[1].text == "Næste stop: Skævinge St. Ændret spor: toget ankommer til spor 2."
    # arriving at Hillerød on a 920R back: the connections from there, 330R (a bus) from its stand
    back = sorted(t.trip_id for t in tt.trips_on(DAY) if t.route_id == "920R" and t.direction_id == 1)[3]
    s2 = tt.trip_schedule(back, DAY)
    said = Announcer(connections=4).update(build_view(tt, back, DAY, len(s2) - 1, s2[-2].departure), trip=back)
    assert said[0].text == "Næste stop: Hillerød St."
    conn = said[1].text
    assert "920" not in conn.split(":", 1)[1]  # our own line, either direction, is no connection
    assert "fra stoppested" in conn and "fra spor" in conn


def test_quiet_hours_in_copenhagen_local_time() -> None:
    q = QuietHours.parse("23:00-06:00, 12:00-12:30")
    # 22:30 UTC is 23:30 in winter (CET) -> quiet; 05:30 UTC is 06:30 -> not
    assert q.muted(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    assert not q.muted(datetime(2026, 11, 23, 5, 30, tzinfo=UTC))
    assert q.muted(datetime(2026, 11, 23, 4, 59, tzinfo=UTC))
    # summer time (CEST, UTC+2): 21:30 UTC is 23:30 local -> quiet; 04:30 UTC is 06:30 -> not
    assert q.muted(datetime(2026, 7, 1, 21, 30, tzinfo=UTC)) and not q.muted(datetime(2026, 7, 1, 4, 30, tzinfo=UTC))
    assert q.muted(datetime(2026, 11, 23, 11, 15, tzinfo=UTC)) and not q.muted(datetime(2026, 11, 23, 11, 30, tzinfo=UTC))
    assert not QuietHours().muted(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert QuietHours.parse("00:00-24:00").muted(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


@pytest.mark.parametrize(("value", "message"), [
    ("23:00", "expected HH:MM-HH:MM, got '23:00'"),
    ("25:00-06:00", "no such time of day"),
    ("06:00-06:00", "empty period"),
    ("[1380]", "expected a quoted period"),
])
def test_quiet_hours_errors_name_file_line_and_key(value: str, message: str) -> None:
    root = parse_yaml(f"announce:\n  quiet_hours: {value if value.startswith('[') else repr(value)}\n", "onboard.yaml")
    with pytest.raises(ConfigError, match="onboard.yaml:2") as exc:
        QuietHours.from_node(root.child("announce").child("quiet_hours"))
    assert message in str(exc.value) and "announce.quiet_hours" in str(exc.value)
