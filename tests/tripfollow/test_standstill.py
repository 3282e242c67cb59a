"""StandstillDetector against speed sources as they really report: a wheel-speed sensor that reads 0
below its cutoff, is filtered and refreshed only every 20-200 ms; GNSS Doppler speed noisy at rest."""

from __future__ import annotations

import math
import random

import pytest

from onboard.tripfollow.position import StandstillDetector

T0 = 1_795_000_000.0


def braking(v0: float, decel: float, t_stop: float, t: float, jerk: float = 0.0) -> float:
    """True speed at ``t`` braking at ``decel`` to a standstill at ``t_stop``; with ``jerk`` the driver
    eases the brake off for the last ``decel / jerk`` seconds (deceleration falling linearly to 0)."""
    tau = t_stop - t
    if tau <= 0.0:
        return 0.0
    if jerk <= 0.0:
        return min(v0, decel * tau)
    if tau <= decel / jerk:
        return min(v0, jerk * tau * tau / 2.0)
    return min(v0, decel * tau - decel * decel / (2.0 * jerk))


def wheel(true_v: list[tuple[float, float]], *, cutoff_kmh: float, refresh_s: float, lag_s: float,
          period_s: float = 0.1) -> list[tuple[float, float]]:
    """CCVS1 samples every ``period_s`` of a sensor refreshed every ``refresh_s``, first-order filtered,
    0 below the cutoff, quantised to 1/256 km/h (the way sim_bus.canbus.WheelSensor models it)."""
    fn = dict(true_v)
    times = sorted(fn)
    alpha = 1.0 - math.exp(-refresh_s / lag_s) if lag_s > 0 else 1.0
    y = fn[times[0]]
    out_v = y
    next_refresh = times[0]
    next_frame = times[0]
    samples = []
    for t in times:
        if t >= next_refresh - 1e-9:
            y += alpha * (fn[t] - y)
            out_v = y if y >= cutoff_kmh / 3.6 else 0.0
            next_refresh += refresh_s
        if t >= next_frame - 1e-9:
            samples.append((t, round(out_v * 3.6 * 256) / 256 / 3.6))
            next_frame += period_s
    return samples


def run(samples: list[tuple[float, float]], can: bool = True) -> list[tuple[str, float]]:
    det = StandstillDetector()
    out = []
    for t, v in samples:
        ev = det.on_can(t, v) if can else det.on_gnss(t, v)
        if ev is not None:
            out.append(ev)
    return out


def fine(t0: float, t1: float, f) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    n = round((t1 - t0) / 0.01)
    return [(round(t0 + i * 0.01, 2), f(t0 + i * 0.01)) for i in range(n + 1)]


@pytest.mark.parametrize(("cutoff", "refresh", "decel", "jerk"), [
    (0.5, 0.1, 0.7, 0.5), (2.0, 0.1, 0.7, 0.75), (4.0, 0.1, 0.5, 1.0), (4.0, 0.2, 1.1, 0.6),
    (3.0, 0.02, 0.9, 0.9), (2.0, 0.05, 1.3, 0.75)])
def test_stop_behind_a_wheel_cutoff_is_extrapolated(cutoff: float, refresh: float, decel: float,
                                                    jerk: float) -> None:
    t_stop = T0 + 30.0
    true_v = fine(T0, T0 + 40.0, lambda t: braking(15.0, decel, t_stop, t, jerk))
    evs = run(wheel(true_v, cutoff_kmh=cutoff, refresh_s=refresh, lag_s=0.0))
    assert [name for name, _t in evs] == ["stop"]  # moving at the start: one event, the stop
    # the vehicle rolls up to 2.5 s after the last nonzero reading; the ease-off jerk is not observable
    assert evs[0][1] == pytest.approx(t_stop, abs=0.4)


def test_constant_braking_to_the_stop_is_placed_at_most_the_assumed_ease_off_late() -> None:
    t_stop = T0 + 30.0
    true_v = fine(T0, T0 + 40.0, lambda t: braking(15.0, 0.8, t_stop, t))
    evs = run(wheel(true_v, cutoff_kmh=3.0, refresh_s=0.1, lag_s=0.0))
    # no ease-off at all (a hard stop): late by a / (2 j) with the assumed comfort jerk 0.75 m/s3
    assert t_stop <= evs[0][1] <= t_stop + 0.8 / 1.5 + 0.15


def test_filter_lag_makes_the_stop_at_most_that_much_late() -> None:
    t_stop = T0 + 30.0
    true_v = fine(T0, T0 + 40.0, lambda t: braking(15.0, 0.7, t_stop, t, 0.75))
    evs = run(wheel(true_v, cutoff_kmh=3.0, refresh_s=0.1, lag_s=0.3))
    stop = [t for name, t in evs if name == "stop"][-1]
    # a first-order filter delays a ramp by its time constant; the extrapolation cannot know it
    assert t_stop - 0.05 <= stop <= t_stop + 0.45


def test_move_off_behind_the_cutoff_is_placed_back() -> None:
    t_go = T0 + 20.0
    true_v = fine(T0, T0 + 40.0, lambda t: max(0.0, min(12.0, 1.0 * (t - t_go))))
    samples = [(T0 - 1.0, 0.0)] + wheel(true_v, cutoff_kmh=3.0, refresh_s=0.1, lag_s=0.0)
    evs = run(samples)
    moves = [t for name, t in evs if name == "move"]
    assert len(moves) == 1
    # the sensor first reads 3 km/h 0.83 s after the start; the typical acceleration puts it back
    assert moves[0] == pytest.approx(t_go, abs=0.35)
    assert moves[0] < t_go + 0.5  # not merely the previous zero reading


def test_gnss_speed_noisy_at_rest_gives_one_stop_and_no_move() -> None:
    rng = random.Random(3)
    t_stop = T0 + 30.5
    samples = []
    for k in range(90):
        t = T0 + k
        v = braking(12.0, 0.8, t_stop, t, 0.75)
        # Doppler velocity noise per axis: the speed is the magnitude (never exactly 0)
        samples.append((t, math.hypot(v + rng.gauss(0, 0.12), rng.gauss(0, 0.12))))
    evs = run(samples, can=False)
    assert [name for name, _t in evs] == ["stop"]  # moving at the start: no event until the stop
    assert evs[0][1] == pytest.approx(t_stop, abs=1.0)


def test_doors_opening_caps_an_extrapolated_stop() -> None:
    """A slow final ease-off fools the extrapolation late; doors open only at a standstill."""
    det = StandstillDetector()
    for k in range(20):
        det.on_can(T0 + k * 0.1, 1.5 - k * 0.02)  # gentle: 0.2 m/s2, 1.12 m/s at the last moving reading
    ev = det.on_can(T0 + 2.0, 0.0)
    assert ev is not None and ev[0] == "stop" and ev[1] > T0 + 3.0  # rolling on behind the cutoff
    det.doors_opened(T0 + 2.5)
    assert det.stopped and det.since == T0 + 2.5
    det.doors_opened(T0 + 9.0)  # a later door cycle does not move the standstill
    assert det.since == T0 + 2.5
