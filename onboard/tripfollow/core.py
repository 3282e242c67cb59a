"""The onboard trip-following core: timestamped inputs in, records and events out.

``Core.on_fix(fix)``, ``.on_vehicle(state)``, ``.on_assignment(a)`` and ``.finish()`` each return, in
order, the typed records they produced (``vp``, ``eta``) and the events consumers take from there
(:mod:`onboard.tripfollow.events`: a ``StopEvent`` carrying each stop/door record, ``TripStarted``,
``TripEnded``, ``TripCancelled``). The core does not know its consumers: passenger counting and
punctuality listen through :class:`onboard.tripfollow.pipeline.Pipeline`, wired once by
``onboard.service.bootstrap``. The live service and ``python -m onboard replay`` feed it the same way, in
time order; nothing here reads a clock, a port or a socket, so a replay is deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from hw.can.state import VehicleState
from hw.gnss.fix import Fix
from onboard.tripfollow.assign import AutoAssigner
from onboard.tripfollow.eta import EtaConfig, Running, SectionTimes, delay_now, learn, predict
from onboard.tripfollow.events import CoreOutput, StopEvent, TripCancelled, TripEnded, TripStarted
from onboard.tripfollow.gnssmotion import fix_sigma
from onboard.tripfollow.plan import TripPlan, build_plan
from onboard.tripfollow.position import (
    PositionConfig,
    PositionSnapshot,
    PositionTracker,
    SpeedConfig,
    StandstillDetector,
)
from onboard.tripfollow.stops import Event, FollowConfig, FollowerSnapshot, TripFollower
from transit.records import (
    Arrival,
    ArrivalStopped,
    Departure,
    DoorsClosed,
    DoorsClosedToDepart,
    DoorsOpen,
    Due,
    Eta,
    NotObserved,
    Pass,
    Position,
    Record,
    StopRecord,
    Wait,
    iso,
)

if TYPE_CHECKING:
    from transit.messages import Assignment
    from transit.timetable import Timetable

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Record)

UNOBSERVED = "not observed: the unit had no position before this stop (trip joined late)"
#: Stop and door events the passenger counter wants to see.
STOP_EVENTS = frozenset({"due", "arr", "ars", "pde", "dep", "pas", "wait", "doo", "doc", "not_observed"})
#: the record type of each stop event name of ``TripFollower``
STOP_RECORDS: dict[str, type[StopRecord]] = {"due": Due, "arr": Arrival, "ars": ArrivalStopped,
                                              "pde": DoorsClosedToDepart, "wait": Wait, "dep": Departure,
                                              "pas": Pass, "not_observed": NotObserved}


@dataclass(frozen=True)
class CoreConfig:
    veh: str
    oper: str
    mode: str = "train"  # train | bus
    follow: FollowConfig = field(default_factory=FollowConfig)
    position: PositionConfig = field(default_factory=PositionConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    vp_interval_s: float = 1.0  # 0: no position records
    eta_interval_s: float = 30.0
    eta: EtaConfig = field(default_factory=EtaConfig)  # how predictions learn the trip's running
    cancel_after_s: float = 1800.0  # an assigned trip not started this long after its scheduled end
    join_assume_s: float = 120.0  # standing this soon after the first departure: assumed at the first stop
    activate_before_s: float = 1200.0  # an assigned trip begins at most this long before its departure


class PlanKey(msgspec.Struct, frozen=True):
    """A trip by its id and operating day, with the stops it had (to tell a timetable that changed)."""

    trip_id: str
    oday: str
    stops: list[str]  # stop_id of every stop of the plan, in driving order


class CoreSnapshot(msgspec.Struct, frozen=True):
    """What trip following must not forget across a restart (:meth:`Core.snapshot`): the trips still
    to drive, the trip being followed with its stop progress and open dwell, where the vehicle was, the
    last odometer, standstill and doors, and what the day's running said (the predictions' prior). Plans
    are keys: they are built again from the timetable."""

    t: float  # data time of the newest input
    queue: list[PlanKey]
    auto: bool  # automatic assignment (no trips assigned)
    trip: PlanKey | None
    follower: FollowerSnapshot | None
    position: PositionSnapshot | None
    stopped: bool | None
    still_since: float | None
    doors_open: bool
    last_odo: float | None
    stats: dict[str, int]
    #: what the vehicle's trips so far today said about its running (the next trip's prior), and its
    #: service day; a standstill between stops in progress (since when, the stop it is on the way to)
    day_oday: str | None = None
    day: Running | None = None
    halt: tuple[float, int] | None = None


class RestoreError(ValueError):
    """A snapshot that does not fit this core (another timetable, a trip it no longer has)."""


def plan_key(plan: TripPlan) -> PlanKey:
    return PlanKey(plan.ref.trip_id, plan.ref.oday, [s.stop_id for s in plan.stops])


class Core:
    """Trip following for one vehicle. Feed inputs in time order; each call returns records and events."""

    def __init__(self, cfg: CoreConfig, *, timetable: Timetable | None = None,
                 plans: Sequence[TripPlan] = ()) -> None:
        self.cfg = cfg
        self.tt = timetable
        self.queue: list[TripPlan] = list(plans)
        self.follower: TripFollower | None = None
        self.pos: PositionTracker | None = None
        self.still = StandstillDetector(cfg.speed)
        self.auto: AutoAssigner | None = None
        #: recent running times of other vehicles per section (the central side feeds it; None: own trip only)
        self.section_times: SectionTimes | None = None
        #: the day's running of this vehicle from its completed trips (service day, what they said)
        self.day_running: tuple[str, Running] | None = None
        if not plans and timetable is not None:
            self.auto = AutoAssigner(timetable, mode=cfg.mode)
        self.doors_open = False
        self.t = float("-inf")
        self.last_fix: Fix | None = None
        self.last_speed: float | None = None
        self.last_odo: float | None = None
        self._last_speed_t: float | None = None
        self._next_vp = float("-inf")
        self._next_eta = float("-inf")
        #: standing still between stops now: (the trip, since when, the stop it is on the way to)
        self._halt: tuple[TripFollower, float, int] | None = None
        self.stats: dict[str, int] = {"fixes": 0, "states": 0, "late_inputs": 0, "trips_started": 0,
                                      "trips_cancelled": 0, "trips_cut_short": 0, "unplanned_stops": 0}

    # -- assignment ------------------------------------------------------------------------------------
    def assign_trips(self, trip_ids: Sequence[str], day: date) -> None:
        """Drive these trips (in this order) on service day ``day``."""
        assert self.tt is not None
        self.queue = [build_plan(self.tt, tid, day) for tid in trip_ids]
        self.auto = None

    def assign_block(self, block_id: str, day: date) -> None:
        assert self.tt is not None
        self.assign_trips([t.trip_id for t in self.tt.block_trips(block_id, day)], day)

    def swap_timetable(self, tt: Timetable) -> list[str]:
        """Follow ``tt`` from now on (a timetable rolled out to the running unit). The trip being driven
        keeps its plan to its end; trips still queued are planned again from ``tt``, and those ``tt`` no
        longer has are dropped (returned). Automatic assignment looks in ``tt``."""
        self.tt = tt
        kept: list[TripPlan] = []
        dropped: list[str] = []
        for plan in self.queue:
            day = date.fromisoformat(plan.ref.oday)
            if plan.ref.trip_id in tt.trips and tt.runs_on(plan.ref.trip_id, day):
                kept.append(build_plan(tt, plan.ref.trip_id, day))
            else:
                dropped.append(plan.ref.trip_id)
        self.queue = kept
        if self.auto is not None:
            self.auto = AutoAssigner(tt, mode=self.cfg.mode)
        return dropped

    def on_assignment(self, a: Assignment) -> list[CoreOutput]:
        """An assignment message (central system): replaces the trips still to come."""
        out: list[CoreOutput] = []
        t = a.tst.timestamp()
        day = date.fromisoformat(a.oday)
        if a.action == "release":
            out += self._end_current(t, "released by assignment")
            for plan in self.queue:
                out += self._cancel(plan, t)
            self.queue = []
            if self.tt is not None:
                self.auto = AutoAssigner(self.tt, mode=self.cfg.mode)
            return out
        if a.block is not None:
            self.assign_block(a.block, day)
        else:
            self.assign_trips(a.trips, day)
        cur = self.follower
        if cur is not None and any(p.ref == cur.plan.ref for p in self.queue):
            self.queue = [p for p in self.queue if p.ref != cur.plan.ref]
        elif cur is not None:
            out += self._end_current(t, "replaced by assignment")
        return out

    # -- restart ---------------------------------------------------------------------------------------
    def snapshot(self) -> CoreSnapshot:
        """The state to continue from after a restart, as data (the service stores it with the records
        it explains)."""
        f, pos = self.follower, self.pos
        return CoreSnapshot(self.t, [plan_key(p) for p in self.queue], self.auto is not None,
                            None if f is None else plan_key(f.plan), None if f is None else f.snapshot(),
                            None if pos is None else pos.snapshot(self.last_odo), self.still.stopped,
                            self.still.since, self.doors_open, self.last_odo, dict(self.stats),
                            None if self.day_running is None else self.day_running[0],
                            None if self.day_running is None else self.day_running[1],
                            None if self._halt is None or self._halt[0] is not f else self._halt[1:])

    def restore(self, snap: CoreSnapshot) -> None:
        """Continue from :meth:`snapshot`: the same trips (planned again from the timetable), the stop
        progress, what each stop already had, where the vehicle was. Raises :class:`RestoreError` when
        the snapshot does not fit the timetable (a trip gone or changed); the core is then unchanged."""
        queue = [self._plan_of(k) for k in snap.queue]
        follower = pos = None
        if snap.trip is not None and snap.follower is not None:
            plan = self._plan_of(snap.trip)
            try:
                follower = TripFollower.restored(plan, self.cfg.follow, snap.follower)
            except ValueError as exc:
                raise RestoreError(str(exc)) from None
            pos = PositionTracker(plan.shape, self.cfg.position)
            if snap.position is not None:
                pos.resume(snap.position)
        self.queue, self.follower, self.pos = queue, follower, pos
        if not snap.auto:
            self.auto = None
        elif self.auto is None and self.tt is not None:
            self.auto = AutoAssigner(self.tt, mode=self.cfg.mode)
        self.t = max(self.t, snap.t)
        self.still.stopped, self.still.since = snap.stopped, snap.still_since
        self.doors_open = snap.doors_open
        self.last_odo = snap.last_odo
        self.stats.update({k: v for k, v in snap.stats.items() if k in self.stats})
        if snap.day_oday is not None and snap.day is not None:
            self.day_running = (snap.day_oday, snap.day)
        self._halt = None if snap.halt is None or follower is None else (follower, snap.halt[0], snap.halt[1])

    def _plan_of(self, key: PlanKey) -> TripPlan:
        if self.tt is None:
            raise RestoreError("no timetable to plan the snapshot's trips")
        if key.trip_id not in self.tt.trips:
            raise RestoreError(f"trip {key.trip_id} is not in the timetable")
        try:
            plan = build_plan(self.tt, key.trip_id, date.fromisoformat(key.oday))
        except (ValueError, KeyError) as exc:
            raise RestoreError(f"trip {key.trip_id} ({key.oday}) cannot be planned: {exc}") from None
        if [s.stop_id for s in plan.stops] != key.stops:
            raise RestoreError(f"trip {key.trip_id} has other stops in this timetable")
        return plan

    # -- inputs ----------------------------------------------------------------------------------------
    def on_fix(self, fix: Fix) -> list[CoreOutput]:
        t = fix.time.timestamp()
        if not self._in_order(t):
            return []
        self.stats["fixes"] += 1
        out: list[CoreOutput] = []
        if fix.speed is not None:
            ev = self.still.on_gnss(t, fix.speed)
            self._note_still(ev)
        if fix.has_position:
            self.last_fix = fix
        out += self._ensure_trip(t)
        if self.pos is not None:
            if fix.has_position and fix.quality != 6:  # quality 6: the receiver's own dead reckoning
                assert fix.lat is not None and fix.lon is not None
                self.pos.on_fix(t, fix.lat, fix.lon, fix.speed,
                                sigma=fix_sigma(self.cfg.position.gnss, fix.eph, fix.hdop, fix.sats_used, fix.quality))
                if self.pos.pending_motion is not None:  # standstill from positions (no Doppler speed)
                    self._note_still(self.still.on_motion(t, self.pos.pending_motion))
                    self.pos.pending_motion = None
            else:
                self.pos.dead_reckon(t)
        out += self._step(t)
        return out

    def on_vehicle(self, st: VehicleState, *, speed_sample: bool | None = None) -> list[CoreOutput]:
        """A CAN snapshot. ``speed_sample``: whether this snapshot came with a new wheel-speed frame
        (None: inferred from a change of value or 90 ms since the last sample)."""
        t = st.t.timestamp()
        if not self._in_order(t):
            return []
        self.stats["states"] += 1
        out: list[CoreOutput] = []
        if st.speed_mps is not None:
            new = speed_sample if speed_sample is not None else (
                st.speed_mps != self.last_speed or self._last_speed_t is None or t - self._last_speed_t >= 0.09)
            if new:
                self.last_speed, self._last_speed_t = st.speed_mps, t
                self._note_still(self.still.on_can(t, st.speed_mps))
                if self.pos is not None:
                    self.pos.on_speed(t, st.speed_mps)
        if st.odometer_m is not None and (st.odometer_m != self.last_odo or (
                self.pos is not None and self.pos.resume_from is not None)):
            # after a restart the first reading places the vehicle again, changed or not
            self.last_odo = st.odometer_m
            if self.pos is not None:
                self.pos.on_odometer(t, st.odometer_m)
        out += self._ensure_trip(t)
        opened = st.doors_any_open
        if opened is None and st.doors:
            flags = [d.open for d in st.doors if d.open is not None]
            opened = any(flags) if flags else None
        if opened is not None and opened != self.doors_open:
            self.doors_open = opened
            if opened:
                self.still.doors_opened(t)
            out += self._door_event(t, opened)
        out += self._step(t)
        return out

    def finish(self, t: float | None = None) -> list[CoreOutput]:
        """End of data: the current trip ends where it is; trips never started are cancelled."""
        te = self.t if t is None else t
        out = self._end_current(te, "cut short: no data after this")
        for plan in self.queue:
            out += self._cancel(plan, te)
        self.queue = []
        return out

    # -- internals -------------------------------------------------------------------------------------
    def _in_order(self, t: float) -> bool:
        if t < self.t - 1.0:
            self.stats["late_inputs"] += 1
            if self.stats["late_inputs"] in (1, 10, 100, 1000):
                log.warning("input %.3f s older than the last one (%d so far); ignored", self.t - t,
                            self.stats["late_inputs"])
            return False
        self.t = max(self.t, t)
        return True

    def _note_still(self, ev: tuple[str, float] | None) -> None:
        if ev is None:
            return
        f, halt = self.follower, self._halt
        if ev[0] == "move":
            self._halt = None
            if halt is not None and f is halt[0] and f.i == halt[2]:
                # stood between stops: the follower keeps it apart from the section's running
                f.halts[f.i] = f.halts.get(f.i, 0.0) + max(0.0, ev[1] - halt[1])
            return
        if f is None or self.pos is None or self.pos.s is None:
            return
        if ev[0] == "stop" and not f.in_any_zone(self.pos.s):
            self.stats["unplanned_stops"] += 1
            log.debug("standstill at chainage %.0f outside every stop zone (signal, queue, unplanned)",
                      self.pos.s)
            if f.i > f.origin:
                self._halt = (f, ev[1], f.i)

    def _ensure_trip(self, t: float) -> list[CoreOutput]:
        out: list[CoreOutput] = []
        if self.follower is not None:
            return out
        while self.queue:
            plan = self.queue[0]
            if t > plan.last_arrival + self.cfg.cancel_after_s:
                self.queue.pop(0)
                out += self._cancel(plan, t)
                continue
            if t < plan.first_departure - self.cfg.activate_before_s:
                break  # too early for the next trip: no trip yet (the unit may be in the depot)
            self.queue.pop(0)
            out.append(self._start(plan, t))
            return out
        if self.auto is not None and self.last_fix is not None and self.last_fix.time.timestamp() == t:
            fx = self.last_fix
            assert fx.lat is not None and fx.lon is not None
            found = self.auto.on_fix(t, fx.lat, fx.lon, self.still.stopped)
            if found is not None:
                out.append(self._start(found, t))
        return out

    def _start(self, plan: TripPlan, t: float) -> TripStarted:
        self.stats["trips_started"] += 1
        log.info("trip %s (%s, %s) started at %.0f", plan.ref.trip_id, plan.ref.route, plan.ref.oday, t)
        self.follower = TripFollower(plan, self.cfg.follow, t)
        pos = PositionTracker(plan.shape, self.cfg.position)
        if self.last_speed is not None and self._last_speed_t is not None:
            pos.can_speed_t, pos.can_speed = self._last_speed_t, self.last_speed
        if self.last_odo is not None:
            pos.odo, pos.odo_t = self.last_odo, t
        fx = self.last_fix
        if fx is not None and fx.has_position and t - fx.time.timestamp() < 2.5:
            assert fx.lat is not None and fx.lon is not None
            pos.on_fix(fx.time.timestamp(), fx.lat, fx.lon, fx.speed)
        elif self.still.stopped is not False and t <= plan.first_departure + self.cfg.join_assume_s:
            # no fix (receivers need 20-35 s, station roofs block them): standing at the start of an
            # assigned trip means at its first stop until a fix says otherwise; joined later than that
            # (a reboot mid-trip) the position waits for a fix
            pos.assume(t, self.follower.halt(self.follower.origin))
        self.pos = pos
        return TripStarted(plan, t)

    def _step(self, t: float) -> list[CoreOutput]:
        f, pos = self.follower, self.pos
        if f is None or pos is None:
            return self._vp(t) if self.cfg.vp_interval_s > 0 and t >= self._next_vp else []
        evs = f.step(t, pos.s, self.still.stopped, self.still.since if self.still.stopped else None,
                     self.still.since if self.still.stopped is False else None, self.doors_open, pos.time_at,
                     sight=pos)
        out = self._emit(evs, t)
        if f.complete:
            out += self._end_current(t, None)
            out += self._ensure_trip(t)
        elif evs and any(e[0] in ("ars", "dep", "pas", "not_observed") for e in evs):
            out += self._eta(t, [f.plan.stops[e[2]].stop_id for e in evs if e[0] in ("dep", "pas", "not_observed")])
        elif t >= self._next_eta:
            out += self._eta(t, [])
        if self.cfg.vp_interval_s > 0 and t >= self._next_vp:
            out += self._vp(t)
        return out

    def _emit(self, evs: list[Event], t: float) -> list[CoreOutput]:
        out: list[CoreOutput] = []
        f, pos = self.follower, self.pos
        assert f is not None and pos is not None
        for name, te, k, fields in evs:
            st = f.plan.stops[k]
            loc = fields.pop("loc", None) or pos.loc(t)  # "EST": estimated across a blind gap
            extra: dict[str, Any] = {}
            sched = st.sched_arr if name in ("due", "arr", "ars", "pas", "not_observed") else st.sched_dep
            if name == "pas" and sched is None:
                sched = f.plan.sched_time_at(st.chainage_m)
            if sched is not None:
                extra["sched"] = _iso(sched)
                if name != "not_observed":  # its time is only where the vehicle was, interpolated
                    extra["dl"] = round(te - sched, 1)
            if name == "ars" and k == f.origin:
                extra["origin"] = True
            if k == f.terminus and name == "ars":
                extra["terminus"] = True
            rec = self._rec(STOP_RECORDS[name], te, stop_id=st.stop_id, seq=st.seq, loc=loc, odo=self.last_odo,
                            drst=int(self.doors_open), **extra, **fields)
            out.append(StopEvent(rec, te, f.plan, k))
        return out

    def _door_event(self, t: float, opened: bool) -> list[CoreOutput]:
        f = self.follower
        stop_id: str | None = None
        seq: int | None = None
        out: list[CoreOutput] = []
        if f is not None:
            k = f.current_visit()
            if k is None and self.pos is not None and self.pos.s is not None and f.i < len(f.plan.stops):
                # doors opening while standing near the stop: the arrival comes first
                out += self._emit(f.step(t, self.pos.s, self.still.stopped,
                                         self.still.since if self.still.stopped else None, None, opened,
                                         self.pos.time_at, sight=self.pos), t)
                k = f.current_visit()
            if k is not None:
                stop_id, seq = f.plan.stops[k].stop_id, f.plan.stops[k].seq
        rec = self._rec(DoorsOpen if opened else DoorsClosed, t, stop_id=stop_id, seq=seq,
                        loc=self.pos.loc(t) if self.pos is not None else "N/A", drst=int(opened))
        out.append(StopEvent(rec, t, f.plan if f is not None else None))
        if f is not None:
            out += self._emit(f.on_doors(t, opened), t)
        return out

    def _eta(self, t: float, clear: list[str]) -> list[CoreOutput]:
        f, pos = self.follower, self.pos
        self._next_eta = t + self.cfg.eta_interval_s
        if f is None or pos is None or pos.s is None:
            return []
        d = delay_now(f, t, pos.s)
        if d is None:
            return []
        seen = t if pos.observing(t) else (pos.obs[0] if pos.obs is not None else None)
        stops = predict(f, t, pos.s, cfg=self.cfg.eta, sections=self.section_times,
                        observed_t=seen if seen is not None else f.t_active, day=self._day(f.plan),
                        stopped_since=self.still.since if self.still.stopped else None)
        if not stops and not clear:
            return []
        return [self._rec(Eta, t, loc=pos.loc(t), headsign=f.plan.headsign, occu=None, dl=round(d, 1),
                          stops=stops, clear=clear or None, id_extra=",".join(clear))]

    def _vp(self, t: float) -> list[CoreOutput]:
        self._next_vp = (int(t / self.cfg.vp_interval_s) + 1) * self.cfg.vp_interval_s
        f, pos = self.follower, self.pos
        fields: dict[str, Any] = {"spd": None if self.last_speed is None else round(self.last_speed, 2),
                                  "odo": self.last_odo, "drst": int(self.doors_open)}
        loc = "N/A"
        if f is not None and pos is not None and pos.s is not None:
            loc = pos.loc(t)
            if loc == "GPS" and self.last_fix is not None:
                lat, lon, hdg = self.last_fix.lat, self.last_fix.lon, self.last_fix.track
            else:
                lat, lon, hdg = f.plan.shape.point_at(pos.s)
            d = delay_now(f, t, pos.s)
            fields.update(lat=_r6(lat), lon=_r6(lon), hdg=None if hdg is None else round(hdg, 1),
                          dist=round(pos.s, 1), dl=None if d is None else round(d, 1))
        elif self.last_fix is not None and self.last_fix.has_position and t - self.last_fix.time.timestamp() < 2.5:
            loc = "GPS"
            fields.update(lat=_r6(self.last_fix.lat), lon=_r6(self.last_fix.lon))
        return [self._rec(Position, t, loc=loc, **fields)]

    def _end_current(self, t: float, reason: str | None) -> list[CoreOutput]:
        f = self.follower
        out: list[CoreOutput] = []
        if f is None:
            return out
        term = f.visits.get(f.terminus)
        if reason is not None and not f.complete and (term is None or term.ars is None):
            self.stats["trips_cut_short"] += 1
        loc = self.pos.loc(t) if self.pos is not None else "N/A"
        # what this trip said about the vehicle's running carries to its next trip today
        self.day_running = (f.plan.ref.oday, learn(f, t, None, self.cfg.eta, self._day(f.plan)))
        why = {k: UNOBSERVED for k, state in f.done.items() if state == "unobserved"}
        out.append(TripEnded(f.plan, t, reason, loc, why))
        left = [f.plan.stops[k].stop_id for k in range(len(f.plan.stops))
                if f.plan.stops[k].served and k not in f.done]
        if left:
            out.append(self._rec(Eta, t, clear=left, stops=[], headsign=f.plan.headsign, occu=None,
                                 id_extra="end"))
        if self.pos is not None:
            for k, v in self.pos.stats.items():
                self.stats[f"position_{k}"] = self.stats.get(f"position_{k}", 0) + v
        self.follower = None
        self.pos = None
        return out

    def _day(self, plan: TripPlan) -> Running | None:
        d = self.day_running
        return d[1] if d is not None and d[0] == plan.ref.oday else None

    def _cancel(self, plan: TripPlan, t: float) -> list[CoreOutput]:
        self.stats["trips_cancelled"] += 1
        log.info("trip %s (%s) not driven: cancelled", plan.ref.trip_id, plan.ref.oday)
        return [TripCancelled(plan, t)]

    def _rec(self, kind: type[R], t: float, **kw: Any) -> R:
        trip = self.follower.plan.ref if self.follower is not None else None
        return kind.make(t, veh=self.cfg.veh, oper=self.cfg.oper, trip=trip, **kw)

    @property
    def diagnostics(self) -> dict[str, int]:
        d = dict(self.stats)
        if self.pos is not None:
            for k, v in self.pos.stats.items():
                d[f"position_{k}"] = d.get(f"position_{k}", 0) + v
        return d


def _iso(t: float) -> str:
    s = iso(t)
    assert s is not None
    return s


def _r6(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


__all__ = ["Core", "CoreConfig", "CoreSnapshot", "PlanKey", "RestoreError", "STOP_EVENTS", "plan_key"]
