"""transit.messages: topics, payloads, strict decoding of predictions and assignments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mqtt.records import trip_records
from transit.errors import DecodeError
from transit.messages import (
    DEFAULT_PREFIX,
    Assignment,
    StopPrediction,
    decode_assignment,
    decode_prediction,
    deliveries_for_record,
    encode_assignment,
    encode_prediction,
    event_filter,
    parse_prediction_topic,
    prediction_filter,
    prediction_topic,
    record_topic,
    topic_level,
)
from transit.records import Encoded, decode_record, encode

T = datetime(2026, 11, 23, 6, 55, tzinfo=UTC)


def pred(**kw: object) -> StopPrediction:
    base = dict(stop_id="8600601", trip_id="920R-0655", route="920R", headsign="Hundested", direction=0,
                oday="2026-11-23", start="06:55", veh="2051", oper="lokaltog", seq=4,
                sched_arr=T, sched_dep=T + timedelta(seconds=30), eta_arr=T + timedelta(seconds=90),
                eta_dep=T + timedelta(seconds=120), tst=T - timedelta(minutes=3), status="SCHEDULED",
                platform="2", occu="FEW_SEATS_AVAILABLE", loc="GPS")
    base.update(kw)
    return StopPrediction(**base)  # type: ignore[arg-type]


def test_prediction_round_trip_and_payload_keys() -> None:
    p = pred()
    raw = encode_prediction(p)
    obj = json.loads(raw)
    assert obj["v"] == 1
    assert obj["eta_arr"] == "2026-11-23T06:56:30.000Z"
    assert set(obj) == {"v", *StopPrediction.__struct_fields__}
    assert decode_prediction(raw) == p
    q = pred(sched_arr=None, eta_arr=None, platform=None, occu=None, headsign="")
    assert decode_prediction(encode_prediction(q)) == q


def test_topics() -> None:
    assert prediction_topic(DEFAULT_PREFIX, "8600601", "lokaltog", "2051") == \
        "rettid/v1/stop/8600601/eta/lokaltog/2051"
    assert prediction_filter(DEFAULT_PREFIX, "8600601") == "rettid/v1/stop/8600601/eta/+/+"
    assert parse_prediction_topic(DEFAULT_PREFIX, "rettid/v1/stop/8600601/eta/lokaltog/2051") == \
        ("8600601", "lokaltog", "2051")
    rec = trip_records(60)[-3]  # punctuality at the first stop
    assert record_topic(DEFAULT_PREFIX, rec, "train") == \
        "rettid/v1/record/punctuality/train/lokaltog/2051/920R/0/06:55/S000"
    vp = trip_records(1)[0]
    assert record_topic(DEFAULT_PREFIX, vp, "bus").startswith("rettid/v1/journey/vp/bus/lokaltog/2051/")
    assert event_filter(event="arr", oper="lokaltog") == "rettid/v1/+/arr/+/lokaltog/+/#"


def test_topic_level_cannot_inject_levels_or_wildcards() -> None:
    assert topic_level("a/b+#%") == "a%2Fb%2B%23%25"
    assert topic_level(None) == ""
    t = prediction_topic(DEFAULT_PREFIX, "x/#", "o", "v")
    assert t.count("/") == 6 and "#" not in t


def test_deliveries_for_records() -> None:
    recs = trip_records(60)
    kinds = {}
    for r in recs:
        for d in deliveries_for_record(r, mode="bus"):
            kinds.setdefault(r.event, []).append(d)
    assert all(d.kind == "vp" and d.qos == 1 and not d.retain for d in kinds["vp"])
    assert all(d.kind == "record" for ev in ("arr", "dep", "punctuality", "apc") for d in kinds[ev])
    arr = kinds["arr"][0]
    assert json.loads(arr.payload)["id"] == recs[60].id and json.loads(arr.payload)["v"] == 1
    assert arr.payload == b'{"v":1,' + encode(recs[60])[1:]  # the record's bytes, encoded once
    eta = kinds["eta"]
    assert [d.payload == b"" for d in eta] == [False, True]  # prediction for S001, clear of S000
    assert eta[0].retain and eta[0].expiry_s == 120 and eta[0].coalesce == eta[0].topic
    assert eta[1].topic.endswith("/stop/S000/eta/lokaltog/2051") and eta[1].expiry_s is None
    p = decode_prediction(eta[0].payload)
    assert (p.stop_id, p.seq, p.headsign, p.occu) == ("S001", 1, "Hundested", "MANY_SEATS_AVAILABLE")


def test_record_payload_is_the_record_bytes_with_the_version_in_front() -> None:
    for r in trip_records(60):
        if r.event != "eta":
            (d,) = deliveries_for_record(Encoded(r, encode(r)))
            assert d.payload == b'{"v":1,' + encode(r)[1:]
            assert decode_record(b"{" + d.payload[len(b'{"v":1,'):]) == r


HOSTILE = [
    b"", b"null", b"[]", b"\xff\xfe", b"{" * 100_000, b"[" * 5000 + b"]" * 5000, b'{"v": 1}',
    b'{"v": NaN}', b'{"v": 2}', b'{"v": true}', b"x" * 20_000,
    json.dumps({**json.loads(encode_prediction(pred())), "direction": True}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "seq": 10 ** 40}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "tst": "2026-11-23T06:00:00"}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "tst": "9" * 39}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "status": "LATE"}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "stop_id": "a\nb"}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "route": "r" * 500}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "occu": "SOME"}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "oday": "23/11/2026"}).encode(),
    json.dumps({**json.loads(encode_prediction(pred())), "eta_arr": 12}).encode(),
    b'{"v": 1, "stop_id": {"$gt": ""}}',
    b'{"v":1,"seq":' + b"9" * 5000 + b"}",
]


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_predictions_raise_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_prediction(payload)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_ever_raise_decode_error(data: bytes) -> None:
    for fn in (decode_prediction, decode_assignment):
        try:
            fn(data)
        except DecodeError:
            pass


@given(st.dictionaries(st.sampled_from(sorted(StopPrediction.__struct_fields__) + ["v"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=30), st.booleans(),
                                 st.floats(allow_nan=False), st.lists(st.integers(), max_size=3))))
@settings(max_examples=300, deadline=None)
def test_random_json_objects_only_ever_raise_decode_error(obj: dict) -> None:
    try:
        decode_prediction(json.dumps(obj).encode())
    except DecodeError:
        pass


def test_assignment_round_trip_and_addressing() -> None:
    a = Assignment(id="a1", tst=T, oper="lokaltog", veh="2051", oday="2026-11-23", action="assign",
                   block="B12", trips=("920R-0655", "920R-0825"))
    raw = encode_assignment(a)
    assert decode_assignment(raw, oper="lokaltog", veh="2051") == a
    with pytest.raises(DecodeError, match="not to this unit"):
        decode_assignment(raw, oper="lokaltog", veh="2052")
    for bad in ({"trips": "920R"}, {"trips": [1]}, {"action": "steal"}, {"trips": [], "block": None},
                {"trips": ["t"] * 500}, {"oday": "tomorrow"}):
        obj = {**json.loads(raw), **bad}
        with pytest.raises(DecodeError):
            decode_assignment(json.dumps(obj).encode())
