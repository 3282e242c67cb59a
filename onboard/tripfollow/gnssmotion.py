"""The vehicle along its trip's shape from GNSS alone: a Kalman filter on what receivers give.

Units without usable CAN (older buses, a replacement vehicle, a gateway nobody connected) have only the
receiver. What it gives, per epoch: a position with its own error estimate (GST sigmas, else HDOP and the
number of satellites), the speed and course over ground from the Doppler shift (RMC/VTG; some receivers
send neither), the fix quality, and the time. The epoch interval is whatever the receiver runs at (1, 5,
10 Hz) and has gaps (outages, rejected epochs).

The model (:class:`GnssTrack`), per trip shape:

* State ``[s, v, b]``: the antenna's chainage, its speed along the shape (never negative: a vehicle does
  not reverse on a trip), and the along-track part of the receiver's position error. A receiver's error
  is not white: atmosphere, orbit and multipath errors change over tens of seconds, so consecutive fixes
  share most of it. It is modelled as a first-order Gauss-Markov process (correlation time
  ``corr_s``, standard deviation the receiver's own estimate) plus a small white part, the usual model in
  GNSS/odometry integration. Receivers misjudge their own error (HDOP x UERE is a rule of thumb): the
  running mean of the normalised innovations of the fixes taken scales the receiver's figure (at most
  ``sigma_scale_max``). Prediction over the real epoch interval ``dt`` with white-noise acceleration
  (``accel_psd``): the position uncertainty grows with dt (as dt^1.5), so the gate below opens by itself
  after a gap and after rejected epochs.
* The Doppler speed is the best short-term information a receiver has (0.05-0.2 m/s, unaffected by the
  slowly varying position error); it is a measurement of ``v``. Near zero it is the magnitude of a noisy
  velocity (a standing receiver reads 0.1-0.5 kn): at or below ``rest_mps`` it is taken as standstill
  (``v`` = 0), not as motion.
* Each position is projected onto the shape inside the window the vehicle can have reached, and tested
  on both axes against the prediction, each with its variance: along the shape ``z - (s + b)`` against
  ``P + R``, across it the offset against the learned local offset (the shape's own displacement from the
  track plus the receiver's cross-track error). The gate is ``gate`` standard deviations of that joint
  (two degrees of freedom) innovation: it scales with dt, with the receiver's error estimate and with what
  the filter knows. A multipath jump (30-80 m, any direction, a few epochs) differs from the prediction by
  far more than the receiver's own error could change in an epoch, and is rejected whichever way it
  points; so is a fix on a parallel track.
* Recovery. Fixes rejected while the model lagged a change of speed are taken afterwards when the next
  good fix agrees with them step by step (a reflection starts and ends with a jump). After an outage (no
  fix for ``confirm_gap_s``) the model re-acquires: it takes the receiver's track once its latest fixes
  have agreed with each other for longer than a reflection lasts (``confirm_s``), back-dated to the first
  of them, so one wrong fix at re-acquisition cannot move the vehicle. Rejections that persist
  (``reanchor_s`` moving, ``reanchor_still_s`` standing: a reflection near a standing receiver can last)
  and agree with each other mean the model, not the receiver, is wrong: re-anchor the same way.

:class:`PositionMotion` detects standstill and moving off from positions alone, for receivers that
report no speed: a stop is declared when the positions stay within a few metres for ``still_window_s``,
and its moment is then fitted (least squares) to the positions of the approach as braking to rest, the
last metres eased off at a comfort jerk; moving off is declared when the positions leave the rest point
steadily, and its moment fitted as constant acceleration from rest.

Written by hand rather than with filterpy/numpy: a three-state filter with scalar updates is a few lines
of arithmetic, runs per epoch at 10 Hz on a Pi core without array overhead, and adds no dependency.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from transit.geo import EARTH_RADIUS_M, Polyline

#: metres per degree of latitude (the same constant as ``transit.geo``'s local projection)
_M_PER_DEG = math.radians(1.0) * EARTH_RADIUS_M


@dataclass(frozen=True, slots=True)
class GnssMotionConfig:
    """Numbers of the GNSS-only motion model (physical meaning in the module docstring)."""

    uere_m: float = 4.0  # user equivalent range error (1 sigma) of a single-frequency receiver: HDOP x UERE
    sigma_default_m: float = 3.0  # per axis, when the receiver gives neither GST nor HDOP
    sigma_min_m: float = 0.05  # RTK fixes are centimetre-level
    corr_s: float = 20.0  # correlation time of a receiver's position error
    white_frac: float = 0.3  # share of the error (sigma) that is new every epoch
    white_min_m: float = 0.5  # projection, shape curvature, antenna lever arm
    accel_psd: float = 0.2  # m2/s3: white-noise acceleration (service rates <= 1.3 m/s2, changing over seconds)
    # without Doppler the speed is known only from positions: the filter must follow a change of speed
    # (a driver's command takes effect within a second or two) from them
    accel_psd_no_doppler: float = 1.0
    accel_max_mps2: float = 1.5  # the hardest a vehicle in service accelerates or brakes
    speed_sigma_mps: float = 0.2  # Doppler speed over ground, 1 sigma
    rest_mps: float = 0.4  # Doppler speed at or below this is standstill (wander reads 0.1-0.5 kn)
    rest_sigma_mps: float = 0.1
    gate: float = 4.0  # standard deviations of the joint along/across innovation (2 dof: 3e-4 of good fixes)
    max_offset_m: float = 45.0  # farther from the shape: not on the trip
    shape_var_per_m: float = 0.02  # m2 per metre travelled: the shape's offset from the track wanders
    window_m: float = 400.0  # projection window around the prediction (at least)
    vmax_mps: float = 45.0  # fastest a vehicle can have gone during a gap (projection window)
    confirm_gap_s: float = 5.0  # after this long without any fix, re-acquire: wait for fixes that agree
    # a reflection lasts a few seconds while the vehicle moves: fixes that have agreed with each other
    # for longer than that are the receiver's track (re-acquisition after an outage, re-anchoring)
    confirm_s: float = 5.0
    nis_memory: int = 30  # fixes over which the receiver's own error figure is checked
    sigma_scale_max: float = 3.0  # at most this much worse than it says
    reanchor_s: float = 10.0  # rejections this long (moving) that agree with each other re-anchor
    reanchor_still_s: float = 30.0  # the same while standing


def fix_sigma(cfg: GnssMotionConfig, eph: float | None, hdop: float | None, sats: int | None,
              quality: int) -> float:
    """The receiver's horizontal error per axis (1 sigma, metres) from what it reported: GST's sigmas
    when given (``eph`` is their root sum of squares), else HDOP x UERE; RTK and differential fixes are
    better, fixes from fewer than 5 satellites (no redundancy) worse."""
    if eph is not None and eph > 0.0:
        sigma = eph / math.sqrt(2.0)
    elif hdop is not None and 0.0 < hdop < 50.0:
        sigma = hdop * cfg.uere_m / math.sqrt(2.0)
        if quality == 2:  # DGPS/SBAS corrections remove most of the range error
            sigma *= 0.5
        elif quality == 5:  # RTK float
            sigma = min(sigma, 0.5)
        elif quality == 4:  # RTK fixed
            sigma = min(sigma, 0.05)
    else:
        sigma = cfg.sigma_default_m
    if sats is not None and 0 < sats < 5:
        sigma *= 2.0
    return max(sigma, cfg.sigma_min_m)


@dataclass(frozen=True, slots=True)
class Obs:
    """One fix as the model sees it: chainage, signed offset from the shape, Doppler speed, error."""

    t: float
    z: float
    d: float
    speed: float | None
    sigma: float


@dataclass(frozen=True, slots=True)
class FixVerdict:
    """What :meth:`GnssTrack.on_epoch` made of a fix. ``path``: the states (t, s, v) and fix chainage z of
    the fixes taken now, in time order: one normally, several when a re-acquisition takes the fixes it
    waited for."""

    accepted: bool
    reason: str  # accepted | off_shape | outlier | tentative | acquired | reanchored
    z: float | None = None  # the fix's chainage (projection)
    path: tuple[tuple[float, float, float, float], ...] = ()


class GnssTrack:
    """Kalman filter ``[s, v, b]`` along one shape, fed in time order. Pure: no clock."""

    def __init__(self, shape: Polyline, cfg: GnssMotionConfig | None = None) -> None:
        self.shape = shape
        self.cfg = cfg or GnssMotionConfig()
        self.x = [0.0, 0.0, 0.0]
        self.P = [[0.0] * 3 for _ in range(3)]
        self.t: float | None = None
        self.c = 0.0  # learned cross-track offset (shape displacement + receiver error)
        self.pc = 0.0
        self.last_accept_t: float | None = None
        self.last_seen_t: float | None = None  # last fix with a position, accepted or not
        self._s_accept = 0.0  # the estimate at the last accepted fix
        self.acq: list[Obs] = []  # fixes after an outage, waiting for a consensus
        self.acquiring = False  # (re-)acquisition: no trusted estimate to gate fixes against
        self.off_since: float | None = None  # fixes far off the shape around the estimate since
        self.rejects: list[Obs] = []  # consecutive rejected fixes
        # receivers misjudge their own error (HDOP x UERE is a rule of thumb): the normalised innovations
        # of the fixes taken say by how much; their running mean scales the receiver's figure
        self.nis = 1.0
        self.stats = {"accepted": 0, "off_shape": 0, "outliers": 0, "reanchored": 0, "tentative": 0,
                      "speed_rejected": 0}

    # -- state ------------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.t is not None

    @property
    def s(self) -> float:
        return self.x[0]

    @property
    def v(self) -> float:
        return self.x[1]

    def reset(self, t: float, s: float, v: float, sigma: float, var_v: float = 4.0,
              offset: float | None = None) -> None:
        """Start (or re-anchor) at a fix: chainage ``s`` measured with error ``sigma`` (s = z - b - w)."""
        sig2 = sigma * sigma
        w2 = self.white(sigma) ** 2
        self.x = [s, max(v, 0.0), 0.0]
        # z = s + b + w: s = z - b - w, so var(s) = sigma^2 + w^2, cov(s, b) = -sigma^2, var(s + b) = w^2
        self.P = [[sig2 + w2, 0.0, -sig2], [0.0, var_v, 0.0], [-sig2, 0.0, sig2]]
        self.t = t
        if offset is not None:
            self.c, self.pc = offset, sig2
        self.acq.clear()
        self.rejects.clear()
        self.acquiring = False
        self.off_since = None
        self.last_accept_t = self.last_seen_t = t
        self._s_accept = s

    def place(self, t: float, s: float, v: float, var_s: float = 1.0) -> None:
        """Take over a position known otherwise (odometer), keeping the error model."""
        sig2 = self.P[2][2] if self.t is not None else 9.0
        self.x = [s, max(v, 0.0), 0.0]
        self.P = [[var_s, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, sig2]]
        self.t = t
        self.acq.clear()
        self.rejects.clear()
        self.acquiring = False
        self.off_since = None
        self.last_accept_t = self.last_seen_t = t
        self._s_accept = s

    def predict(self, t: float, sigma: float, q: float | None = None) -> None:
        """Advance to ``t`` (constant speed, white-noise acceleration ``q``; the error decays towards 0)."""
        if self.t is None or t <= self.t:
            return
        dt = t - self.t
        cfg = self.cfg
        x, P = self.x, self.P
        phi = math.exp(-dt / cfg.corr_s)
        x[0] += x[1] * dt
        x[2] *= phi
        # P = F P F' + Q with F = [[1, dt, 0], [0, 1, 0], [0, 0, phi]]
        p00 = P[0][0] + 2 * dt * P[0][1] + dt * dt * P[1][1]
        p01 = P[0][1] + dt * P[1][1]
        p02 = phi * (P[0][2] + dt * P[1][2])
        p11 = P[1][1]
        p12 = phi * P[1][2]
        p22 = phi * phi * P[2][2]
        qa = cfg.accel_psd if q is None else q
        p00 += qa * dt ** 3 / 3.0
        p01 += qa * dt * dt / 2.0
        p11 += qa * dt
        p22 += sigma * sigma * (1.0 - phi * phi)
        self.P = [[p00, p01, p02], [p01, p11, p12], [p02, p12, p22]]
        # the cross-track offset: the receiver's part decorrelates, the shape's changes along the way
        self.pc = phi * phi * self.pc + sigma * sigma * (1.0 - phi * phi) + cfg.shape_var_per_m * abs(x[1] * dt)
        self.t = t

    def _update(self, h: tuple[float, float, float], z: float, r: float) -> None:
        """Scalar measurement ``z = h . x`` with variance ``r``."""
        x, P = self.x, self.P
        ph = [P[i][0] * h[0] + P[i][1] * h[1] + P[i][2] * h[2] for i in range(3)]
        s = h[0] * ph[0] + h[1] * ph[1] + h[2] * ph[2] + r
        if s <= 0.0:
            return
        k = [p / s for p in ph]
        y = z - (h[0] * x[0] + h[1] * x[1] + h[2] * x[2])
        for i in range(3):
            x[i] += k[i] * y
        self.P = [[P[i][j] - k[i] * ph[j] for j in range(3)] for i in range(3)]
        if x[1] < 0.0:
            x[1] = 0.0  # no reversing along the trip

    def white(self, sigma: float) -> float:
        return max(self.cfg.white_min_m, self.cfg.white_frac * sigma)

    # -- inputs -----------------------------------------------------------------------------------------
    def _speed(self, speed: float) -> None:
        """The receiver's Doppler speed over ground (after :meth:`predict` to its epoch)."""
        cfg = self.cfg
        if speed <= cfg.rest_mps:
            z, r = 0.0, cfg.rest_sigma_mps ** 2
        else:
            z, r = speed, cfg.speed_sigma_mps ** 2
        y = z - self.x[1]
        if y * y > cfg.gate * cfg.gate * (self.P[1][1] + r) and self.P[1][1] < 25.0:
            self.stats["speed_rejected"] += 1
            return
        self._update((0.0, 1.0, 0.0), z, r)

    def _position(self, ob: Obs) -> None:
        w2 = self.white(ob.sigma) ** 2
        self._update((1.0, 0.0, 1.0), ob.z, w2)
        sc = self.pc + w2
        kc = self.pc / sc
        self.c += kc * (ob.d - self.c)
        self.pc *= 1.0 - kc

    def _step(self, ob: Obs) -> None:
        """Predict to the fix and take its speed and position (no test)."""
        self.predict(ob.t, ob.sigma, self._q(ob.speed))
        if ob.speed is not None:
            self._speed(ob.speed)
        self._position(ob)

    def _q(self, speed: float | None) -> float:
        return self.cfg.accel_psd if speed is not None else self.cfg.accel_psd_no_doppler

    def _observe(self, t: float, lat: float, lon: float, speed: float | None, sigma: float, lo: float,
                 hi: float) -> Obs | None:
        shape = self.shape
        pr = shape.project(lat, lon, lo_m=max(lo, 0.0), hi_m=max(min(hi, shape.length_m), lo))
        z, d = pr.distance_m, signed_offset(shape, pr.segment, lat, lon, pr.offset_m)
        if z <= 0.0 or z >= shape.length_m:
            # at an end of the shape (a first or last stop is often there): the error of a fix behind
            # it is along the track, not across; measure on the end segment's line extended
            z, d = _beyond_end(shape, lat, lon, z <= 0.0, z, d)
        if abs(d) > self.cfg.max_offset_m:
            self.stats["off_shape"] += 1
            return None
        return Obs(t, z, d, speed, sigma)

    def on_epoch(self, t: float, lat: float, lon: float, speed: float | None, sigma: float) -> FixVerdict:
        """One epoch with a position (``speed``: the receiver's Doppler speed, None when it sends none)."""
        cfg = self.cfg
        sigma *= min(max(math.sqrt(self.nis), 1.0), cfg.sigma_scale_max)
        unseen = t - self.last_seen_t if self.last_seen_t is not None else 0.0
        self.last_seen_t = t
        if self.t is None or self.acquiring or unseen > cfg.confirm_gap_s:
            self.acquiring = True
            # (re-)acquisition: wait for fixes that agree with each other; nothing known yet: anywhere
            # on the shape, after an outage: as far as the vehicle can have gone
            if self.t is None:
                lo, hi = 0.0, self.shape.length_m
            else:
                t_ref = self.last_accept_t if self.last_accept_t is not None else self.t
                lo = self._s_accept - cfg.window_m / 4.0
                hi = self._s_accept + cfg.window_m + cfg.vmax_mps * (t - t_ref)
            ob = self._observe(t, lat, lon, speed, sigma, lo, hi)
            if ob is None:
                return FixVerdict(False, "off_shape")
            self.acq.append(ob)
            return self._acquire()
        self.predict(t, sigma, self._q(speed))
        if speed is not None:
            self._speed(speed)
        s_pred = self.x[0]
        sd = math.sqrt(max(self.P[0][0], 0.0))
        reach = max(cfg.window_m, 5.0 * sd)
        ob = self._observe(t, lat, lon, speed, sigma, s_pred - max(cfg.window_m / 4.0, 5.0 * sd), s_pred + reach)
        if ob is None:
            # off the shape around the estimate for longer than a reflection lasts: the estimate is lost
            self.off_since = t if self.off_since is None else self.off_since
            if t - self.off_since >= cfg.reanchor_s:
                self.acquiring = True
            return FixVerdict(False, "off_shape")
        self.off_since = None
        w2 = self.white(sigma) ** 2
        ya = ob.z - (self.x[0] + self.x[2])
        sa = self.P[0][0] + 2.0 * self.P[0][2] + self.P[2][2] + w2
        yc = ob.d - self.c
        sc = self.pc + w2
        if ya * ya / sa + yc * yc / sc > cfg.gate * cfg.gate:
            self.stats["outliers"] += 1
            self.rejects.append(ob)
            moving = self.x[1] > cfg.rest_mps
            if t - self.rejects[0].t >= (cfg.reanchor_s if moving else cfg.reanchor_still_s):
                # the fixes have disagreed with the model for longer than reflections last: if their
                # latest ones agree with each other for longer than a reflection lasts, the model is wrong
                i = self._run(self.rejects)
                if t - self.rejects[i].t >= cfg.confirm_s:
                    return self._anchor(self.rejects, i, "reanchored")
                del self.rejects[:i]
            return FixVerdict(False, "outlier", ob.z)
        # the fixes rejected just before that agree with this one, step by step, were the vehicle (the
        # model had lagged a change of speed), not a reflection: taken too, for what was seen
        before: list[tuple[float, float, float, float]] = []
        if self.rejects:
            cand = [*self.rejects, ob]
            i = self._run(cand)
            for a, b in zip(cand[i:-1], cand[i + 1:], strict=True):
                u = (b.z - a.z) / (b.t - a.t) if b.t > a.t else self.x[1]
                before.append((a.t, a.z - self.x[2], max(u, 0.0), a.z))
            self.rejects.clear()
        self.nis += (0.5 * (ya * ya / sa + yc * yc / sc) - self.nis) / cfg.nis_memory
        self._position(ob)
        self._accepted(t)
        return FixVerdict(True, "accepted", ob.z, (*before, (t, self.x[0], self.x[1], ob.z)))

    def _acquire(self) -> FixVerdict:
        """Re-acquisition: take the receiver's track once its latest fixes have agreed with each other
        for longer than a reflection lasts (then the track cannot be a reflection)."""
        cfg = self.cfg
        acq = self.acq
        i = self._run(acq)
        if acq[-1].t - acq[i].t < cfg.confirm_s:
            self.stats["tentative"] += 1
            del acq[:max(0, i - 1)]  # what came before a discontinuity is over
            return FixVerdict(False, "tentative", acq[-1].z)
        return self._anchor(acq, i, "acquired")

    def _anchor(self, obs: list[Obs], i: int, reason: str) -> FixVerdict:
        """Start again at ``obs[i]`` and take the fixes after it in order."""
        obs = list(obs)  # reset() empties the buffers
        keep = obs[i:]
        first = keep[0]
        self.stats["outliers"] += i
        self.stats["reanchored"] += 1
        if first.speed is not None:
            v = first.speed if first.speed > self.cfg.rest_mps else 0.0
        else:
            v = (keep[-1].z - first.z) / (keep[-1].t - first.t) if keep[-1].t > first.t else 0.0
        self.reset(first.t, first.z, v, first.sigma, var_v=1.0 if first.speed is None else 0.25,
                   offset=first.d)
        path = [(first.t, self.x[0], self.x[1], first.z)]
        for ob in keep[1:]:
            self._step(ob)
            path.append((ob.t, self.x[0], self.x[1], ob.z))
        self._accepted(keep[-1].t, len(keep))
        self.last_seen_t = obs[-1].t
        return FixVerdict(True, reason, obs[-1].z, tuple(path))

    def _run(self, obs: list[Obs]) -> int:
        """Index of the first fix of the longest run of consecutive fixes, ending with the latest, in
        which every step is one a vehicle can make: the distance what its Doppler speed (or, without
        one, its speed over the run so far) says within the noise and the change of speed it can make,
        the offset from the shape nearly the same. A reflection starts and ends with a jump."""
        cfg = self.cfg
        i = len(obs) - 1
        while i > 0:
            a, b = obs[i - 1], obs[i]
            dt = b.t - a.t
            if dt <= 0.0:
                break
            w = self.white(b.sigma)
            step = b.z - a.z
            noise = cfg.gate * math.sqrt(2.0) * w
            if a.speed is not None and b.speed is not None:
                pred = 0.5 * (a.speed + b.speed) * dt
                tol = noise + cfg.gate * cfg.speed_sigma_mps * dt
            else:
                # the speed over the run after this step (none yet: any plausible speed)
                j = len(obs) - 1
                if j - i >= 1 and obs[j].t - b.t > 0.5:
                    u = (obs[j].z - b.z) / (obs[j].t - b.t)
                    pred = u * dt
                    tol = noise + cfg.accel_max_mps2 * dt * (obs[j].t - b.t) + 2.0 * noise * dt / (obs[j].t - b.t)
                else:
                    pred, tol = 0.5 * cfg.vmax_mps * dt, 0.5 * cfg.vmax_mps * dt + noise
            tol_c = noise + 0.02 * abs(step)
            if abs(step - pred) > tol or abs(b.d - a.d) > tol_c:
                break
            i -= 1
        return i

    def _accepted(self, t: float, n: int = 1) -> None:
        self.rejects.clear()
        self.acq.clear()
        self.last_accept_t = t
        self._s_accept = self.x[0]
        self.stats["accepted"] += n


def _beyond_end(shape: Polyline, lat: float, lon: float, start: bool, z: float, d: float) -> tuple[float, float]:
    """Chainage (negative before the start, beyond the length after the end) and signed offset of a
    point measured on the line of the first (last) segment."""
    pts = shape.points
    if len(pts) < 2:
        return z, d
    (a, b), (c, e) = (pts[0], pts[1]) if start else (pts[-2], pts[-1])
    coslat = math.cos(math.radians(lat))
    vx, vy = (e - b) * coslat * _M_PER_DEG, (c - a) * _M_PER_DEG
    n = math.hypot(vx, vy)
    if n <= 0.0:
        return z, d
    ox, oy = (b, a) if start else (e, c)
    px, py = (lon - ox) * coslat * _M_PER_DEG, (lat - oy) * _M_PER_DEG
    along = (px * vx + py * vy) / n
    across = (vx * py - vy * px) / n
    if start and along < 0.0:
        return along, across
    if not start and along > 0.0:
        return shape.length_m + along, across
    return z, d


def signed_offset(shape: Polyline, seg: int, lat: float, lon: float, offset: float) -> float:
    """The projection offset with a sign: positive left of the shape's direction of travel."""
    (a, b), (c, d) = shape.points[seg], shape.points[seg + 1]
    coslat = math.cos(math.radians(lat))
    vx, vy = (d - b) * coslat, c - a
    px, py = (lon - b) * coslat, lat - a
    return offset if vx * py - vy * px >= 0.0 else -offset


# -- standstill from positions ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PositionMotionConfig:
    still_window_s: float = 4.0  # positions within ``still_m`` this long: standing
    still_m: float = 2.5
    move_m: float = 4.0  # this far from the rest point ...
    move_confirm_s: float = 1.0  # ... for this long, and still going away: moving
    gone_m: float = 25.0  # this far from the rest point it moved, whatever the fit says
    approach_s: float = 12.0  # the approach fitted before the stop was declared
    start_s: float = 8.0  # the start fitted before moving was declared
    brake_mps2: tuple[float, ...] = (0.3, 0.45, 0.6, 0.75, 0.9, 1.1, 1.3)  # candidate service braking
    accel_mps2: tuple[float, ...] = (0.3, 0.45, 0.6, 0.75, 0.9, 1.1, 1.3, 1.6)  # candidate acceleration
    stop_jerk_mps3: float = 0.75  # drivers ease the brake off for the last metres (assumed, as for CAN)
    fit_step_s: float = 0.1
    max_points: int = 60  # positions used in a fit (a 10 Hz receiver's are thinned)


class PositionMotion:
    """Standstill and moving off from along-track positions (receivers without Doppler speed)."""

    def __init__(self, cfg: PositionMotionConfig | None = None) -> None:
        self.cfg = cfg or PositionMotionConfig()
        self.buf: deque[tuple[float, float]] = deque()
        self.stopped: bool | None = None
        self.rest: float | None = None  # chainage of the standstill

    def on_position(self, t: float, z: float) -> tuple[str, float] | None:
        """An accepted along-track position; returns ("stop"|"move", moment) on a transition."""
        cfg = self.cfg
        buf = self.buf
        buf.append((t, z))
        while buf and buf[0][0] < t - max(cfg.approach_s, cfg.start_s) - cfg.still_window_s:
            buf.popleft()
        recent = [p for p in buf if p[0] >= t - cfg.still_window_s]
        if len(recent) < 3 or recent[-1][0] - recent[0][0] < cfg.still_window_s * 0.7:
            return None
        # standing: the positions of the first and the last second of the window nearly the same and
        # all close together (a standing receiver's position wanders a little, noisily)
        first = _mean([p[1] for p in recent if p[0] <= recent[0][0] + 1.0])
        last = _mean([p[1] for p in recent if p[0] >= t - 1.0])
        zs = [p[1] for p in recent]
        still = abs(last - first) <= cfg.still_m / 2.0 and max(zs) - min(zs) <= cfg.still_m * 1.6
        if self.stopped is None:
            self.stopped = still
            if still:
                self.rest = _mean(zs)
                return ("stop", recent[0][0])  # standing since at least then
            return None
        if not self.stopped and still:
            self.stopped = True
            self.rest = _mean(zs)
            return ("stop", self._fit_stop(t))
        if self.stopped:
            # away from where it stood a few seconds ago and going on, the way a start goes: the
            # distance grows with the square of the time (a standing receiver's position wanders,
            # roughly linearly over a few seconds)
            before = [p[1] for p in buf if t - 6.0 <= p[0] <= t - 3.0]
            ago2 = [p[1] for p in buf if t - 2.5 <= p[0] <= t - 1.5]
            if before and ago2 and last - _mean(before) > cfg.move_m and last - _mean(ago2) > 0.75 * cfg.move_m:
                tm, a, sse = self._fit_move(t)
                gone = self.rest is not None and last - self.rest > cfg.gone_m  # no wander goes this far
                if gone or (0.5 * a * (t - tm) ** 2 >= cfg.move_m and sse <= 0.5 * self._sse_line(t)):
                    self.stopped = False
                    return ("move", tm)
        return None

    def _points(self, t0: float) -> list[tuple[float, float]]:
        pts = [p for p in self.buf if p[0] >= t0]
        step = max(1, len(pts) // self.cfg.max_points)
        return pts[::step] if step > 1 else pts

    def _fit_stop(self, t: float) -> float:
        """Least-squares fit of braking to rest (eased off at the end) to the approach: the moment of
        rest and the braking by search, the rest chainage linear."""
        cfg = self.cfg
        pts = self._points(t - cfg.approach_s)
        best = (math.inf, t - cfg.still_window_s)
        n = round((t - pts[0][0]) / cfg.fit_step_s)
        for b in cfg.brake_mps2:
            for i in range(n + 1):
                ts = pts[0][0] + i * cfg.fit_step_s
                err = _sse_level(pts, [-_to_go(ts - p[0], b, cfg.stop_jerk_mps3) for p in pts])
                if err < best[0]:
                    best = (err, ts)
        return best[1]

    def _fit_move(self, t: float) -> tuple[float, float, float]:
        """Least-squares fit of a start from rest at a plausible acceleration to the positions:
        (moment, acceleration, sum of squared residuals)."""
        cfg = self.cfg
        pts = self._points(t - cfg.start_s)
        best = (math.inf, t, 0.0)
        n = round((t - pts[0][0]) / cfg.fit_step_s)
        for a in cfg.accel_mps2:
            for i in range(n + 1):
                tm = pts[0][0] + i * cfg.fit_step_s
                err = _sse_level(pts, [0.5 * a * max(p[0] - tm, 0.0) ** 2 for p in pts])
                if err < best[0]:
                    best = (err, tm, a)
        return best[1], best[2], best[0]

    def _sse_line(self, t: float) -> float:
        """Sum of squared residuals of a straight line (steady drift) through the same positions."""
        pts = self._points(t - self.cfg.start_s)
        n = len(pts)
        mt = sum(p[0] for p in pts) / n
        mz = sum(p[1] for p in pts) / n
        stt = sum((p[0] - mt) ** 2 for p in pts)
        k = sum((p[0] - mt) * (p[1] - mz) for p in pts) / stt if stt > 0.0 else 0.0
        return sum((p[1] - mz - k * (p[0] - mt)) ** 2 for p in pts)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _sse_level(pts: list[tuple[float, float]], model: list[float]) -> float:
    """Residual sum of squares of ``z - model`` about its mean (the rest chainage is free)."""
    r = [p[1] - m for p, m in zip(pts, model, strict=True)]
    mr = sum(r) / len(r)
    return sum((ri - mr) ** 2 for ri in r)


def _to_go(tau: float, b: float, j: float) -> float:
    """Distance still to go ``tau`` seconds before rest, braking at ``b`` eased off at jerk ``j`` (the
    deceleration falls linearly to 0 over the last b/j seconds); 0 after rest."""
    if tau <= 0.0:
        return 0.0
    te = b / j
    if tau <= te:
        return j * tau ** 3 / 6.0
    d_e = j * te ** 3 / 6.0
    v_e = j * te * te / 2.0
    u = tau - te
    return d_e + v_e * u + 0.5 * b * u * u


__all__ = ["FixVerdict", "GnssMotionConfig", "GnssTrack", "PositionMotion", "PositionMotionConfig", "fix_sigma",
           "signed_offset"]
