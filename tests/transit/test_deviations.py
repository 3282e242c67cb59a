"""The deviation messages (transit.deviations): strict decoding, the retained state a unit or display keeps,
and what the deviations make of a departure, an eta record and a display's message line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from transit.deviations import (
    DepartureRef,
    DeviationStore,
    Notice,
    PlannedDeviation,
    Replacement,
    StopSkip,
    TrackChange,
    TripCancellation,
    apply_to_eta,
    decode_deviation,
    deviation_filter,
    deviation_topic,
    effect,
    encode_deviation,
    expiry_s,
    parse_deviation_topic,
)
from transit.errors import DecodeError
from transit.records import Eta, EtaStop, TripRef

P = "rettid/v1"
T0 = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
STOPS = ["hilleroed_8", "overdrevsvejen", "noerre_herlev", "goerloese", "frederiksvaerk", "hanehoved",
         "hundested", "hundested_havn"]
PARENT = {"hilleroed_8": "hilleroed"}


def index(stop: str) -> int | None:
    for i, s in enumerate(STOPS):
        if stop in (s, PARENT.get(s)):
            return i
    return None


def base(**kw):
    d = {"id": "d1", "oper": "lokaltog", "tst": T0, "valid_from": T0, "valid_to": T0 + timedelta(hours=3)}
    d.update(kw)
    return d


def ref(stop: str, when: datetime = T0 + timedelta(minutes=30), trip: str = "920R_MT_0_0715",
        route: str = "920R") -> DepartureRef:
    return DepartureRef(trip, "2026-11-23", route, stop, when, PARENT.get(stop), index(stop))


# ------------------------------------------------------------------------------------------- wire format
ALL = [
    TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", route="920R", text="Aflyst: signalfejl")),
    StopSkip(**base(stop_id="goerloese", routes=("920R",))),
    TrackChange(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", stop_id="hilleroed", platform="9")),
    PlannedDeviation(**base(routes=("920R", "920E"), stops=("hundested",), priority="warning",
                            replacement=Replacement(mode="bus", route="920B", text="fra busholdepladsen"))),
    Notice(**base(stops=("hilleroed",), text="Elevatoren er ude af drift", priority="severe")),
]


@pytest.mark.parametrize("dev", ALL, ids=lambda d: d.kind)
def test_every_kind_round_trips_with_v_first_and_millisecond_times(dev) -> None:
    raw = encode_deviation(dev)
    assert raw.startswith(b'{"v":1,"kind":"' + dev.kind.encode() + b'"')
    assert b'"tst":"2026-11-23T06:30:00.000Z"' in raw
    assert decode_deviation(raw) == dev
    assert encode_deviation(decode_deviation(raw)) == raw


@pytest.mark.parametrize("mutate, match", [
    (lambda o: o.update(v=2), "version"),
    (lambda o: o.update(valid_to=o["valid_from"]), "not after"),
    (lambda o: o.update(valid_to="2028-01-01T00:00:00.000Z"), "longer than"),
    (lambda o: o.update(kind="explode"), "kind"),
    (lambda o: o.update(id="a/b"), "id"),
    (lambda o: o.update(colour="red"), "colour"),
    (lambda o: o.update(text="x" * 501), "text"),
    (lambda o: o.update(text="bell\x07"), "text"),
    (lambda o: o.update(tst="2026-11-23T06:30:00"), "tst"),
    (lambda o: o.update(tst="9999-12-31T00:00:00.000Z"), "outside"),
    (lambda o: o.pop("trip_id"), "trip_id"),
    (lambda o: o.update(priority="urgent"), "priority"),
])
def test_bad_payloads_are_decode_errors(mutate, match) -> None:
    obj = msgspec.json.decode(encode_deviation(ALL[0]))
    mutate(obj)
    with pytest.raises(DecodeError, match=match):
        decode_deviation(msgspec.json.encode(obj))


def test_a_message_needs_text_and_a_target_and_a_skip_needs_trip_and_day_together() -> None:
    with pytest.raises(DecodeError, match="needs a text"):
        encode_deviation(Notice(**base(stops=("hilleroed",))))
    with pytest.raises(DecodeError, match="stops or routes"):
        encode_deviation(Notice(**base(text="hej")))
    with pytest.raises(DecodeError, match="go together"):
        encode_deviation(StopSkip(**base(stop_id="goerloese", trip_id="920R_MT_0_0715")))
    for junk in (b"", b"[]", b"{", b"\xff\xfe", b'{"v":1}', b"x" * 20000):
        with pytest.raises(DecodeError):
            decode_deviation(junk)


def test_topics_and_expiry() -> None:
    assert deviation_topic(P, "lokaltog", "vp-1") == "rettid/v1/deviation/lokaltog/vp-1"
    assert deviation_filter(P) == "rettid/v1/deviation/+/+"
    assert deviation_filter(P, "lokaltog") == "rettid/v1/deviation/lokaltog/+"
    assert parse_deviation_topic(P, "rettid/v1/deviation/lokaltog/vp-1") == ("lokaltog", "vp-1")
    for bad in ("rettid/v1/deviation/lokaltog", "rettid/v1/deviation/a/b/c", "rettid/v1/stop/x/eta/a/b"):
        with pytest.raises(DecodeError):
            parse_deviation_topic(P, bad)
    assert deviation_topic(P, "a/b", "x") == "rettid/v1/deviation/a%2Fb/x"
    d = ALL[0]
    assert expiry_s(d, T0) == 3 * 3600 + 300
    assert expiry_s(d, T0 + timedelta(hours=3)) is None


# ------------------------------------------------------------------------------------------- the state
def test_store_replaces_by_tst_withdraws_and_rejects_what_does_not_fit_its_topic() -> None:
    s = DeviationStore(prefix=P)
    topic = deviation_topic(P, "lokaltog", "d1")
    assert s.handle(topic, encode_deviation(ALL[0]), T0)
    newer = TripCancellation(**base(tst=T0 + timedelta(minutes=1), trip_id="920R_MT_0_0745", oday="2026-11-23"))
    assert s.handle(topic, encode_deviation(newer), T0)
    assert not s.handle(topic, encode_deviation(ALL[0]), T0)  # an older copy arriving late
    assert s.counters.out_of_order == 1
    assert [d.trip_id for d in s.current(T0)] == ["920R_MT_0_0745"]  # type: ignore[attr-defined]
    assert not s.handle(deviation_topic(P, "lokaltog", "other"), encode_deviation(ALL[0]), T0)
    assert not s.handle(deviation_topic(P, "movia", "d1"), encode_deviation(ALL[0]), T0)
    future = TripCancellation(**base(tst=T0 + timedelta(hours=1), trip_id="x", oday="2026-11-23"))
    assert not s.handle(topic, encode_deviation(future), T0)
    assert not s.handle(topic, b"garbage", T0)
    assert not s.handle("rettid/v1/deviation/x", encode_deviation(ALL[0]), T0)
    assert s.counters.reasons == {"topic_mismatch": 2, "future": 1, "payload": 1, "topic": 1}
    assert s.handle(topic, b"", T0)  # withdrawn
    assert len(s) == 0 and s.counters.withdrawn == 1
    unit = DeviationStore(prefix=P, oper="movia")
    assert not unit.handle(topic, encode_deviation(ALL[0]), T0)
    assert unit.counters.reasons == {"other_operator": 1}


def test_store_forgets_at_mqtt_expiry_and_after_validity_and_bounds_memory() -> None:
    s = DeviationStore(prefix=P, max_entries=3)
    s.handle(deviation_topic(P, "lokaltog", "d1"), encode_deviation(ALL[0]), T0, expiry_s=60)
    assert len(s.current(T0 + timedelta(seconds=59))) == 1
    assert s.current(T0 + timedelta(seconds=60)) == []
    s.handle(deviation_topic(P, "lokaltog", "d1"), encode_deviation(ALL[0]), T0)
    assert s.current(T0 + timedelta(hours=3)) == []  # over: not applied, kept for the grace
    assert len(s) == 1
    s.prune(T0 + timedelta(hours=3, minutes=6))
    assert len(s) == 0
    for i in range(5):
        d = Notice(**base(id=f"n{i}", stops=("hilleroed",), text=f"t{i}", valid_to=T0 + timedelta(hours=1 + i)))
        s.handle(deviation_topic(P, "lokaltog", f"n{i}"), encode_deviation(d), T0)
    assert len(s) == 3 and s.counters.evicted == 2
    assert {d.id for d in s.current(T0)} == {"n2", "n3", "n4"}  # the ones ending first went


# ------------------------------------------------------------------------------------------- effects
def test_whole_trip_and_section_cancellations() -> None:
    whole = ALL[0]
    e = effect([whole], ref("goerloese"), index)
    assert e.status == "CANCELED" and e.ids == ("d1",) and e.texts == (("info", "Aflyst: signalfejl"),)
    assert effect([whole], ref("goerloese", trip="920R_MT_0_0745"), index).status == "SCHEDULED"
    short = TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", from_stop="hanehoved"))
    assert [effect([short], ref(s), index).status for s in STOPS] == ["SCHEDULED"] * 5 + ["CANCELED"] * 3
    late_start = TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", to_stop="hilleroed"))
    assert [effect([late_start], ref(s), index).status for s in STOPS] == ["CANCELED"] + ["SCHEDULED"] * 7
    unknown = TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", from_stop="nowhere"))
    assert effect([unknown], ref("hundested"), index).status == "SCHEDULED"  # not guessed
    assert effect([short], ref("hundested"), None).status == "SCHEDULED"  # no stop order known


def test_validity_period_is_judged_by_the_departure_time() -> None:
    later = TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23",
                                    valid_from=T0 + timedelta(hours=1)))
    assert effect([later], ref("goerloese", when=T0 + timedelta(minutes=59)), index).status == "SCHEDULED"
    assert effect([later], ref("goerloese", when=T0 + timedelta(minutes=60)), index).status == "CANCELED"


def test_skips_track_changes_and_planned_works() -> None:
    skip_line = StopSkip(**base(id="s", stop_id="goerloese", routes=("920R",)))
    assert effect([skip_line], ref("goerloese"), index).status == "SKIPPED"
    assert effect([skip_line], ref("goerloese", route="920E"), index).status == "SCHEDULED"
    skip_trip = StopSkip(**base(id="s2", stop_id="hilleroed", trip_id="920R_MT_0_0715", oday="2026-11-23"))
    assert effect([skip_trip], ref("hilleroed_8"), index).status == "SKIPPED"  # parent station matches
    assert effect([skip_trip, ALL[0]], ref("hilleroed_8"), index).status == "CANCELED"  # cancel beats skip
    t1 = TrackChange(**base(id="t1", trip_id="920R_MT_0_0715", oday="2026-11-23", stop_id="hilleroed", platform="9"))
    t2 = TrackChange(**base(id="t2", tst=T0 + timedelta(seconds=5), trip_id="920R_MT_0_0715", oday="2026-11-23",
                            stop_id="hilleroed_8", platform="10"))
    e = effect([t2, t1], ref("hilleroed_8"), index)
    assert e.status == "SCHEDULED" and e.platform == "10" and e.changed
    assert effect([t1], ref("goerloese"), index).platform is None
    planned = ALL[3]
    e = effect([planned], ref("hundested"), index)
    assert e.status == "CANCELED"
    assert e.texts == (("warning", "Togbus 920B: fra busholdepladsen"),)
    assert effect([planned], ref("goerloese"), index).status == "SCHEDULED"


def _eta() -> Eta:
    trip = TripRef("920R_MT_0_0715", "2026-11-23", "920R", 0, "07:15")
    stops = [EtaStop(stop_id=s, seq=i + 1, sched_arr=f"2026-11-23T07:{i * 3:02d}:00.000Z",
                     sched_dep=f"2026-11-23T07:{i * 3:02d}:00.000Z", eta_arr=None, eta_dep=None,
                     platform="8" if s == "hilleroed_8" else None)
             for i, s in enumerate(STOPS)]
    return Eta.make(T0, veh="2051", oper="lokaltog", trip=trip, headsign="Hundested Havn", occu=None, stops=stops)


def test_a_units_eta_record_carries_cancellations_skips_and_the_new_track() -> None:
    eta = _eta()
    assert apply_to_eta(eta, [], index) is eta
    devs = [TripCancellation(**base(trip_id="920R_MT_0_0715", oday="2026-11-23", from_stop="hundested")),
            StopSkip(**base(id="s", stop_id="goerloese", trip_id="920R_MT_0_0715", oday="2026-11-23")),
            TrackChange(**base(id="t", trip_id="920R_MT_0_0715", oday="2026-11-23", stop_id="hilleroed",
                               platform="9"))]
    out = apply_to_eta(eta, devs, index, PARENT.get)
    assert [s.status for s in out.stops] == ["SCHEDULED"] * 3 + ["SKIPPED"] + ["SCHEDULED"] * 2 + ["CANCELED"] * 2
    assert [s.platform for s in out.stops][:2] == ["9", None]
    assert out.id == eta.id and out.tst == eta.tst
    other = TripCancellation(**base(trip_id="920R_MT_0_0745", oday="2026-11-23"))
    assert apply_to_eta(eta, [other], index) is eta


# ------------------------------------------------------------------------------------------- message line
def test_message_line_orders_by_priority_and_shows_only_what_concerns_the_stop() -> None:
    s = DeviationStore(prefix=P)
    devs = [Notice(**base(id="n-info", stops=("hilleroed",), text="Info her")),
            Notice(**base(id="n-severe", routes=("920R",), text="Alvorligt på linjen", priority="severe")),
            Notice(**base(id="n-other", stops=("helsingoer",), text="Ikke her")),
            Notice(**base(id="n-later", stops=("hilleroed",), text="Senere", valid_from=T0 + timedelta(hours=1))),
            ALL[3],  # planned on 920R/920E: every stop of those lines
            StopSkip(**base(id="skip-all", stop_id="hilleroed", text="Stationen er lukket"))]
    for d in devs:
        assert s.handle(deviation_topic(P, d.oper, d.id), encode_deviation(d), T0)
    msgs = s.messages({"hilleroed", "hilleroed_8"}, {"920R"}, T0)
    assert [m.text for m in msgs] == ["Alvorligt på linjen", "Togbus 920B: fra busholdepladsen",
                                      "Info her", "Stationen er lukket"]
    assert [m.priority for m in msgs] == ["severe", "warning", "info", "info"]
    assert "Senere" in [m.text for m in s.messages({"hilleroed"}, set(), T0 + timedelta(hours=1))]
    assert s.messages({"helsingoer"}, {"940R"}, T0)[0].text == "Ikke her"
