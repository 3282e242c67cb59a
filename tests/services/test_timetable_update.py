"""Rolling a new timetable onto a running unit (issue 14: there was no way): validated like feed-check,
checked against the operator file and the assignment, installed atomically, the running trip kept,
rolled back when the swap fails; SIGHUP or the staged file starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demo.run import derive_scenario, live_onboard_config, write_yaml
from hw.gnss.fix import Fix, FixMode
from onboard.service.config import OnboardConfig
from onboard.service.unit import OnboardService, ServiceOptions
from tests.conftest import REPO
from tests.transit.test_feedcheck import SAMPLE, copy_feed, read_rows, write_rows
from transit.feedupdate import FeedStore

T_FIX = datetime(2026, 11, 23, 6, 13, 30, tzinfo=UTC)  # the 920R stands at Hillerød track 8
HILLEROED_8 = (55.926794, 12.311226)


def _feed(tmp_path: Path, name: str, version: str) -> Path:
    feed = copy_feed(SAMPLE, tmp_path / name)
    rows = read_rows(feed / "feed_info.txt")
    rows[1][rows[0].index("feed_version")] = version
    write_rows(feed / "feed_info.txt", rows)
    return feed


def _broken(tmp_path: Path) -> Path:
    feed = _feed(tmp_path, "broken", "bad")
    rows = read_rows(feed / "stop_times.txt")
    rows[3][rows[0].index("arrival_time")] = "25:6x:00"
    write_rows(feed / "stop_times.txt", rows)
    return feed


def test_store_installs_refuses_and_rolls_back(tmp_path: Path) -> None:
    store = FeedStore(tmp_path / "timetable")
    assert store.current() is None and not store.install().ok  # nothing staged
    store.stage(_feed(tmp_path, "a", "A"))
    a = store.install()
    assert a.ok and a.timetable is not None and a.timetable.feed_info.version == "A"
    assert store.current() == a.path and not store.has_incoming()
    store.stage(_broken(tmp_path))
    bad = store.install()
    assert not bad.ok and any("25:6x:00" in p for p in bad.problems)
    assert store.current() == a.path  # unchanged
    assert "25:6x:00" in (tmp_path / "timetable" / "rejected.txt").read_text()
    store.stage(_feed(tmp_path, "b", "B"))
    refused = store.install(check=lambda tt: (_ for _ in ()).throw(OSError("operator check failed")))
    assert not refused.ok and store.current() == a.path
    store.stage(_feed(tmp_path, "b2", "B"))
    b = store.install()
    assert b.ok and store.current() == b.path != a.path
    assert store.rollback() == a.path and store.current() == a.path


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg_path = write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                                              state_dir=tmp_path / "state"), tmp_path / "onboard.yaml")
    svc = OnboardService(OnboardConfig.load(cfg_path), ServiceOptions(clock="gnss", publish=False, hold_s=0.0,
                                                                      health_interval_s=3600))
    svc.start()
    yield svc
    svc.stop()


def test_running_unit_takes_a_new_timetable_and_keeps_its_trip(service: OnboardService, tmp_path: Path) -> None:
    # three agreeing epochs start the clock (time sanity), the core is built on them
    for k in (2, 1, 0):
        fix = Fix(T_FIX - timedelta(seconds=k), *HILLEROED_8, speed=0.0, mode=FixMode.FIX_3D, quality=1,
                  sats_used=12)
        service._accept("fix", 1010.0 - k, fix)
    service._drain_inputs(final=False)
    assert service.core is not None
    running = service.core.core.follower
    old_tt = service.tt
    service.feeds.stage(_broken(tmp_path))
    assert not service.update_timetable() and service.tt is old_tt  # refused: nothing changed
    service.feeds.stage(_feed(tmp_path, "new", "2026-12"))
    assert service.update_timetable()
    assert service.tt is not old_tt and service.tt.feed_info.version == "2026-12"
    assert service.core.core.tt is service.tt and service.core.core.follower is running
    # a restarted unit starts on the rolled-out timetable
    assert FeedStore(service.state_dir / "timetable").current() is not None


def test_a_failed_swap_rolls_back(service: OnboardService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service.feeds.stage(_feed(tmp_path, "a", "A"))
    assert service.update_timetable()
    first = service.feeds.current()
    tt_a = service.tt

    def boom(tt: object) -> None:
        raise RuntimeError("frieze cannot take it")

    monkeypatch.setattr(service._frieze, "swap_timetable", boom)
    service.feeds.stage(_feed(tmp_path, "b", "B"))
    assert not service.update_timetable()
    assert service.tt is tt_a and service.feeds.current() == first


def test_the_command_stages_and_sighup_installs(tmp_path: Path) -> None:
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg = write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                                         state_dir=tmp_path / "state"), tmp_path / "onboard.yaml")
    py = [sys.executable, "-m", "onboard"]
    bad = subprocess.run(py + ["update-timetable", str(_broken(tmp_path)), "--config", str(cfg)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "25:6x:00" in bad.stdout + bad.stderr
    assert not (tmp_path / "state" / "timetable" / "incoming").exists()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(120)
    unit = subprocess.Popen(py + ["run", "--config", str(cfg), "--clock", "gnss", "--no-publish"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify.sock")))
    try:
        while b"READY=1" not in notify.recv(4096):  # the service's handlers are installed
            pass
        ok = subprocess.run(py + ["update-timetable", str(_feed(tmp_path, "n", "N")), "--config", str(cfg)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
        os.kill(unit.pid, signal.SIGHUP)  # systemctl reload rettid-onboard
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and FeedStore(tmp_path / "state" / "timetable").current() is None:
            time.sleep(0.2)
        assert FeedStore(tmp_path / "state" / "timetable").current() is not None
    finally:
        notify.close()
        unit.send_signal(signal.SIGTERM)
        out, _ = unit.communicate(timeout=60)
    assert unit.returncode == 0, out[-3000:]
    assert "now following timetable" in out


def test_running_unit_installs_its_slice(service: OnboardService, tmp_path: Path) -> None:
    """Issue 17: a slice cut at the office rolls out like a feed; the unit then runs on it."""
    from datetime import date

    from transit.slice import build_slice, is_slice, selector_for

    unit, select = selector_for("onboard", service.cfg.path)
    out = tmp_path / "unit.slice"
    build_slice(SAMPLE, out, kind="onboard", unit=unit, select=select, first=date(2026, 11, 20), days=14)
    service.feeds.stage(out)
    assert service.update_timetable()
    assert service.tt.slice is not None and service.tt.slice.unit == unit
    cur = service.feeds.current()
    assert cur is not None and is_slice(cur)
    bad = tmp_path / "torn.slice"
    bad.write_bytes(out.read_bytes()[:30000])
    service.feeds.stage(bad)
    assert not service.update_timetable() and service.feeds.current() == cur  # refused, nothing changed


def test_the_command_cuts_and_stages_the_units_slice(tmp_path: Path) -> None:
    from transit.slice import is_slice, load_slice

    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg = write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                                         state_dir=tmp_path / "state"), tmp_path / "onboard.yaml")
    r = subprocess.run([sys.executable, "-m", "onboard", "update-timetable", str(SAMPLE), "--slice-days", "7",
                        "--config", str(cfg)], cwd=REPO, capture_output=True, text=True, timeout=120)
    # the recording's assignment is for 2026-11-23: a slice from today does not hold it, and says so
    assert r.returncode == 2 and "does not run on 2026-11-23" in r.stderr
    assert not (tmp_path / "state" / "timetable" / "slice.built").exists()
    import yaml

    doc = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    doc["assignment"] = "auto"
    cfg.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "onboard", "update-timetable", str(SAMPLE), "--slice-days", "7",
                        "--config", str(cfg)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    incoming = tmp_path / "state" / "timetable" / "incoming"
    assert is_slice(incoming) and "cut " in r.stdout
    tt = load_slice(incoming)
    assert tt.slice is not None and (tt.slice.last - tt.slice.first).days == 6
    assert not (tmp_path / "state" / "timetable" / "slice.built").exists()


def test_unit_says_when_its_slice_has_ended(service: OnboardService, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    from datetime import date

    from transit.slice import build_slice, load_slice, selector_for

    unit, select = selector_for("onboard", service.cfg.path)
    out = tmp_path / "old.slice"
    build_slice(SAMPLE, out, kind="onboard", unit=unit, select=select, first=date(2026, 11, 10), days=7)
    service.tt = load_slice(out)
    service.data_now = lambda mono=None: T_FIX.timestamp()  # type: ignore[method-assign]
    with caplog.at_level("WARNING"):
        service._slice_ending(time.monotonic())
        service._slice_ending(time.monotonic())  # rate-limited: said once
    said = [r.getMessage() for r in caplog.records if "slice ended" in r.getMessage()]
    assert said == ["timetable slice ended on 2026-11-16 (today 2026-11-23): no trips to follow; roll out a new "
                    "slice (rettid-central slice, rettid-onboard update-timetable)"]
