"""The stop display service in-process: dark without a clock, time from the predictions, realtime rows
on the panel, keeps running without a broker, blank panel at stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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
        p = _prediction(T)
        topic = prediction_topic("rettid/v1", "hilleroed_8", "lokaltog", "2061")
        assert svc.sub.store.handle(topic, encode_prediction(p), svc._clock_for_store(), 120)
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
