"""Trip following on GNSS alone (issue 13): seeded drives of 920R and 910 without CAN.

Each drive is a shipped scenario (920R-weekday, 910-rush) made harder the way real receivers and real
lines are: 1 Hz or 10 Hz, a receiver profile (full NMEA, a GPS-only legacy set, speed only in VTG, no
speed at all, the RMC of each second sent after the next second's GGA), 1.5-3 m correlated noise with
standstill wander (Doppler speed 0.1-0.5 kn at rest), multipath jumps of 30-80 m in any direction lasting
1-5 epochs, outages of about 30 s to 3 min at stations (covered platforms) and between them (cuttings),
a signal stop just before an outage station, a stop skipped at speed right after an outage ends, a long
hold. Recorded with ``sim_bus`` (NMEA only) and fed through the onboard core as a unit without CAN.

Metrics (docs/tripfollow.md, "GNSS only"):
``gnss_only_arrival_p95_s``/``_max_s`` and ``gnss_only_departure_p95_s``/``_max_s`` over the stop visits
whose moment the receiver saw (no outage from 10 s before to 3 s after it; receivers without speed also
apart, ``gnss_only_nospeed_*``); ``gnss_only_false_pas`` (a
stop served but reported passed, outages included); ``gnss_only_missed_arrivals_outside_outage``;
``gnss_only_estimated_error_max_s`` (arrivals and departures marked ``loc: EST``);
``multipath_jumps_accepted`` (fixes more than 25 m from the true antenna position that the tracker took).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.registry import Metric, at_least, at_most, benchmark
from transit.geo import haversine_m
from transit.timeutil import parse_iso

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "data" / "scenarios"
BASES = ("920R-weekday.yaml", "910-rush.yaml")

#: receiver profiles: what real receivers send
RECEIVERS: dict[str, dict[str, Any]] = {
    "full": {"talker": "GN", "constellations": ("GP", "GL", "GA", "GB"),
             "sentences": ("RMC", "VTG", "GGA", "GSA", "GST", "ZDA"), "deferred": ()},
    "gps_legacy": {"talker": "GP", "constellations": ("GP",), "sentences": ("RMC", "GGA", "GSA", "GSV"),
                   "deferred": ()},
    "vtg_speed": {"talker": "GN", "constellations": ("GP", "GL", "GA", "GB"),
                  "sentences": ("GGA", "VTG", "GSA", "ZDA"), "deferred": ()},
    "no_speed": {"talker": "GN", "constellations": ("GP", "GL", "GA", "GB"), "sentences": ("GGA", "GSA", "ZDA"),
                 "deferred": ()},
    "late_rmc": {"talker": "GN", "constellations": ("GP", "GL", "GA", "GB"),
                 "sentences": ("GGA", "GSA", "RMC", "VTG", "ZDA"), "deferred": ("RMC", "VTG")},
}
JUMP_M = 25.0  # a fix this far from the true antenna position is a multipath jump
SEE_BEFORE_S, SEE_AFTER_S = 10.0, 3.0  # an arrival is observable when no outage touches this window


@dataclasses.dataclass
class DriveScore:
    visits: int = 0
    passes: int = 0
    arrivals: list[float] = dataclasses.field(default_factory=list)  # |error| of observed arrivals
    departures: list[float] = dataclasses.field(default_factory=list)
    signed_arr: list[float] = dataclasses.field(default_factory=list)  # observed - true (for the notes)
    signed_dep: list[float] = dataclasses.field(default_factory=list)
    estimated: list[float] = dataclasses.field(default_factory=list)  # |error| of loc EST arrivals/departures
    not_observed: int = 0  # stop events saying so
    false_pas: int = 0
    false_arrivals: int = 0
    missed_arrivals_outside_outage: int = 0
    missed_departures_outside_outage: int = 0
    in_outage: int = 0  # visits whose arrival lay in an outage
    passes_missed: int = 0  # a stop passed at speed with the receiver seeing it, not reported pas
    jumps: int = 0  # fixes > 25 m off
    jumps_accepted: int = 0
    fixes: int = 0
    failed: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, o: DriveScore) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(o, f.name))


# -- drives ----------------------------------------------------------------------------------------------------
def gnss_drive(seed: int, rate_hz: int, base: str | None = None, receiver: str | None = None) -> Any:
    """A seeded, harder variant of a shipped scenario (``sim_bus.scenario.Scenario``); the receiver
    profile goes round ``RECEIVERS`` with the seed unless given."""
    from sim_bus.plan import build_plans
    from sim_bus.scenario import OutageZone, SignalStop, SkipStop, load_scenario

    rng = random.Random(f"gnss-only:{seed}:{rate_hz}")
    name = base or BASES[seed % len(BASES)]
    sc = load_scenario(SCENARIOS / name)
    tt = _timetable(sc)
    if sc.block is not None:
        sc = dataclasses.replace(sc, block_max_trips=2)  # two trips of the block: there and back
    else:
        first = tt.trips[sc.trips[0]]
        same = sorted(t.trip_id for t in tt.trips_on(sc.service_day)
                      if t.route_id == first.route_id and t.direction_id == first.direction_id)
        sc = dataclasses.replace(sc, trips=(rng.choice(same),))
    plans = build_plans(sc, tt)
    bus = sc.vehicle.kind == "bus"
    cruise = sc.vehicle.max_speed_mps * sc.motion.cruise_factor
    outages: list[Any] = []
    signals: list[Any] = []
    skips: list[Any] = []
    fixed: dict[str, float] = {}
    for p in plans:
        inner = list(p.served[1:-1])
        if len(inner) < 3:
            continue
        picks = rng.sample(inner, k=min(len(inner), rng.randint(1, 2) + 2))
        at_station, skip, hold = picks[:-2], picks[-2], picks[-1]
        for st in at_station:
            # a covered platform / station area: about 30 s to 3 min with the dwell
            outages.append(OutageZone(f"roof-{st.stop_id}", stop_id=st.stop_id,
                                      radius_m=rng.uniform(40.0, 120.0 if bus else 450.0)))
            if rng.random() < 0.5:  # a signal stop just before it
                dist = rng.uniform(80.0, 200.0) if bus else rng.uniform(250.0, 600.0)
                signals.append(SignalStop(st.stop_id, dist, rng.uniform(10.0, 60.0), p.trip_id))
        # a stop skipped at speed right after an outage ends (a cutting before it)
        x_end = skip.chainage_m - rng.uniform(60.0, 300.0)
        length = cruise * rng.uniform(30.0, 90.0)
        prev = max((s.chainage_m for s in p.served if s.chainage_m < skip.chainage_m), default=0.0)
        x0 = max(prev + 150.0, x_end - length)
        if x_end - x0 > 100.0:
            outages.append(OutageZone(f"cutting-{skip.stop_id}", from_m=x0, to_m=x_end, trip_id=p.trip_id))
        skips.append(SkipStop(skip.stop_id, p.trip_id))
        fixed[hold.stop_id] = 150.0  # a long hold (a connection, a wheelchair ramp)
        # an outage between stations: the longest run, 30 s to 3 min of it
        runs = [(a.chainage_m, b.chainage_m) for a, b in zip(p.served, p.served[1:], strict=False)]
        a, b = max(runs, key=lambda r: r[1] - r[0])
        length = min(cruise * rng.uniform(30.0, 180.0), b - a - 600.0)
        if length > 200.0:
            x0 = a + 300.0 + rng.uniform(0.0, b - a - 600.0 - length)
            outages.append(OutageZone(f"cutting-{p.trip_id}", from_m=x0, to_m=x0 + length, trip_id=p.trip_id))
    receiver = receiver or sorted(RECEIVERS)[seed % len(RECEIVERS)]
    g = sc.gnss
    per_s = rng.uniform(0.005, 0.03)  # multipath jumps per second, whatever the epoch rate
    gnss = dataclasses.replace(
        g, rate_hz=rate_hz, baud=115200 if rate_hz > 1 else max(g.baud, 38400),
        sigma_m=rng.uniform(1.5, 3.0), correlation_s=rng.uniform(15.0, 90.0),
        outlier_rate=per_s / rate_hz, outlier_m=(30.0, 80.0), outlier_epochs=(1, 5),
        speed_sigma_mps=rng.uniform(0.03, 0.15), ttff_s=rng.uniform(20.0, 35.0), corrupt_count=0,
        outages=tuple(outages), **RECEIVERS[receiver])
    own = tuple(s for s in sc.signal_stops if s.before in {st.stop_id for p in plans for st in p.served})
    delays = dataclasses.replace(sc.delays, fixed={**sc.delays.fixed, **fixed})
    motion = dataclasses.replace(sc.motion, stop_jerk_mps3=rng.uniform(0.3, 1.0))
    sc = dataclasses.replace(sc, seed=rng.randrange(1, 10**6), gnss=gnss, signal_stops=own + tuple(signals),
                             skips=tuple(skips), delays=delays, motion=motion)
    return sc, tt, receiver


_TT: dict[str, Any] = {}


def _timetable(sc: Any) -> Any:
    from sim_bus.engine import load_timetable
    key = str(sc.feed)
    if key not in _TT:
        _TT[key] = load_timetable(sc)
    return _TT[key]


# -- one drive ---------------------------------------------------------------------------------------------------
def run_drive(sc: Any, tt: Any) -> tuple[DriveScore, list[dict[str, Any]]]:
    """Simulate, feed the NMEA through the core as a unit without CAN, score against the truth."""
    import msgspec

    from hw.gnss.stream import NmeaStream
    from onboard.service.bootstrap import bootstrap
    from onboard.service.replay import load_setup
    from sim_bus.engine import build
    from sim_bus.onboardconf import onboard_yaml

    sim = build(sc, timetable=tt)
    with tempfile.TemporaryDirectory(prefix="bench-gnss-only-") as tmp:
        path = Path(tmp) / "onboard.yaml"
        path.write_text(onboard_yaml(sim), encoding="utf-8")
        setup = load_setup(path)
    stream = NmeaStream()
    fixes = stream.feed("".join(line + "\r\n" for line in sim.nmea.lines).encode("ascii", "replace"))
    fixes += stream.flush()
    events: list[dict[str, Any]] = []
    sc_out = DriveScore()
    if not fixes:
        sc_out.failed = 1
        return sc_out, events
    pipe = bootstrap(setup, tt, fixes[0].time.timestamp(), with_counting=False, vp_interval_s=0.0)
    core = pipe.core
    truth_pos = _antenna_truth(sim)
    taken: list[float] = []  # every fix the trackers took as the vehicle's position (also afterwards)
    jumped: list[tuple[float, float]] = []
    pos = None
    for fx in fixes:
        events += [msgspec.to_builtins(r) for r in pipe.on_fix(fx)]
        if core.pos is not pos:
            pos = core.pos
            if pos is not None:
                pos.accept_log = taken
        if not fx.has_position:
            continue
        assert fx.lat is not None and fx.lon is not None
        lat, lon = truth_pos(fx.time.timestamp())
        sc_out.fixes += 1
        err = haversine_m(lat, lon, fx.lat, fx.lon)
        if err > JUMP_M:
            jumped.append((fx.time.timestamp(), err))
    events += [msgspec.to_builtins(r) for r in pipe.finish()]
    took = set(taken)
    sc_out.jumps = len(jumped)
    for t, err in jumped:
        if t in took:
            sc_out.jumps_accepted += 1
            sc_out.notes.append(f"fix at {t:.1f} {err:.0f} m off taken")
    score_events(sim.truth(), events, sc_out)
    return sc_out, events


def _antenna_truth(sim: Any) -> Any:
    """t -> the true antenna position (the simulator's own rule: a reversing train's antenna is behind)."""
    veh = sim.scenario.vehicle
    plans = sim.motion.plans

    def at(t: float) -> tuple[float, float]:
        p = sim.motion.track.at(t)
        plan = plans[p.trip]
        flip = veh.kind == "train" and plan.direction != plans[0].direction
        xa = p.x + (-veh.antenna_offset_m if flip else veh.antenna_offset_m)
        lat, lon, _ = plan.shape.point_at(xa)
        return lat, lon

    return at


def score_events(truth: list[dict[str, Any]], events: list[dict[str, Any]], sc: DriveScore) -> None:
    outages = [(float(r["start"]), float(r["end"])) for r in truth if r.get("kind") == "outage"]

    def blind(a: float, b: float) -> bool:
        return any(s0 < b and a < s1 for s0, s1 in outages)

    visits = {(r["trip_id"], r["stop_id"]): r for r in truth if r.get("kind") == "visit"}
    passes = {(r["trip_id"], r["stop_id"]): r for r in truth if r.get("kind") == "pass"}
    first: dict[str, tuple[str, str]] = {}
    for r in truth:
        if r.get("kind") == "visit":
            first.setdefault(r["trip_id"], (r["trip_id"], r["stop_id"]))
    got: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for e in events:
        if e.get("trip_id") is None or e.get("stop_id") is None:
            continue
        got.setdefault(e["event"], {}).setdefault((e["trip_id"], e["stop_id"]), []).append(e)
    sc.visits += len(visits)
    sc.passes += len(passes)
    sc.not_observed += sum(len(v) for v in got.get("not_observed", {}).values())

    def t_of(e: dict[str, Any]) -> float:
        return parse_iso(e["tst"]).timestamp()

    for key, v in visits.items():
        arr = float(v["arrival"])
        dep = v.get("departure")
        ars = got.get("ars", {}).get(key, [])
        if key in got.get("pas", {}):
            sc.false_pas += 1
            sc.notes.append(f"pas at a served stop {key}")
        if len(ars) > 1:
            sc.false_arrivals += len(ars) - 1
            sc.notes.append(f"{len(ars)} arrivals for one visit {key}")
        observed = [e for e in ars if e.get("loc") != "EST"]
        estimated = [e for e in ars if e.get("loc") == "EST"]
        seen = not blind(arr - SEE_BEFORE_S, arr + SEE_AFTER_S)
        if not seen:
            sc.in_outage += 1
        for e in estimated:
            sc.estimated.append(abs(t_of(e) - arr))
        if observed:
            if key != first.get(key[0]):
                err = abs(t_of(observed[0]) - arr)
                sc.arrivals.append(err)
                sc.signed_arr.append(t_of(observed[0]) - arr)
                if err > 3.0:
                    sc.notes.append(f"arrival {key} {t_of(observed[0]) - arr:+.1f} s")
        elif seen:
            sc.missed_arrivals_outside_outage += 1
            sc.notes.append(f"missed arrival {key}" + (" (estimated)" if estimated else ""))
        if dep is not None:
            d = float(dep)
            deps = got.get("dep", {}).get(key, [])
            for e in deps:
                if e.get("loc") == "EST":
                    sc.estimated.append(abs(t_of(e) - d))
            odeps = [e for e in deps if e.get("loc") != "EST"]
            if odeps:
                err = abs(t_of(odeps[0]) - d)
                sc.departures.append(err)
                sc.signed_dep.append(t_of(odeps[0]) - d)
                if err > 5.0:
                    sc.notes.append(f"departure {key} {t_of(odeps[0]) - d:+.1f} s")
            elif not blind(d - SEE_AFTER_S, d + SEE_BEFORE_S):
                sc.missed_departures_outside_outage += 1
                sc.notes.append(f"missed departure {key}")
    for key in got.get("ars", {}):
        if key not in visits:
            sc.false_arrivals += len(got["ars"][key])
            sc.notes.append(f"false arrival {key}")
    for key, p in passes.items():
        tp = float(p["t"])
        if key not in got.get("pas", {}) and not blind(tp - 5.0, tp + 5.0):
            sc.passes_missed += 1
            sc.notes.append(f"pass not reported {key}")


def _job(job: tuple[int, int]) -> tuple[str, str, DriveScore]:
    seed, rate = job
    try:
        sc, tt, receiver = gnss_drive(seed, rate)
        score, _ = run_drive(sc, tt)
        return f"{sc.name} #{seed} {rate} Hz {receiver}", receiver, score
    except Exception as exc:  # noqa: BLE001 - a failed drive is a counted error, not the end of the bench
        s = DriveScore(failed=1)
        s.notes.append(f"failed: {type(exc).__name__}: {exc}")
        return f"#{seed} {rate} Hz", "", s


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def metrics(total: DriveScore, no_speed: DriveScore, drives: int) -> list[Metric]:
    """The issue's figures over every drive, and the timing of receivers without speed apart (standstill
    from positions alone: their error wanders by tenths of a metre per second, as fast as the last metres
    of braking)."""
    every = DriveScore()
    every.add(total)
    every.add(no_speed)
    n = dict(drives=drives, visits=every.visits, arrivals_timed=len(every.arrivals),
             departures_timed=len(every.departures), in_outage=every.in_outage,
             estimated=len(every.estimated), not_observed=every.not_observed)
    ns = dict(arrivals_timed=len(no_speed.arrivals), departures_timed=len(no_speed.departures))
    return [
        at_most("gnss_only_scenarios_failed", every.failed, 0, "count", **n),
        at_most("gnss_only_arrival_p95_s", round(percentile(every.arrivals, 0.95), 3), 1.0, "s", **n),
        at_most("gnss_only_arrival_max_s", round(max(every.arrivals or [0.0]), 3), 3.0, "s", **n),
        at_most("gnss_only_departure_p95_s", round(percentile(every.departures, 0.95), 3), 2.0, "s", **n),
        at_most("gnss_only_departure_max_s", round(max(every.departures or [0.0]), 3), 5.0, "s", **n),
        at_most("gnss_only_false_pas", every.false_pas, 0, "count", **n),
        at_most("gnss_only_false_arrivals", every.false_arrivals, 0, "count", **n),
        at_most("gnss_only_missed_arrivals_outside_outage", every.missed_arrivals_outside_outage, 0, "count",
                **n),
        at_most("gnss_only_missed_departures_outside_outage", every.missed_departures_outside_outage, 0,
                "count", **n),
        at_most("gnss_only_passes_missed", every.passes_missed, 0, "count", passes=every.passes, **n),
        at_most("gnss_only_estimated_error_max_s", round(max(every.estimated or [0.0]), 1), 60.0, "s", **n),
        at_most("multipath_jumps_accepted", every.jumps_accepted, 0, "count", jumps=every.jumps,
                fixes=every.fixes),
        at_most("gnss_only_nospeed_arrival_max_s", round(max(no_speed.arrivals or [0.0]), 3), 3.0, "s", **ns),
        at_most("gnss_only_nospeed_departure_max_s", round(max(no_speed.departures or [0.0]), 3), 5.0, "s",
                **ns),
    ]


def drives(per_rate: int) -> list[tuple[int, int]]:
    """(seed, rate) jobs: ``per_rate`` drives at 1 Hz and at 10 Hz (receivers in turn, 920R and 910)."""
    return [(seed, rate) for rate in (1, 10) for seed in range(1, per_rate + 1)]


def run_drives(jobs: list[tuple[int, int]], processes: int = 2,
               say: Any = None) -> tuple[DriveScore, DriveScore]:
    """Run the drives; returns the scores of receivers with speed and of those without."""
    total, no_speed = DriveScore(), DriveScore()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for done, (label, receiver, s) in enumerate(pool.imap_unordered(_job, jobs), 1):
            (no_speed if receiver == "no_speed" else total).add(s)
            if say is not None:
                say(done, label, s)
    return total, no_speed


def _say(done: int, label: str, s: DriveScore) -> None:
    print(f"[gnss_only] {done} {label}: {s.visits} visits, arr max {max(s.arrivals or [0.0]):.2f} s, dep max "
          f"{max(s.departures or [0.0]):.2f} s, est max {max(s.estimated or [0.0]):.1f} s ({len(s.estimated)}), "
          f"not observed {s.not_observed}, false pas {s.false_pas}, missed {s.missed_arrivals_outside_outage}, "
          f"jumps taken {s.jumps_accepted}/{s.jumps}", file=sys.stderr)
    for note in s.notes[:6]:
        print(f"[gnss_only]    {note}", file=sys.stderr)


@benchmark("gnss_only")
def bench_gnss_only() -> list[Metric]:
    """25 seeded drives at 1 Hz and 25 at 10 Hz of 920R and 910 without CAN (20 of each with a receiver
    that reports speed, 5 without)."""
    logging.getLogger("hw").setLevel(logging.ERROR)
    logging.getLogger("onboard").setLevel(logging.WARNING)  # a line per outage and trip: not for a benchmark
    jobs = drives(25)
    total, no_speed = run_drives(jobs, say=_say)
    return [at_least("gnss_only_drives", len(jobs), 40, "drives"), *metrics(total, no_speed, len(jobs))]
