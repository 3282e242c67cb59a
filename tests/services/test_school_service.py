"""The running unit with a school: section (issue 18): the simulated faulty school run from recorded
files through OnboardService — the school records reach the events file (the same path as the outbox)
and the driver's panel is drawn on its sink. The file backends feed the service's input threads
independently (not a replay: beam edges may arrive after their time and be refused), so this checks the
wiring; the counts and timings are checked on the replay (tests/school/test_scenarios.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from onboard.service.config import OnboardConfig
from onboard.service.unit import OnboardService, ServiceOptions
from sim_bus.record import record
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_school_run_through_the_service(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record(REPO / "data" / "scenarios" / "school-r12-late.yaml", rec, show_progress=False)
    cfg_path = rec / "unit.yaml"
    panel = tmp_path / "panel.png"
    cfg_path.write_text((rec / "onboard.yaml").read_text(encoding="utf-8")
                        + f"school:\n  runs: [{REPO / 'data' / 'school' / 'viborg-rute-12.yaml'}]\n"
                        f"  panel: {{backend: png, path: '{panel}', width: 480, height: 272}}\n", encoding="utf-8")
    cfg = OnboardConfig.load(cfg_path)
    events = tmp_path / "events.jsonl"
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", publish=False, events=events, hold_s=0.0,
                                             health_interval_s=3600, state_dir=tmp_path / "state"))
    svc.start()
    th = threading.Thread(target=svc.run, daemon=True)
    th.start()
    kinds: set[str] = set()
    deadline = time.monotonic() + 240.0
    try:
        while time.monotonic() < deadline and "school_arrival" not in kinds:
            time.sleep(1.0)
            if events.exists():
                kinds = {json.loads(x)["event"] for x in events.read_text(encoding="utf-8").splitlines() if x}
    finally:
        svc.request_stop()
        th.join(30)
        svc.stop()
    assert {"notice", "school_arrival"} <= kinds, " ".join(sorted(kinds))
    recs = [json.loads(x) for x in events.read_text(encoding="utf-8").splitlines() if x]
    notices = [r["stop_id"] for r in recs if r["event"] == "notice"]
    assert notices and set(notices) <= {"kobberup", "sdr_rind", "vridsted_kirke"} and len(set(notices)) == len(notices)
    assert [r["verdict"] for r in recs if r["event"] == "school_arrival"] == ["late"]
    assert panel.exists() and panel.stat().st_size > 1000
