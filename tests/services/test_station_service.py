"""The stop display service in-process: dark without a clock, time from the predictions, realtime rows
on the panel, keeps running without a broker, blank panel at stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from PIL import Image

from demo.run import station_config, write_yaml
from station.config import StationConfig
from station.service import StationOptions, StationService
from transit.localbroker import free_port
from transit.messages import StopPrediction, encode_prediction, prediction_topic

T = datetime(2026, 11, 23, 7, 10, tzinfo=UTC)  # 08:10 local, Monday


def _prediction(tst: datetime) -> StopPrediction:
    # the 920R 08:15 local (07:15 UTC) from Hillerød track 8, 4 minutes late
    sched = datetime(2026, 11, 23, 7, 15, tzinfo=UTC)
    return StopPrediction(stop_id="hilleroed_8", trip_id="920R_MT_0_0815", route="920R", headsign="Hundested Havn",
                          direction=0, oday="2026-11-23", start="08:15", veh="2061", oper="lokaltog", seq=1,
                          sched_arr=None, sched_dep=sched, eta_arr=None, eta_dep=sched + timedelta(minutes=4),
                          tst=tst, status="SCHEDULED", platform="8", occu=None, loc="GPS")


def test_station_runs_on_prediction_time_without_a_broker(tmp_path: Path) -> None:
    png = tmp_path / "countdown.png"
    cfg = StationConfig.load(write_yaml(station_config(state_dir=tmp_path / "state", png=png), tmp_path / "s.yaml"))
    # nothing listens on this port: the service must start and keep retrying in the background
    svc = StationService(cfg, StationOptions(clock="data", mqtt_url=f"mqtt://127.0.0.1:{free_port()}"))
    svc.start()
    try:
        svc.step()
        assert svc.now() is None and svc.frames == 0 and not png.exists()  # dark, not 1970
        assert svc.sub is not None
        topic = prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "2061")
        assert svc.sub.store.handle(topic, encode_prediction(_prediction(T - timedelta(seconds=5))),
                                    svc._clock_for_store(), 120)
        assert svc.now() is None  # one prediction's time alone does not set the display's clock
        assert svc.sub.store.handle(topic, encode_prediction(_prediction(T)), svc._clock_for_store(), 120)
        now = svc.now()
        assert now is not None and abs((now - T).total_seconds()) < 2
        board = svc.board(now)
        rows = [r for r in board.rows if r.trip_id == "920R_MT_0_0815"]
        assert rows and rows[0].realtime and rows[0].delay_s == 240
        svc.step()
        assert svc.frames == 1
        with Image.open(png) as im:
            assert im.size == (256, 64) and im.convert("L").getbbox() is not None
    finally:
        svc.stop()
    with Image.open(png) as im:  # blanked at stop
        assert im.convert("L").getbbox() is None


def _service(tmp_path: Path, clock: str = "data") -> StationService:
    cfg = StationConfig.load(write_yaml(station_config(state_dir=tmp_path / "state", png=tmp_path / "c.png"),
                                        tmp_path / "s.yaml"))
    svc = StationService(cfg, StationOptions(clock=clock, mqtt_url=f"mqtt://127.0.0.1:{free_port()}"))
    svc.start()
    return svc


TOPIC = prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "2061")


def _raw(tst: str) -> bytes:
    import json

    body = json.loads(encode_prediction(_prediction(T)))
    body["tst"] = tst
    return json.dumps(body).encode()


def test_out_of_range_times_are_rejected_and_counted_never_raised(tmp_path: Path) -> None:
    """Issue 12 item 3: a retained prediction with tst 9999-12-31 or 0001-01-01 raised OverflowError in
    scheduled_for, exit 1, on every restart. Now it is rejected and counted; the display keeps going."""
    svc = _service(tmp_path)
    try:
        assert svc.sub is not None
        store = svc.sub.store
        for tst in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00"):
            for _ in range(3):  # as often as it takes to set a clock
                assert not store.handle(TOPIC, _raw(tst), svc._clock_for_store(), 120)
        assert store.counters.reasons == {"payload": 9} and svc.now() is None
        svc.step()  # dark, no exception
        from station.departures import scheduled_for

        far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
        assert scheduled_for(svc.tt, ["hilleroed"], far, timedelta(hours=2)) == []
        assert scheduled_for(svc.tt, ["hilleroed"], datetime(1, 1, 1, 0, 30, tzinfo=UTC), timedelta(hours=2)) == []
    finally:
        svc.stop()


def test_a_rejected_prediction_never_moves_the_clock(tmp_path: Path) -> None:
    """Issue 12 item 3: a tst one year ahead moved the display's clock to next year (the 300 s check
    ran after the clock had moved), and a topic_mismatch rejection still stepped the clock."""
    svc = _service(tmp_path)
    try:
        assert svc.sub is not None
        store = svc.sub.store
        for dt in (-5, 0):
            assert store.handle(TOPIC, encode_prediction(_prediction(T + timedelta(seconds=dt))),
                                svc._clock_for_store(), 120)
        before = svc.now()
        assert before is not None
        next_year = T + timedelta(days=365)
        assert not store.handle(TOPIC, encode_prediction(_prediction(next_year)), svc._clock_for_store(), 120)
        other = prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "9999")  # payload says 2061
        assert not store.handle(other, encode_prediction(_prediction(T + timedelta(seconds=200))),
                                svc._clock_for_store(), 120)
        assert store.counters.reasons == {"future": 1, "topic_mismatch": 1}
        after = svc.now()
        assert after is not None and abs((after - before).total_seconds()) < 2
        # a good newer prediction still moves it forward; an older one never steps it back
        assert store.handle(TOPIC, encode_prediction(_prediction(T + timedelta(seconds=60))),
                            svc._clock_for_store(), 120)
        n1 = svc.now()
        assert n1 is not None and abs((n1 - (T + timedelta(seconds=60))).total_seconds()) < 2
        late = msgspec.structs.replace(_prediction(T - timedelta(minutes=10)), veh="2062")
        assert store.handle(prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "2062"),
                            encode_prediction(late), svc._clock_for_store(), 120)
        n2 = svc.now()
        assert n2 is not None and n2 >= n1
    finally:
        svc.stop()


def test_one_forged_time_does_not_set_a_clockless_display(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    try:
        assert svc.sub is not None
        store = svc.sub.store
        forged = msgspec.structs.replace(_prediction(T + timedelta(days=365)), veh="666")
        assert store.handle(prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "666"),
                            encode_prediction(forged), svc._clock_for_store(), 120)
        assert svc.now() is None
        for dt in (0, 20):
            store.handle(TOPIC, encode_prediction(_prediction(T + timedelta(seconds=dt))), svc._clock_for_store(), 120)
        now = svc.now()
        assert now is not None and abs((now - (T + timedelta(seconds=20))).total_seconds()) < 2
    finally:
        svc.stop()


def test_clock_system_does_not_wait_for_ntp(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 (rough edge, ours by issue 12's brief): ``station run --clock system`` waited for NTP."""
    import station.service as service

    monkeypatch.setattr(service, "system_clock_synchronised", lambda: False)
    svc = _service(tmp_path, clock="system")
    try:
        now = svc.now()
        assert now is not None and svc.clock.source == "system"
        assert abs(now.timestamp() - datetime.now(UTC).timestamp()) < 5
    finally:
        svc.stop()
    auto = _service(tmp_path / "auto", clock="auto")
    try:
        assert auto.now() is None  # auto still waits for NTP (or predictions)
    finally:
        auto.stop()


def test_each_prediction_is_decoded_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 17: a display subscribed to 200 vehicles decoded every message twice (once to read its time
    for the clock, once in the store) and parsed its JSON twice more for the version check."""
    import msgspec.json

    import station.predictions as sp
    import transit.messages as tm

    parses = {"n": 0}
    real = tm._PREDICTION

    class Counting:
        type = real.type

        def decode(self, data: bytes) -> object:
            parses["n"] += 1
            return real.decode(data)

    version = tm._VERSION

    class CountingVersion:
        def decode(self, data: bytes) -> object:
            parses["n"] += 1
            return version.decode(data)

    monkeypatch.setattr(tm, "_PREDICTION", Counting())
    monkeypatch.setattr(tm, "_VERSION", CountingVersion())
    assert sp.decode_prediction is tm.decode_prediction
    svc = _service(tmp_path)
    try:
        assert svc.sub is not None
        store = svc.sub.store
        for k, dt in enumerate((-5, 0, 10)):  # the first two set the clock, the third has one
            assert store.handle(TOPIC, encode_prediction(_prediction(T + timedelta(seconds=dt))),
                                svc._clock_for_store(), 120)
            assert parses["n"] == k + 1
        assert svc.now() is not None
        # a refused payload may be read again to say why (a newer schema), but a good one never is
        bad = msgspec.json.encode({"v": 2, "stop_id": "hilleroed_8"})
        assert not store.handle(TOPIC, bad, svc._clock_for_store(), 120)
        assert store.counters.reasons == {"payload": 1}
    finally:
        svc.stop()
