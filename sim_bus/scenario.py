"""Simulator scenario files: what to drive, with which vehicle, and how the sensors misbehave.

A scenario is YAML read through :mod:`transit.yamlconf` and validated once here, so every later stage can
trust it. Errors are :class:`~transit.errors.ScenarioError` naming file, line and key. Every key is
documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from transit.errors import ScenarioError
from transit.yamlconf import Node, load_yaml, parse_yaml

log = logging.getLogger(__name__)

KMH = 1 / 3.6

#: NMEA sentence types the receiver model can emit.
SENTENCES = ("RMC", "VTG", "GGA", "GNS", "GSA", "GSV", "GST", "ZDA")
#: Talkers: GN = combined multi-GNSS, or a single system's own talker.
TALKERS = ("GN", "GP", "GL", "GA", "GB")
CONSTELLATIONS = ("GP", "GL", "GA", "GB")


@dataclass(frozen=True)
class DoorDef:
    """One vehicle door with its beam pairs (GPIO numbers, outer A then inner B)."""

    index: int
    beams: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class VehicleDef:
    id: str
    kind: str  # "train" | "bus"
    type_name: str
    length_m: float
    seats: int
    folding_seats: int
    capacity: int
    max_speed_mps: float
    accel_mps2: float
    braking_mps2: float
    stop_position: str  # "middle": the vehicle's middle at the platform centre (trains); "front": buses
    antenna_offset_m: float  # antenna position ahead of the vehicle's middle
    doors: tuple[DoorDef, ...]
    odometer_start_m: float
    operator_type: str | None  # key of the operator file's vehicle_types (for onboard.yaml)
    max_load: int | None = None  # persons who physically get on when a driver lets them (default: capacity)


@dataclass(frozen=True)
class SpeedLimit:
    """A line speed limit between two chainages of the trip's shape (metres from the shape start)."""

    from_m: float
    to_m: float
    speed_mps: float
    trip_id: str | None = None  # chainages refer to this trip's shape (default: every trip)


@dataclass(frozen=True)
class MotionDef:
    step_s: float
    cruise_factor: float  # share of the allowed speed the driver holds
    hold_at: str  # "timepoints" | "all" | "none": never depart before schedule there
    speed_limits: tuple[SpeedLimit, ...]
    lead_s: float  # simulation starts this long before the first scheduled departure
    platform_margin_m: float  # platform zone = vehicle length + 2 x margin
    stop_jerk_mps3: float = 0.6  # brake eased off at the stop: deceleration falls at this rate (0: none)


@dataclass(frozen=True)
class DwellDef:
    door_open_delay_s: float  # standstill -> doors open
    min_open_s: float
    close_margin_s: float  # last passenger clear -> doors start closing
    close_duration_s: float  # doors closing -> all closed (DC1 'closing last door')
    depart_after_close_s: float
    open_when_idle: bool  # open doors at a stop with nobody boarding or alighting
    skip_when_idle: bool  # request stops: pass without stopping when nobody boards or alights
    stagger_s: float  # doors do not open at exactly the same instant


@dataclass(frozen=True)
class RandomDelay:
    probability: float  # per stop
    mean_s: float  # exponential extra dwell
    max_s: float


@dataclass(frozen=True)
class DelayDef:
    origin_s: float
    fixed: dict[str, float]  # stop_id -> extra dwell seconds
    random: RandomDelay | None


@dataclass(frozen=True)
class SignalStop:
    before: str  # stop_id of the station
    distance_m: float  # where the vehicle's front halts, before the platform zone
    wait_s: float
    trip_id: str | None


@dataclass(frozen=True)
class SkipStop:
    """A stop the timetable serves that the driver passes at speed (running late, a missed stop)."""

    stop: str
    trip_id: str | None


@dataclass(frozen=True)
class OutageZone:
    """Where the receiver loses the sky: a chainage window, or a circle (stop or coordinates)."""

    name: str
    from_m: float | None = None
    to_m: float | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    stop_id: str | None = None
    trip_id: str | None = None  # chainage windows refer to this trip's shape (default: every trip)


@dataclass(frozen=True)
class DegradedZone:
    """Urban canyon, deep cutting, trees: the receiver keeps a fix, but a worse one."""

    zone: OutageZone
    sigma_m: float
    outlier_rate: float
    mask_deg: float  # satellites below this elevation are blocked


@dataclass(frozen=True)
class GnssDef:
    rate_hz: int
    baud: int
    talker: str
    constellations: tuple[str, ...]
    sentences: tuple[str, ...]
    ttff_s: float
    sigma_m: float
    correlation_s: float
    outlier_rate: float  # per epoch
    outlier_m: tuple[float, float]
    outlier_epochs: tuple[int, int]
    speed_sigma_mps: float  # Doppler velocity noise per horizontal axis (speed = its magnitude)
    outages: tuple[OutageZone, ...]
    degraded: tuple[DegradedZone, ...]
    corrupt_count: int
    altitude_m: float
    geoid_sep_m: float
    decimals: int  # minutes decimals in lat/lon fields
    # sentences of each epoch sent only after the first sentence of the next epoch (some receivers
    # send the RMC of one second after the GGA of the next)
    deferred: tuple[str, ...] = ()


@dataclass(frozen=True)
class CanDef:
    channel: str
    bitrate: int
    background_fps: float
    ccvs1_ms: float
    dc1_ms: float
    dc2_ms: float
    vdhr_ms: float
    jitter_ms: float
    wheel_scale: float  # CCVS1 speed and VDHR distance = truth x this (tyre wear, calibration)
    # The wheel-speed sensor as a real gateway reports it (docs/simulator.md, "can"):
    wheel_cutoff_kmh: float = 2.0  # below this the pulse period is too long: the speed reads 0
    wheel_update_ms: float = 100.0  # the ECU refreshes the value this often (held in between)
    wheel_lag_ms: float = 100.0  # first-order filter time constant of the speed signal
    door_latency_ms: float = 100.0  # door controller -> DC1/DC2: state changes are reported this late


@dataclass(frozen=True)
class StopPax:
    board: int
    alight: int


@dataclass(frozen=True)
class PassengersDef:
    profile: Node | None  # handed to PassengerProfile.from_node
    default: StopPax
    random: bool  # Poisson around the counts instead of exact counts
    stops: dict[str, StopPax]
    alight_all_at_terminus: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    feed: Path
    operator: Path | None
    service_day: date
    trips: tuple[str, ...]
    block: str | None
    block_from: str | None  # first trip of the block to drive (default: its first)
    block_max_trips: int | None
    seed: int
    vehicle: VehicleDef
    motion: MotionDef
    dwell: DwellDef
    delays: DelayDef
    signal_stops: tuple[SignalStop, ...]
    skips: tuple[SkipStop, ...]
    gnss: GnssDef
    can: CanDef
    passengers: PassengersDef
    root: Node = field(repr=False, compare=False)

    def node(self, *path: str) -> Node:
        """The YAML node at ``path`` (for errors found later, e.g. an unknown trip_id)."""
        n = self.root
        for k in path:
            nxt = n.opt(k)
            if nxt is None:
                return n
            n = nxt
        return n


# -- parsing ----------------------------------------------------------------------------------------

def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; paths inside are relative to the file."""
    return scenario_from_node(load_yaml(path, ScenarioError), Path(path).resolve().parent)


def parse_scenario(text: str, base_dir: Path, file: str = "<scenario>") -> Scenario:
    return scenario_from_node(parse_yaml(text, file, ScenarioError), base_dir)


_TOP = frozenset({"name", "description", "feed", "operator", "service_day", "trips", "block", "seed",
                  "vehicle", "motion", "dwell", "delays", "signal_stops", "skips", "gnss", "can",
                  "passengers"})


def scenario_from_node(root: Node, base_dir: Path) -> Scenario:
    if not root.is_map():
        raise root.error("a scenario is a mapping of keys (name, feed, trips, vehicle, ...)")
    root.reject_unknown(_TOP)
    feed = _path(root.child("feed"), base_dir)
    if not feed.exists():
        raise root.child("feed").error(f"GTFS feed not found: {feed}")
    op_node = root.opt("operator")
    operator = _path(op_node, base_dir) if op_node is not None else None
    if operator is not None and op_node is not None and not operator.exists():
        raise op_node.error(f"operator file not found: {operator}")
    day = root.child("service_day").convert(_as_date, "a date YYYY-MM-DD")
    trips_node, block_node = root.opt("trips"), root.opt("block")
    if (trips_node is None) == (block_node is None):
        raise root.error("give exactly one of 'trips' (list of trip_id) or 'block' (block_id)")
    trips: tuple[str, ...] = ()
    if trips_node is not None:
        items = trips_node.as_list() if isinstance(trips_node.value, list) else [trips_node]
        if not items:
            raise trips_node.error("expected at least one trip_id")
        trips = tuple(t.as_str() for t in items)
    block: str | None = None
    block_from: str | None = None
    block_max: int | None = None
    if block_node is not None:
        if block_node.is_map():
            block_node.reject_unknown({"id", "from_trip", "max_trips"})
            block = block_node.get_str("id")
            block_from = block_node.get_str("from_trip", None)
            block_max = block_node.get_int("max_trips", None, min=1)
        else:
            block = block_node.as_str()
    motion = _motion(root.opt("motion"))
    signals = []
    for sn in _list(root.opt("signal_stops")):
        sig = _signal(sn)
        if sig.distance_m <= motion.platform_margin_m:
            raise (sn.opt("distance_m") or sn).error(
                f"a signal stop {sig.distance_m:g} m before the platform centre would be inside the platform "
                f"zone (motion.platform_margin_m = {motion.platform_margin_m:g})")
        signals.append(sig)
    skips = []
    for kn in _list(root.opt("skips")):
        kn.reject_unknown({"stop", "trip_id"})
        skips.append(SkipStop(kn.get_str("stop"), kn.get_str("trip_id", None)))
    return Scenario(
        name=root.get_str("name"),
        file=root.file,
        feed=feed,
        operator=operator,
        service_day=day,
        trips=trips,
        block=block,
        block_from=block_from,
        block_max_trips=block_max,
        seed=root.get_int("seed", 1, min=0),
        vehicle=_vehicle(root.child("vehicle")),
        motion=motion,
        dwell=_dwell(root.opt("dwell")),
        delays=_delays(root.opt("delays")),
        signal_stops=tuple(signals),
        skips=tuple(skips),
        gnss=_gnss(root.opt("gnss")),
        can=_can(root.opt("can")),
        passengers=_passengers(root.opt("passengers")),
        root=root,
    )


def _as_date(v: Any) -> date:
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def _path(n: Node, base: Path) -> Path:
    text = n.as_str()
    if not text.strip() or "\x00" in text:
        raise n.error("expected a file path")
    p = Path(text)
    return p if p.is_absolute() else (base / p).resolve()


def _list(n: Node | None) -> list[Node]:
    return [] if n is None else n.as_list()


def _empty(n: Node | None, where: Node | None = None) -> Node:
    """Absent optional section → an empty mapping node so defaults apply uniformly."""
    if n is not None:
        if not n.is_map():
            raise n.error("expected a mapping")
        return n
    return Node({}, "<defaults>", 0, "", ScenarioError)


_VEHICLE = frozenset({"id", "kind", "type", "length_m", "seats", "folding_seats", "capacity",
                      "max_speed_kmh", "acceleration_mps2", "braking_mps2", "stop_position",
                      "antenna_offset_m", "doors", "odometer_start_km", "operator_type",
                      "max_load"})


def _vehicle(n: Node) -> VehicleDef:
    n.reject_unknown(_VEHICLE)
    kind = n.child("kind").choice(("train", "bus"))
    length = n.get_float("length_m", min=3.0, max=400.0)
    seats = n.get_int("seats", min=1)
    capacity = n.get_int("capacity", min=1)
    if capacity < seats:
        raise n.child("capacity").error(f"approved capacity {capacity} is below the seat count {seats}")
    doors: list[DoorDef] = []
    pins_seen: dict[int, str] = {}
    door_nodes = n.child("doors").as_list()
    if not door_nodes:
        raise n.child("doors").error("a vehicle needs at least one door")
    for i, dn in enumerate(door_nodes):
        dn.reject_unknown({"index", "beams"})
        idx = dn.get_int("index", i + 1, min=1)
        if idx != i + 1:
            raise dn.error(f"doors must be numbered 1.. front to back; expected index {i + 1}, got {idx}")
        beams: list[tuple[int, int]] = []
        bl = dn.child("beams").as_list()
        if not 1 <= len(bl) <= 4:
            raise dn.child("beams").error("expected 1 to 4 beam pairs [pin_A, pin_B]")
        for bn in bl:
            pair = bn.as_list()
            if len(pair) != 2:
                raise bn.error("expected two GPIO numbers [outer A, inner B]")
            a, b = (p.as_int(min=0, max=53) for p in pair)
            for p, pn in ((a, pair[0]), (b, pair[1])):
                if p in pins_seen:
                    raise pn.error(f"GPIO {p} is already used by {pins_seen[p]}")
                pins_seen[p] = pn.path
            beams.append((a, b))
        doors.append(DoorDef(idx, tuple(beams)))
    sp_default = "middle" if kind == "train" else "front"
    return VehicleDef(
        id=n.get_str("id"),
        kind=kind,
        type_name=n.get_str("type", kind),
        length_m=length,
        seats=seats,
        folding_seats=n.get_int("folding_seats", 0, min=0),
        capacity=capacity,
        max_speed_mps=n.get_float("max_speed_kmh", min=5.0, max=250.0) * KMH,
        accel_mps2=n.get_float("acceleration_mps2", 0.8, min=0.05, max=3.0),
        braking_mps2=n.get_float("braking_mps2", 0.7, min=0.05, max=3.0),
        stop_position=(n.child("stop_position").choice(("middle", "front"))
                       if n.opt("stop_position") is not None else sp_default),
        antenna_offset_m=n.get_float("antenna_offset_m", 0.0, min=-length / 2, max=length / 2),
        doors=tuple(doors),
        odometer_start_m=n.get_float("odometer_start_km", 100_000.0, min=0.0) * 1000.0,
        operator_type=n.get_str("operator_type", None),
        max_load=n.get_int("max_load", None, min=capacity),
    )


_MOTION = frozenset({"step_s", "cruise_factor", "hold_at", "speed_limits", "lead_s",
                     "platform_margin_m", "stop_jerk_mps3"})


def _motion(n0: Node | None) -> MotionDef:
    n = _empty(n0)
    n.reject_unknown(_MOTION)
    limits: list[SpeedLimit] = []
    for ln in _list(n.opt("speed_limits")):
        ln.reject_unknown({"from_m", "to_m", "kmh", "trip_id"})
        lo, hi = ln.get_float("from_m", min=0.0), ln.get_float("to_m", min=0.0)
        if hi <= lo:
            raise ln.child("to_m").error(f"must be greater than from_m ({lo})")
        limits.append(SpeedLimit(lo, hi, ln.get_float("kmh", min=5.0, max=250.0) * KMH,
                                 ln.get_str("trip_id", None)))
    hold = n.child("hold_at").choice(("timepoints", "all", "none")) if n.opt("hold_at") else "timepoints"
    return MotionDef(
        step_s=n.get_float("step_s", 0.01, min=0.001, max=0.1),
        cruise_factor=n.get_float("cruise_factor", 0.95, min=0.3, max=1.0),
        hold_at=hold,
        speed_limits=tuple(limits),
        lead_s=n.get_float("lead_s", 120.0, min=0.0, max=3600.0),
        platform_margin_m=n.get_float("platform_margin_m", 10.0, min=0.0, max=200.0),
        stop_jerk_mps3=n.get_float("stop_jerk_mps3", 0.6, min=0.0, max=5.0),
    )


_DWELL = frozenset({"door_open_delay_s", "min_open_s", "close_margin_s", "close_duration_s",
                    "depart_after_close_s", "open_when_idle", "skip_when_idle", "stagger_s"})


def _dwell(n0: Node | None) -> DwellDef:
    n = _empty(n0)
    n.reject_unknown(_DWELL)
    return DwellDef(
        door_open_delay_s=n.get_float("door_open_delay_s", 2.0, min=0.0, max=60.0),
        min_open_s=n.get_float("min_open_s", 10.0, min=0.0, max=600.0),
        close_margin_s=n.get_float("close_margin_s", 2.0, min=0.0, max=60.0),
        close_duration_s=n.get_float("close_duration_s", 3.0, min=0.5, max=30.0),
        depart_after_close_s=n.get_float("depart_after_close_s", 2.0, min=0.0, max=60.0),
        open_when_idle=n.get_bool("open_when_idle", True),
        skip_when_idle=n.get_bool("skip_when_idle", False),
        stagger_s=n.get_float("stagger_s", 0.4, min=0.0, max=5.0),
    )


def _delays(n0: Node | None) -> DelayDef:
    n = _empty(n0)
    n.reject_unknown({"origin_s", "fixed", "random"})
    fixed: dict[str, float] = {}
    fn = n.opt("fixed")
    if fn is not None:
        for k, v in fn.items():
            fixed[str(k)] = v.as_float(min=0.0, max=7200.0)
    rnd = None
    rn = n.opt("random")
    if rn is not None:
        rn.reject_unknown({"probability", "mean_s", "max_s"})
        rnd = RandomDelay(rn.get_float("probability", min=0.0, max=1.0),
                          rn.get_float("mean_s", min=0.0, max=3600.0),
                          rn.get_float("max_s", 600.0, min=0.0, max=7200.0))
    return DelayDef(n.get_float("origin_s", 0.0, min=0.0, max=7200.0), fixed, rnd)


def _signal(n: Node) -> SignalStop:
    n.reject_unknown({"before", "distance_m", "wait_s", "trip_id"})
    return SignalStop(n.get_str("before"), n.get_float("distance_m", 200.0, min=20.0, max=3000.0),
                      n.get_float("wait_s", min=1.0, max=3600.0), n.get_str("trip_id", None))


_GNSS = frozenset({"rate_hz", "baud", "talker", "constellations", "sentences", "deferred", "ttff_s", "noise",
                   "outages", "degraded", "corrupt", "altitude_m", "geoid_separation_m", "decimals"})


def _gnss(n0: Node | None) -> GnssDef:
    n = _empty(n0)
    n.reject_unknown(_GNSS)
    rate_node = n.opt("rate_hz")
    rate = rate_node.as_int() if rate_node is not None else 1
    if rate not in (1, 2, 5, 10) and rate_node is not None:
        raise rate_node.error(f"expected 1, 2, 5 or 10 Hz, got {rate}")
    talker = n.child("talker").choice(TALKERS) if n.opt("talker") else "GN"
    cons_node = n.opt("constellations")
    cons = (tuple(c.choice(CONSTELLATIONS) for c in cons_node.as_list()) if cons_node is not None
            else (("GP", "GL", "GA", "GB") if talker == "GN" else (talker,)))
    if talker != "GN" and cons != (talker,):
        raise (cons_node or n).error(f"a single-system talker {talker} needs constellations: [{talker}]")
    if len(set(cons)) != len(cons) or not cons:
        raise (cons_node or n).error("constellations must be distinct and not empty")
    sent_node = n.opt("sentences")
    sentences = (tuple(s.choice(SENTENCES) for s in sent_node.as_list()) if sent_node is not None
                 else ("RMC", "VTG", "GGA", "GSA", "GSV", "GST", "ZDA"))
    if not ({"RMC", "GGA", "GNS"} & set(sentences)):
        raise (sent_node or n).error("need at least one of RMC, GGA, GNS to carry a position")
    def_node = n.opt("deferred")
    deferred = tuple(s.choice(SENTENCES) for s in def_node.as_list()) if def_node is not None else ()
    if def_node is not None and (not set(deferred) <= set(sentences) or set(deferred) >= set(sentences)):
        raise def_node.error("deferred sentences must be some (not all) of the configured sentences")
    noise = _empty(n.opt("noise"))
    noise.reject_unknown({"sigma_m", "correlation_s", "outlier_rate", "outlier_m", "outlier_epochs",
                          "speed_sigma_mps"})
    om = _pair(noise.opt("outlier_m"), (30.0, 80.0), 1.0, 1000.0)
    oe = _pair(noise.opt("outlier_epochs"), (1, 3), 1, 100)
    zones: list[OutageZone] = []
    for i, zn in enumerate(_list(n.opt("outages"))):
        zones.append(_outage(zn, i))
    degraded: list[DegradedZone] = []
    for i, zn in enumerate(_list(n.opt("degraded"))):
        extra = {"sigma_m", "outlier_rate", "mask_deg"}
        zone = _outage(zn, i, extra, f"degraded{i + 1}")
        degraded.append(DegradedZone(zone, zn.get_float("sigma_m", 6.0, min=0.1, max=100.0),
                                     zn.get_float("outlier_rate", 0.05, min=0.0, max=0.5),
                                     zn.get_float("mask_deg", 30.0, min=5.0, max=70.0)))
    corrupt = _empty(n.opt("corrupt"))
    corrupt.reject_unknown({"count"})
    baud = n.get_int("baud", 38400)
    if baud not in (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600):
        raise n.child("baud").error(f"not a standard UART rate: {baud}")
    g = GnssDef(
        rate_hz=rate,
        baud=baud,
        talker=talker,
        constellations=cons,
        sentences=sentences,
        ttff_s=n.get_float("ttff_s", 30.0, min=0.0, max=900.0),
        sigma_m=noise.get_float("sigma_m", 1.5, min=0.0, max=100.0),
        correlation_s=noise.get_float("correlation_s", 30.0, min=0.1, max=3600.0),
        outlier_rate=noise.get_float("outlier_rate", 0.0, min=0.0, max=0.5),
        outlier_m=(float(om[0]), float(om[1])),
        outlier_epochs=(int(oe[0]), int(oe[1])),
        speed_sigma_mps=noise.get_float("speed_sigma_mps", 0.05, min=0.0, max=2.0),
        outages=tuple(zones),
        degraded=tuple(degraded),
        corrupt_count=corrupt.get_int("count", 0, min=0, max=10_000),
        altitude_m=n.get_float("altitude_m", 30.0, min=-100.0, max=3000.0),
        geoid_sep_m=n.get_float("geoid_separation_m", 40.0, min=-120.0, max=120.0),
        decimals=n.get_int("decimals", 5, min=2, max=7),
        deferred=deferred,
    )
    need = estimate_bytes_per_second(g)
    if need > baud / 10 * 0.9:
        raise (n.opt("baud") or n).error(
            f"{g.rate_hz} Hz with sentences {', '.join(sentences)} needs about {need:.0f} bytes/s, "
            f"but {baud} baud carries {baud // 10}: raise baud or lower the rate")
    return g


def _pair(n: Node | None, default: tuple[float, float], lo: float, hi: float) -> tuple[float, float]:
    if n is None:
        return default
    items = n.as_list()
    if len(items) != 2:
        raise n.error("expected [min, max]")
    a, b = (x.as_float(min=lo, max=hi) for x in items)
    if b < a:
        raise n.error("expected [min, max] with min <= max")
    return a, b


def _outage(n: Node, i: int, extra: set[str] | None = None, default_name: str | None = None) -> OutageZone:
    n.reject_unknown({"name", "from_m", "to_m", "lat", "lon", "radius_m", "stop", "trip_id"} | (extra or set()))
    name = n.get_str("name", default_name or f"outage{i + 1}")
    trip = n.get_str("trip_id", None)
    if n.opt("from_m") is not None or n.opt("to_m") is not None:
        lo, hi = n.get_float("from_m", min=0.0), n.get_float("to_m", min=0.0)
        if hi <= lo:
            raise n.child("to_m").error(f"must be greater than from_m ({lo})")
        return OutageZone(name, from_m=lo, to_m=hi, trip_id=trip)
    radius = n.get_float("radius_m", min=1.0, max=5000.0)
    if n.opt("stop") is not None:
        return OutageZone(name, stop_id=n.get_str("stop"), radius_m=radius)
    if n.opt("lat") is None:
        raise n.error("a zone needs from_m/to_m (chainage), stop + radius_m, or lat/lon + radius_m")
    return OutageZone(name, lat=n.get_float("lat", min=-90.0, max=90.0),
                      lon=n.get_float("lon", min=-180.0, max=180.0), radius_m=radius)


_SENTENCE_BYTES = {"RMC": 76, "VTG": 40, "GGA": 80, "GNS": 80, "GST": 62, "ZDA": 38}


def estimate_bytes_per_second(g: GnssDef) -> float:
    """Rough receiver output per second: GSA per system, GSV ~ one sentence per 4 visible satellites."""
    per_epoch = 0.0
    for s in g.sentences:
        if s == "GSA":
            per_epoch += 66 * len(g.constellations)
        elif s == "GSV":
            per_epoch += 70 * 3 * len(g.constellations)
        else:
            per_epoch += _SENTENCE_BYTES[s]
    return per_epoch * g.rate_hz


_CAN = frozenset({"channel", "bitrate", "background_fps", "ccvs1_ms", "dc1_ms", "dc2_ms", "vdhr_ms",
                  "jitter_ms", "wheel_scale", "wheel_cutoff_kmh", "wheel_update_ms", "wheel_lag_ms",
                  "door_latency_ms", "total_fps", "needed_share"})
#: bits of an extended frame with 8 data bytes on the wire, with typical stuffing
_FRAME_BITS = 135


def _can_load(n: Node) -> tuple[float, dict[str, float]]:
    """Background frames/s and the Bus-FMS periods (ms): as given, or from ``total_fps`` and
    ``needed_share`` (a load test: the four periods scaled by one factor, ratios kept, so that this
    share of all frames is what a unit's filters let through)."""
    periods = {"ccvs1_ms": n.get_float("ccvs1_ms", 100.0, min=10.0, max=1000.0),
               "dc1_ms": n.get_float("dc1_ms", 1000.0, min=50.0, max=5000.0),
               "dc2_ms": n.get_float("dc2_ms", 1000.0, min=50.0, max=5000.0),
               "vdhr_ms": n.get_float("vdhr_ms", 1000.0, min=100.0, max=5000.0)}
    share_node, total_node = n.opt("needed_share"), n.opt("total_fps")
    if share_node is None and total_node is None:
        return n.get_float("background_fps", 300.0, min=0.0, max=20000.0), periods
    if share_node is None or total_node is None:
        raise (share_node if share_node is not None else n).error("total_fps and needed_share go together")
    if n.opt("background_fps") is not None:
        raise n.child("background_fps").error("not with total_fps/needed_share (the background is the rest)")
    total = total_node.as_float(min=1.0, max=20000.0)
    needed = total * share_node.as_float(min=0.001, max=0.99)
    factor = needed / sum(1000.0 / p for p in periods.values())
    periods = {k: p / factor for k, p in periods.items()}
    if min(periods.values()) < 1.0:
        raise share_node.error(f"{needed:.0f} Bus-FMS frames/s would need a period under 1 ms")
    return total - needed, periods


def _can(n0: Node | None) -> CanDef:
    n = _empty(n0)
    n.reject_unknown(_CAN)
    bitrate = n.get_int("bitrate", 250000)
    if bitrate not in (125000, 250000, 500000, 1000000):
        raise n.child("bitrate").error(f"expected 125000, 250000 (J1939), 500000 or 1000000, got {bitrate}")
    fps, periods = _can_load(n)
    # An extended frame with 8 bytes is ~ 128 bits on the wire (plus stuffing).
    total = fps + sum(1000.0 / p for p in periods.values())
    if max(total, fps + 40) * _FRAME_BITS > bitrate * 0.8:
        where = n.opt("total_fps") or n.opt("background_fps")
        raise (where if where is not None else n).error(
            f"{total:.0f} frames/s does not fit on a {bitrate} bit/s bus (80 % load limit)")
    return CanDef(
        channel=n.get_str("channel", "can0"),
        bitrate=bitrate,
        background_fps=fps,
        **periods,
        jitter_ms=n.get_float("jitter_ms", 0.5, min=0.0, max=20.0),
        wheel_scale=n.get_float("wheel_scale", 1.0, min=0.9, max=1.1),
        wheel_cutoff_kmh=n.get_float("wheel_cutoff_kmh", 2.0, min=0.0, max=10.0),
        wheel_update_ms=n.get_float("wheel_update_ms", 100.0, min=1.0, max=1000.0),
        wheel_lag_ms=n.get_float("wheel_lag_ms", 100.0, min=0.0, max=2000.0),
        door_latency_ms=n.get_float("door_latency_ms", 100.0, min=0.0, max=2000.0),
    )


def _stop_pax(n: Node) -> StopPax:
    n.reject_unknown({"board", "alight"})
    return StopPax(n.get_int("board", 0, min=0, max=1000), n.get_int("alight", 0, min=0, max=1000))


def _passengers(n0: Node | None) -> PassengersDef:
    n = _empty(n0)
    n.reject_unknown({"profile", "default", "random", "stops", "alight_all_at_terminus"})
    stops: dict[str, StopPax] = {}
    sn = n.opt("stops")
    if sn is not None:
        for k, v in sn.items():
            stops[str(k)] = _stop_pax(v)
    dn = n.opt("default")
    return PassengersDef(
        profile=n.opt("profile"),
        default=_stop_pax(dn) if dn is not None else StopPax(2, 2),
        random=n.get_bool("random", True),
        stops=stops,
        alight_all_at_terminus=n.get_bool("alight_all_at_terminus", True),
    )
