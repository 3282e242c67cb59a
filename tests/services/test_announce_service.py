"""The running unit speaks: a recorded drive (the 920R 07:15 from Hillerød: dwell at the origin, the run to
Overdrevsvejen) replayed through OnboardService at 20x with an ``announce:`` section and the file sink; a
track change from the control room arrives on the deviation path the MQTT client feeds. The WAV files
appear in the state directory, are speech by sox's measure, and never overlapped (the sink's own start and
end times); the health report counts them."""

from __future__ import annotations

import gzip
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onboard.service.config import OnboardConfig
from onboard.service.unit import OnboardService, ServiceOptions
from tests.audio.sox import stat
from tests.conftest import REPO, require_binary
from transit.deviations import TrackChange, deviation_topic, encode_deviation
from transit.health import read_health

pytestmark = pytest.mark.slow
DATA = REPO / "tests" / "data" / "replay-920R-short"
RATE = 20.0


def _config(tmp_path: Path, state: Path) -> Path:
    for name in ("gnss.nmea", "can.log"):
        with gzip.open(DATA / f"{name}.gz", "rb") as src, (tmp_path / name).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    cfg = tmp_path / "onboard.yaml"
    cfg.write_text(f"""\
unit: {{id: sim-2061, vehicle: "2061", operator: {REPO / 'data' / 'operators' / 'lokaltog.yaml'},
       state_dir: {state}, timezone: Europe/Copenhagen}}
feed: {REPO / 'data' / 'gtfs' / 'lokaltog-sample'}
vehicle: {{type: lint41}}
assignment: {{trips: [920R_MT_0_0715], service_day: '2026-11-23'}}
gnss: {{backend: file, path: gnss.nmea, speed: {RATE}}}
can: {{backend: replay, channel: can0, bitrate: 250000, file: can.log, speed: {RATE}, doors: 4}}
displays: {{frieze: {{backend: png, path: {tmp_path / 'frieze.png'}}}}}
announce:
  voice: da
  speed: 160
  quiet_hours: "00:30-05:00"       # local; the drive is at 07:13-07:17, so it speaks
  sink: {{backend: file, dir: {state / 'announce'}, pace: {RATE}}}
""", encoding="utf-8")
    return cfg


def test_a_replayed_drive_speaks_into_the_state_directory(tmp_path: Path) -> None:
    require_binary("espeak-ng")
    state = tmp_path / "state"
    cfg = OnboardConfig.load(_config(tmp_path, state))
    assert cfg.announce.enabled and cfg.announce.speech.speed == 160
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", rate=RATE, publish=False, hold_s=0.0,
                                             health_interval_s=0.5, frame_interval_s=0.25))
    svc.start()
    th = threading.Thread(target=svc.run, daemon=True)
    th.start()
    out = state / "announce"

    def names() -> list[str]:
        return sorted(p.name for p in out.glob("*.wav")) if out.exists() else []

    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and not any("_origin_" in n for n in names()):
            time.sleep(0.2)
        # the control room moves the arrival at Overdrevsvejen to track 2 (what the MQTT client would hand on)
        t = datetime(2026, 11, 23, 6, 13, tzinfo=UTC)
        dev = TrackChange(id="e2e-track", oper="lokaltog", tst=t, valid_from=t, valid_to=t + timedelta(hours=2),
                          trip_id="920R_MT_0_0715", oday="2026-11-23", stop_id="overdrevsvejen", platform="2")
        svc.q.put(("deviation", time.monotonic(),
                   (deviation_topic("rettid/v1", "lokaltog", dev.id), encode_deviation(dev), None)))
        while time.monotonic() < deadline and not (any("_next_stop_overdrevsvejen" in n for n in names())
                                                   and any("_deviation_" in n for n in names())):
            time.sleep(0.2)
        assert svc._speaker.wait_idle(30)
        plays = sorted(svc._speaker.sink.log, key=lambda p: p.start)
        svc._health(time.monotonic())
        health = read_health(state)
    finally:
        svc.request_stop()
        th.join(30)
        svc.stop()
    got = names()
    assert (tmp_path / "frieze.png").exists()  # the frieze drawn from the same view the speaker is fed
    assert any("_origin_hilleroed" in n for n in got), got
    assert any("_next_stop_overdrevsvejen" in n for n in got), got
    assert any("_deviation_" in n for n in got), got
    for n in got:
        s = stat(out / n)
        assert s.length_s > 1.0 and s.rms > 0.03, (n, s)
    for a, b in zip(plays, plays[1:], strict=False):
        assert a.end <= b.start, (a, b)
    spoken = health["display"]["announce"]
    assert spoken["spoken"] >= 3 and spoken["sink_open"] and "speech_errors" not in spoken, spoken
