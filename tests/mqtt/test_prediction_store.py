"""station.predictions.PredictionStore: pure handling of retained prediction messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from station.predictions import PredictionStore
from tests.mqtt.test_messages import pred
from transit.messages import DEFAULT_PREFIX, encode_prediction, prediction_topic

NOW = datetime(2026, 11, 23, 6, 53, tzinfo=UTC)


def topic(stop: str = "8600601", veh: str = "2051") -> str:
    return prediction_topic(DEFAULT_PREFIX, stop, "lokaltog", veh)


def test_latest_wins_clear_and_expiry() -> None:
    s = PredictionStore(["8600601"])
    p1 = pred(tst=NOW - timedelta(seconds=20))
    p2 = replace(p1, tst=NOW - timedelta(seconds=5), eta_arr=p1.eta_arr + timedelta(seconds=40))
    assert s.handle(topic(), encode_prediction(p1), NOW, 120)
    assert s.handle(topic(), encode_prediction(p2), NOW, 120)
    assert not s.handle(topic(), encode_prediction(p1), NOW, 120)  # older estimate arriving late
    assert s.counters.out_of_order == 1
    assert s.predictions("8600601", NOW) == [p2]
    assert s.predictions("8600601", NOW + timedelta(seconds=121)) == []  # expired at the broker's pace
    s.handle(topic(), encode_prediction(p2), NOW, None)
    assert s.handle(topic(), b"", NOW)  # cleared: the vehicle left the stop
    assert s.predictions("8600601", NOW) == [] and s.counters.cleared == 1


def test_stale_by_tst_against_display_clock() -> None:
    s = PredictionStore(["8600601"])
    p = pred(tst=NOW - timedelta(seconds=100))
    s.handle(topic(), encode_prediction(p), NOW, 120)
    assert s.predictions("8600601", NOW) == [p]
    assert s.fresh("8600601", NOW) == []  # older than 90 s: the display falls back to the timetable


def test_rejections_are_counted_by_reason() -> None:
    s = PredictionStore(["8600601"])
    p = pred(tst=NOW)
    assert not s.handle("rettid/v1/stop/8600601/eta/lokaltog", encode_prediction(p), NOW)
    assert not s.handle(topic("8600999"), encode_prediction(replace(p, stop_id="8600999")), NOW)
    assert not s.handle(topic(veh="2052"), encode_prediction(p), NOW)
    assert not s.handle(topic(), b"{not json", NOW)
    assert not s.handle(topic(), encode_prediction(replace(p, tst=NOW + timedelta(hours=1))), NOW)
    assert s.counters.reasons == {"topic": 1, "not_our_stop": 1, "topic_mismatch": 1, "payload": 1,
                                  "future": 1}
    assert s.counters.rejected == 5 and s.predictions("8600601", NOW) == []


def test_flood_of_vehicles_is_bounded() -> None:
    s = PredictionStore(["8600601"], max_per_stop=10)
    for i in range(50):
        p = pred(veh=f"v{i}", tst=NOW - timedelta(seconds=50 - i))
        s.handle(topic(veh=f"v{i}"), encode_prediction(p), NOW, 120)
    got = s.predictions("8600601", NOW)
    assert len(got) == 10 and {p.veh for p in got} == {f"v{i}" for i in range(40, 50)}
    assert s.counters.evicted == 40


def test_sorted_by_expected_departure() -> None:
    s = PredictionStore(None)
    a = pred(veh="a", tst=NOW, eta_dep=NOW + timedelta(minutes=9))
    b = pred(veh="b", tst=NOW, eta_dep=NOW + timedelta(minutes=2))
    for p in (a, b):
        s.handle(topic(veh=p.veh), encode_prediction(p), NOW)
    assert [p.veh for p in s.predictions("8600601", NOW)] == ["b", "a"]
