"""Trip state across a restart (issue 12): the pipeline's snapshot, as stored, restored into a freshly built
pipeline, gives the records of an uninterrupted run — the same stop events and registrations under the same
ids, the load carried on — and a checkpoint that is not valid for the data time is discarded.

Inputs: the recorded 920R drive of ``tests/data/replay-920R-short`` (the dwell at Hillerød with doors and
passengers, the run to Overdrevsvejen and its stop), fed as ``onboard replay`` feeds it."""

from __future__ import annotations

import gzip
import heapq
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from onboard.counting.passengers import PassengerCounter
from onboard.records.punctuality import PunctualityRecorder
from onboard.service import checkpoint
from onboard.service.bootstrap import bootstrap
from onboard.service.replay import CanInput, load_setup, read_fixes, read_gpio
from onboard.tripfollow.core import RestoreError
from onboard.tripfollow.pipeline import Pipeline
from transit.errors import DecodeError
from transit.records import RECORD_TYPES, Punctuality, Record
from transit.timetable import Timetable
from transit.timeutil import parse_iso

from .test_replay_regression import CONFIG, DATA, ROOT  # the same recorded 920R drive and its unit

T = parse_iso("2026-11-23T06:13:00Z").timestamp()
HILLEROED_DWELL = T + 60.0  # doors open, passengers boarding, punctuality (departure) not yet measured
RUN = T + 135.0  # leaving Hillerød (its departure not yet emitted: still in the zone)
OVERDREV_DWELL = T + 215.0  # standing at Overdrevsvejen, doors open


Item = tuple[float, int, str, Any]


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Timetable, list[Item]]:
    d = tmp_path_factory.mktemp("drive")
    for name in ("gnss.nmea", "can.log", "gpio.csv"):
        (d / name).write_bytes(gzip.decompress((DATA / f"{name}.gz").read_bytes()))
    (d / "onboard.yaml").write_text(CONFIG.format(root=ROOT), encoding="utf-8")
    setup = load_setup(d / "onboard.yaml")
    tt = Timetable.load(setup.feed)
    streams: list[Iterator[Item]] = [
        ((f.time.timestamp(), 1, "fix", f) for f in read_fixes(d / "gnss.nmea")),
        ((st.t.timestamp(), 0, "can", (st, sp)) for st, sp in CanInput(d / "can.log").states()),
        ((t, 2, "gpio", (pin, lvl)) for t, pin, lvl in read_gpio(d / "gpio.csv"))]
    return setup, tt, list(heapq.merge(*streams, key=lambda x: (x[0], x[1])))


def _pipe(setup: Any, tt: Timetable, t0: float) -> Pipeline:
    return bootstrap(setup, tt, t0, with_counting=True, vp_interval_s=1.0)


def _feed(pipe: Pipeline, items: list[Item]) -> list[Record]:
    out: list[Record] = []
    for t, _p, kind, obj in items:
        if kind == "fix":
            out += pipe.on_fix(obj)
        elif kind == "can":
            out += pipe.on_vehicle(obj[0], speed_sample=obj[1])
        else:
            out += pipe.on_edge(t, obj[0], obj[1])
    return out


def _stored(pipe: Pipeline) -> str:
    """The checkpoint as the service stores it (encoded text) and decodes it at the next start."""
    return checkpoint.encode(checkpoint.take(pipe))


def _in_beams(pipe: Pipeline) -> int:
    """Passengers between the beams of a door right now: a crossing in progress is lost with the process
    (the beam trackers are not checkpointed: the edges a unit misses while down break such paths anyway)."""
    counter = next(c for c in pipe.consumers if isinstance(c, PassengerCounter))
    return sum((lane.on_a is not None) + (lane.on_b is not None) for dc in counter.counters.values()
               for lane in dc.lanes) + sum(len(dc.pending) for dc in counter.counters.values())


def _restarted(setup: Any, tt: Timetable, items: list[Item], t_kill: float, down_s: float = 0.0
               ) -> tuple[list[Record], list[Record], int]:
    """Records before the kill at ``t_kill`` and after a restart ``down_s`` later (inputs in between lost),
    the restarted pipeline built and restored at its first input, as the service does; and how many
    passengers were between the beams at the kill."""
    first = _pipe(setup, tt, items[0][0])
    before = _feed(first, [it for it in items if it[0] <= t_kill])
    text = _stored(first)
    in_beams = _in_beams(first)
    rest = [it for it in items if it[0] > t_kill + down_s]
    second = _pipe(setup, tt, rest[0][0])
    outcome, again = checkpoint.resume(second, text, t_now=rest[0][0])
    assert outcome.restored and outcome.discarded is None and again == []
    after = _feed(second, rest) + second.finish()
    return before, after, in_beams


def _facts(recs: list[Record]) -> dict[str, tuple[str, str | None, int | None]]:
    """The once-per-stop records by id (what de-duplication at a receiver leaves)."""
    return {r.id: (r.event, r.stop_id, r.seq) for r in recs if type(r).once}


@pytest.mark.parametrize("t_kill", [HILLEROED_DWELL, RUN, OVERDREV_DWELL], ids=["hilleroed-dwell", "run",
                                                                               "overdrevsvejen-dwell"])
def test_restart_without_lost_input_gives_the_same_records(drive: tuple[Any, Timetable, list[Item]],
                                                           t_kill: float) -> None:
    setup, tt, items = drive
    whole = _pipe(setup, tt, items[0][0])
    ref = _feed(whole, items) + whole.finish()
    before, after, in_beams = _restarted(setup, tt, items, t_kill)
    both = before + after
    assert _facts(both) == _facts(ref)  # the same facts under the same ids
    # nothing emitted twice: every stop event and registration once (no second arrival, no 'missing')
    counts = Counter((r.event, r.stop_id) for r in both
                     if r.event in ("due", "arr", "ars", "dep", "pas", "not_observed", "punctuality"))
    assert max(counts.values()) == 1, counts
    punct = {(r.station, r.status, r.late) for r in both if isinstance(r, Punctuality)}
    assert punct == {(r.station, r.status, r.late) for r in ref if isinstance(r, Punctuality)}
    # passengers: the same counts per stop and the load carried through the restart
    def per_stop(rs: list[Record]) -> dict[tuple[str | None, str], tuple[int, int]]:
        return {(r.stop_id, r.id): (r.in_ or 0, r.out or 0) for r in rs  # type: ignore[attr-defined]
                if r.event == "occupancy" and r.terminus is not True}  # type: ignore[attr-defined]
    got, want = per_stop(both), per_stop(ref)
    assert got.keys() == want.keys()
    lost = sum(abs(got[k][0] - want[k][0]) + abs(got[k][1] - want[k][1]) for k in want)
    assert lost <= in_beams, (got, want, in_beams)
    loads = [r.vehicleload for r in both if r.event == "occupancy"]  # type: ignore[attr-defined]
    assert loads[0] > 0 and all(x > 0 for x in loads[:-1])  # never reset by the restart (0: the terminus)


def test_restart_during_a_dwell_with_input_lost(drive: tuple[Any, Timetable, list[Item]]) -> None:
    """Down for 12 s of data time standing at Hillerød, doors open: no second arrival, the departure and
    the registration are there, the load is not reset (only the boardings while down are missing)."""
    setup, tt, items = drive
    whole = _pipe(setup, tt, items[0][0])
    ref = _feed(whole, items) + whole.finish()
    before, after, in_beams = _restarted(setup, tt, items, HILLEROED_DWELL, down_s=12.0)
    both = before + after
    ev = Counter((r.event, r.stop_id) for r in both if r.event in ("arr", "ars", "dep", "pas", "punctuality"))
    assert ev[("ars", "hilleroed_8")] == 1 and ev[("dep", "hilleroed_8")] == 1 and ev[("pas", "hilleroed_8")] == 0
    pun = [r for r in both if isinstance(r, Punctuality) and r.stop_id == "hilleroed_8"]
    assert [(p.status, p.id) for p in pun] == [(p.status, p.id) for p in ref if isinstance(p, Punctuality)
                                               and p.stop_id == "hilleroed_8"] == [("measured", pun[0].id)]
    # the lost edges at most lose the boardings of those 12 s; the load carries on from the first process
    occ = {r.stop_id: r for r in both if r.event == "occupancy" and r.stop_id == "hilleroed_8"}
    occ_ref = {r.stop_id: r for r in ref if r.event == "occupancy" and r.stop_id == "hilleroed_8"}
    lost = sum(1 for t, _p, k, (_pin, lvl) in ((it[0], it[1], it[2], it[3]) for it in items if it[2] == "gpio")
               if HILLEROED_DWELL < t <= HILLEROED_DWELL + 12.0 and lvl == 1) // 2 + in_beams
    got_in, want_in = occ["hilleroed_8"].in_, occ_ref["hilleroed_8"].in_  # type: ignore[attr-defined]
    assert want_in - lost <= got_in <= want_in and got_in > 0
    counted_before = sum(1 for _ in before if _.event == "apc")
    assert counted_before == 0  # the stop's counts were still open when the unit went down: carried over


def test_a_registration_in_the_log_but_not_the_outbox_is_not_measured_again(
        drive: tuple[Any, Timetable, list[Item]]) -> None:
    """A kill between the punctuality log's fsync and the outbox commit: the restarted unit finds the record
    in the log, closes that registration and stores the record again — no second measurement, no missing."""
    setup, tt, items = drive
    first = _pipe(setup, tt, items[0][0])
    _feed(first, [it for it in items if it[0] <= T + 110.0])
    text = _stored(first)  # the state stored with the last records before the departure
    logged = [r for r in _feed(first, [it for it in items if T + 110.0 < it[0] <= T + 180.0])
              if isinstance(r, Punctuality)]
    assert [p.stop_id for p in logged] == ["hilleroed_8"]  # in the log only: the kill came before the outbox
    rest = [it for it in items if it[0] > T + 180.0]
    second = _pipe(setup, tt, rest[0][0])
    checkpoint.restore(second, checkpoint.decode(text))
    again = checkpoint.unrecorded(second, logged)
    assert [p.id for p in again] == [logged[0].id]
    after = _feed(second, rest) + second.finish()
    assert not [r for r in after if isinstance(r, Punctuality) and r.stop_id == "hilleroed_8"]


def test_log_tail_is_read_and_unrecorded_records_come_back(drive: tuple[Any, Timetable, list[Item]],
                                                          tmp_path: Path) -> None:
    setup, tt, items = drive
    first = _pipe(setup, tt, items[0][0])
    _feed(first, [it for it in items if it[0] <= T + 110.0])
    text = _stored(first)
    recs = _feed(first, [it for it in items if T + 110.0 < it[0] <= T + 180.0])
    plog = tmp_path / "punctuality.jsonl"
    plog.write_bytes(b"".join(msgspec.json.encode(r) + b"\n" for r in recs if isinstance(r, Punctuality)))
    rest = [it for it in items if it[0] > T + 180.0]
    second = _pipe(setup, tt, rest[0][0])
    outcome, again = checkpoint.resume(second, text, t_now=rest[0][0], punctuality_log=plog)
    assert outcome.restored and outcome.relogged == 1 and again[0].stop_id == "hilleroed_8"


def test_round_trip_of_the_stored_form(drive: tuple[Any, Timetable, list[Item]]) -> None:
    setup, tt, items = drive
    pipe = _pipe(setup, tt, items[0][0])
    _feed(pipe, [it for it in items if it[0] <= OVERDREV_DWELL])
    ck = checkpoint.take(pipe)
    assert ck.core.follower is not None and ck.counting is not None and ck.punctuality is not None
    assert ck.counting.load > 0 and ck.core.trip is not None and ck.core.trip.trip_id == "920R_MT_0_0715"
    text = checkpoint.encode(ck)
    assert checkpoint.decode(text) == ck
    again = _pipe(setup, tt, OVERDREV_DWELL)
    checkpoint.restore(again, checkpoint.decode(text))
    assert checkpoint.take(again).counting == ck.counting
    assert checkpoint.take(again).punctuality == ck.punctuality
    assert checkpoint.take(again).core.follower == ck.core.follower


@pytest.mark.parametrize(("change", "why"), [
    ({"t_now": OVERDREV_DWELL + 2 * 3600.0}, "old"),
    ({"t_now": OVERDREV_DWELL - 3600.0}, "other data"),
    ({"veh": "lint41-2099"}, "vehicle"),
])
def test_stale_checkpoint_is_discarded(drive: tuple[Any, Timetable, list[Item]], change: dict[str, Any],
                                       why: str) -> None:
    setup, tt, items = drive
    pipe = _pipe(setup, tt, items[0][0])
    _feed(pipe, [it for it in items if it[0] <= OVERDREV_DWELL])
    ck = checkpoint.take(pipe)
    if "veh" in change:
        ck = msgspec.structs.replace(ck, veh=change["veh"])
    fresh = _pipe(setup, tt, OVERDREV_DWELL)
    outcome, again = checkpoint.resume(fresh, checkpoint.encode(ck), t_now=change.get("t_now", OVERDREV_DWELL + 5))
    assert not outcome.restored and outcome.discarded is not None and why in outcome.discarded
    # the fresh pipeline is as bootstrap built it: waiting for its assigned trip, nothing restored
    assert fresh.core.follower is None and [p.ref.trip_id for p in fresh.core.queue] == ["920R_MT_0_0715"]
    assert again == []


def test_checkpoint_of_another_timetable_is_refused(drive: tuple[Any, Timetable, list[Item]]) -> None:
    setup, tt, items = drive
    pipe = _pipe(setup, tt, items[0][0])
    _feed(pipe, [it for it in items if it[0] <= RUN])
    ck = checkpoint.take(pipe)
    assert ck.core.trip is not None
    changed = msgspec.structs.replace(ck, core=msgspec.structs.replace(
        ck.core, trip=msgspec.structs.replace(ck.core.trip, stops=ck.core.trip.stops[:-1])))
    fresh = _pipe(setup, tt, RUN)
    with pytest.raises(RestoreError, match="other stops"):
        checkpoint.restore(fresh, changed)
    assert fresh.core.follower is None  # unchanged
    outcome, _ = checkpoint.resume(fresh, checkpoint.encode(changed), t_now=RUN + 1)
    assert outcome.discarded is not None and "other stops" in outcome.discarded
    with pytest.raises(DecodeError):
        checkpoint.decode('{"version": 1, "veh": 3}')
    outcome, _ = checkpoint.resume(fresh, "not json", t_now=RUN + 1)
    assert outcome.discarded is not None and "unreadable" in outcome.discarded


def test_ids_of_once_per_stop_records_leave_the_time_out() -> None:
    """The same fact at another moment has the same id; a repeating record (a door event) does not."""
    from transit.records import ArrivalStopped, DoorsOpen, TripRef

    trip = TripRef("920R_MT_0_0715", "2026-11-23", "920R", 0, "07:15")
    a = ArrivalStopped.make(T, veh="v", oper="o", trip=trip, stop_id="uvelse", seq=9, odo=None, drst=0)
    b = ArrivalStopped.make(T + 83.0, veh="v", oper="o", trip=trip, stop_id="uvelse", seq=9, odo=None, drst=0)
    assert a.id == b.id and a.tst != b.tst
    assert ArrivalStopped.make(T, veh="v", oper="o", trip=trip, stop_id="x", seq=10, odo=None, drst=0).id != a.id
    d1 = DoorsOpen.make(T, veh="v", oper="o", trip=trip, stop_id="uvelse", seq=9, drst=1)
    d2 = DoorsOpen.make(T + 30.0, veh="v", oper="o", trip=trip, stop_id="uvelse", seq=9, drst=1)
    assert d1.id != d2.id
    assert {k for k, t in RECORD_TYPES.items() if t.once} == {
        "due", "arr", "ars", "dep", "pas", "not_observed", "punctuality", "apc", "occupancy", "alarm"}


def test_recorder_snapshot_keeps_only_open_registrations(drive: tuple[Any, Timetable, list[Item]]) -> None:
    setup, tt, items = drive
    pipe = _pipe(setup, tt, items[0][0])
    _feed(pipe, [it for it in items if it[0] <= OVERDREV_DWELL])
    rec = next(c for c in pipe.consumers if isinstance(c, PunctualityRecorder))
    st = rec.snapshot()
    plan = pipe.core.follower.plan if pipe.core.follower is not None else None
    assert plan is not None and len(st.trips) == 1
    pending = {plan.stops[k].station for k in st.trips[0].pending}
    assert "hilleroed" not in pending and {"frederiksvaerk", "hundested"} <= pending


def test_standstill_between_stops_survives_a_restart_and_an_older_snapshot_has_none() -> None:
    from onboard.tripfollow import FollowConfig
    from onboard.tripfollow.stops import FollowerSnapshot, TripFollower
    from tests.tripfollow.drive import T0, plan, stop

    p = plan([stop("A", 0.0, T0, T0, seq=1), stop("B", 3000.0, T0 + 300, T0 + 330, seq=2),
              stop("C", 6000.0, T0 + 630, T0 + 630, seq=3)])
    cfg = FollowConfig.for_mode("train")
    f = TripFollower(p, cfg, T0 - 60.0, i=2, halts={1: 42.5})
    text = msgspec.json.encode(f.snapshot())
    back = TripFollower.restored(p, cfg, msgspec.json.decode(text, type=FollowerSnapshot))
    assert back.halts == {1: 42.5}
    older = msgspec.json.encode({k: v for k, v in msgspec.to_builtins(f.snapshot()).items() if k != "halts"})
    assert TripFollower.restored(p, cfg, msgspec.json.decode(older, type=FollowerSnapshot)).halts == {}


def test_the_days_running_and_a_standstill_under_way_survive_a_restart(drive: tuple[Any, Timetable, list[Item]]) -> None:
    """What the vehicle's earlier trips today said (the next trip's prior: pace, dwells, standstill per
    section) and a standstill between stops in progress come back, so the predictions after a restart
    are the ones it would have made."""
    from onboard.tripfollow.eta import Running

    setup, tt, items = drive
    pipe = _pipe(setup, tt, items[0][0])
    _feed(pipe, [it for it in items if it[0] <= OVERDREV_DWELL])
    f = pipe.core.follower
    assert f is not None
    day = Running(ratio=1.08, dwell_s=31.0, sections=4, dwells=3, pace=1.08, run_s=900.0,
                  dwell_obs=(25.0, 31.0, 37.0), blend=0.25, stopped=3, passed=1, halted=45.0, halt_sections=4)
    pipe.core.day_running = ("2026-11-23", day)
    pipe.core._halt = (f, OVERDREV_DWELL - 20.0, f.i)
    text = checkpoint.encode(checkpoint.take(pipe))
    again = _pipe(setup, tt, OVERDREV_DWELL)
    checkpoint.restore(again, checkpoint.decode(text))
    assert again.core.day_running == ("2026-11-23", day)
    assert again.core._halt is not None and again.core._halt[0] is again.core.follower
    assert again.core._halt[1:] == (OVERDREV_DWELL - 20.0, f.i)
    # a checkpoint written before these were kept restores without them
    raw = msgspec.json.decode(text)
    for k in ("day_oday", "day", "halt"):
        raw["core"].pop(k)
    older = _pipe(setup, tt, OVERDREV_DWELL)
    checkpoint.restore(older, checkpoint.decode(msgspec.json.encode(raw)))
    assert older.core.day_running is None and older.core._halt is None
