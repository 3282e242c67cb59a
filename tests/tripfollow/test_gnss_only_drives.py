"""The GNSS-only benchmark's drives (bench/bench_gnss_only.py, issue 13) with fewer seeds: 910 without CAN
through outages at stations and between them, a signal stop before an outage station, a stop skipped at
speed right after an outage, multipath jumps, standstill wander, at 1 Hz and 10 Hz, for several receivers."""

from __future__ import annotations

import pytest

from bench.bench_gnss_only import gnss_drive, run_drive


@pytest.mark.parametrize("seed,rate,receiver", [
    (5, 1, "full"),
    (9, 10, "vtg_speed"),
    (7, 1, "late_rmc"),
    (1, 10, "gps_legacy"),
])
def test_drive_without_can(seed: int, rate: int, receiver: str) -> None:
    sc, tt, got = gnss_drive(seed, rate, "910-rush.yaml", receiver)
    assert got == receiver and sc.gnss.rate_hz == rate and sc.gnss.outages and sc.skips
    s, events = run_drive(sc, tt)
    assert s.visits >= 12 and s.passes >= 2 and s.jumps > 0
    assert (s.false_pas, s.false_arrivals, s.missed_arrivals_outside_outage, s.missed_departures_outside_outage,
            s.passes_missed, s.jumps_accepted) == (0, 0, 0, 0, 0, 0), s.notes
    assert s.arrivals and max(s.arrivals) <= 3.0 and max(s.departures) <= 5.0, s.notes
    assert max(s.estimated or [0.0]) <= 60.0
    # what the unit was blind for is estimated (EST, with its uncertainty) or said to be not observed
    blind = [e for e in events if e.get("loc") == "EST" or e["event"] == "not_observed"]
    assert blind and all(e["event"] == "not_observed" or e.get("unc_s") is not None for e in blind)
    punct = [e for e in events if e["event"] == "punctuality"]
    assert all(p["status"] in ("measured", "missing", "not_observed") for p in punct)
    assert not any(p["status"] == "missing" and "passed" in str(p.get("reason")) for p in punct)


def test_drive_with_a_receiver_without_speed() -> None:
    """No Doppler speed: standstill and moving off from positions alone (seconds, not tenths)."""
    sc, tt, _ = gnss_drive(3, 1, "910-rush.yaml", "no_speed")
    s, _events = run_drive(sc, tt)
    assert (s.false_pas, s.false_arrivals, s.missed_arrivals_outside_outage, s.jumps_accepted) == (0, 0, 0, 0), \
        s.notes
    assert max(s.arrivals) <= 6.0 and max(s.departures) <= 6.0, s.notes
