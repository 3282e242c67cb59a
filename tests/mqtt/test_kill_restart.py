"""The publisher process killed with SIGKILL at 20 random points during a publish and restarted each time:
every record id arrives at least once; de-duplicated by id, exactly once.

The kill lands a random time after the process says it is ready (systemd's READY=1 on a NOTIFY_SOCKET
the test listens on), not after a fixed time from its start: start-up alone (imports) took 1.7 s on an
arm64 machine under qemu, as on a Pi Zero with a cold SD card, and a kill before the outbox exists
tested nothing."""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.mqtt.conftest import Collector, Mosquitto
from tests.mqtt.records import trip_records
from transit.messages import DEFAULT_PREFIX
from transit.records import encode

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _cmd(events: Path, state: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "onboard", "--log-level", "WARNING", "publish", str(events),
            "--broker", url, "--state-dir", str(state), "--mode", "train", "--window", "20", "--timeout", "60"]


def _wait_ready(sock: socket.socket, p: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    """Until the publisher sends READY=1 (its outbox is open); it must not exit before."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if b"READY=1" in sock.recv(4096):
                return
        except TimeoutError:
            pass
        assert p.poll() is None, f"publisher exited with {p.returncode} before it was ready"
    raise AssertionError(f"publisher not ready after {timeout_s} s")


def _progress(state: Path, events: Path) -> tuple[int, int]:
    """(lines stored, rows still in the outbox) as a fresh reader sees them after the kill."""
    db = sqlite3.connect(str(state / "outbox.sqlite"))
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (f"source:{events.resolve()}",)).fetchone()
        n = int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    except sqlite3.OperationalError:  # killed before the schema existed
        return 0, 0
    finally:
        db.close()
    return (int(row[0]) if row else 0), n


def test_sigkill_20_times_every_record_arrives(broker: Mosquitto, tmp_path: Path) -> None:
    recs = trip_records(24 * 3600)  # ~97k records: enough work that every kill lands mid-publish
    events = tmp_path / "events.jsonl"
    events.write_text("".join(encode(r).decode() + "\n" for r in recs))
    expected = {r.id for r in recs if r.event != "eta"}  # eta become coalesced predictions
    state = tmp_path / "state"
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/+/+/+/lokaltog/2051/#", client_id="central-kill")
    rng = random.Random(20261123)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.2)
    env = dict(os.environ, PYTHONPATH=str(REPO), NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    interrupted = 0
    phases: list[tuple[int, int]] = []
    try:
        for _ in range(20):
            p = subprocess.Popen(_cmd(events, state, broker.url), cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_ready(notify, p)
            time.sleep(rng.uniform(0.0, 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            stored, left = _progress(state, events)
            if stored < len(recs) or left > 0:
                interrupted += 1
            phases.append((stored, left))
        final = subprocess.run(_cmd(events, state, broker.url), cwd=REPO, env=env, capture_output=True,
                               text=True, timeout=120)
        assert final.returncode == 0, final.stderr[-2000:]
        missing = col.wait_for_ids(expected, 30)
        assert not missing, f"{len(missing)} of {len(expected)} record ids never arrived"
        got = Counter(col.ids())
        assert set(got) == expected  # de-duplicated by id: exactly the records, each once
        assert interrupted >= 10, f"only {interrupted} of 20 kills hit a publish in progress: {phases}"
        assert _progress(state, events) == (len(recs), 0)
        print("kill points (lines stored, rows in outbox):", phases)
    finally:
        col.close()
        notify.close()
