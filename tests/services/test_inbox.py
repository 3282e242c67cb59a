"""The driver's deviation reports on the unit (onboard.service.inbox): queued as files, strictly read,
turned into a ``deviation`` record and the registrations not to be served; bad files set aside."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from onboard.service.inbox import DeviationRequest, read_requests, report_records, write_request
from transit.ratelimit import RateLimitedLog
from transit.timetable import Timetable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")


def test_requests_are_read_once_valid_and_bad_files_set_aside(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_request(inbox, DeviationRequest(what="cancelled", reason="defekt dør"))
    (inbox / "junk.json").write_text('{"what": "exploded"}')
    (inbox / "short.json").write_text('{"what": "turned_short"}')  # needs from_stop
    (inbox / "big.json").write_bytes(b" " * 5000)
    got = list(read_requests(inbox, RateLimitedLog(logging.getLogger("t"))))
    assert [r.what for _, r in got] == ["cancelled"]
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["big.json", "junk.json", "short.json"]


def test_a_report_for_another_trip_is_a_record_of_that_trip(tt: Timetable) -> None:
    req = DeviationRequest(what="replacement", trip_id="920R_MT_0_0745", replacement="bus")
    recs, reasons = report_records(req, None, tt, t=1795413600.0, veh="2051", oper="lokaltog")
    (rec,) = recs
    assert rec.event == "deviation" and rec.trip_id == "920R_MT_0_0745" and rec.start == "07:45"
    assert rec.route == "920R" and rec.replacement == "bus" and rec.source == "driver"  # type: ignore[attr-defined]
    assert reasons == {}  # not the trip being driven: its registrations are the control room's business
    assert report_records(DeviationRequest(what="cancelled"), None, tt, t=0.0, veh="1", oper="x") == ([], {})
