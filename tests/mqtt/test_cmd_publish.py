"""onboard publish / publish_records: bad lines are counted and skipped, good records all arrive; a second
run over the same file stores nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from onboard.cli.cmd_publish import publish_records, read_jsonl
from onboard.records.publisher import MqttSettings
from tests.conftest import REPO
from tests.mqtt.conftest import Collector, Mosquitto
from tests.mqtt.records import trip_records
from transit.messages import DEFAULT_PREFIX
from transit.records import encode

pytestmark = pytest.mark.broker


def test_bad_lines_counted_good_records_delivered_and_rerun_is_idempotent(broker: Mosquitto,
                                                                          tmp_path: Path) -> None:
    recs = [r for r in trip_records(300) if r.event != "eta"]
    events = tmp_path / "events.jsonl"
    lines = [encode(r).decode() for r in recs]
    lines[10:10] = ["not json", "[1, 2]", json.dumps({"event": "arr", "id": "x"}), "", "{" * 5000]
    events.write_text("\n".join(lines) + "\n")
    col = Collector(broker.port, f"{DEFAULT_PREFIX}/+/+/+/lokaltog/2051/#", client_id="central-cmd")
    try:
        s = publish_records(read_jsonl(events), state_dir=tmp_path / "state",
                            settings=MqttSettings(url=broker.url), source_key="k", drain_timeout_s=30)
        assert (s.bad, s.stored, s.acked, s.left_in_outbox, s.drained) == (5, len(recs), len(recs), 0, True)
        assert not col.wait_for_ids({r.id for r in recs}, 10)
        again = publish_records(read_jsonl(events), state_dir=tmp_path / "state",
                                settings=MqttSettings(url=broker.url), source_key="k", drain_timeout_s=30)
        assert (again.skipped_resumed, again.stored, again.published) == (len(lines), 0, 0)
    finally:
        col.close()


def test_cli_summary_and_exit_status(broker: Mosquitto, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(encode(r).decode() + "\n" for r in trip_records(120)))
    p = subprocess.run([sys.executable, "-m", "onboard", "publish", str(events), "--broker", broker.url,
                        "--state-dir", str(tmp_path / "st"), "--mode", "train"], cwd=REPO, capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert p.returncode == 0, p.stderr
    assert "0 bad" in p.stdout and "0 left in the outbox" in p.stdout
    unreachable = subprocess.run([sys.executable, "-m", "onboard", "publish", str(events), "--broker",
                                  "mqtt://127.0.0.1:9", "--state-dir", str(tmp_path / "st2"), "--timeout", "1",
                                  "--mode", "train"],
                                 cwd=REPO, capture_output=True, text=True, timeout=60,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert unreachable.returncode == 1  # stored, not delivered: the outbox keeps it for the next run
    assert "left in the outbox" in unreachable.stdout and " 0 left" not in unreachable.stdout
