"""No crash on input: random damage to any cell of the mini feed gives problems, never an exception."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_DATA
from transit.feedcheck import check_feed

MINI = TEST_DATA / "gtfs-mini"
FILES = sorted(p.name for p in MINI.glob("*.txt"))
JUNK = st.one_of(st.sampled_from(["", " ", "25:6x:00", "-1", "99999999", "abc", "1e400", "nan", "0", "2",
                                  "\"", "20261301", "24:00:00", "HIL", "T1", "æøå", "\x00"]),
                 st.text(max_size=12))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(FILES), row=st.integers(0, 40), col=st.integers(0, 10), value=JUNK)
def test_damaged_cell_never_crashes(name: str, row: int, col: int, value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed"
        shutil.copytree(MINI, feed)
        path = feed / name
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        r = rows[row % len(rows)]
        r[col % len(r)] = value
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
        res = check_feed(feed)
        for p in res.problems:
            assert p.file.endswith(".txt") and p.message
        if res.timetable is not None:  # whatever loaded answers queries
            for trip_id in res.timetable.trips:
                res.timetable.stop_times(trip_id)


def _mini_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in FILES:
            z.write(MINI / name, name)
    return buf.getvalue()


MINI_ZIP = _mini_zip()


@settings(max_examples=150, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, len(MINI_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=5),
       cut=st.one_of(st.none(), st.integers(0, len(MINI_ZIP))))
def test_damaged_zip_is_a_feed_problem_never_a_crash(flips: list[tuple[int, int]], cut: int | None) -> None:
    from transit.errors import FeedError
    from transit.timetable import Timetable

    data = bytearray(MINI_ZIP)
    for i, v in flips:
        data[i] = v
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.zip"
        path.write_bytes(bytes(data[:cut]))
        res = check_feed(path)
        assert all(p.message for p in res.problems)
        try:
            Timetable.load(path)
        except FeedError as exc:
            assert exc.problems
