"""The project's own drivers read a recording: ``hw.gnss`` decoder and ``hw.can`` tracker against truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import can
import pytest

from hw.can.tracker import VehicleTracker
from hw.gnss.decoder import FixAssembler
from sim_bus.record import record
from transit.geo import haversine_m

from .conftest import SHORT


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    d = tmp_path_factory.mktemp("peers")
    (d / "s.yaml").write_text(SHORT, encoding="utf-8")
    return d / "out", record(d / "s.yaml", d / "out", show_progress=False)


def test_hw_gnss_decoder_gets_one_fix_per_epoch(rec: tuple[Path, Any]) -> None:
    out, sim = rec
    fa = FixAssembler()
    fixes = []
    for line in (out / "gnss.nmea").read_bytes().split(b"\r\n"):
        if line:
            fixes.extend(fa.feed(line))
    fixes.extend(fa.flush())
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    outages = [(r["start"], r["end"]) for r in truth if r["kind"] == "outage"]
    outliers = {round(r["t"]) + k for r in truth if r["kind"] == "outlier" for k in range(r["epochs"])}
    with_pos = [f for f in fixes if f.has_position]
    # every epoch outside an outage gives a position (a corrupt sentence may cost one sentence, not the epoch)
    expected = sum(1 for t, _, _ in sim.nmea.epochs if not any(a <= t < b for a, b in outages))
    assert len(with_pos) >= expected - 5
    for f in with_pos:
        t = f.time.timestamp()
        assert not any(a <= t < b for a, b in outages)
        p = sim.motion.track.at(t)
        lat, lon, _ = sim.plans[p.trip].shape.point_at(p.x)
        assert haversine_m(f.lat, f.lon, lat, lon) < (100 if round(t) in outliers else 12)
    st = fa.stats
    assert st.checksum_errors + st.no_checksum + st.malformed >= 1  # the declared corrupt lines


def test_hw_can_tracker_follows_the_vehicle(rec: tuple[Path, Any]) -> None:
    out, sim = rec
    n_doors = len(sim.scenario.vehicle.doors)
    tr = VehicleTracker(doors=n_doors)
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    visits = [r for r in truth if r["kind"] == "visit" and r["doors_open"] is not None]
    probes = sorted([(v["doors_open"] + 1.5, "open") for v in visits]
                    + [(v["doors_closed"] + 1.5, "closed") for v in visits if v["departure"]])
    seen: list[tuple[str, bool | None]] = []
    pi = 0
    for msg in can.LogReader(str(out / "can.log")):
        while pi < len(probes) and msg.timestamp >= probes[pi][0]:
            s = tr.state
            assert s is not None
            seen.append((probes[pi][1], s.doors_any_open))
            pi += 1
        tr.feed(msg)
    assert seen and all((want == "open") == bool(got) for want, got in seen)
    s = tr.state
    assert s is not None and s.odometer_m is not None
    assert s.odometer_m == pytest.approx(sim.motion.track.odo[-1], abs=5.0)  # VDHR: 5 m per bit
    assert s.speed_mps == pytest.approx(0.0, abs=0.01)
    assert tr.stats()["bad_frames"] == 0
