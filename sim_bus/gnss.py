"""GNSS receiver model: the truth track → NMEA 0183 sentences as a multi-GNSS receiver sends them.

What makes the output realistic enough to test a decoder and a trip follower against:
- satellites on circular MEO orbits per system (GPS, GLONASS, Galileo, BeiDou), so GSV sets, elevations
  and SNRs change slowly and consistently; DOP computed from the geometry of the satellites used;
- a Gauss-Markov (correlated) position error with horizontal sigma, plus multipath outliers of
  30-80 m lasting a few epochs;
- outages (tunnels, roofed stations) and the time to first fix, during which the receiver keeps
  talking but reports no fix (empty fields, quality 0, status V), as real receivers do;
- sentences deliberately corrupted by the scenario, each listed in the ground truth.
The model is pure: it never reads a clock; all times are simulated UTC.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hw.gnss.nmea import frame
from sim_bus.motion import MotionResult, r3
from sim_bus.plan import TripPlan
from sim_bus.scenario import GnssDef, OutageZone, VehicleDef
from transit.geo import EARTH_RADIUS_M, haversine_m, offset_m

log = logging.getLogger(__name__)

KNOTS = 1.943844  # knots per m/s
EARTH_ROT = 7.2921159e-5  # rad/s
SKY_BUCKET_S = 10.0  # satellites move ~0.5 deg/min: recompute the sky every 10 s
REACQUIRE_S = 2.0  # hot start after an outage


@dataclass(frozen=True)
class _Orbit:
    system: str
    prn: int
    raan: float
    m0: float
    inc: float
    radius_m: float
    period_s: float
    snr_bias: float


# system: (planes, sats per plane, inclination deg, radius km, period s, PRNs, NMEA 4.10 system id, signal id)
_SYSTEMS: dict[str, tuple[int, int, float, float, float, list[int], int, int]] = {
    "GP": (6, 5, 55.0, 26560.0, 43082.0, list(range(1, 33)), 1, 1),
    "GL": (3, 8, 64.8, 25510.0, 40544.0, list(range(65, 89)), 2, 1),
    "GA": (3, 8, 56.0, 29600.0, 50680.0, list(range(1, 37)), 3, 7),
    "GB": (3, 8, 55.0, 27906.0, 46380.0, list(range(19, 47)), 4, 1),
}


def make_constellations(systems: Sequence[str], rng: random.Random) -> list[_Orbit]:
    out: list[_Orbit] = []
    for sysname in systems:
        planes, per, inc, rad, per_s, prns, _sid, _sig = _SYSTEMS[sysname]
        chosen = sorted(rng.sample(prns, planes * per))
        rng.shuffle(chosen)
        raan0 = rng.uniform(0, 2 * math.pi)
        k = 0
        for p in range(planes):
            for s in range(per):
                out.append(_Orbit(sysname, chosen[k], raan0 + 2 * math.pi * p / planes,
                                  2 * math.pi * (s + p / planes) / per + rng.uniform(-0.1, 0.1),
                                  math.radians(inc), rad * 1000.0, per_s, rng.gauss(0.0, 2.5)))
                k += 1
    return out


@dataclass(frozen=True)
class SatView:
    system: str
    prn: int
    el: float  # degrees
    az: float  # degrees
    snr_base: float
    used: bool


@dataclass(frozen=True)
class Sky:
    sats: tuple[SatView, ...]
    pdop: float
    hdop: float
    vdop: float

    @property
    def used(self) -> int:
        return sum(1 for s in self.sats if s.used)


def sky_at(orbits: Sequence[_Orbit], t: float, lat: float, lon: float) -> Sky:
    """Satellites above 5 degrees seen from (lat, lon) at epoch ``t`` and the DOP of those used."""
    phi, lam = math.radians(lat), math.radians(lon)
    sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
    rx, ry, rz = EARTH_RADIUS_M * cp * cl, EARTH_RADIUS_M * cp * sl, EARTH_RADIUS_M * sp
    theta = EARTH_ROT * t
    ct, st = math.cos(theta), math.sin(theta)
    views: list[SatView] = []
    for o in orbits:
        u = o.m0 + 2 * math.pi * (t % o.period_s) / o.period_s
        cu, su, co, so, ci, si = (math.cos(u), math.sin(u), math.cos(o.raan), math.sin(o.raan),
                                  math.cos(o.inc), math.sin(o.inc))
        x = o.radius_m * (cu * co - su * ci * so)
        y = o.radius_m * (cu * so + su * ci * co)
        z = o.radius_m * su * si
        # inertial -> earth-fixed
        xe, ye = ct * x + st * y, -st * x + ct * y
        dx, dy, dz = xe - rx, ye - ry, z - rz
        e = -sl * dx + cl * dy
        n = -sp * cl * dx - sp * sl * dy + cp * dz
        up = cp * cl * dx + cp * sl * dy + sp * dz
        el = math.degrees(math.atan2(up, math.hypot(e, n)))
        if el < 5.0:
            continue
        az = (math.degrees(math.atan2(e, n)) + 360.0) % 360.0
        snr = 22.0 + 24.0 * math.sin(math.radians(el)) + o.snr_bias
        views.append(SatView(o.system, o.prn, el, az, snr, el >= 10.0 and snr >= 27.0))
    views.sort(key=lambda s: (list(_SYSTEMS).index(s.system), s.prn))
    # at most 12 used per system (one GSA sentence each)
    per: dict[str, int] = {}
    capped: list[SatView] = []
    for s in views:
        if s.used:
            per[s.system] = per.get(s.system, 0) + 1
            if per[s.system] > 12:
                s = SatView(s.system, s.prn, s.el, s.az, s.snr_base, False)
        capped.append(s)
    pdop, hdop, vdop = _dop([s for s in capped if s.used])
    return Sky(tuple(capped), pdop, hdop, vdop)


def masked(sky: Sky, mask_deg: float) -> Sky:
    """The sky from a street canyon: satellites below ``mask_deg`` are blocked (reflections only:
    weak, not used), the DOP of the rest is worse."""
    sats = tuple(s if s.el >= mask_deg else SatView(s.system, s.prn, s.el, s.az, s.snr_base - 12.0, False)
                 for s in sky.sats)
    pdop, hdop, vdop = _dop([s for s in sats if s.used])
    return Sky(sats, pdop, hdop, vdop)


def _dop(used: Sequence[SatView]) -> tuple[float, float, float]:
    """PDOP/HDOP/VDOP from line-of-sight vectors (one receiver clock; 4x4 normal matrix).

    Hand-written Gauss-Jordan: a 4x4 inverse once per 10 s does not justify numpy on the Pi.
    """
    if len(used) < 4:
        return 99.99, 99.99, 99.99
    n = [[0.0] * 4 for _ in range(4)]
    for s in used:
        el, az = math.radians(s.el), math.radians(s.az)
        g = (math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el), 1.0)
        for i in range(4):
            for j in range(4):
                n[i][j] += g[i] * g[j]
    a = [row[:] + [1.0 if i == j else 0.0 for j in range(4)] for i, row in enumerate(n)]
    for c in range(4):
        p = max(range(c, 4), key=lambda r: abs(a[r][c]))
        if abs(a[p][c]) < 1e-12:
            return 99.99, 99.99, 99.99
        a[c], a[p] = a[p], a[c]
        piv = a[c][c]
        a[c] = [v / piv for v in a[c]]
        for r in range(4):
            if r != c:
                f = a[r][c]
                a[r] = [vr - f * vc for vr, vc in zip(a[r], a[c], strict=True)]
    q = [row[4:] for row in a]
    hd = math.sqrt(max(q[0][0] + q[1][1], 0.0))
    vd = math.sqrt(max(q[2][2], 0.0))
    pd = math.sqrt(max(q[0][0] + q[1][1] + q[2][2], 0.0))
    return min(pd, 99.99), min(hd, 99.99), min(vd, 99.99)


# -- sentence formatting -------------------------------------------------------------------------------

def _latfield(lat: float, dec: int) -> tuple[str, str]:
    total = round(abs(lat) * 60.0, dec)
    deg = int(total // 60)
    minutes = total - deg * 60
    return f"{deg:02d}{minutes:0{dec + 3}.{dec}f}", "N" if lat >= 0 else "S"


def _lonfield(lon: float, dec: int) -> tuple[str, str]:
    total = round(abs(lon) * 60.0, dec)
    deg = int(total // 60)
    minutes = total - deg * 60
    return f"{deg:03d}{minutes:0{dec + 3}.{dec}f}", "E" if lon >= 0 else "W"


def _timefields(t: float) -> tuple[str, datetime]:
    cs = round(t * 100)
    dt = datetime.fromtimestamp(cs // 100, UTC)
    return f"{dt:%H%M%S}.{cs % 100:02d}", dt


@dataclass
class Epoch:
    """What the receiver knows at one epoch; ``None`` position means no fix."""

    t: float
    time_known: bool
    lat: float | None
    lon: float | None
    alt: float
    speed: float
    course: float
    sky: Sky
    in_view: bool  # False inside a tunnel: no satellite is even tracked
    eph: float
    snr_noise: list[float] = field(default_factory=list)


class SentenceWriter:
    """Formats one epoch into the configured sentence set (bodies; framing adds ``$``/checksum)."""

    def __init__(self, g: GnssDef) -> None:
        self.g = g
        self.nmea41 = g.talker == "GN"  # NMEA 4.10: system id in GSA, signal id in GSV

    def epoch(self, e: Epoch) -> list[str]:
        out: list[str] = []
        for s in self.g.sentences:
            out.extend(getattr(self, "_" + s.lower())(e))
        return out

    # fields shared by the position sentences
    def _pos(self, e: Epoch) -> tuple[str, str, str, str]:
        assert e.lat is not None and e.lon is not None
        la, ns = _latfield(e.lat, self.g.decimals)
        lo, ew = _lonfield(e.lon, self.g.decimals)
        return la, ns, lo, ew

    def _tm(self, e: Epoch) -> tuple[str, str]:
        if not e.time_known:
            return "", ""
        hms, dt = _timefields(e.t)
        return hms, f"{dt:%d%m%y}"

    def _rmc(self, e: Epoch) -> list[str]:
        hms, ddmmyy = self._tm(e)
        tk = self.g.talker
        if e.lat is None:
            return [f"{tk}RMC,{hms},V,,,,,,,{ddmmyy},,,N" + (",V" if self.nmea41 else "")]
        la, ns, lo, ew = self._pos(e)
        return [f"{tk}RMC,{hms},A,{la},{ns},{lo},{ew},{e.speed * KNOTS:.3f},{e.course:.2f},{ddmmyy},,,A"
                + (",V" if self.nmea41 else "")]

    def _vtg(self, e: Epoch) -> list[str]:
        tk = self.g.talker
        if e.lat is None:
            return [f"{tk}VTG,,T,,M,,N,,K,N"]
        return [f"{tk}VTG,{e.course:.2f},T,,M,{e.speed * KNOTS:.3f},N,{e.speed * 3.6:.3f},K,A"]

    def _gga(self, e: Epoch) -> list[str]:
        hms, _ = self._tm(e)
        tk = self.g.talker
        if e.lat is None:
            return [f"{tk}GGA,{hms},,,,,0,00,99.99,,,,,,"]
        la, ns, lo, ew = self._pos(e)
        used = min(e.sky.used, 12) if tk != "GN" else e.sky.used
        return [f"{tk}GGA,{hms},{la},{ns},{lo},{ew},1,{used:02d},{e.sky.hdop:.2f},{e.alt:.1f},M,"
                f"{self.g.geoid_sep_m:.1f},M,,"]

    def _gns(self, e: Epoch) -> list[str]:
        hms, _ = self._tm(e)
        tk = self.g.talker
        if e.lat is None:
            return [f"{tk}GNS,{hms},,,,,{'N' * len(self.g.constellations)},00,99.99,,,,,V"]
        la, ns, lo, ew = self._pos(e)
        modes = "".join("A" if any(s.used and s.system == c for s in e.sky.sats) else "N"
                        for c in self.g.constellations)
        return [f"{tk}GNS,{hms},{la},{ns},{lo},{ew},{modes},{e.sky.used:02d},{e.sky.hdop:.2f},"
                f"{e.alt:.1f},{self.g.geoid_sep_m:.1f},,,V"]

    def _gsa(self, e: Epoch) -> list[str]:
        out = []
        for c in self.g.constellations:
            prns = [s.prn for s in e.sky.sats if s.system == c and s.used] if e.lat is not None else []
            fields = [str(p) if c != "GP" else f"{p:02d}" for p in prns[:12]] + [""] * (12 - len(prns[:12]))
            mode = "3" if e.lat is not None else "1"
            dops = (f"{e.sky.pdop:.2f},{e.sky.hdop:.2f},{e.sky.vdop:.2f}" if e.lat is not None
                    else "99.99,99.99,99.99")
            tail = f",{_SYSTEMS[c][6]}" if self.nmea41 else ""
            out.append(f"{self.g.talker}GSA,A,{mode},{','.join(fields)},{dops}{tail}")
        return out

    def _gsv(self, e: Epoch) -> list[str]:
        out = []
        for c in self.g.constellations:
            sats = [(s, n) for s, n in zip(e.sky.sats, e.snr_noise, strict=True) if s.system == c] \
                if e.in_view else []
            sig = f",{_SYSTEMS[c][7]}" if self.nmea41 else ""
            if not sats:
                out.append(f"{c}GSV,1,1,00{sig}")
                continue
            total = (len(sats) + 3) // 4
            for i in range(total):
                chunk = sats[i * 4:(i + 1) * 4]
                parts = []
                for s, noise in chunk:
                    snr = round(s.snr_base + noise)
                    snr_s = f"{min(max(snr, 10), 55):02d}"
                    parts.append(f"{s.prn:02d},{round(s.el):02d},{round(s.az) % 360:03d},{snr_s}")
                out.append(f"{c}GSV,{total},{i + 1},{len(sats):02d},{','.join(parts)}{sig}")
        return out

    def _gst(self, e: Epoch) -> list[str]:
        hms, _ = self._tm(e)
        tk = self.g.talker
        if e.lat is None:
            return [f"{tk}GST,{hms},,,,,,,"]
        s = e.eph / math.sqrt(2)
        return [f"{tk}GST,{hms},{e.eph * 1.1:.1f},{e.eph * 1.2:.1f},{e.eph * 0.8:.1f},{e.course % 180:.1f},"
                f"{s:.1f},{s:.1f},{e.eph * 1.6:.1f}"]

    def _zda(self, e: Epoch) -> list[str]:
        tk = self.g.talker
        if not e.time_known:
            return [f"{tk}ZDA,,,,,00,00"]
        hms, dt = _timefields(e.t)
        return [f"{tk}ZDA,{hms},{dt:%d},{dt:%m},{dt:%Y},00,00"]


# -- the receiver ----------------------------------------------------------------------------------------

@dataclass
class NmeaOutput:
    lines: list[str]  # framed sentences without line ending, in output order
    line_t: list[float]  # epoch time of each line
    epochs: list[tuple[float, int, int]]  # (t, first line index, end line index)
    truth: list[dict[str, object]]


def _zone_hit(z: OutageZone, plan: TripPlan, x: float, lat: float, lon: float,
              stop_pos: dict[str, tuple[float, float]]) -> bool:
    if z.from_m is not None and z.to_m is not None:
        return (z.trip_id in (None, plan.trip_id)) and z.from_m <= x <= z.to_m
    assert z.radius_m is not None
    if z.stop_id is not None:
        p = stop_pos.get(z.stop_id)
        if p is None:
            return False
        return haversine_m(lat, lon, p[0], p[1]) <= z.radius_m
    assert z.lat is not None and z.lon is not None
    return haversine_m(lat, lon, z.lat, z.lon) <= z.radius_m


def generate_nmea(motion: MotionResult, g: GnssDef, vehicle: VehicleDef, seed: int,
                  stop_pos: dict[str, tuple[float, float]]) -> NmeaOutput:
    """Receiver output for the whole run; deterministic for ``seed``."""
    rng = random.Random(f"{seed}:gnss")
    orbits = make_constellations(g.constellations, random.Random(f"{seed}:sky"))
    writer = SentenceWriter(g)
    plans = motion.plans
    rate = g.rate_hz
    k0 = math.ceil(motion.t_start * rate - 1e-9)
    k1 = math.floor(motion.t_end * rate + 1e-9)
    dt = 1.0 / rate
    phi = math.exp(-dt / g.correlation_s)
    kick = g.sigma_m * math.sqrt(1 - phi * phi)
    en, nn, un = rng.gauss(0, g.sigma_m), rng.gauss(0, g.sigma_m), rng.gauss(0, g.sigma_m * 1.6)
    out_left, out_n, out_e = 0, 0.0, 0.0
    t_first_fix = motion.t_start + g.ttff_s
    t_time_known = motion.t_start + min(g.ttff_s * 0.3, 8.0)
    sky_cache: dict[int, Sky] = {}
    lines: list[str] = []
    line_t: list[float] = []
    epochs: list[tuple[float, int, int]] = []
    truth: list[dict[str, object]] = []
    outage_start: float | None = motion.t_start if g.ttff_s > 0 else None
    outage_cause = "ttff"
    last_blocked = -1e18
    last_course = 0.0
    deg_start: float | None = None
    deg_name = ""
    held: list[str] = []  # deferred sentences of the previous epoch
    for k in range(k0, k1 + 1):
        t = k / rate
        p = motion.track.at(t)
        plan = plans[p.trip]
        # A train reverses at the terminus: its antenna is then behind the middle (buses turn round).
        flip = vehicle.kind == "train" and plan.direction != plans[0].direction
        xa = p.x + (-vehicle.antenna_offset_m if flip else vehicle.antenna_offset_m)
        lat, lon, brg = plan.shape.point_at(xa)
        bucket = int(t // SKY_BUCKET_S)
        sky = sky_cache.get(bucket)
        if sky is None:
            sky = sky_at(orbits, bucket * SKY_BUCKET_S, lat, lon)
            sky_cache.clear()
            sky_cache[bucket] = sky
        zone = next((z for z in g.outages if _zone_hit(z, plan, p.x, lat, lon, stop_pos)), None)
        deg = next((d for d in g.degraded if _zone_hit(d.zone, plan, p.x, lat, lon, stop_pos)), None)
        if deg is not None:
            sky = masked(sky, deg.mask_deg)
            if deg_start is None:
                deg_start, deg_name = t, deg.zone.name
            if sky.used < 4 and zone is None:
                zone = deg.zone  # too few satellites left: no fix at all
        elif deg_start is not None:
            truth.append({"kind": "degraded", "start": r3(deg_start), "end": r3(t), "cause": deg_name})
            deg_start = None
        if zone is not None:
            last_blocked = t
        fix = zone is None and t >= t_first_fix and t - last_blocked >= REACQUIRE_S
        sigma_scale = deg.sigma_m / max(g.sigma_m, 0.1) if deg is not None else 1.0
        outlier_rate = deg.outlier_rate if deg is not None else g.outlier_rate
        # correlated error, always evolving so it is continuous across outages
        en = phi * en + kick * rng.gauss(0, 1)
        nn = phi * nn + kick * rng.gauss(0, 1)
        un = phi * un + 1.6 * kick * rng.gauss(0, 1)
        snr_noise = [rng.gauss(0, 1.2) for _ in sky.sats]
        if fix and out_left == 0 and outlier_rate > 0 and rng.random() < outlier_rate:
            out_left = rng.randint(*g.outlier_epochs)
            size = rng.uniform(*g.outlier_m)
            ang = rng.uniform(0, 2 * math.pi)
            out_n, out_e = size * math.cos(ang), size * math.sin(ang)
            truth.append({"kind": "outlier", "t": r3(t), "epochs": out_left, "offset_m": round(size, 1)})
        if fix:
            if outage_start is not None:
                truth.append({"kind": "outage", "start": r3(outage_start), "end": r3(t),
                              "cause": outage_cause})
                outage_start = None
            dn, de = nn * sigma_scale, en * sigma_scale
            if out_left > 0:
                dn, de = dn + out_n, de + out_e
                out_left -= 1
            flat, flon = offset_m(lat, lon, dn, de)
            # Doppler velocity noise is a horizontal vector: the reported speed is its magnitude, so a
            # standing receiver reports a small positive speed (Rayleigh-distributed), never exactly 0
            sv = g.speed_sigma_mps
            speed = math.hypot(p.v + rng.gauss(0, sv), rng.gauss(0, sv))
            course = (brg + rng.gauss(0, 0.4)) % 360 if p.v > 0.5 else last_course
            last_course = course
            e = Epoch(t, True, flat, flon, g.altitude_m + un * sigma_scale, speed, course, sky, True,
                      max(g.sigma_m * sigma_scale, 0.5) * sky.hdop, snr_noise)
        else:
            out_left = 0
            if outage_start is None:
                outage_start = t
                outage_cause = zone.name if zone is not None else "reacquire"
            e = Epoch(t, t >= t_time_known, None, None, 0.0, 0.0, 0.0, sky,
                      zone is None, 0.0, snr_noise)
        first = len(lines)
        bodies = writer.epoch(e)
        if g.deferred:
            # this epoch's deferred sentences go out after the next epoch's first sentence
            now = [b for b in bodies if b[2:5] not in g.deferred]
            bodies, held = now[:1] + held + now[1:], [b for b in bodies if b[2:5] in g.deferred]
        for body in bodies:
            lines.append(frame(body))
            line_t.append(t)
        epochs.append((t, first, len(lines)))
    if held:
        first = len(lines)
        for body in held:
            lines.append(frame(body))
            line_t.append(k1 / rate)
        epochs.append((k1 / rate, first, len(lines)))
    if outage_start is not None:
        truth.append({"kind": "outage", "start": r3(outage_start), "end": r3(k1 / rate), "cause": outage_cause})
    if deg_start is not None:
        truth.append({"kind": "degraded", "start": r3(deg_start), "end": r3(k1 / rate), "cause": deg_name})
    _corrupt(lines, line_t, g.corrupt_count, random.Random(f"{seed}:corrupt"), truth)
    return NmeaOutput(lines, line_t, epochs, truth)


def _corrupt(lines: list[str], line_t: list[float], count: int, rng: random.Random,
             truth: list[dict[str, object]]) -> None:
    """Damage ``count`` sentences the way a noisy serial line does; each one goes into the truth."""
    if count <= 0 or len(lines) < 2:
        return
    for i in sorted(rng.sample(range(1, len(lines)), min(count, len(lines) - 1))):
        s = lines[i]
        how = rng.choice(("bitflip", "truncated", "badsum"))
        star = s.rindex("*")
        if how == "bitflip":
            j = rng.randrange(1, star)
            c = s[j]
            repl = chr(ord(c) ^ 0x01) if c not in "*$" else "#"
            if repl in "*$\r\n":
                repl = "#"
            s = s[:j] + repl + s[j + 1:]
        elif how == "truncated":
            s = s[:rng.randrange(6, max(7, star - 1))]
        else:
            good = s[star + 1:star + 3]
            bad = f"{(int(good, 16) + rng.randrange(1, 255)) % 256:02X}"
            s = s[:star + 1] + bad
        lines[i] = s
        truth.append({"kind": "corrupt", "line": i + 1, "t": r3(line_t[i]), "how": how})
