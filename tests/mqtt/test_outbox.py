"""onboard.records.outbox: order, acks, coalescing, thinning under pressure, durability across kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace

from onboard.records.outbox import Outbox
from tests.conftest import REPO
from tests.mqtt.records import trip_records
from transit.errors import OutboxError
from transit.messages import Delivery, deliveries_for_record
from transit.records import Eta

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def d(kind: str, i: int, topic: str | None = None, coalesce: str | None = None) -> Delivery:
    return Delivery(topic or f"t/{kind}", f"{kind}{i}".encode(), 1, kind == "eta", None, kind, f"id{i}",
                    T0 + timedelta(seconds=i), coalesce)


def test_order_ack_and_resume_after_reopen(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite")
    recs = [r for r in trip_records(120) if r.event != "eta"]  # eta coalesce: tested below
    ds = [x for r in recs for x in deliveries_for_record(r)]
    assert ob.put(ds, meta={"source:x": str(len(recs))}) == len(ds)
    rows = ob.fetch(0, 10_000)
    assert [r.payload for r in rows] == [x.payload for x in ds]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert ob.ack([r.seq for r in rows[:50]]) == 50
    assert ob.ack([rows[0].seq]) == 0  # a second PUBACK for the same message deletes nothing
    ob.close()
    ob2 = Outbox(tmp_path / "o.sqlite")
    assert len(ob2) == len(ds) - 50
    assert ob2.fetch(0, 1)[0].payload == ds[50].payload  # resumes at the lowest unacknowledged
    assert ob2.get_meta("source:x") == str(len(recs))
    ob2.ack([r.seq for r in ob2.fetch(0, 10_000)])
    ob2.put([d("record", 1)])
    assert ob2.fetch(0, 1)[0].seq > rows[-1].seq  # AUTOINCREMENT: seq never reused
    ob2.close()


def test_predictions_coalesce_latest_wins(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite")
    ob.put([d("eta", 1, "s/A", "s/A"), d("record", 2), d("eta", 3, "s/B", "s/B")])
    ob.put([d("eta", 4, "s/A", "s/A")])
    assert [r.payload for r in ob.fetch(0, 10)] == [b"record2", b"eta3", b"eta4"]
    assert ob.counters.coalesced == 1
    ob.close()


def test_pressure_thins_positions_never_records(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite", max_rows=1000)
    # 2000 s of 1 Hz positions and a record every 10 s
    for start in range(0, 2000, 100):
        batch = []
        for i in range(start, start + 100):
            batch.append(d("vp", i))
            if i % 10 == 0:
                batch.append(d("record", i))
        ob.put(batch)
    assert ob.count_kind("record") == 200  # every record kept
    assert len(ob) <= 1000
    assert ob.counters.vp_thinned > 0
    vp = [r for r in ob.fetch(0, 10_000) if r.kind == "vp"]
    assert len(vp) >= 50  # thinned, not wiped: the track stays visible at a coarser step
    ob.close()


def test_records_are_kept_past_the_bound(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite", max_rows=100)
    ob.put([d("record", i) for i in range(150)])
    # at the bound with nothing left to thin: one position per 300 s still goes in, the rest is refused
    assert ob.put([d("vp", 1000), d("vp", 1001), d("vp", 1300)]) == 2
    assert ob.count_kind("record") == 150 and ob.count_kind("vp") == 2
    assert ob.counters.over_bound >= 1 and ob.counters.vp_refused == 1
    assert ob.at_budget and ob.stats()["at_budget"]
    ob.close()


def test_dead_letter_keeps_refused_message(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite")
    ob.put([d("record", 1), d("record", 2)])
    first = ob.fetch(0, 1)[0]
    ob.dead_letter(first.seq, "Not authorized")
    assert len(ob) == 1 and ob.dead_count() == 1
    ob.close()


def test_unwritable_location_is_an_outbox_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutboxError):
        Outbox(tmp_path / "file" / "o.sqlite")


WRITER = r"""
import sys
from datetime import UTC, datetime
from onboard.records.outbox import Outbox
from transit.messages import Delivery
ob = Outbox(sys.argv[1])
t = datetime(2026, 11, 23, tzinfo=UTC)
i = 0
while True:
    ob.put([Delivery("t", f"{i + k}".encode(), 1, False, None, "record", f"id{i + k}", t) for k in range(50)])
    i += 50
    print(i, flush=True)  # only after the commit returned
"""


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    for _ in range(3):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                             cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert p.stdout is not None
        confirmed = 0
        deadline = time.monotonic() + 20
        while confirmed < 2000 and time.monotonic() < deadline:
            confirmed = int(p.stdout.readline())
        p.send_signal(signal.SIGKILL)
        p.wait()
        ob = Outbox(path)
        payloads = [r.payload for r in ob.fetch(0, 10_000_000)]
        ob.ack(r.seq for r in ob.fetch(0, 10_000_000))
        ob.close()
        got = [int(x) for x in payloads]
        assert got[:confirmed] == list(range(confirmed))  # everything confirmed is there, in order
        assert len(got) % 50 == 0  # and never half a batch: a commit is all or nothing


def test_record_sink_stores_good_records_and_counts_bad(tmp_path: Path) -> None:
    from onboard.records.publisher import RecordSink

    ob = Outbox(tmp_path / "o.sqlite")
    sink = RecordSink(ob, None, mode="train")
    good = [r for r in trip_records(3)]
    eta = next(r for r in trip_records(60) if isinstance(r, Eta))
    bad = replace(eta, stops=[replace(eta.stops[0], seq=None)], clear=None)  # no stop_sequence: no prediction
    assert sink.write([good[0], bad, good[1], replace(bad, id="b2"), good[2]]) == 3
    assert sink.bad == 2 and len(ob) == 3
    assert ob.fetch(0, 1)[0].topic.startswith("rettid/v1/journey/vp/train/lokaltog/2051/")
    ob.close()


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    import random

    from onboard.records.publisher import Backoff

    b = Backoff(0.5, 60.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(12)]
    for n, dly in enumerate(delays):
        cap = min(60.0, 0.5 * 2 ** n)
        assert cap / 2 <= dly <= cap
    assert len({round(x, 6) for x in delays[8:]}) == 4  # at the cap, still jittered
    b.reset()
    assert b.next_delay() <= 0.5


def test_corrupt_outbox_is_moved_aside_and_salvaged(tmp_path: Path) -> None:
    """Issue 12 item 8: a corrupt outbox.sqlite stopped the unit with a clear error, and it never
    started again until someone deleted the file. Now it is moved aside (kept for forensics), a new
    one is started with what was still readable, and the outbox says so (health reports it)."""
    path = tmp_path / "outbox.sqlite"
    ob = Outbox(path)
    ob.put([d("rec", i) for i in range(2000)])
    ob.close()
    size = path.stat().st_size
    with path.open("r+b") as fh:  # garbage over the last pages (a torn write on an SD card)
        fh.seek(size - 3 * 4096)
        fh.write(os.urandom(3 * 4096))
    ob = Outbox(path)
    try:
        assert ob.quarantined == tmp_path / "outbox.corrupt-1.sqlite" and ob.quarantined.exists()
        assert 0 < ob.salvaged < 2000 and len(ob) == ob.salvaged
        first = ob.fetch(0, 1)[0]
        assert first.payload == b"rec0"
        ob.put([d("rec", 5000)])
    finally:
        ob.close()
    again = Outbox(path)  # the new file is sound: opened as it is
    assert again.quarantined is None and len(again) == ob.salvaged + 1
    again.close()
    path.write_bytes(b"this is not a database at all" * 200)  # overwritten entirely
    third = Outbox(path)
    assert third.quarantined == tmp_path / "outbox.corrupt-2.sqlite" and len(third) == 0
    third.close()
    path.write_bytes(b"x" * 8192)
    with pytest.raises(OutboxError, match="cannot open outbox: file is not a database"):
        Outbox(path, recover_corrupt=False)  # tools that only read (forensics) keep the old behaviour
