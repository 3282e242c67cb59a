"""GTFS-Realtime out: feeds decoded by gtfs-realtime-bindings, checked for the spec's required fields,
served over HTTP by the collector's endpoints; stale entities dropped after 90 s; HFP v2 conversion."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from typing import Any

from google.transit import gtfs_realtime_pb2 as rt

from central.gtfsrt import LiveFeed
from central.hfp import HfpConverter, geohash
from central.http import make_server, serve_in_thread
from tests.central.records import T0, TRIP, punct, vp
from transit.messages import StopPrediction
from transit.records import ArrivalStopped, Occupancy, TripRef


def live_feed() -> LiveFeed:
    live = LiveFeed()
    for i in range(5):
        live.on_record(vp(i))
    live.on_record(ArrivalStopped.make(T0 + timedelta(seconds=5), veh="2051", oper="lokaltog", trip=TRIP,
                                       stop_id="S1", seq=1, loc="GPS", dl=42.0, odo=None, drst=0))
    live.on_record(Occupancy.make(T0 + timedelta(seconds=6), veh="2051", oper="lokaltog", trip=TRIP,
                                  stop_id="S1", seq=1, loc="GPS", vehicleload=80, occu=63,
                                  occupancy_status="FEW_SEATS_AVAILABLE", countquality="regular"))
    common = dict(trip_id=TRIP.trip_id, route="920R", headsign="Hundested", direction=0, oday=TRIP.oday,
                  start=TRIP.start, veh="2051", oper="lokaltog", tst=T0 + timedelta(seconds=6), platform=None,
                  occu=None, loc="GPS")
    live.on_prediction(StopPrediction(stop_id="S2", seq=2, sched_arr=T0 + timedelta(seconds=100),
                                      sched_dep=T0 + timedelta(seconds=120), eta_arr=T0 + timedelta(seconds=142),
                                      eta_dep=T0 + timedelta(seconds=162), status="SCHEDULED", **common))
    live.on_prediction(StopPrediction(stop_id="S3", seq=3, sched_arr=None, sched_dep=None, eta_arr=None,
                                      eta_dep=None, status="SKIPPED", **common))
    gone = TripRef("920R-0725", TRIP.oday, "920R", 0, "07:25")
    live.on_record(punct("hundested", None, trip=gone, veh="2052", t=T0 + timedelta(seconds=3),
                         reason="trip not driven (cancelled)"))
    return live


def decode(data: bytes) -> Any:
    msg = rt.FeedMessage()
    msg.ParseFromString(data)
    assert msg.header.gtfs_realtime_version == "2.0" and msg.header.HasField("timestamp")
    for e in msg.entity:
        assert e.id  # required
    return msg


def test_trip_updates_with_skipped_and_canceled() -> None:
    msg = decode(live_feed().feed("trip-updates", T0 + timedelta(seconds=30)).SerializeToString())
    by_id = {e.id: e.trip_update for e in msg.entity}
    tu = by_id[f"{TRIP.oday}:{TRIP.trip_id}"]
    assert tu.trip.trip_id == TRIP.trip_id and tu.trip.start_date == "20261123" and tu.trip.start_time == "06:55:00"
    seqs = [u.stop_sequence for u in tu.stop_time_update]
    assert seqs == sorted(seqs) == [1, 2, 3]
    s1, s2, s3 = tu.stop_time_update
    assert s1.arrival.delay == 42 and s1.arrival.time == int((T0 + timedelta(seconds=5)).timestamp())
    assert s2.arrival.delay == 42 and s2.departure.time == int((T0 + timedelta(seconds=162)).timestamp())
    assert s3.schedule_relationship == rt.TripUpdate.StopTimeUpdate.SKIPPED
    for u in tu.stop_time_update:  # spec: stop_sequence or stop_id; an event has time or delay
        assert u.HasField("stop_sequence") or u.HasField("stop_id")
        for ev in (u.arrival, u.departure):
            if u.HasField("arrival") and ev is u.arrival:
                assert ev.HasField("time") or ev.HasField("delay")
    gone = by_id[f"{TRIP.oday}:920R-0725"]
    assert gone.trip.schedule_relationship == rt.TripDescriptor.CANCELED and not gone.stop_time_update


def test_vehicle_positions_with_occupancy_and_staleness() -> None:
    live = live_feed()
    msg = decode(live.feed("vehicle-positions", T0 + timedelta(seconds=30)).SerializeToString())
    [e] = msg.entity
    v = e.vehicle
    assert v.vehicle.id == "lokaltog:2051" and v.trip.trip_id == TRIP.trip_id
    assert v.position.latitude > 55.9 and v.position.bearing == 90.0 and v.current_stop_sequence == 1
    assert v.occupancy_status == rt.VehiclePosition.FEW_SEATS_AVAILABLE and v.occupancy_percentage == 63
    assert v.current_status == rt.VehiclePosition.STOPPED_AT
    assert not live.feed("vehicle-positions", T0 + timedelta(seconds=4 + 91)).entity  # 90 s: stale
    assert not live.feed("trip-updates", T0 + timedelta(seconds=200)).entity


def test_http_endpoints_serve_protobuf_and_json() -> None:
    live = live_feed()
    srv = make_server(live, "127.0.0.1", 0, clock=lambda: T0 + timedelta(seconds=20))
    serve_in_thread(srv)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/gtfs-rt/vehicle-positions") as r:
            assert r.headers["Content-Type"] == "application/x-protobuf"
            assert decode(r.read()).entity[0].vehicle.vehicle.label == "2051"
        with urllib.request.urlopen(base + "/gtfs-rt/trip-updates?format=json") as r:
            body = json.loads(r.read())
            assert body["header"]["gtfsRealtimeVersion"] == "2.0" and len(body["entity"]) == 2
        try:
            urllib.request.urlopen(base + "/nothing")
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        srv.shutdown()


def test_hfp_v2_topic_and_payload() -> None:
    conv = HfpConverter("/hfp/v2")
    topic, payload = conv.convert(vp(3), mode="train")  # type: ignore[misc]
    levels = topic.split("/")
    assert levels[:9] == ["", "hfp", "v2", "journey", "ongoing", "vp", "train", "lokaltog", "2051"]
    assert levels[9:13] == ["920R", "1", "", "06:55"]
    body = json.loads(payload)["VP"]
    assert body["dir"] == "1" and body["veh"] == 2051 and body["desi"] == "920R" and body["long"] == 12.31
    assert body["tsi"] == int((T0 + timedelta(seconds=3)).timestamp()) and body["odo"] == 300 and body["dl"] == 42
    assert set(body) >= {"desi", "dir", "oper", "veh", "tst", "tsi", "spd", "hdg", "lat", "long", "acc", "dl", "odo",
                         "drst", "oday", "start", "loc", "stop", "route", "occu"}
    assert geohash(55.93003, 12.31) == ["55;12", "93", "31", "00"]
    assert conv.convert(punct("hilleroed", 10.0)) is None  # no HFP form


def test_route_ids_from_the_operators_feed() -> None:
    """Records carry the line number; the feed's route_id comes from the operator's GTFS (by trip, else by
    a line number that names one route), and is left out when unknown."""
    from central.gtfsrt import RouteIds
    from tests.conftest import REPO
    from transit.timetable import Timetable

    op = REPO / "data" / "operators" / "lokaltog.yaml"
    routes = RouteIds.from_operators([op])
    tt = Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")
    trip = next(t for t in tt.trips.values() if tt.routes[t.route_id].short_name == "920R")
    live = LiveFeed(routes=routes)
    real = TripRef(trip.trip_id, TRIP.oday, "920R", 0, "06:55")
    live.on_record(vp(1, trip=real))
    unknown_line = TripRef("X-1", TRIP.oday, "999", 0, "06:55")
    live.on_record(vp(1, trip=unknown_line, veh="2052"))
    live.on_record(vp(1, trip=TRIP, veh="2053"))  # a trip id the feed does not have, line 920R
    now = T0 + timedelta(seconds=10)
    tus = {e.trip_update.trip.trip_id: e.trip_update.trip for e in decode(live.feed("trip-updates", now)
                                                                          .SerializeToString()).entity}
    assert tus[trip.trip_id].route_id == trip.route_id
    assert tus[TRIP.trip_id].route_id == trip.route_id  # by line number: 920R is one route
    assert not tus["X-1"].HasField("route_id")
    vps = {e.vehicle.vehicle.label: e.vehicle.trip for e in decode(live.feed("vehicle-positions", now)
                                                                   .SerializeToString()).entity}
    assert vps["2051"].route_id == trip.route_id and not vps["2052"].HasField("route_id")
    assert len(routes) == len(tt.trips)
