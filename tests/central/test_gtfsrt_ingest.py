"""GTFS-Realtime ServiceAlerts and TripUpdates, as a journey planner publishes them, become the control
room's deviations: converted against the sample timetable, then ingested from a URL through a real
Mosquitto (changed ones republished, vanished ones withdrawn, a broken feed changes nothing)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2 as rt

from central.gtfsrt_ingest import Converter, parse
from tests.mqtt.conftest import Mosquitto
from transit.deviations import (
    DeviationStore,
    Notice,
    StopSkip,
    TrackChange,
    TripCancellation,
    deviation_filter,
)
from transit.errors import DecodeError
from transit.timetable import Timetable

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "data" / "gtfs" / "lokaltog-sample"


@pytest.fixture(scope="module")
def tt() -> Timetable:
    return Timetable.load(FEED)


def _feed(ts: datetime, *, cancel: bool = True, alert: bool = True) -> rt.FeedMessage:
    f = rt.FeedMessage()
    f.header.gtfs_realtime_version = "2.0"
    f.header.timestamp = int(ts.timestamp())
    if cancel:
        e = f.entity.add(id="tu-0745")
        e.trip_update.trip.trip_id = "920R_MT_0_0745"
        e.trip_update.trip.start_date = ts.strftime("%Y%m%d")
        e.trip_update.trip.schedule_relationship = rt.TripDescriptor.CANCELED
    e = f.entity.add(id="tu-0715")
    tu = e.trip_update
    tu.trip.trip_id = "920R_MT_0_0715"
    tu.trip.start_date = ts.strftime("%Y%m%d")
    s = tu.stop_time_update.add(stop_sequence=4)  # goerloese, by sequence only
    s.schedule_relationship = rt.TripUpdate.StopTimeUpdate.SKIPPED
    s = tu.stop_time_update.add(stop_id="hilleroed_8")
    s.stop_time_properties.assigned_stop_id = "hilleroed_9"  # another platform: a track change
    if alert:
        e = f.entity.add(id="alert/1")
        a = e.alert
        a.effect = rt.Alert.OTHER_EFFECT
        a.severity_level = rt.Alert.SEVERE
        p = a.active_period.add()
        p.start, p.end = int(ts.timestamp()), int((ts + timedelta(hours=4)).timestamp())
        a.header_text.translation.add(text="Elevator out of order", language="en")
        a.header_text.translation.add(text="Elevatoren er ude af drift", language="da")
        a.description_text.translation.add(text="Brug rampen\nved Østbanegade.", language="da")
        a.informed_entity.add(stop_id="hilleroed")
        e = f.entity.add(id="alert-2")
        a = e.alert
        a.effect = rt.Alert.NO_SERVICE
        a.informed_entity.add(stop_id="kregme", route_id="920R")
        a.header_text.translation.add(text="Kregme St. betjenes ikke", language="da")
    e = f.entity.add(id="broken")
    e.trip_update.trip.trip_id = "no_such_trip"  # no start_date, not in the timetable: not placeable
    return f


TS = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


@pytest.fixture
def mq(tmp_path: Path):
    b = Mosquitto(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


def test_conversion_against_the_timetable(tt: Timetable) -> None:
    conv = Converter("lokaltog", tt)
    devs = {d.id: d for d in conv.convert(_feed(TS), TS)}
    assert set(devs) == {"rt-tu-0745", "rt-tu-0715-skip-goerloese", "rt-tu-0715-track-hilleroed_8", "rt-alert_1",
                         "rt-alert-2-kregme"}
    c = devs["rt-tu-0745"]
    assert isinstance(c, TripCancellation) and c.oday == "2026-11-23" and c.route == "920R" and c.source == "gtfs-rt"
    assert c.tst == TS and c.valid_from <= datetime(2026, 11, 23, 6, 45, tzinfo=UTC) < c.valid_to
    s = devs["rt-tu-0715-skip-goerloese"]
    assert isinstance(s, StopSkip) and s.trip_id == "920R_MT_0_0715" and s.stop_id == "goerloese"
    t = devs["rt-tu-0715-track-hilleroed_8"]
    assert isinstance(t, TrackChange) and t.platform == "9" and t.stop_id == "hilleroed"
    n = devs["rt-alert_1"]
    assert isinstance(n, Notice) and n.priority == "severe" and n.stops == ("hilleroed",)
    assert n.text == "Elevatoren er ude af drift. Brug rampen ved Østbanegade."  # Danish, one line
    assert n.valid_to - n.valid_from == timedelta(hours=4)
    k = devs["rt-alert-2-kregme"]
    assert isinstance(k, StopSkip) and k.routes == ("920R",) and k.trip_id is None
    assert conv.counters.reasons == {"no_day": 1}


def test_garbage_is_a_decode_error() -> None:
    for junk in (b"\xff\xff\xff", b""):
        with pytest.raises(DecodeError):
            parse(junk)


def _ingest(broker: Mosquitto, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central", "deviation", "ingest", url, "--once", "--feed", str(FEED),
                           "--broker", broker.url], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.broker
def test_ingest_from_a_url_publishes_updates_and_withdraws(mq: Mosquitto, tmp_path: Path, tt: Timetable) -> None:
    broker = mq
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "feed.pb"
    path.write_bytes(_feed(now).SerializeToString())
    # trip-level ones whose trip is over by now (the sample feed's calendar, today's date) are left out
    n = sum(1 for d in Converter("lokaltog", tt).convert(_feed(now), now) if d.valid_to > now)
    assert n >= 2
    r = _ingest(broker, path.as_uri())
    assert r.returncode == 0, r.stderr
    assert f"published {n}," in r.stdout, r.stdout
    store = DeviationStore(prefix="rettid/v1")
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: store.handle(m.topic, bytes(m.payload), datetime.now(UTC))
    c.connect("127.0.0.1", broker.port)
    c.subscribe(deviation_filter("rettid/v1"), qos=1)
    c.loop_start()
    try:
        deadline = time.monotonic() + 5
        while len(store) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        first = {d.id for d in store.current(datetime.now(UTC))}
        assert "rt-alert_1" in first and "rt-alert-2-kregme" in first
        # the same feed again: nothing republished; a feed that lost its alerts: they are withdrawn
        r = _ingest(broker, path.as_uri())
        assert "published 0" in r.stdout and "withdrawn 0" in r.stdout, r.stdout
        path.write_bytes(_feed(now + timedelta(seconds=30), alert=False).SerializeToString())
        r = _ingest(broker, path.as_uri())
        assert "withdrawn 2" in r.stdout, r.stdout
        deadline = time.monotonic() + 5
        while "rt-alert_1" in {d.id for d in store.current(datetime.now(UTC))} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {d.id for d in store.current(datetime.now(UTC))} == first - {"rt-alert_1", "rt-alert-2-kregme"}
        # a broken feed: exit 1, nothing withdrawn
        path.write_bytes(b"\x00garbage")
        r = _ingest(broker, path.as_uri())
        assert r.returncode == 1 and "withdrawn 0" in r.stdout
        time.sleep(0.3)
        assert {d.id for d in store.current(datetime.now(UTC))} == first - {"rt-alert_1", "rt-alert-2-kregme"}
    finally:
        c.loop_stop()
        c.disconnect()
