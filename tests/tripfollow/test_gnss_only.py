"""Trip following on GNSS alone (issue 13): the receiver-only motion model and gate, standstill from
positions, and what the unit says about stops it was blind for."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from hw.gnss.fix import Fix, FixMode
from onboard.tripfollow.gnssmotion import GnssTrack, PositionMotion, fix_sigma
from onboard.tripfollow.position import Gap
from onboard.tripfollow.stops import FollowConfig, TripFollower, _from_rest, _to_rest
from tests.tripfollow.drive import SHAPE, T0, Drive, core_for, events, inputs, plan, run, stop
from tests.tripfollow.test_stopevents import LOKALTOG, three_stops, ts
from transit.geo import offset_m


class Receiver:
    """Fixes along SHAPE with a correlated (Gauss-Markov) error, the way receivers err."""

    def __init__(self, seed: int, sigma: float = 2.0, tau: float = 30.0) -> None:
        self.rng = random.Random(seed)
        self.sigma, self.tau = sigma, tau
        self.e = [self.rng.gauss(0, sigma), self.rng.gauss(0, sigma)]
        self.t: float | None = None

    def fix(self, t: float, x: float, jump: tuple[float, float] | None = None) -> tuple[float, float]:
        dt = 1.0 if self.t is None else t - self.t
        self.t = t
        phi = math.exp(-dt / self.tau)
        k = self.sigma * math.sqrt(1 - phi * phi)
        self.e = [phi * e + k * self.rng.gauss(0, 1) for e in self.e]
        lat, lon, _ = SHAPE.point_at(x)
        n, e = self.e
        if jump is not None:  # (metres, direction in degrees from the direction of travel: north)
            n += jump[0] * math.cos(math.radians(jump[1]))
            e += jump[0] * math.sin(math.radians(jump[1]))
        return offset_m(lat, lon, n, e)


@pytest.mark.parametrize("size,angle,epochs", [(30, 0, 5), (30, 180, 3), (45, 90, 2), (80, 30, 5), (35, 5, 4),
                                                (60, 200, 1)])
@pytest.mark.parametrize("rate", [1, 10])
def test_multipath_jump_is_rejected_whichever_way_it_points(size: float, angle: float, epochs: int,
                                                             rate: int) -> None:
    """30-80 m jumps lasting 1-5 epochs, ahead along the track included: never taken, and the next
    fix that agrees with the vehicle is taken at once."""
    rx = Receiver(seed=int(size + angle + rate))
    gt = GnssTrack(SHAPE)
    v = 15.0
    dt = 1.0 / rate
    taken: list[tuple[float, float]] = []
    jump_at = round(60 * rate)
    for k in range(round(120 * rate)):
        t = T0 + k * dt
        x = 500.0 + v * k * dt
        jumping = jump_at <= k < jump_at + epochs
        lat, lon = rx.fix(t, x, (size, angle) if jumping else None)
        verdict = gt.on_epoch(t, lat, lon, v + rx.rng.gauss(0, 0.05), sigma=1.5)
        if verdict.accepted or verdict.path:
            taken += [(tk, sk) for tk, sk, _v, _z in verdict.path]
        if jumping:
            assert not verdict.accepted, f"jump {size} m at {angle} deg taken at epoch {k - jump_at}"
        if k == jump_at + epochs:
            assert verdict.accepted, "the receiver agrees again: taken at once"
    for tk, sk in taken:
        assert abs(sk - (500.0 + v * (tk - T0))) < 8.0
    assert gt.stats["outliers"] + gt.stats["off_shape"] >= epochs


def test_gate_scales_with_the_receivers_error_and_the_interval() -> None:
    """An 8 m disagreement is an outlier for a receiver that says it is good to 1 m, not for one that
    says 6 m; and the uncertainty the gate uses grows with the time since the last fix."""
    for sigma, accept in ((1.0, False), (6.0, True)):
        rx = Receiver(seed=3, sigma=0.3)
        gt = GnssTrack(SHAPE)
        for k in range(30):
            lat, lon = rx.fix(T0 + k, 1000.0)
            gt.on_epoch(T0 + k, lat, lon, 0.1, sigma=sigma)
        lat, lon = rx.fix(T0 + 30, 1008.0)
        assert gt.on_epoch(T0 + 30, lat, lon, 0.1, sigma=sigma).accepted is accept
    gt = GnssTrack(SHAPE)
    gt.reset(T0, 1000.0, 10.0, 2.0)
    spread = []
    for dt in (0.1, 1.0, 3.0):
        g = GnssTrack(SHAPE)
        g.reset(T0, 1000.0, 10.0, 2.0)
        g.predict(T0 + dt, 2.0, g.cfg.accel_psd_no_doppler)
        spread.append(g.P[0][0])
    assert spread[0] < spread[1] < spread[2]


@pytest.mark.parametrize("seed", range(4))
def test_standstill_wander_is_not_motion(seed: int) -> None:
    """Standing two minutes: the position wanders a few metres, the Doppler speed reads 0.1-0.5 kn; the
    estimate stays put and the speed at zero, and the core sees one standstill, no moving off."""
    rng = random.Random(seed)
    rx = Receiver(seed, sigma=2.5, tau=20.0)
    gt = GnssTrack(SHAPE)
    core = core_for([plan(three_stops())])
    moves = 0
    for k in range(120):
        t = T0 + k
        lat, lon = rx.fix(t, 2000.0)
        sog = math.hypot(rng.gauss(0, 0.12), rng.gauss(0, 0.12))
        assert sog < 0.6
        gt.on_epoch(t, lat, lon, sog, sigma=2.0)
        if k > 10:
            assert abs(gt.s - 2000.0) < 6.0 and gt.v < 0.5
        ev = core.core.still.on_gnss(t, sog)
        moves += ev is not None and ev[0] == "move"
    assert moves == 0 and core.core.still.stopped


def test_reacquisition_waits_for_fixes_that_agree() -> None:
    """After a 60 s outage the first fixes are a reflection 40 m ahead for 3 s: the model waits until
    the receiver's fixes have agreed for longer than a reflection lasts, then takes them from the first
    good one."""
    rx = Receiver(seed=9, sigma=1.5)
    gt = GnssTrack(SHAPE)
    v = 12.0
    taken = []
    for k in range(200):
        if 60 <= k < 120:
            continue  # outage
        t = T0 + k
        x = 300.0 + v * k
        lat, lon = rx.fix(t, x, (40.0, 0.0) if 120 <= k < 123 else None)
        verdict = gt.on_epoch(t, lat, lon, v, sigma=1.5)
        taken += [tk for tk, _s, _v, _z in verdict.path]
        if 120 <= k < 128:
            assert not verdict.path or k >= 123 + gt.cfg.confirm_s
    assert not set(taken) & {T0 + 120, T0 + 121, T0 + 122}
    assert T0 + 123 in taken  # back-dated to the first good fix
    assert abs(gt.s - (300.0 + v * 199)) < 6.0


def test_fix_sigma_from_gst_hdop_quality() -> None:
    cfg = GnssTrack(SHAPE).cfg
    assert fix_sigma(cfg, 2.0, 0.9, 12, 1) == pytest.approx(2.0 / math.sqrt(2))  # GST wins
    assert fix_sigma(cfg, None, 1.0, 12, 1) == pytest.approx(cfg.uere_m / math.sqrt(2))
    assert fix_sigma(cfg, None, 1.0, 12, 4) <= 0.05  # RTK fixed
    assert fix_sigma(cfg, None, 1.0, 4, 1) == pytest.approx(2 * cfg.uere_m / math.sqrt(2))  # no redundancy
    assert fix_sigma(cfg, None, None, None, 1) == cfg.sigma_default_m


@pytest.mark.parametrize("rate", [1, 10])
def test_stop_and_start_from_positions_alone(rate: int) -> None:
    """A receiver without speed: the stop and the start are fitted to the positions (braking eased off
    at the end, accelerating from rest) within about a second or two of the truth."""
    errs = []
    for seed in range(6):
        rng = random.Random(seed)
        rx = Receiver(seed, sigma=2.0, tau=40.0)
        pm = PositionMotion()
        t_stop, t_go = T0 + 30.0, T0 + 30.0 + rng.uniform(20, 90)
        b, a = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.1)
        got = {}
        for k in range(round(160 * rate)):
            t = T0 + k / rate
            if t < t_stop:
                tau = t_stop - t
                x = 1000.0 - (b * tau * tau / 2 if tau < 12 else b * 72 + b * 12 * (tau - 12))
            else:
                x = 1000.0 + 0.5 * a * max(t - t_go, 0.0) ** 2
            lat, lon = rx.fix(t, x)
            ev = pm.on_position(t, SHAPE.project(lat, lon).distance_m)
            if ev is not None and ev[0] not in got and t > T0 + 20:
                got[ev[0]] = ev[1]
        errs += [got["stop"] - t_stop, got["move"] - t_go]
    assert max(abs(e) for e in errs) < 3.0


# -- what the unit says when it was blind ---------------------------------------------------------------------
def test_physics_helpers() -> None:
    # 500 m from 20 m/s to rest at 1 m/s2, cruising: 25 s at speed less the braking distance, 20 s braking
    assert _to_rest(500.0, 20.0, 20.0, 1.0, 1.0) == pytest.approx((500 - 200) / 20 + 20)
    assert _from_rest(200.0, 20.0, 20.0, 1.0, 1.0) == pytest.approx(20.0)
    assert _from_rest(50.0, 20.0, 20.0, 1.0, 1.0) == pytest.approx(10.0)


def _follower() -> TripFollower:
    p = plan(three_stops())
    return TripFollower(p, FollowConfig.for_mode("train"), T0)


class _Sight:
    def __init__(self, gaps: list[Gap]) -> None:
        self.gaps = gaps

    def observing(self, t: float) -> bool:
        return True


def test_stop_inside_an_outage_is_estimated_never_passed() -> None:
    """Blind from 600 m before the stop at 2000 m (20 m/s) to 400 m after it (12 m/s), 100 s: time for a
    visit: arrival and departure estimated, marked EST with their uncertainty."""
    f = _follower()
    f.step(T0, 0.0, True, T0, None, False, lambda s: None)
    f.step(T0 + 70, 1300.0, False, None, T0 + 65, False, lambda s: None)
    g = Gap(T0 + 70, 1400.0, 20.0, T0 + 170, 2400.0, 12.0)
    evs = f.step(T0 + 170, 2400.0, False, None, T0 + 65, False, lambda s: None, sight=_Sight([g]))
    kinds = [(e[0], e[3].get("loc")) for e in evs if e[2] == 1]
    assert ("pas", "EST") not in kinds and not any(e[0] == "pas" for e in evs)
    assert ("ars", "EST") in kinds and ("dep", "EST") in kinds
    ars = next(e for e in evs if e[0] == "ars")
    dep = next(e for e in evs if e[0] == "dep" and e[2] == 1)
    # driving on at 20 m/s and braking at 0.8 m/s2: 600 m take 350 / 20 + 25 s
    assert ars[1] == pytest.approx(T0 + 70 + 42.5, abs=0.5)
    assert 0 < ars[3]["unc_s"] <= 60 and dep[1] > ars[1]


def test_stop_inside_a_long_outage_is_not_observed() -> None:
    """Blind for 4 minutes around the stop: too uncertain to estimate: one 'not_observed' event."""
    f = _follower()
    f.step(T0, 0.0, True, T0, None, False, lambda s: None)
    f.step(T0 + 70, 1300.0, False, None, T0 + 65, False, lambda s: None)
    g = Gap(T0 + 70, 1400.0, 20.0, T0 + 310, 2400.0, 12.0)
    evs = f.step(T0 + 310, 2400.0, False, None, None, False, lambda s: None, sight=_Sight([g]))
    assert [e[0] for e in evs if e[2] == 1] == ["not_observed"]
    assert f.done[1] == "not_observed"


def test_no_time_to_stop_is_a_pass_on_physics() -> None:
    """Blind for 8 s while passing at 20 m/s: no vehicle brakes, stands and pulls away that fast, so
    with positions on both sides while moving it passed (marked EST)."""
    f = _follower()
    f.step(T0, 0.0, True, T0, None, False, lambda s: None)
    f.step(T0 + 90, 1700.0, False, None, T0 + 65, False, lambda s: None)
    g = Gap(T0 + 100, 1920.0, 20.0, T0 + 108, 2080.0, 20.0)
    evs = f.step(T0 + 108, 2080.0, False, None, None, False, lambda s: None, sight=_Sight([g]))
    pas = [e for e in evs if e[0] == "pas"]
    assert len(pas) == 1 and pas[0][3]["loc"] == "EST" and pas[0][1] == pytest.approx(T0 + 104, abs=0.1)


def _gnss_fixes(d: Drive, gaps: tuple[tuple[float, float], ...], rate: float = 1.0) -> list:
    return [x for x in inputs(d, gnss_hz=rate, can=False, gnss_gaps=gaps)]


def test_core_without_can_outage_at_a_station() -> None:
    """The core on GNSS alone through an outage around the middle station: no pas, an estimated visit
    (or not observed), and the punctuality record says not observed, never passed."""
    d = Drive().stand(60).drive_to(2000).stand(40).drive_to(5000).stand(90)
    a_dep, b, c = T0 + 60, T0 + 200, T0 + 400
    stops = [stop("hilleroed", 0.0, a_dep, a_dep, seq=1), stop("frederiksvaerk", 2000.0, b, b + 30, seq=2),
             stop("hundested", 5000.0, c, c, seq=3)]  # all three are registration stations of 920R
    recs = run(core_for([plan(stops)], operator=LOKALTOG), _gnss_fixes(d, ((1500.0, 2400.0),)))
    assert not events(recs, "pas")
    mid = [r for r in recs if r.stop_id == "frederiksvaerk" and r.event in ("ars", "dep", "not_observed")]
    assert mid and all(r.loc == "EST" or r.event == "not_observed" for r in mid)
    if any(r.event == "ars" for r in mid):
        true_arr = d.standstills[0][0]
        ars = next(r for r in mid if r.event == "ars")
        assert abs(ts(ars) - true_arr) <= ars.unc_s
    punct = {r.stop_id: r for r in recs if r.event == "punctuality"}
    assert punct["frederiksvaerk"].status == "not_observed" and "pass" not in punct["frederiksvaerk"].reason
    # the stops it saw are measured as ever
    assert punct["hundested"].status == "measured"
    assert [r.stop_id for r in events(recs, "ars") if r.loc != "EST"] == ["hilleroed", "hundested"]


@pytest.mark.parametrize("rate", [1.0, 10.0])
def test_departure_is_the_first_movement(rate: float) -> None:
    """GNSS only: the departure is stamped when the wheels started turning (back-dated from the rising
    Doppler speed), not when the vehicle left the stop area."""
    d = Drive().stand(60).drive_to(2000).stand(40).drive_to(5000).stand(30)
    recs = run(core_for([plan(three_stops())]), _gnss_fixes(d, (), rate))
    dep = next(r for r in events(recs, "dep") if r.stop_id == "grimstrup")
    true_start = d.standstills[0][0] + 40.0
    assert abs(ts(dep) - true_start) < 0.6


def test_rejected_fixes_keep_the_position_on_doppler() -> None:
    """A 5-epoch reflection 30 m ahead while the vehicle stands at a stop: rejected, the Doppler speed
    (0.1-0.3 m/s at rest) keeps the unit observing, and no departure comes of it."""
    d = Drive().stand(60).drive_to(2000).stand(60).drive_to(5000).stand(30)
    t_jump = d.standstills[0][0] + 20
    items = inputs(d, gnss_hz=1.0, can=False, outliers={round(t_jump) + k: 30.0 for k in range(5)})
    recs = run(core_for([plan(three_stops())]), items)
    deps = [r for r in events(recs, "dep") if r.stop_id == "grimstrup"]
    assert len(deps) == 1 and ts(deps[0]) > t_jump + 30


def test_fix_from_the_receivers_own_dead_reckoning_is_not_a_position() -> None:
    """GGA quality 6 is the receiver estimating, not measuring: not taken as the vehicle's position."""
    core = core_for([plan(three_stops())])
    t = datetime.fromtimestamp(T0 + 5, UTC)
    lat, lon, _ = SHAPE.point_at(100.0)
    core.on_fix(Fix(t, lat, lon, 10.0, 0.0, 0.0, FixMode.FIX_3D, 6, 0.9, 12))
    assert core.core.pos is not None and core.core.pos.last_fix_t is None


def test_plan_stop_helper_matches() -> None:
    assert stop("x", 1.0, T0, T0).served
