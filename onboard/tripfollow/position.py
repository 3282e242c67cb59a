"""Where the vehicle is along its trip, and whether it stands still.

Position is the chainage of the GNSS antenna along the trip's shape:

* CAN wheel speed (10 Hz) is integrated into travelled distance; between fixes, and through GNSS
  outages, the chainage advances by that distance (``ODO``). Without CAN speed the VDHR odometer is
  used, and without either the last GNSS speed for a few seconds (``DR``).
* Each fix is projected onto the shape within a window around the predicted chainage (so a parallel
  track or the opposite direction cannot capture it). A fix that disagrees with the odometer
  prediction by more than the gate is a multipath outlier and is rejected; agreeing fixes pull the
  estimate towards them with a small gain, which removes odometer scale drift (wheel wear) slowly.
  A run of consistent rejections means the odometer is wrong (wheel slip, a jump): re-anchor.
* Without odometer the receiver alone carries the position: :class:`~onboard.tripfollow.gnssmotion.GnssTrack`
  (its Doppler speed, the epoch interval, its error estimate; a gate that scales with them).
* Progress is monotone: the vehicle does not reverse on a trip.
* What the unit saw: an *observation* is an accepted fix, the receiver's Doppler speed carrying an
  observed position on, or the odometer. When observations resume after more than ``blind_s`` without
  one, the tracker records the :class:`Gap` (last observation before, first after): what happened to
  stops inside it was not seen, and stop events must say so (``onboard.tripfollow.stops``).

Standstill comes from CAN speed when it is current — far more precise than GNSS Doppler speed near
zero — else from GNSS speed. The moment of stopping is interpolated to when speed reached zero, using
the deceleration seen in the samples before, not the time of the first zero sample.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import msgspec

from onboard.tripfollow.gnssmotion import GnssMotionConfig, GnssTrack, PositionMotion, signed_offset
from transit.geo import Polyline

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PositionConfig:
    window_m: float = 400.0  # projection window around the prediction
    max_offset_m: float = 45.0  # a fix farther from the shape is not on the trip (multipath, detour)
    gate_m: float = 22.0  # |fix - odometer prediction| above this: outlier (multipath 30-80 m)
    gain: float = 0.15  # pull towards an accepted fix when the first fix confirms the assumed position
    tau_s: float = 8.0  # time constant of the GNSS correction of the odometer track
    reanchor_after: int = 8  # consecutive consistent rejections that re-anchor on GNSS
    gps_fresh_s: float = 2.5  # loc GPS while the last accepted fix is this recent
    dr_max_s: float = 10.0  # GNSS-speed dead reckoning (no CAN) at most this long
    # longer than this without an observation (accepted fix, Doppler speed carrying one on, odometer)
    # the unit is blind: a few lost or rejected epochs are not blindness (the motion model bridges them;
    # a vehicle cannot stop and go again in 6 s)
    blind_s: float = 6.0
    # the fastest a vehicle goes (m/s): after a restart the first fix or odometer reading is looked for
    # no farther on than this
    gnss_vmax_mps: float = 45.0
    gnss: GnssMotionConfig = field(default_factory=GnssMotionConfig)


@dataclass(frozen=True, slots=True)
class Gap:
    """The unit was blind from ``t0`` (last observation: chainage ``s0``, speed ``v0``) to ``t1`` (first
    observation again: ``s1``, ``v1``). ``assumed``: ``t0``/``s0`` are the assumption that the vehicle stood
    at its first stop, not an observation."""

    t0: float
    s0: float
    v0: float
    t1: float
    s1: float
    v1: float
    assumed: bool = False


class PositionSnapshot(msgspec.Struct, frozen=True):
    """Where the tracker was (:meth:`PositionTracker.snapshot`): the estimate, the last observation, the
    odometer reading that went with it and the recent knots for crossing times."""

    s: float
    t: float
    obs: tuple[float, float, float] | None  # (t, s, v) of the last observation
    odo: float | None  # vehicle odometer (m) at the estimate
    history: list[tuple[float, float]]


#: how many recent (t, s) knots a snapshot keeps (crossing times of stops the vehicle is near)
SNAPSHOT_KNOTS = 64


class PositionTracker:
    """Chainage estimate on one shape; fed in time order. Pure: no clock."""

    def __init__(self, shape: Polyline, cfg: PositionConfig | None = None) -> None:
        self.shape = shape
        self.cfg = cfg or PositionConfig()
        self.s: float | None = None  # antenna chainage
        self.t: float | None = None  # time of the estimate
        self.assumed = False  # s is an assumption (vehicle at its first stop), not a measurement
        self.last_fix_t: float | None = None
        self.last_fix_speed: float | None = None
        self.can_speed_t: float | None = None
        self.can_speed: float = 0.0
        self.odo_t: float | None = None
        self.odo: float | None = None
        self.rejects: list[float] = []  # residuals of consecutive rejected fixes
        self.stats = {"fixes": 0, "accepted": 0, "off_shape": 0, "outliers": 0, "reanchored": 0}
        self.history: list[tuple[float, float]] = []  # (t, s) knots for crossing times, bounded
        self.dr = False  # the estimate was last advanced on GNSS speed alone
        self.gnss = GnssTrack(shape, self.cfg.gnss)  # the receiver-only motion model
        self.pmotion = PositionMotion()  # standstill from positions (receivers without speed)
        self.pending_motion: tuple[str, float] | None = None  # its last transition, for the core
        self.last_verdict = ""  # what the receiver-only model made of the last fix
        self.accept_log: list[float] | None = None  # times of the fixes taken (set by a benchmark)
        self.obs: tuple[float, float, float] | None = None  # (t, s, v) of the last observation
        self.assumed_at: tuple[float, float] | None = None
        self.gaps: list[Gap] = []  # blind intervals, in time order
        self.driven_t: float | None = None  # last time the odometer / wheel speed moved the estimate
        #: restored after a restart: (t, s, odometer) of the snapshot. Until an odometer reading or a fix
        #: places the vehicle again the unit is blind (it does not know how far it went while down).
        self.resume_from: tuple[float, float, float | None] | None = None

    # -- restart ------------------------------------------------------------------------------------
    def snapshot(self, odo: float | None) -> PositionSnapshot | None:
        """The estimate as data (None before the first one); ``odo``: the vehicle odometer now."""
        if self.s is None or self.t is None:
            return None
        if self.resume_from is not None:  # not placed again since the last restart: keep that anchor
            t0, s0, odo0 = self.resume_from
            return PositionSnapshot(s0, t0, self.obs, odo0, self.history[-SNAPSHOT_KNOTS:])
        return PositionSnapshot(self.s, self.t, self.obs, odo, self.history[-SNAPSHOT_KNOTS:])

    def resume(self, st: PositionSnapshot) -> None:
        """Continue from a snapshot taken before a restart. The vehicle may have moved meanwhile: the
        estimate waits for the odometer (distance since the snapshot) or a fix, and the time since the
        last observation becomes a blind :class:`Gap` when it is longer than ``blind_s``."""
        self.s, self.t, self.obs = st.s, st.t, st.obs
        self.history = [(t, s) for t, s in st.history]
        self.resume_from = (st.t, st.s, st.odo)

    # -- inputs -------------------------------------------------------------------------------------
    def assume(self, t: float, s: float) -> None:
        """Place the vehicle (e.g. at its first stop) until a fix says otherwise."""
        self.s, self.t, self.assumed = s, t, True
        self.assumed_at = (t, s)
        self._knot(t, s)

    def on_speed(self, t: float, v: float) -> None:
        """CAN wheel speed sample: integrate distance (trapezoid) since the previous sample."""
        if self.resume_from is not None:  # where from is not known yet: no distance to add to it
            self.can_speed_t, self.can_speed = t, v
            return
        if self.can_speed_t is not None and t > self.can_speed_t and t - self.can_speed_t < 2.0:
            self._advance(t, (self.can_speed + v) / 2.0 * (t - self.can_speed_t))
            self.driven_t = t
            if self.s is not None:
                self._observed(t, v)  # the wheels are seen turning (or not), even from an assumed place
        elif self.s is not None:
            self.t = max(self.t or t, t)
        self.can_speed_t, self.can_speed = t, v

    def on_odometer(self, t: float, odo_m: float) -> None:
        """VDHR total distance: used only when CAN speed is not current (coarse, 5 m steps)."""
        if self.resume_from is not None:
            self._resume_odometer(t, odo_m)
            self.odo_t, self.odo = t, odo_m
            return
        if self.odo is not None and self.odo_t is not None and not self._can_current(t):
            d = odo_m - self.odo
            if 0 <= d < 500:
                self._advance(t, d)
                self.driven_t = t
                if self.s is not None and self.odo_t is not None and t > self.odo_t:
                    self._observed(t, d / (t - self.odo_t))
        self.odo_t, self.odo = t, odo_m

    def on_fix(self, t: float, lat: float, lon: float, speed: float | None, *,
               sigma: float | None = None) -> bool:
        """A GNSS position (``speed``: the receiver's Doppler speed, None when it sends none; ``sigma``:
        its horizontal error per axis, :func:`~onboard.tripfollow.gnssmotion.fix_sigma`). Returns True
        when accepted."""
        cfg = self.cfg
        self.stats["fixes"] += 1
        if speed is not None:
            self.last_fix_speed = speed
        sig = sigma if sigma is not None else cfg.gnss.sigma_default_m
        if self.resume_from is not None:
            return self._resume_fix(t, lat, lon, speed, sig)
        if not self._odo_driven(t):
            return self._gnss_fix(t, lat, lon, speed, sig)
        if self.s is None or (self.assumed and self.last_fix_t is None):
            pr = self.shape.project(lat, lon)
            if pr.offset_m > cfg.max_offset_m:
                self.stats["off_shape"] += 1
                return False
            if self.s is not None and abs(pr.distance_m - self.s) <= cfg.window_m:
                # the assumption holds: keep the odometer-advanced estimate, nudge it
                self.s += cfg.gain * (pr.distance_m - self.s)
            else:
                if self.s is not None:
                    log.info("first fix %.0f m from the assumed position: re-anchored", pr.distance_m - self.s)
                    self.stats["reanchored"] += 1
                self.s = pr.distance_m
            self.assumed = False
            self.gnss.reset(t, self.s, speed if speed is not None and speed > cfg.gnss.rest_mps else 0.0, sig,
                            offset=signed_offset(self.shape, pr.segment, lat, lon, pr.offset_m))
            self.last_verdict = "first"
            self._accept(t)
            self._observed(t, self.gnss.v)
            return True
        pred = self.s
        pr = self.shape.project(lat, lon, lo_m=max(0.0, pred - cfg.window_m), hi_m=pred + cfg.window_m)
        if pr.offset_m > cfg.max_offset_m:
            self.stats["off_shape"] += 1
            return False
        r = pr.distance_m - pred
        # the odometer carries the estimate: the fix corrects it (the receiver-only path is _gnss_fix)
        if abs(r) > cfg.gate_m:
            self.stats["outliers"] += 1
            self.rejects.append(r)
            if len(self.rejects) >= cfg.reanchor_after and _consistent(self.rejects[-cfg.reanchor_after:]):
                log.info("odometer and GNSS disagree by %.0f m for %d fixes: re-anchored on GNSS",
                         r, len(self.rejects))
                self.stats["reanchored"] += 1
                self._set(t, pr.distance_m, correction=True)
                self.rejects.clear()
                self._accept(t)
                return True
            return False
        self.rejects.clear()
        # complementary filter: the odometer carries the short term, GNSS the long term (time
        # constant ``tau_s`` whatever the receiver rate)
        dt = t - self.last_fix_t if self.last_fix_t is not None else cfg.tau_s
        k = 1.0 - math.exp(-max(min(dt, cfg.tau_s), 0.0) / cfg.tau_s)
        self._set(t, pred + k * r, correction=True)
        self._accept(t)
        return True

    def _gnss_fix(self, t: float, lat: float, lon: float, speed: float | None, sigma: float) -> bool:
        """No odometer: the receiver-only motion model moves the estimate and gates the fix."""
        gt = self.gnss
        if self.s is not None and not self.assumed and self.driven_t is not None \
                and (gt.t is None or gt.t < self.driven_t):
            # the odometer carried the estimate until now: the receiver model takes over from there
            gt.place(self.t if self.t is not None else t, self.s, self.can_speed if self._can_current(t) else 0.0)
        # nothing measured yet (or only assumed): the receiver model acquires the vehicle on the shape
        seeing = self.observing(t)
        verdict = gt.on_epoch(t, lat, lon, speed, sigma)
        self.last_verdict = verdict.reason
        if verdict.reason == "off_shape":
            self.stats["off_shape"] += 1
        elif verdict.reason in ("outlier", "tentative"):
            self.stats["outliers"] += 1
        elif verdict.reason in ("acquired", "reanchored"):
            self.stats["reanchored"] += 1
        if verdict.path and self.assumed:
            if self.s is not None and abs(verdict.path[0][1] - self.s) > self.cfg.window_m:
                log.info("first fix %.0f m from the assumed position: re-anchored", verdict.path[0][1] - self.s)
            self.assumed = False
        for tk, sk, vk, zk in verdict.path:
            # the fixes taken now (a re-acquisition takes those it waited for, back to the first)
            self.dr = False
            self._set(tk, sk, correction=True)
            self._observed(tk, vk)
            self._accept(tk)
            if speed is None:  # no Doppler: standstill and moving off come from the positions
                ev = self.pmotion.on_position(tk, zk)
                if ev is not None:
                    self.pending_motion = ev
        if not verdict.path and speed is not None and seeing and gt.ready and not gt.acq:
            # the position was rejected, but the Doppler speed carries the observed estimate on
            self._set(t, gt.s, correction=True)
            self._observed(t, gt.v)
        return verdict.accepted

    def dead_reckon(self, t: float) -> None:
        """No fix and no CAN: carry on at the last speed for at most ``dr_max_s`` (for positions and
        predictions only: it is not an observation, stop events wait for one)."""
        if (self.resume_from is not None or self.s is None or self.t is None or self._can_current(t) or self.last_fix_t is None
                or t <= self.t or t - self.last_fix_t > self.cfg.dr_max_s):
            return
        v = self.gnss.v if self.gnss.ready else self.last_fix_speed
        if v is None:
            return
        self._advance(t, v * (t - self.t))
        self.dr = True

    def _resume_odometer(self, t: float, odo_m: float) -> None:
        """First odometer reading after a restart: the snapshot's place plus the distance since."""
        assert self.resume_from is not None
        t0, s0, odo0 = self.resume_from
        if odo0 is None or t <= t0:
            return
        d = odo_m - odo0
        # the odometer only counts up; farther than the fastest vehicle could go is another odometer
        if not 0.0 <= d <= self.cfg.gnss_vmax_mps * (t - t0) + 50.0:
            log.info("odometer after the restart %.0f m from the snapshot's: waiting for a fix", d)
            return
        self.resume_from = None
        self._set(t, s0 + d, correction=True)
        self.driven_t = t
        self._observed(t, self.can_speed if self._can_current(t) else self._speed_guess(t))

    def _resume_fix(self, t: float, lat: float, lon: float, speed: float | None, sigma: float) -> bool:
        """First fix after a restart: placed on the shape no farther on than the vehicle can have gone."""
        assert self.resume_from is not None
        cfg = self.cfg
        t0, s0, _odo0 = self.resume_from
        reach = cfg.gnss_vmax_mps * max(t - t0, 0.0)
        pr = self.shape.project(lat, lon, lo_m=max(0.0, s0 - cfg.window_m), hi_m=s0 + reach + cfg.window_m)
        if pr.offset_m > cfg.max_offset_m:
            self.stats["off_shape"] += 1
            return False
        self.resume_from = None
        self.assumed = False
        self._set(t, max(pr.distance_m, s0 - cfg.gate_m), correction=True)
        assert self.s is not None
        v = speed if speed is not None and speed > cfg.gnss.rest_mps else 0.0
        self.gnss.reset(t, self.s, v, sigma, offset=signed_offset(self.shape, pr.segment, lat, lon, pr.offset_m))
        self.last_verdict = "resumed"
        self._accept(t)
        self._observed(t, self.can_speed if self._can_current(t) else v)
        return True

    def _speed_guess(self, t: float) -> float:
        """Speed for an observation without a current wheel speed: the receiver's, if recent."""
        if self.last_fix_t is not None and t - self.last_fix_t <= self.cfg.gps_fresh_s and self.last_fix_speed:
            return self.last_fix_speed
        return 0.0

    # -- what the unit saw --------------------------------------------------------------------------
    def observing(self, t: float) -> bool:
        """The estimate at ``t`` rests on an observation at most ``blind_s`` old (or on the odometer)."""
        if self.resume_from is not None:
            return False
        return (self.obs is not None and t - self.obs[0] <= self.cfg.blind_s) or (
            self.s is not None and self._odo_driven(t))

    def _observed(self, t: float, v: float) -> None:
        s = self.s
        assert s is not None
        o = self.obs
        if o is None and self.assumed_at is not None and t - self.assumed_at[0] > self.cfg.blind_s:
            self._gap(Gap(self.assumed_at[0], self.assumed_at[1], 0.0, t, s, v, assumed=True))
        elif o is not None and t - o[0] > self.cfg.blind_s:
            self._gap(Gap(o[0], o[1], o[2], t, s, v))
        self.obs = (t, s, v)

    def _gap(self, g: Gap) -> None:
        log.info("blind for %.0f s (chainage %.0f -> %.0f)", g.t1 - g.t0, g.s0, g.s1)
        self.gaps.append(g)  # one per outage, and a tracker lives for one trip: not bounded

    # -- outputs ------------------------------------------------------------------------------------
    def loc(self, t: float) -> str:
        """HFP location source of the current estimate."""
        if self.s is None:
            return "N/A"
        if self.last_fix_t is not None and t - self.last_fix_t <= self.cfg.gps_fresh_s:
            return "GPS"
        if self.assumed and self.last_fix_t is None:
            return "N/A" if not self._can_current(t) else "ODO"
        if self._can_current(t) or (self.odo_t is not None and t - self.odo_t < 2.5):
            return "ODO"
        return "DR" if self.dr else "N/A"

    def time_at(self, s: float) -> float | None:
        """When the antenna passed chainage ``s`` (interpolated between estimate knots)."""
        h = self.history
        for i in range(len(h) - 1, 0, -1):
            (t0, s0), (t1, s1) = h[i - 1], h[i]
            if s0 <= s <= s1 and s1 > s0:
                return t0 + (t1 - t0) * (s - s0) / (s1 - s0)
            if s1 < s:
                break
        return None

    # -- internals ----------------------------------------------------------------------------------
    def _can_current(self, t: float) -> bool:
        return self.can_speed_t is not None and t - self.can_speed_t < 1.5

    def _odo_driven(self, t: float) -> bool:
        return self._can_current(t) or (self.odo_t is not None and t - self.odo_t < 2.5)

    def _advance(self, t: float, d: float) -> None:
        if self.s is None:
            return
        self._set(t, self.s + max(d, 0.0))

    def _set(self, t: float, s: float, correction: bool = False) -> None:
        if self.s is not None and s < self.s and not correction:
            s = self.s  # monotone progress along the trip; only a measurement may pull it back
        self.s = min(max(s, 0.0), self.shape.length_m)
        self.t = t
        self._knot(t, self.s)

    def _knot(self, t: float, s: float) -> None:
        h = self.history
        while h and h[-1][0] > t:
            h.pop()  # a re-acquisition or re-anchoring rewrites the recent past
        if h and s - h[-1][1] < 0.5 and t - h[-1][0] < 5.0:
            if s == h[-1][1]:
                return
        h.append((t, s))
        if len(h) > 4000:
            del h[:2000]

    def _accept(self, t: float) -> None:
        self.dr = False
        self.stats["accepted"] += 1
        self.last_fix_t = t
        if self.accept_log is not None:
            self.accept_log.append(t)


def _consistent(res: list[float]) -> bool:
    """Rejected residuals that agree with each other (a real offset, not scattered multipath)."""
    return max(res) - min(res) < 30.0 and all(math.copysign(1, r) == math.copysign(1, res[0]) for r in res)


@dataclass(frozen=True, slots=True)
class SpeedConfig:
    can_stop_mps: float = 0.05  # CAN wheel speed at or below this is standstill
    can_move_mps: float = 0.2
    gnss_stop_mps: float = 0.4  # GNSS Doppler speed is noisy near zero
    gnss_move_mps: float = 1.2
    can_fresh_s: float = 1.0
    default_decel_mps2: float = 0.8
    default_accel_mps2: float = 0.8
    decel_window_s: float = 2.5  # the deceleration is fitted to the moving samples this far back
    decel_min_mps2: float = 0.15  # plausible service braking near a stop (a fit outside is not trusted)
    decel_max_mps2: float = 2.5
    # a speed source reading 0 while the vehicle still rolls (wheel sensors read 0 below a cutoff of up
    # to ~5 km/h) does so for at most this long: the extrapolated stop lies at most this far after it
    max_roll_s: float = 4.0
    # drivers (and ATO) ease the brake off for the last metres so the vehicle does not jolt: the
    # deceleration falls to 0 at a comfort jerk of about 0.5-1 m/s3; this hides below a wheel sensor's
    # cutoff, so it is assumed (0: constant deceleration to the stop)
    stop_jerk_mps3: float = 0.75


class StandstillDetector:
    """Standstill from speed samples; reports the interpolated moments of stopping and moving off.

    A wheel-speed sensor reads 0 below its cutoff (a few km/h) while the vehicle is still rolling, and
    its value is filtered and refreshed only every 20-200 ms (repeated in the frames between). So the
    moment of stopping is extrapolated from the deceleration fitted (least squares) to the distinct
    moving samples of the last seconds, and the stop put where that braking, eased off at a comfort
    jerk for the last metres, reaches 0 from the last moving value. Moving off is placed back the same way
    from the first reading above the cutoff with a typical acceleration.
    """

    def __init__(self, cfg: SpeedConfig | None = None) -> None:
        self.cfg = cfg or SpeedConfig()
        self.stopped: bool | None = None
        self.since: float | None = None  # when the current state began (interpolated)
        self.can_t: float | None = None
        self.gnss_t: float | None = None  # last Doppler speed sample
        self._prev: list[tuple[float, float]] = []  # recent samples of the active source (time order)

    def source_is_can(self, t: float) -> bool:
        return self.can_t is not None and t - self.can_t <= self.cfg.can_fresh_s

    def on_can(self, t: float, v: float) -> tuple[str, float] | None:
        self.can_t = t
        return self._sample(t, v, self.cfg.can_stop_mps, self.cfg.can_move_mps)

    def on_gnss(self, t: float, v: float) -> tuple[str, float] | None:
        if self.source_is_can(t):
            return None
        self.gnss_t = t
        return self._sample(t, v, self.cfg.gnss_stop_mps, self.cfg.gnss_move_mps, gnss=True)

    def on_motion(self, t: float, ev: tuple[str, float] | None) -> tuple[str, float] | None:
        """A transition found from positions (a receiver without speed): taken when no speed source is
        current."""
        if ev is None or self.source_is_can(t) or (self.gnss_t is not None and t - self.gnss_t <= 3.0):
            return None
        self.stopped, self.since = ev[0] == "stop", ev[1]
        return ev

    def doors_opened(self, t: float) -> None:
        """Doors open only at a standstill: an extrapolated stop later than that is corrected."""
        if self.stopped and self.since is not None and self.since > t:
            self.since = t

    def _to_stop(self, v: float, a: float) -> float:
        """Seconds from speed ``v`` to the standstill braking at ``a``, the last part eased off: the
        deceleration falls linearly to 0 (v = j t^2 / 2 at t before the stop) from v = a^2 / (2 j)."""
        j = self.cfg.stop_jerk_mps3
        if j <= 0.0:
            return v / a
        v_ease = a * a / (2.0 * j)
        return (v - v_ease) / a + a / j if v >= v_ease else math.sqrt(2.0 * v / j)

    def _decel(self, moving: list[tuple[float, float]]) -> float:
        """Deceleration fitted to the moving samples (first frame of each repeated value only)."""
        pts: list[tuple[float, float]] = []
        for tv in moving:
            if not pts or tv[1] != pts[-1][1]:
                pts.append(tv)
        if len(pts) < 2:
            return self.cfg.default_decel_mps2
        n = len(pts)
        mt = sum(p[0] for p in pts) / n
        mv = sum(p[1] for p in pts) / n
        stt = sum((p[0] - mt) ** 2 for p in pts)
        if stt <= 0.0:
            return self.cfg.default_decel_mps2
        a = -sum((p[0] - mt) * (p[1] - mv) for p in pts) / stt
        if not self.cfg.decel_min_mps2 <= a <= self.cfg.decel_max_mps2:
            return self.cfg.default_decel_mps2 if a < self.cfg.decel_min_mps2 else self.cfg.decel_max_mps2
        return a

    def _start_from_rise(self, t: float, v: float, rest: float) -> float:
        """Doppler speed: the first movement is where a line fitted to the rising samples above the rest
        level (the standing receiver's noise) meets 0, not the first sample above the threshold: at 10 Hz
        that sample comes 1-2 s after the wheels started turning."""
        cfg = self.cfg
        run = [(t, v)]
        before: tuple[float, float] | None = None
        for tp, vp in reversed(self._prev):
            if vp <= rest or vp > run[-1][1] + 0.3 or run[-1][0] - tp > 2.0:
                before = (tp, vp)
                break
            run.append((tp, vp))
        run.reverse()
        a = cfg.default_accel_mps2
        t0 = t - v / a
        if len(run) >= 2:
            n = len(run)
            mt = sum(p[0] for p in run) / n
            mv = sum(p[1] for p in run) / n
            stt = sum((p[0] - mt) ** 2 for p in run)
            slope = sum((p[0] - mt) * (p[1] - mv) for p in run) / stt if stt > 0.0 else 0.0
            if cfg.decel_min_mps2 <= slope <= cfg.decel_max_mps2:
                a = slope
                t0 = mt - mv / slope
        lo = self.since if self.since is not None else t - cfg.max_roll_s
        if before is not None and t - before[0] <= cfg.max_roll_s:
            # at the last sample at rest the vehicle moved slower than the rest level
            lo = max(lo, before[0] - rest / a)
        return min(max(t0, lo), run[0][0])

    def _sample(self, t: float, v: float, stop_thr: float, move_thr: float,
                gnss: bool = False) -> tuple[str, float] | None:
        prev = self._prev
        cfg = self.cfg
        out: tuple[str, float] | None = None
        if self.stopped is None:
            self.stopped = v <= stop_thr
            self.since = t
            out = ("stop", t) if self.stopped else None
        elif not self.stopped and v <= stop_thr:
            t0 = t
            moving = [p for p in prev if p[1] > stop_thr and p[0] >= t - cfg.decel_window_s]
            if moving:
                a = self._decel(moving)
                # the last distinct moving value, at the first frame that carried it
                k = len(moving) - 1
                while k > 0 and moving[k - 1][1] == moving[-1][1]:
                    k -= 1
                tp, vp = moving[k]
                # a Doppler speed at rest level is the magnitude of noise, not motion: read it as 0
                vr = 0.0 if gnss else max(v, 0.0)
                t0 = tp + max(self._to_stop(vp, a) - self._to_stop(vr, a), 0.0)
                # a reading of (about) 0 may be a sensor below its cutoff: the vehicle may roll on
                t0 = min(t0, t + cfg.max_roll_s) if vr <= 0.0 and t0 > t else min(t0, t)
            self.stopped, self.since = True, t0
            out = ("stop", t0)
        elif self.stopped and v >= move_thr and gnss:
            t0 = self._start_from_rise(t, v, stop_thr)
            self.stopped, self.since = False, t0
            out = ("move", t0)
        elif self.stopped and v >= move_thr:
            t0 = t
            if prev:
                tp, vp = prev[-1]
                back = (v - min(vp, v)) / cfg.default_accel_mps2
                # after readings of 0 (below a wheel sensor's cutoff) the start lies further back than
                # the previous sample, but not before the standstill began
                floor = tp if vp > 0.0 else max(self.since if self.since is not None else tp,
                                                t - cfg.max_roll_s)
                t0 = min(max(t - back, floor), t)
            self.stopped, self.since = False, t0
            out = ("move", t0)
        prev.append((t, v))
        while prev and prev[0][0] < t - cfg.decel_window_s - 0.5:
            del prev[0]
        if len(prev) > 200:  # a 100 Hz source: keep the window bounded
            del prev[:-200]
        return out


__all__ = ["Gap", "PositionConfig", "PositionSnapshot", "PositionTracker", "SpeedConfig", "StandstillDetector"]
