"""Receiver profiles: rates, talkers and sentence sets decode with pynmea2 and the project's decoder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pynmea2
import pytest

from hw.gnss.decoder import FixAssembler
from hw.gnss.nmea import checksum
from sim_bus.engine import Simulation, build
from sim_bus.gnss import SatView, _dop, generate_nmea, make_constellations, sky_at
from sim_bus.scenario import load_scenario

from .conftest import SHORT


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    p: Path = tmp_path_factory.mktemp("gnss") / "s.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return build(load_scenario(p))


@pytest.mark.parametrize("profile", [
    {"rate_hz": 10, "baud": 115200, "talker": "GN", "sentences": ("RMC", "GGA", "GNS", "GSA", "GST"),
     "constellations": ("GP", "GA")},
    {"rate_hz": 1, "baud": 9600, "talker": "GP", "sentences": ("RMC", "GGA", "GSA", "GSV"),
     "constellations": ("GP",)},
    {"rate_hz": 5, "baud": 38400, "talker": "GN", "sentences": ("GNS", "VTG", "ZDA"),
     "constellations": ("GP", "GL", "GA", "GB")},
], ids=["10Hz-GN-GNS", "1Hz-GP-legacy", "5Hz-GNS-only"])
def test_profiles_decode(sim: Simulation, profile: dict[str, object]) -> None:
    g = dataclasses.replace(sim.scenario.gnss, corrupt_count=0, outages=(), outlier_rate=0.0, ttff_s=0.0,
                            **profile)  # type: ignore[arg-type]
    out = generate_nmea(sim.motion, g, sim.scenario.vehicle, 5, {})
    rate = int(profile["rate_hz"])  # type: ignore[call-overload]
    assert len(out.epochs) == pytest.approx((sim.t_end - sim.t_start) * rate, abs=2)
    fa = FixAssembler()
    fixes = []
    talkers = set()
    for line in out.lines:
        body, _, cs = line[1:].rpartition("*")
        assert cs == checksum(body) and len(line) <= 82
        msg = pynmea2.parse(line)
        talkers.add(msg.talker)
        fixes.extend(fa.feed(line))
    fixes.extend(fa.flush())
    assert talkers <= {str(profile["talker"]), *profile["constellations"]}  # type: ignore[misc]
    with_pos = [f for f in fixes if f.has_position]
    # every epoch is one fix (the first epochs may wait for a date when no RMC/ZDA is sent)
    assert len(with_pos) >= len(out.epochs) - 3 * rate
    times = [f.time.timestamp() for f in with_pos]
    assert times == sorted(times)
    steps = {round(b - a, 3) for a, b in zip(times, times[1:], strict=False)}
    assert steps == {round(1 / rate, 3)}


def test_sky_is_plausible() -> None:
    import random

    orbits = make_constellations(("GP", "GL", "GA", "GB"), random.Random(1))
    for t in (1795414380.0, 1795414380.0 + 3 * 3600, 1795414380.0 + 9 * 3600):
        sky = sky_at(orbits, t, 55.9, 12.3)
        per = {s: sum(1 for v in sky.sats if v.system == s) for s in ("GP", "GL", "GA", "GB")}
        assert all(4 <= n <= 16 for n in per.values()), per
        assert 0.4 < sky.hdop < 2.0 and sky.pdop >= sky.hdop
        assert len({(v.system, v.prn) for v in sky.sats}) == len(sky.sats)


def test_dop_needs_four_satellites() -> None:
    sats = [SatView("GP", i, 45.0, 90.0 * i, 40.0, True) for i in range(3)]
    assert _dop(sats) == (99.99, 99.99, 99.99)
    sats.append(SatView("GP", 9, 88.0, 10.0, 45.0, True))
    p, h, v = _dop(sats)
    assert 0.5 < h < 5 and p > h and v > 0


def test_degraded_zone_worsens_the_fix(sim: Simulation) -> None:
    from sim_bus.scenario import DegradedZone, OutageZone

    zone = DegradedZone(OutageZone("canyon", from_m=3000.0, to_m=6000.0), sigma_m=8.0, outlier_rate=0.0,
                        mask_deg=35.0)
    g = dataclasses.replace(sim.scenario.gnss, corrupt_count=0, outages=(), outlier_rate=0.0, ttff_s=0.0,
                            sigma_m=1.0, degraded=(zone,))
    out = generate_nmea(sim.motion, g, sim.scenario.vehicle, 5, {})
    spans = [(r["start"], r["end"]) for r in out.truth if r["kind"] == "degraded"]
    assert len(spans) == 1 and spans[0][1] - spans[0][0] > 30
    inside, outside = [], []
    for line, t in zip(out.lines, out.line_t, strict=True):
        if line.startswith("$GNGGA"):
            msg = pynmea2.parse(line)
            (inside if spans[0][0] <= t < spans[0][1] else outside).append(
                (int(msg.num_sats), float(msg.horizontal_dil), msg.gps_qual))
    assert inside and outside
    assert max(s for s, _, q in inside if q) < min(s for s, _, _ in outside)
    assert min(h for _, h, q in inside if q) > max(h for _, h, _ in outside) * 0.9


@pytest.mark.parametrize("sigma", [0.05, 0.2])
def test_doppler_speed_noise_at_standstill(sim: Simulation, sigma: float) -> None:
    """A standing receiver reports the magnitude of a noisy velocity: positive, Rayleigh-distributed
    with mean sigma * sqrt(pi / 2); a moving one the true speed within a few sigma."""
    g = dataclasses.replace(sim.scenario.gnss, corrupt_count=0, outages=(), outlier_rate=0.0, ttff_s=0.0,
                            sentences=("RMC", "GGA"), speed_sigma_mps=sigma)
    out = generate_nmea(sim.motion, g, sim.scenario.vehicle, 5, {})
    fa = FixAssembler()
    fixes = [f for line in out.lines for f in fa.feed(line)] + fa.flush()
    track = sim.motion.track
    standing = [f.speed for f in fixes if f.speed is not None and track.at(f.time.timestamp()).v == 0.0]
    moving = [(f.speed, track.at(f.time.timestamp()).v) for f in fixes
              if f.speed is not None and track.at(f.time.timestamp()).v > 5.0]
    assert len(standing) > 100 and len(moving) > 100
    assert sum(standing) / len(standing) == pytest.approx(sigma * 1.2533, rel=0.2)
    assert sum(s > 0.0 for s in standing) > 0.9 * len(standing)  # RMC knots with 3 decimals: rarely 0
    assert all(abs(s - v) < 6 * sigma + 0.01 for s, v in moving)


def test_deferred_rmc_goes_out_after_the_next_epochs_gga(sim: Simulation) -> None:
    """A receiver sending each second's RMC after the next second's GGA: the sentences say so, and the
    decoder still gives one fix per second with that second's own position and speed."""
    g = dataclasses.replace(sim.scenario.gnss, corrupt_count=0, outages=(), outlier_rate=0.0, ttff_s=0.0,
                            talker="GP", constellations=("GP",), sentences=("GGA", "GSA", "RMC", "VTG"),
                            deferred=("RMC", "VTG"))
    out = generate_nmea(sim.motion, g, sim.scenario.vehicle, 5, {})
    kinds = [line[3:6] for line in out.lines[:12]]
    assert kinds[:6] == ["GGA", "GSA", "GGA", "RMC", "VTG", "GSA"]
    times = [line.split(",")[1] for line in out.lines[2:4]]
    assert times[0] > times[1]  # the RMC carries the earlier second
    plain = generate_nmea(sim.motion, dataclasses.replace(g, deferred=()), sim.scenario.vehicle, 5, {})
    fa, fb = FixAssembler(), FixAssembler()
    late = [f for line in out.lines for f in fa.feed(line)] + fa.flush()
    ref = [f for line in plain.lines for f in fb.feed(line)] + fb.flush()
    assert late == ref and len(ref) > 500 and fa.stats.late == 0
