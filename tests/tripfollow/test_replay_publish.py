"""``onboard replay --publish``: the replayed records reach a real broker through the outbox, and the
punctuality records are in the append-only log first."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from tests.conftest import require_binary
from transit.localbroker import LocalBroker

ROOT = Path(__file__).resolve().parents[2]


def test_replay_publishes_punctuality(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path / "broker", require_binary("mosquitto")).start()
    port = broker.port
    try:
        rec = tmp_path / "rec"
        subprocess.run([sys.executable, "-m", "sim_bus", "record", str(ROOT / "data" / "scenarios" / "920E-express.yaml"),
                        "--out", str(rec)], check=True, cwd=ROOT, capture_output=True)
        got: list[dict] = []
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-sub")
        sub.on_message = lambda _c, _u, m: got.append(json.loads(m.payload)) if m.payload else None
        for _ in range(50):
            try:
                sub.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.1)
        sub.subscribe("#", qos=1)
        sub.loop_start()
        time.sleep(0.3)
        state = tmp_path / "state"
        r = subprocess.run([sys.executable, "-m", "onboard", "replay", "--config", str(rec / "onboard.yaml"),
                            "--nmea", str(rec / "gnss.nmea"), "--can", str(rec / "can.log"), "--out",
                            str(tmp_path / "events.jsonl"), "--state-dir", str(state), "--vp-interval", "0",
                            "--broker", f"mqtt://127.0.0.1:{port}"], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "left in outbox 0" in r.stdout
        logged = [json.loads(x) for x in (state / "punctuality.jsonl").read_text().splitlines()]
        deadline = time.monotonic() + 10
        want = {x["id"] for x in logged}
        while time.monotonic() < deadline and not want <= {g.get("id") for g in got}:
            time.sleep(0.1)
        sub.loop_stop()
        assert want and want <= {g.get("id") for g in got}
    finally:
        broker.stop()
