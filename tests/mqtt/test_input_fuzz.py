"""Hostile MQTT input never raises out of the readers: prediction store, assignments, eta records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from station.predictions import PredictionStore
from tests.mqtt.records import trip_records
from tests.mqtt.test_messages import pred
from transit.errors import DecodeError
from transit.messages import (
    DEFAULT_PREFIX,
    Assignment,
    decode_assignment,
    deliveries_for_record,
    encode_prediction,
    prediction_topic,
    predictions_from_record,
)
from transit.records import Eta, decode_record, encode

NOW = datetime(2026, 11, 23, 6, 53, tzinfo=UTC)
GOOD_TOPIC = prediction_topic(DEFAULT_PREFIX, "8600601", "lokaltog", "2051")

values = st.one_of(st.none(), st.integers(min_value=-10**30, max_value=10**30), st.text(max_size=30),
                   st.booleans(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
topics = st.one_of(st.text(max_size=80), st.just(GOOD_TOPIC),
                   st.lists(st.text(alphabet="ab/+#\x00é", max_size=8), max_size=8).map(
                       lambda parts: "/".join([DEFAULT_PREFIX, "stop", *parts])))
payloads = st.one_of(st.binary(max_size=200), st.just(b""),
                     st.dictionaries(st.sampled_from(["v", "stop_id", "oper", "veh", "tst", "trip_id", "oday",
                                                      "eta_arr", "seq", "status"]), values).map(
                         lambda d: json.dumps(d).encode()))


@given(st.lists(st.tuples(topics, payloads, st.one_of(st.none(), st.floats(allow_nan=False))), max_size=20))
@settings(max_examples=200, deadline=None)
def test_prediction_store_survives_any_message_and_keeps_good_ones(msgs: list[tuple[str, bytes, Any]]) -> None:
    s = PredictionStore(["8600601"])
    good = pred(tst=NOW - timedelta(seconds=5))
    for topic, payload, expiry in msgs:
        assert s.handle(topic, payload, NOW, expiry) in (True, False)
    assert s.handle(GOOD_TOPIC, encode_prediction(good), NOW, 120)
    assert s.predictions("8600601", NOW) == [good]  # a later good message is never lost
    c = s.counters
    assert c.rejected == sum(c.reasons.values())


@given(st.dictionaries(st.sampled_from(sorted(Assignment.__struct_fields__) + ["v"]), values))
@settings(max_examples=300, deadline=None)
def test_random_assignment_objects_only_ever_raise_decode_error(obj: dict[str, Any]) -> None:
    try:
        a = decode_assignment(json.dumps(obj).encode())
    except DecodeError:
        return
    assert isinstance(a, Assignment)


eta_stop = st.dictionaries(st.sampled_from(["stop_id", "seq", "sched_arr", "sched_dep", "eta_arr", "eta_dep",
                                            "status", "platform"]), values, max_size=8)


@given(st.dictionaries(st.sampled_from(["event", "tst", "veh", "oper", "oday", "route", "dir", "start",
                                        "trip_id", "headsign", "occu", "loc", "stops", "clear"]),
                       st.one_of(values, st.lists(eta_stop, max_size=3))))
@settings(max_examples=300, deadline=None)
def test_random_eta_records_only_ever_raise_decode_error(rec: dict[str, Any]) -> None:
    rec.setdefault("event", "eta")
    try:  # the edge validates, then the typed record becomes predictions
        typed = decode_record(json.dumps(rec).encode())
        assert isinstance(typed, Eta)
        out = predictions_from_record(typed)
    except DecodeError:
        return
    assert isinstance(out, list)


ETA = json.loads(encode(next(r for r in trip_records(300) if isinstance(r, Eta) and r.stops)))


@given(st.sampled_from(sorted(ETA)), st.sampled_from(sorted(ETA["stops"][0])), values, st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_valid_eta_record_with_one_bad_field_only_raises_decode_error(key: str, stop_key: str, value: Any,
                                                                        in_stop: bool) -> None:
    rec = json.loads(json.dumps(ETA))
    if in_stop:
        rec["stops"][0][stop_key] = value
    else:
        rec[key] = value
    try:
        typed = decode_record(json.dumps(rec).encode())
        out = predictions_from_record(typed) if isinstance(typed, Eta) else []
    except DecodeError:
        return
    assert isinstance(out, list)


RECORDS = [json.loads(encode(r)) for r in trip_records(120)]
ANY_KEY = sorted({k for r in RECORDS for k in r})


@given(st.integers(0, len(RECORDS) - 1), st.sampled_from(ANY_KEY), values, st.sampled_from(["bus", "train"]))
@settings(max_examples=400, deadline=None)
def test_a_record_with_one_bad_field_is_published_or_refused_with_decode_error(i: int, key: str, value: Any,
                                                                             mode: str) -> None:
    rec = json.loads(json.dumps(RECORDS[i]))
    rec[key] = value
    try:
        ds = deliveries_for_record(decode_record(json.dumps(rec).encode()), prefix=DEFAULT_PREFIX, mode=mode)
    except DecodeError:
        return
    for d in ds:  # what is accepted is publishable: a topic without wildcards, a JSON payload
        assert "+" not in d.topic and "#" not in d.topic and "\x00" not in d.topic
        assert d.payload == b"" or isinstance(json.loads(d.payload), dict)


def test_a_topic_that_is_not_utf8_is_counted_and_logged(caplog: Any) -> None:
    from station.predictions import PredictionSubscriber
    from transit.config import MqttConfig

    class BadTopic:
        _topic = b"rettid/v1/stop/\xff\xfe/eta"
        payload = b"{}"
        properties = None

        @property
        def topic(self) -> str:
            return self._topic.decode("utf-8")

    sub = PredictionSubscriber(MqttConfig(), ["8600601"], clock=lambda: NOW)
    sub._on_message(None, None, BadTopic())
    assert sub.store.counters.rejected == 1 and sub.store.counters.reasons == {"topic": 1}
    assert "rejected prediction" in caplog.text
