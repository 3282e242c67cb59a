"""FriezeTracker over damaged records as they come in from a file: each one is skipped and counted (by the
reader when it is no valid record, by the tracker when the timetable does not know it), the trip is still
followed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboard.passinfo.frieze import FriezeTracker
from tests.display.test_frieze_tracker import FEED, trip_records
from transit.jsonl import JsonlCounts, parse_records
from transit.records import encode
from transit.timeutil import parse_iso

values = st.one_of(st.none(), st.integers(-10**20, 10**20), st.text(max_size=12), st.booleans(), st.floats(),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                        max_size=2))
_TT: list[Any] = []


def timetable() -> Any:
    if not _TT:
        from transit.timetable import Timetable

        _TT.append(Timetable.load(FEED))
    return _TT[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_records_are_counted_and_the_rest_still_drive_the_frieze(data: st.DataObject) -> None:
    tt = timetable()
    trip, typed_recs = trip_records(tt)
    recs = [json.loads(encode(r)) for r in typed_recs]
    times = [parse_iso(r.tst) for r in typed_recs]  # before the damage
    i = data.draw(st.integers(0, len(recs) - 1), label="record")
    rec = recs[i]
    if rec.get("stops") and data.draw(st.booleans(), label="in a stop"):
        target = rec["stops"][data.draw(st.integers(0, len(rec["stops"]) - 1), label="stop")]
    else:
        target = rec
    target[data.draw(st.sampled_from(sorted(target)), label="key")] = data.draw(values, label="value")
    tracker = FriezeTracker(tt, delay_threshold_s=120)
    counts = JsonlCounts()
    lines = [json.dumps(r).encode() for r in recs]  # NaN/Infinity as json writes them: no JSON, refused
    for enc, t in zip(parse_records(lines, counts=counts, placeholders=True), times, strict=True):
        if enc is not None:
            tracker.on_record(enc.record)
        tracker.view(t)
    assert tracker.trip_id == trip
    assert counts.bad + tracker.rejected <= 1
    assert counts.records + counts.bad == len(recs)
