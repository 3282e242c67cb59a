"""JSON Lines files that grow on a running unit are rotated by size or age with nothing lost, and every
reader follows the rotated files in order (issue 14: they grew without bound)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from transit.jsonl import JsonlCounts, JsonlWriter, expand_rotated, read_jsonl


def _recs(n: int, start: int = 0) -> list[dict[str, int]]:
    return [{"event": "x", "i": i, "pad": "p" * 50} for i in range(start, start + n)]


def test_size_rotation_keeps_every_record_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with JsonlWriter(path, max_bytes=1000) as w:
        for r in _recs(300):
            w.write(r)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) > 20 and "events.jsonl.1" in files and "events.jsonl" in files
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    assert [r["i"] for r in read_jsonl(path)] == list(range(300))  # the family, oldest first
    assert [r["i"] for r in read_jsonl(path, rotated=False)][-1] == 299


def test_a_restarted_writer_continues_the_family(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    with JsonlWriter(path, max_bytes=700) as w:
        for r in _recs(40):
            w.write(r)
    with JsonlWriter(path, max_bytes=700, fsync=True) as w:  # after a restart
        for r in _recs(40, 40):
            w.write(r)
    assert [r["i"] for r in read_jsonl(path)] == list(range(80))


def test_age_rotation(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / "a.jsonl"
    with JsonlWriter(path, max_bytes=None, max_age_s=3600, clock=lambda: now[0]) as w:
        for hour in range(5):
            for r in _recs(3, hour * 3):
                w.write(r)
            now[0] += 3600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "a.jsonl.1", "a.jsonl.2", "a.jsonl.3",
                                                          "a.jsonl.4"]
    assert [r["i"] for r in read_jsonl(path)] == list(range(15))


def test_keep_limits_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    with JsonlWriter(path, max_bytes=300, keep=2) as w:
        for r in _recs(50):
            w.write(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl", "e.jsonl.1", "e.jsonl.2"]


def test_lines_are_never_split_and_a_line_larger_than_the_limit_still_goes(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    with JsonlWriter(path, max_bytes=100) as w:
        w.write({"big": "x" * 500})
        w.write({"small": 1})
    assert [list(r) for r in read_jsonl(path)] == [["big"], ["small"]]


def test_readers_follow_globs_gz_and_gaps_from_a_crash(tmp_path: Path) -> None:
    base = tmp_path / "punctuality.jsonl"
    # a crash between two renames leaves a gap (.2 missing); .4 was compressed by housekeeping
    with gzip.open(tmp_path / "punctuality.jsonl.4.gz", "wt") as fh:
        fh.write(json.dumps({"i": 0}) + "\n")
    (tmp_path / "punctuality.jsonl.3").write_text(json.dumps({"i": 1}) + "\n")
    (tmp_path / "punctuality.jsonl.1").write_text(json.dumps({"i": 2}) + "\nnot json\n")
    base.write_text(json.dumps({"i": 3}) + "\n")
    (tmp_path / "other.jsonl").write_text(json.dumps({"i": 9}) + "\n")
    want = [tmp_path / n for n in ("punctuality.jsonl.4.gz", "punctuality.jsonl.3", "punctuality.jsonl.1",
                                   "punctuality.jsonl")]
    assert expand_rotated(base) == want
    assert expand_rotated(str(tmp_path / "punctuality.jsonl*")) == want  # quoted glob
    shell = sorted(str(p) for p in tmp_path.glob("punctuality.jsonl*"))  # what a shell passes
    assert expand_rotated(shell + [base]) == want  # each file once
    counts = JsonlCounts()
    assert [r["i"] for r in read_jsonl(base, counts)] == [0, 1, 2, 3] and counts.bad == 1
    assert [r["i"] for r in read_jsonl([tmp_path / "other.jsonl", base])] == [9, 0, 1, 2, 3]


def test_rotation_renames_never_lose_a_line_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.jsonl"
    w = JsonlWriter(path, max_bytes=400)
    for r in _recs(12):
        w.write(r)
    real = os.replace
    calls = []

    def failing_replace(a: object, b: object) -> None:
        calls.append((a, b))
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        for r in _recs(12, 12):
            w.write(r)
    monkeypatch.setattr(os, "replace", real)
    got = [r["i"] for r in read_jsonl(path)]
    assert got == list(range(len(got))) and len(got) >= 12  # in order, nothing before the cut lost
    w2 = JsonlWriter(path, max_bytes=400)  # the restarted unit carries on
    for r in _recs(5, 100):
        w2.write(r)
    w2.close()
    assert [r["i"] for r in read_jsonl(path)][-5:] == list(range(100, 105))


def test_punctuality_log_rotates_and_reports_read_it_whole(tmp_path: Path) -> None:
    from onboard.records.punctuality import PunctualityLog
    from transit.jsonl import read_records
    from transit.records import Punctuality

    with PunctualityLog(tmp_path, max_bytes=3000) as plog:  # about ten records a file
        for i in range(40):
            plog.append(Punctuality.make(1795414380.0 + i, veh="v", oper="o", stop_id="hilleroed", seq=i,
                                         status="measured", station="hilleroed", measured="arrival", counted=True,
                                         sched=None, actual=None, dl=0.0, late=False, policy="rail"))
    assert (tmp_path / "punctuality.jsonl.3").exists()
    assert [r.seq for r in read_records([tmp_path / "punctuality.jsonl"])] == list(range(40))


def test_progress_and_a_damaged_gz_keeps_what_was_read(tmp_path: Path) -> None:
    good = tmp_path / "a.jsonl"
    good.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(12000)))
    data = gzip.compress("".join(json.dumps({"j": i}) + "\n" for i in range(20000)).encode())
    (tmp_path / "b.jsonl.gz").write_bytes(data[: len(data) // 2])  # torn in the middle
    seen: list[float] = []
    counts = JsonlCounts()
    recs = list(read_jsonl([good, tmp_path / "b.jsonl.gz"], counts, progress=lambda f, _n: seen.append(f)))
    assert [r["i"] for r in recs if "i" in r] == list(range(12000))
    js = [r["j"] for r in recs if "j" in r]
    assert js == list(range(len(js))) and len(js) > 1000 and counts.bad >= 1
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2
