"""Delay between stops: the scheduled run is accelerate-cruise-brake, not linear in distance, so a
vehicle that left on time does not look seconds late while it is still accelerating."""

from __future__ import annotations

import pytest

from onboard.tripfollow.plan import run_time

from .drive import T0, Drive, core_for, events, inputs, plan, run, stop


@pytest.mark.parametrize(("dist", "dur"), [(2000.0, 140.0), (3000.0, 240.0), (800.0, 90.0), (12000.0, 600.0)])
def test_run_time_is_a_monotone_profile_from_departure_to_arrival(dist: float, dur: float) -> None:
    ts = [run_time(dist * i / 200, dist, dur) for i in range(201)]
    assert ts[0] == 0.0 and ts[-1] == pytest.approx(dur)
    assert all(b >= a for a, b in zip(ts, ts[1:], strict=False))
    # slow at both ends: the first and last 5 % of the distance take longer than 5 % of the time
    assert ts[10] > 0.05 * dur and dur - ts[190] > 0.05 * dur
    # constant acceleration from standstill at the start
    assert run_time(10.0, dist, dur) == pytest.approx((2 * 10.0 / 0.7) ** 0.5)


def test_run_too_short_for_the_profile_is_linear() -> None:
    # 2 km in 60 s would need more than 0.7 m/s2 to reach 33 m/s and stop again: linear in distance
    assert run_time(500.0, 2000.0, 60.0) == pytest.approx(15.0)
    assert run_time(0.0, 0.0, 60.0) == 0.0


def test_delay_just_after_an_on_time_departure_stays_near_zero() -> None:
    """Departing on time and driving the scheduled run: the delay estimate between the stops stays
    within a few seconds (linear in distance, the accelerating train looked ~8 s late)."""
    d = Drive().stand(60).drive_to(3000, vmax=20.0).stand(40, doors=(2, 30)).drive_to(6000).stand(5)
    # schedule the run as the drive took it: departure at T0 + 60, arrival at the true standstill
    arr_b = d.standstills[0][0]
    stops = [stop("hilleroed", 0.0, T0 + 60, T0 + 60, seq=1), stop("grimstrup", 3000.0, arr_b, arr_b + 40, seq=2),
             stop("frederiksvaerk", 6000.0, d.standstills[1][0], d.standstills[1][0], seq=3)]
    recs = run(core_for([plan(stops)], vp=1.0), inputs(d, gnss_hz=1.0))
    between = [r for r in events(recs, "vp") if isinstance(r.dl, float) and 200.0 < r.dist < 2800.0]
    assert len(between) > 60
    assert max(abs(r.dl) for r in between) <= 4.0
