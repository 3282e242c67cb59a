"""Issue 17: an outbox that never stalls and stays in its disk budget.

Behaviour, not timing (the latency and the 2 M-row figures are in ``python -m bench outbox_budget``):
thinning works in bounded steps and never touches records, oldest positions go first, the kept counters
always equal ``COUNT(*)``, the WAL stays bounded, the disk budget holds, positions may wait for a group
commit but records never do, and a file written by the previous version is migrated in place.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboard.records.outbox import MIN_BUDGET_BYTES, SCHEMA_VERSION, THIN_CHUNK, THIN_STEPS_S, Outbox
from transit.errors import OutboxError
from transit.messages import Delivery

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
VP_BODY = b'{"v":1,"event":"vp","veh":"2051","oper":"lokaltog","lat":55.93,"lon":12.31,"spd":12.5}' * 3


def vp(i: int) -> Delivery:
    """A 1 Hz position sample at ``T0 + i`` s, of a real sample's size (~300 bytes)."""
    return Delivery("rettid/v1/journey/vp/train/lokaltog/2051/920R/0/06:55/S001", VP_BODY + str(i).encode(), 1,
                    False, None, "vp", f"vp{i}", T0 + timedelta(seconds=i))


def rec(i: int, event: str = "arr") -> Delivery:
    """A record that matters (stop event, punctuality, count, deviation)."""
    return Delivery(f"rettid/v1/record/{event}/train/lokaltog/2051", VP_BODY + str(i).encode(), 1, False, None,
                    "record", f"{event}{i}", T0 + timedelta(seconds=i))


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def table_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {k: n for k, n in db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind")}
    finally:
        db.close()


def fill(ob: Outbox, seconds: int, *, start: int = 0, batch: int = 60, every: int = 30,
         clock: Clock | None = None) -> list[str]:
    """``seconds`` of 1 Hz positions with a record every ``every`` s, in puts of ``batch`` s; returns the
    ids of the records."""
    ids = []
    for s0 in range(start, start + seconds, batch):
        ds = []
        for i in range(s0, s0 + batch):
            ds.append(vp(i))
            if i % every == 0:
                ds.append(rec(i))
                ids.append(f"arr{i}")
        ob.put(ds)
        if clock is not None:
            clock.t += batch / 10
            ob.maintain()
    return ids


def test_thinning_is_chunked_oldest_first_and_never_touches_records(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite", max_rows=3000, synchronous="NORMAL")
    ids = []
    deleted_per_call = []
    for s0 in range(0, 8000, 40):
        before = ob.counters.vp_thinned
        ids += fill(ob, 40, start=s0, batch=40, every=20)
        deleted_per_call.append(ob.counters.vp_thinned - before)
    assert ob.counters.vp_thinned > 0 and ob.counters.thin_steps > 0
    assert max(deleted_per_call) <= THIN_CHUNK  # one bounded step per put, never one big DELETE
    assert ob.count_kind("record") == len(ids) == 400  # every record kept
    assert [r.rec_id for r in ob.fetch(0, 10**6) if r.kind == "record"] == ids  # in order
    assert len(ob) <= 3000
    # oldest first: the first hour is coarse, the newest minute is still at 1 Hz
    t = sorted(r.tst_ms for r in ob.fetch(0, 10**6) if r.kind == "vp")
    t0 = int(T0.timestamp() * 1000)
    first_hour = [x for x in t if x < t0 + 3600_000]
    last_minute = [x for x in t if x >= t0 + (8000 - 60) * 1000]
    assert 0 < len(first_hour) <= 3600 // THIN_STEPS_S[0] + 1
    assert len(last_minute) == 60
    # one sample per bucket where it was thinned: the gaps in the first hour are whole steps
    assert all(b - a >= 1000 for a, b in zip(first_hour, first_hour[1:], strict=False))
    ob.close()


def test_thinning_steps_get_coarser_when_a_pass_is_not_enough(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite", max_rows=400, synchronous="NORMAL")
    ids = fill(ob, 6 * 3600, batch=120, every=600)
    for _ in range(200):  # idle turns of the service loop finish the passes
        ob.thin_step()
    assert ob.count_kind("record") == len(ids)
    vps = sorted(r.tst_ms for r in ob.fetch(0, 10**6) if r.kind == "vp")
    gaps = [b - a for a, b in zip(vps, vps[1:], strict=False)]
    assert max(gaps) >= 60_000  # the oldest positions reached a coarse step (beyond the first 10 s pass)
    assert len(ob) <= 400
    ob.close()


OPS = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 40), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("ack"), st.integers(0, 30), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("dead"), st.integers(0, 5), st.integers(0, 0), st.booleans()),
    st.tuples(st.just("thin"), st.integers(0, 3), st.integers(0, 0), st.booleans()),
    st.tuples(st.just("maintain"), st.integers(0, 0), st.integers(0, 0), st.booleans()),
    st.tuples(st.just("reopen"), st.integers(0, 0), st.integers(0, 0), st.booleans()),
), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_kept_counters_equal_count_star(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    path = tmp_path_factory.mktemp("ob") / "o.sqlite"
    clock = Clock()
    ob = Outbox(path, max_rows=60, synchronous="NORMAL", group_s=1.0, clock=clock)
    i = 0
    try:
        for op, a, b, flag in ops:
            if op == "put":
                ds = [vp(i + k) for k in range(a)] + [rec(i + k) for k in range(b)]
                if flag:  # a prediction replacing the previous one for its topic
                    ds.append(Delivery("s/A", b"eta", 1, True, 60, "eta", f"eta{i}", T0, "s/A"))
                ob.put(ds)
                i += a + b
            elif op == "ack":
                rows = ob.fetch(0, 1000)
                ob.ack([r.seq for r in rows[b::4][:a]] + ([10**9] if flag else []))
            elif op == "dead":
                rows = ob.fetch(0, a + 1)
                if rows:
                    ob.dead_letter(rows[-1].seq, "Not authorized")
            elif op == "thin":
                ob.thin_positions(THIN_STEPS_S[a])
            elif op == "maintain":
                clock.t += 2.0
                ob.maintain()
            else:
                ob.close()
                ob = Outbox(path, max_rows=60, synchronous="NORMAL", group_s=1.0, clock=clock)
            ob.flush()
            truth = table_counts(path)
            assert len(ob) == sum(truth.values())
            for kind in ("vp", "record", "eta"):
                assert ob.count_kind(kind) == truth.get(kind, 0)
            assert ob.stats()["depth"] == len(ob)
    finally:
        ob.close()


def test_wal_stays_bounded_after_many_writes(tmp_path: Path) -> None:
    clock = Clock()
    budget = 8 << 20
    ob = Outbox(tmp_path / "o.sqlite", budget_bytes=budget, clock=clock, synchronous="NORMAL")
    wal = tmp_path / "o.sqlite-wal"
    peak_wal = 0
    for s0 in range(0, 40_000, 200):  # ~5 budgets' worth of positions: thinning runs most of the time
        fill(ob, 200, start=s0, batch=200, every=50)
        clock.t += 1.0
        ob.maintain()
        peak_wal = max(peak_wal, wal.stat().st_size)
    assert ob.counters.vp_thinned > 0 and ob.counters.checkpoints > 0
    # one transaction is small, checkpoints come every CHECKPOINT_S and journal_size_limit cuts the file
    # back: never near the budget (the old single DELETE wrote every page it touched to the WAL)
    assert peak_wal <= ob.wal_limit_bytes + (1 << 20)
    ob.close()
    assert not wal.exists() or wal.stat().st_size == 0  # TRUNCATE checkpoint at close


def test_disk_budget_is_respected_and_records_are_kept(tmp_path: Path) -> None:
    clock = Clock()
    budget = MIN_BUDGET_BYTES
    ob = Outbox(tmp_path / "o.sqlite", budget_bytes=budget, clock=clock, synchronous="NORMAL")
    peak = 0
    ids = []
    for s0 in range(0, 30_000, 300):  # ~3.5 budgets of positions
        ids += fill(ob, 300, start=s0, batch=100, every=60, clock=clock)
        peak = max(peak, sum(ob.disk_bytes().values()))
    assert peak <= 1.2 * budget
    assert ob.count_kind("record") == len(ids)  # records that matter: all of them
    assert ob.counters.vp_thinned > 0
    s = ob.stats()
    assert s["budget_mb"] == 4.0 and s["used_mb"] <= 4.0 and s["vp_thinned"] == ob.counters.vp_thinned
    ob.close()


def test_group_commit_holds_positions_only(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "o.sqlite"
    ob = Outbox(path, group_s=1.0, clock=clock)
    assert ob.put([vp(0), vp(1)]) == 2
    assert ob.pending == 2 and table_counts(path) == {}  # not committed yet
    clock.t += 0.5
    ob.put([vp(2)])
    assert ob.pending == 3
    ob.put([rec(3)])  # a record commits at once, with the positions before it, in order
    assert ob.pending == 0 and table_counts(path) == {"vp": 3, "record": 1}
    assert [r.rec_id for r in ob.fetch(0, 10)] == ["vp0", "vp1", "vp2", "arr3"]
    assert ob.counters.group_commits == 1
    ob.put([vp(4)])
    clock.t += 1.5
    ob.maintain()  # the window has passed: the service loop commits them
    assert ob.pending == 0 and table_counts(path)["vp"] == 4
    # the trip state put with positions waits with them: never stored ahead of them, nor lost apart
    ob.put([vp(5)], meta={"checkpoint": "after vp5"})
    assert ob.pending == 1 and ob.get_meta("checkpoint") is None
    ob.put([vp(6)], meta={"checkpoint": "after vp6"})
    ob.put([], meta={"progress": "7"})  # meta alone commits at once, with what waits
    assert ob.pending == 0 and table_counts(path)["vp"] == 6
    assert ob.get_meta("checkpoint") == "after vp6" and ob.get_meta("progress") == "7"
    ob.put([vp(7)])
    ob.close()  # and closing commits what waits
    assert table_counts(path)["vp"] == 7


OLD_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
    qos INTEGER NOT NULL, retain INTEGER NOT NULL, expiry INTEGER, kind TEXT NOT NULL, rec_id TEXT NOT NULL,
    tst_ms INTEGER NOT NULL, coalesce_key TEXT);
CREATE INDEX outbox_coalesce ON outbox(coalesce_key) WHERE coalesce_key IS NOT NULL;
CREATE INDEX outbox_vp ON outbox(tst_ms) WHERE kind = 'vp';
CREATE TABLE dead (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, rec_id TEXT NOT NULL,
    reason TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_migration_of_a_full_outbox_written_by_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(OLD_SCHEMA)  # as main's code before issue 17 created it (auto_vacuum none)
    rows = [vp(i) for i in range(5000)] + [rec(i) for i in range(0, 5000, 50)]
    old.executemany("INSERT INTO outbox(topic, payload, qos, retain, expiry, kind, rec_id, tst_ms, coalesce_key)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    [(d.topic, d.payload, 1, 0, None, d.kind, d.rec_id, int(d.tst.timestamp() * 1000), None)
                     for d in rows])
    old.execute("INSERT INTO meta VALUES ('source:x', '42')")
    old.close()
    clock = Clock()
    ob = Outbox(path, budget_bytes=MIN_BUDGET_BYTES, max_rows=3000, clock=clock)
    try:
        assert ob.migrated_from == 0
        assert len(ob) == 5100 and ob.count_kind("record") == 100 and ob.get_meta("source:x") == "42"
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.close()
        assert ob.thinning  # a full old file is thinned in steps as the unit runs
        for _ in range(40):
            clock.t += 1.0
            ob.maintain()
        assert len(ob) <= 3000 and ob.count_kind("record") == 100
        assert table_counts(path) == {"vp": ob.count_kind("vp"), "record": 100}
        # the broker is back: everything drains; the small file is rewritten once as incremental
        ob.ack([r.seq for r in ob.fetch(0, 10**6)])
        clock.t += 5.0
        ob.maintain()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        db.close()
        ob.put([rec(9999)])
        assert ob.fetch(0, 1)[0].seq > 5100  # seq is never reused across the migration
    finally:
        ob.close()
    again = Outbox(path)
    assert again.migrated_from is None and len(again) == 1
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    Outbox(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(OutboxError, match="newer than this software"):
        Outbox(path)


def test_a_budget_below_the_minimum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="below the minimum"):
        Outbox(tmp_path / "o.sqlite", budget_bytes=1 << 20)


def test_health_problem_at_the_budget() -> None:
    from transit.health import HealthInputs, build_health

    h = HealthInputs("u", "2051", "lokaltog", clock={"synced": True}, gnss_configured=False,
                     outbox={"depth": 10, "at_budget": True, "budget_mb": 384.0, "thinning": True})
    out = build_health(h)
    assert not out["ok"] and any("disk budget of 384.0 MB" in p for p in out["problems"])
