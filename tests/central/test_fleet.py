"""The fleet test (issue 15): 20 simulated units through a real Mosquitto into the collector, the collector
SIGKILLed twice and the broker restarted once. The stored set equals the published set, nothing twice,
and the month report from the database equals the report from the units' own logs.

The units are replays of recorded drives: each shipped rail scenario is recorded by ``sim_bus record``
and run through ``onboard replay`` once; each of the 20 units then carries one of those drives on its own
vehicle and operating day (Mon-Thu in November 2026, times and ids moved accordingly) in its own log,
and publishes it through the real outbox and publisher (``onboard publish``)."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.store import open_store
from tests.central.conftest import Mosquitto
from tests.conftest import REPO
from transit.timeutil import iso_utc_ms, parse_iso

pytestmark = [pytest.mark.broker, pytest.mark.slow]
SCENARIOS = ["910-rush", "920E-express", "920R-weekday"]
OFFSETS = [-21, -20, -19, -18, -14, -13, -12]  # 2026-11-23 (Monday) moved to Mon-Thu of earlier weeks
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def _drive(scenario: str, tmp: Path) -> list[dict[str, Any]]:
    rec = tmp / f"rec-{scenario}"
    subprocess.run([sys.executable, "-m", "sim_bus", "record", str(REPO / "data" / "scenarios" / f"{scenario}.yaml"),
                    "--out", str(rec)], check=True, cwd=REPO, capture_output=True)
    events = tmp / f"{scenario}.jsonl"
    subprocess.run([sys.executable, "-m", "onboard", "replay", "--config", str(rec / "onboard.yaml"), "--nmea",
                    str(rec / "gnss.nmea"), "--can", str(rec / "can.log"), "--gpio", str(rec / "gpio.csv"),
                    "--out", str(events), "--state-dir", str(tmp / f"state-{scenario}")],
                   check=True, cwd=REPO, capture_output=True)
    return [json.loads(x) for x in events.read_text().splitlines() if x.strip()]


def _move(value: Any, days: int) -> Any:
    if isinstance(value, str) and _ISO.match(value):
        return iso_utc_ms(parse_iso(value) + timedelta(days=days))
    if isinstance(value, dict):
        return {k: _move(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_move(v, days) for v in value]
    return value


def _unit_log(drive: list[dict[str, Any]], veh: str, days: int) -> list[dict[str, Any]]:
    out = []
    for r in drive:
        m = _move(r, days)
        m["veh"] = veh
        if isinstance(m.get("oday"), str):
            m["oday"] = (date.fromisoformat(m["oday"]) + timedelta(days=days)).isoformat()
        m["id"] = hashlib.sha1(f"{r['id']}|{veh}|{days}".encode()).hexdigest()[:16]
        out.append(m)
    return out


def _report(*args: str) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-m", "central", "report", "punctuality", *args, "--month", "2026-11",
                        "--format", "json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    del out["inputs"]  # says where the records came from; everything else must be equal
    return out


def test_fleet_through_broker_kills_and_restart(broker: Mosquitto, tmp_path: Path) -> None:
    drives = {s: _drive(s, tmp_path) for s in SCENARIOS}
    logs: list[Path] = []
    published: set[str] = set()
    for k in range(20):
        veh = str(2101 + k)
        unit = _unit_log(drives[SCENARIOS[k % 3]], veh, OFFSETS[k // 3])
        log = tmp_path / f"unit-{veh}.jsonl"
        log.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unit), encoding="utf-8")
        logs.append(log)
        published |= {r["id"] for r in unit if r["event"] != "eta"}  # predictions are state, not records
    db = f"sqlite:///{tmp_path}/central.sqlite"

    def collector() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "central", "run", "--broker", broker.url, "--db", db,
                                 "--client-id", "central-fleet"], cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    col = collector()
    time.sleep(2.0)  # connected and subscribed: the persistent session exists from here on
    units = [subprocess.Popen([sys.executable, "-m", "onboard", "publish", str(log), "--publish", broker.url,
                               "--state-dir", str(tmp_path / f"outbox-{log.stem}"), "--mode", "train",
                               "--timeout", "240"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for log in logs]
    try:
        time.sleep(3.0)
        col.send_signal(signal.SIGKILL)  # 1st kill, while units publish
        col.wait(10)
        col = collector()
        time.sleep(2.0)
        broker.stop()  # the broker restarts: sessions and queued messages persist
        time.sleep(1.0)
        broker.start()
        time.sleep(3.0)
        col.send_signal(signal.SIGKILL)  # 2nd kill
        col.wait(10)
        col = collector()
        for u in units:
            assert u.wait(300) == 0, u.stderr.read().decode()[-1500:] if u.stderr else ""
        with open_store(db) as store:
            deadline = time.monotonic() + 120
            while store.count() < len(published) and time.monotonic() < deadline:
                time.sleep(0.2)
            ids = list(store.ids())
            assert len(ids) == len(set(ids))  # nothing twice
            assert set(ids) == published  # the stored set is the published set
            assert not store.rejected()
    finally:
        for u in units:
            if u.poll() is None:
                u.kill()
        col.send_signal(signal.SIGTERM)
        col.wait(20)
    from_db = _report("--db", db)
    from_logs = _report(*map(str, logs))
    assert from_db == from_logs
    assert sum(s["measured"] for s in from_db["straekninger"]) > 0 and len(from_db["late"]) >= 0
