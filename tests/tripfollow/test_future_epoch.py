"""Issue 12 item 2: one checksum-valid epoch dated a day ahead froze trip following ("input older than
the last one; ignored" for everything after it: 0 arrivals for up to 24 h). The 920R recording from the
simulator with one epoch mid-trip re-dated (RMC and ZDA a day ahead, or a day behind) must give the same
stop events and punctuality records as the clean recording — in ``replay`` and in the live service."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from hw.gnss.nmea import checksum
from onboard.service.replay import load_setup, replay
from tests.conftest import REPO
from transit.records import Record

STOP_EVENTS = ("arr", "ars", "dep", "pas", "punctuality")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec920")
    subprocess.run([sys.executable, "-m", "sim_bus", "record", str(REPO / "data" / "scenarios" / "920R-weekday.yaml"),
                    "--out", str(out)], check=True, cwd=REPO, capture_output=True)
    return out


def _redate(line: str, days: int) -> str:
    body = line.strip()[1:].split("*")[0].split(",")
    if body[0].endswith("RMC") and body[9]:
        d = date(2000 + int(body[9][4:6]), int(body[9][2:4]), int(body[9][0:2])) + timedelta(days=days)
        body[9] = d.strftime("%d%m%y")
    elif body[0].endswith("ZDA") and body[4]:
        d = date(int(body[4]), int(body[3]), int(body[2])) + timedelta(days=days)
        body[2], body[3], body[4] = f"{d.day:02d}", f"{d.month:02d}", str(d.year)
    text = ",".join(body)
    return f"${text}*{checksum(text)}\n"


def _with_bad_epoch(src: Path, dst: Path, days: int, at_fraction: float = 0.4) -> str:
    """Re-date one epoch (the RMC opening it up to the next RMC) with a position fix; returns its time."""
    lines = src.read_text().splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if ln[3:6] == "RMC" and ",A," in ln]
    k = starts[int(len(starts) * at_fraction)]
    end = next(i for i in range(k + 1, len(lines)) if lines[i][3:6] == "RMC")
    for i in range(k, end):
        lines[i] = _redate(lines[i], days)
    dst.write_text("".join(lines))
    return lines[k].split(",")[1]


def _stop_records(recs: list[Record]) -> list[tuple]:  # type: ignore[type-arg]
    return [(r.event, r.stop_id, getattr(r, "status", None), getattr(r, "late", None)) for r in recs
            if r.event in STOP_EVENTS]


def _replay(rec: Path, nmea: Path, *, can: bool = True) -> tuple[list[Record], dict]:  # type: ignore[type-arg]
    recs: list[Record] = []
    diag = replay(load_setup(rec / "onboard.yaml"), nmea, rec / "can.log" if can else None,
                  rec / "gpio.csv" if can else None, recs.append)
    return recs, diag


@pytest.mark.parametrize(("days", "can"), [(1, True), (-1, True), (1, False)])
def test_replay_ignores_one_epoch_far_from_the_rest(recording: Path, tmp_path: Path, days: int, can: bool) -> None:
    """With CAN the odometer carried the old core past the freeze in replay (only the fixes were lost as
    "late"); GNSS only, it gave no arrival at all after the bad epoch."""
    clean, _ = _replay(recording, recording / "gnss.nmea", can=can)
    bad_nmea = tmp_path / "gnss.nmea"
    _with_bad_epoch(recording / "gnss.nmea", bad_nmea, days)
    got, diag = _replay(recording, bad_nmea, can=can)
    assert sum(1 for r in clean if r.event == "ars") > 10
    assert _stop_records(got) == _stop_records(clean)
    assert diag.get("time_quarantined", 0) >= 1 and not diag.get("late_inputs")


def test_live_service_recovers_within_seconds(recording: Path, tmp_path: Path) -> None:
    """The live service: fixes and CAN states as its threads hand them over, one fix a day ahead. The
    clock discipline is never moved by it and the core keeps following (no late inputs)."""
    from onboard.service.config import OnboardConfig
    from onboard.service.replay import read_fixes
    from onboard.service.unit import OnboardService, ServiceOptions

    bad_nmea = tmp_path / "gnss.nmea"
    _with_bad_epoch(recording / "gnss.nmea", bad_nmea, 1, at_fraction=0.05)
    fixes = list(read_fixes(bad_nmea))[:600]  # the first ten minutes: the trip leaves Hillerød
    cfg = OnboardConfig.load(recording / "onboard.yaml")
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", publish=False, hold_s=0.0, health_interval_s=3600,
                                             state_dir=tmp_path / "state", events=tmp_path / "events.jsonl"))
    svc.start()
    try:
        t0 = fixes[0].time.timestamp()
        for i, f in enumerate(fixes):  # the receiver sends at 1 Hz whatever date it puts in an epoch
            svc._accept("fix", 1000.0 + i, f)
            svc._drain_inputs(final=False)
        svc._drain_inputs(final=True)
        assert svc.sanity.quarantined == 1 and svc.clock.state().steps == 0
        assert svc.core is not None and svc.core.core.stats["late_inputs"] == 0
        assert svc.core.core.stats["fixes"] == len(fixes) - 1
        # "now" by the clock is the data's own time, not the bad epoch's
        now = svc.clock.to_utc(1000.0 + len(fixes))
        assert now is not None and abs(now - (t0 + len(fixes))) < 2.0
    finally:
        svc.stop()
