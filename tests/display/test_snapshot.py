"""``python -m station snapshot``: the acceptance check on the sample configuration, predictions replayed
from an events file, and retained predictions read from a real Mosquitto."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from station.cmd_snapshot import replay_predictions
from station.departures import stops_watched
from tests.conftest import REPO
from transit.timeutil import iso_utc_ms, parse_iso

CONFIG = REPO / "data" / "config" / "station-hilleroed.yaml"
AT = "2026-11-23T07:55:00+01:00"
REALTIME_GREEN = (70, 220, 90)


@pytest.fixture(scope="module")
def tt():
    from station.config import StationConfig
    from transit.timetable import Timetable

    return Timetable.load(StationConfig.load(CONFIG).feed)


def snapshot(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([sys.executable, "-m", "station", "snapshot", "--config", str(CONFIG), "--at", AT,
                          "--out", str(out), "--no-dim", *extra], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return res


def _first_departures(tt, n: int = 3):
    at = parse_iso(AT)
    deps = [d for d in tt.departures("hilleroed", at, at + timedelta(hours=2)) if not d.is_last_stop]
    assert len(deps) >= n
    return deps[:n]


def eta_record(dep, delay_s: int, tst, *, veh: str = "lint-07", status: str = "SCHEDULED", clear=None) -> dict:
    rec = {"event": "eta", "id": f"{veh}-{dep.trip.trip_id}-{iso_utc_ms(tst)}", "tst": iso_utc_ms(tst),
           "veh": veh, "oper": "lokaltog", "oday": dep.service_day.isoformat(), "route": dep.route.name,
           "dir": dep.trip.direction_id or 0, "start": "07:30", "trip_id": dep.trip.trip_id, "stop_id": None,
           "seq": None, "loc": "GPS", "headsign": dep.headsign, "occu": "MANY_SEATS_AVAILABLE",
           "stops": [{"stop_id": dep.stop_id, "seq": dep.stop_sequence, "sched_arr": iso_utc_ms(dep.departure),
                      "sched_dep": iso_utc_ms(dep.departure),
                      "eta_arr": iso_utc_ms(dep.departure + timedelta(seconds=delay_s)),
                      "eta_dep": iso_utc_ms(dep.departure + timedelta(seconds=delay_s)), "status": status}]}
    if clear is not None:
        rec["clear"] = clear
        if clear is True:
            rec["stop_id"] = dep.stop_id
            del rec["stops"]
    return rec


def _green(img: Image.Image) -> int:
    return sum(n for n, c in img.getcolors(1 << 16) or [] if c == REALTIME_GREEN)


def test_acceptance_snapshot_of_the_sample_configuration(tmp_path: Path, tt) -> None:
    out = tmp_path / "f.png"
    res = snapshot(out)
    img = Image.open(out)
    assert img.size == (256, 64)
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Hillerød St. 2026-11-23 07:55 (ok, 0 realtime")
    expected = _first_departures(tt, 4)
    for dep, line in zip(expected, lines[1:5], strict=True):
        assert dep.route.name in line and dep.headsign in line and "køreplan" in line
    assert _green(img) == 0  # no realtime marks without predictions


def test_snapshot_with_replayed_predictions_shows_realtime(tmp_path: Path, tt) -> None:
    at = parse_iso(AT)
    d1, d2, d3 = _first_departures(tt, 3)
    events = tmp_path / "events.jsonl"
    rows = [
        {"event": "vp", "tst": iso_utc_ms(at - timedelta(seconds=30))},               # not an eta record
        eta_record(d1, 240, at - timedelta(seconds=20)),                                 # 4 min late
        eta_record(d2, 0, at - timedelta(seconds=200), veh="lint-08"),                   # stale: timetable
        eta_record(d3, 0, at - timedelta(seconds=15), veh="lint-09", status="CANCELED"),  # Aflyst
        eta_record(d1, 999, at + timedelta(seconds=30)),                                 # after --at: ignored
    ]
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n", encoding="utf-8")
    out = tmp_path / "rt.png"
    res = snapshot(out, "--predictions", str(events))
    text = res.stdout
    assert "1 stale predictions" in text
    line1 = next(ln for ln in text.splitlines() if d1.trip.trip_id and d1.headsign in ln and "realtid" in ln)
    assert "+240s" in line1
    assert any("Aflyst" in ln and d3.headsign in ln for ln in text.splitlines())
    assert "events line 6 skipped" in res.stderr
    assert _green(Image.open(out)) > 0


def test_replay_applies_clears_and_expiry(tt) -> None:
    at = parse_iso(AT)
    (d1,) = _first_departures(tt, 1)
    stops = stops_watched(tt, ["hilleroed"])
    assert d1.stop_id in stops and "hilleroed" in stops
    recs = [eta_record(d1, 60, at - timedelta(seconds=60)), eta_record(d1, 60, at - timedelta(seconds=10), clear=True)]
    preds, _, bad = replay_predictions([json.dumps(r) for r in recs], at, stops)
    assert preds == [] and bad == 0
    preds, expires, _ = replay_predictions([json.dumps(recs[0])], at, stops)
    assert len(preds) == 1 and expires[preds[0]] == at + timedelta(seconds=60)
    other = replay_predictions([json.dumps(recs[0])], at, {"somewhere_else"})
    assert other[0] == []


@pytest.mark.broker
def test_snapshot_reads_retained_predictions_from_a_broker(tmp_path: Path, tt) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from tests.mqtt.conftest import Mosquitto
    from tests.typed import typed
    from transit.messages import DEFAULT_PREFIX, encode_prediction, prediction_topic, predictions_from_record

    b = Mosquitto(tmp_path / "broker")
    b.start()
    try:
        at = parse_iso(AT)
        (d1,) = _first_departures(tt, 1)
        ((stop_id, pred),) = predictions_from_record(typed(eta_record(d1, 300, at - timedelta(seconds=5))))
        assert pred is not None
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", b.port)
        c.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = 600
        info = c.publish(prediction_topic(DEFAULT_PREFIX, stop_id, "lokaltog", "lint-07"),
                         encode_prediction(pred), qos=1, retain=True, properties=props)
        info.wait_for_publish(5)
        c.loop_stop()
        c.disconnect()
        out = tmp_path / "b.png"
        res = snapshot(out, "--broker", f"mqtt://127.0.0.1:{b.port}", "--wait", "1.0")
        assert "(ok, 1 realtime" in res.stdout
        assert any(d1.headsign in ln and "realtid" in ln and "+300s" in ln for ln in res.stdout.splitlines())
        assert _green(Image.open(out)) > 0
    finally:
        b.stop()


def test_status_screen(tmp_path: Path) -> None:
    out = tmp_path / "s.png"
    snapshot(out, "--status")
    assert Image.open(out).size == (256, 64)


def test_outside_the_timetable_is_no_data(tmp_path: Path, tt) -> None:
    out = tmp_path / "nodata.png"
    res = subprocess.run([sys.executable, "-m", "station", "snapshot", "--config", str(CONFIG), "--at",
                          "2031-06-01T12:00:00+02:00", "--out", str(out)], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "(no_data," in res.stdout
    assert Image.open(out).size == (256, 64)
