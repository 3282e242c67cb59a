"""Run files (issue 18): the sample validates, bad files fail with file, line and field, and the GTFS
written from a run file loads, says the same about schools and notices, and matches the committed feed."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from transit.errors import ConfigError
from transit.runfile import (
    NOTICE_BOOKING_RULE,
    load_runfile,
    main,
    runfile_from_node,
    school_runs_from_gtfs,
    write_gtfs,
)
from transit.timetable import Timetable
from transit.yamlconf import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "school" / "viborg-rute-12.yaml"
FEED = ROOT / "data" / "gtfs" / "viborg-school"

GOOD = """\
route: "7"
valid: {from: 2026-08-10, to: 2027-06-25}
stops:
  - {id: a, name: A, lat: 56.5, lon: 9.0}
  - {id: b, name: B, lat: 56.51, lon: 9.01}
  - {id: s, name: Skolen, lat: 56.52, lon: 9.02}
schools:
  - {stop: s, bell: "08:00"}
runs:
  - id: r7
    kind: to_school
    stops:
      - {stop: a, time: "07:20"}
      - {stop: b, time: "07:30", notice: true}
      - {stop: s, time: "07:50"}
"""


def _load(text: str) -> object:
    return runfile_from_node(parse_yaml(text, "rute-7.yaml"), Path("rute-7.yaml"))


def test_sample_validates_and_describes_the_route() -> None:
    rf = load_runfile(SAMPLE)
    assert rf.route == "12" and rf.ride_limit_s == 3600.0
    assert [r.kind for r in rf.runs] == ["to_school", "home", "home"]
    runs = rf.school_runs()
    morning = runs["r12-morgen"]
    assert set(morning.schools) == {"vestfjendsskolen"}
    assert morning.schools["vestfjendsskolen"].bell_s == 8 * 3600
    assert sorted(morning.notice) == ["kobberup", "sdr_rind", "vridsted_kirke"]
    assert morning.notice["kobberup"].ref == "r12-kobberup"
    assert rf.days == (True,) * 5 + (False, False)


@pytest.mark.parametrize(("change", "line", "field", "words"), [
    (("time: \"07:30\"", "time: 10:15"), 14, "runs[0].stops[1].time", "in quotes"),
    (("{stop: b, time", "{stop: x, time"), 14, "runs[0].stops[1].stop", "unknown stop 'x'"),
    (("time: \"07:30\"", "time: \"07:10\""), 14, "runs[0].stops[1].time", "before the previous"),
    (("{stop: s, time: \"07:50\"}", "{stop: b, time: \"07:55\"}"), 15, "runs[0].stops[2].stop",
     "called twice"),
    (("lat: 56.51", "lat: 96.51"), 5, "stops[1].lat", "90"),
    (("kind: to_school", "kind: school"), 11, "runs[0].kind", "home, to_school"),
    (("{stop: s, bell", "{stop: q, bell"), 8, "schools[0].stop", "unknown stop 'q'"),
    (("time: \"07:30\", notice: true", "time: \"07:30\", notice: yes please"), 14, "runs[0].stops[1].notice",
     "true or false"),
    (("valid: {from: 2026-08-10, to: 2027-06-25}", "valid: {from: 2026-08-10, to: 2025-06-25}"), 2,
     "valid.to", "before it starts"),
    (("route: \"7\"\n", "route: \"7\"\ncolour: red\n"), 2, "colour", "unknown key"),
])
def test_errors_name_file_line_and_field(change: tuple[str, str], line: int, field: str, words: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as ei:
        _load(GOOD.replace(old, new, 1))
    text = str(ei.value)
    assert text.startswith(f"rute-7.yaml:{line}: {field}: ") and words in text, text


def test_run_to_school_must_end_at_a_school() -> None:
    text = GOOD.replace("      - {stop: s, time: \"07:50\"}\n", "")
    with pytest.raises(ConfigError, match=r"rute-7.yaml:\d+: runs\[0\].stops: the run calls at no school"):
        _load(text)


def test_notice_on_a_school_is_refused() -> None:
    text = GOOD.replace("{stop: s, time: \"07:50\"}", "{stop: s, time: \"07:50\", notice: true}")
    with pytest.raises(ConfigError, match=r":15: runs\[0\].stops\[2\].notice: notices are for pickup"):
        _load(text)


def test_gtfs_from_the_run_file_loads_and_flags_the_same_pickups(tmp_path: Path) -> None:
    rf = load_runfile(SAMPLE)
    write_gtfs(rf, tmp_path)
    tt = Timetable.load(tmp_path, strict=True)
    assert set(tt.trips) == {r.run_id for r in rf.runs}
    times = {st.stop_id: st for st in tt.stop_times("r12-morgen")}
    assert times["vridsted_kirke"].pickup_type == 3 and times["vridsted_kirke"].drop_off_type == 1
    assert times["hagebro"].pickup_type == 0
    assert times["vestfjendsskolen"].pickup_type == 1 and times["vestfjendsskolen"].drop_off_type == 0
    home = {st.stop_id: st for st in tt.stop_times("r12-hjem-1")}
    assert home["sdr_rind"].drop_off_type == 3 and home["vestfjendsskolen"].pickup_type == 0
    assert NOTICE_BOOKING_RULE in (tmp_path / "booking_rules.txt").read_text(encoding="utf-8")
    # a GTFS feed with flex-style pickups and bell times from configuration gives the same school runs
    from_gtfs = school_runs_from_gtfs(tt, {"vestfjendsskolen": 8 * 3600})
    mine = rf.school_runs()
    assert from_gtfs.keys() == mine.keys()
    for tid, run in mine.items():
        assert from_gtfs[tid].kind == run.kind
        assert from_gtfs[tid].notice.keys() == run.notice.keys()
        assert from_gtfs[tid].schools == run.schools


def test_booking_rules_alone_flag_pickups(tmp_path: Path) -> None:
    rf = load_runfile(SAMPLE)
    write_gtfs(rf, tmp_path)
    st = tmp_path / "stop_times.txt"
    st.write_text(st.read_text(encoding="utf-8").replace(",3,1,1,varsling", ",0,1,1,varsling"), encoding="utf-8")
    tt = Timetable.load(tmp_path)
    assert tt.stop_times("r12-morgen")[2].pickup_type == 0
    plain = school_runs_from_gtfs(tt, {"vestfjendsskolen": 8 * 3600})
    assert "vridsted_kirke" not in plain["r12-morgen"].notice
    ruled = school_runs_from_gtfs(tt, {"vestfjendsskolen": 8 * 3600},
                                  notice_rules=frozenset({NOTICE_BOOKING_RULE}))
    assert sorted(ruled["r12-morgen"].notice) == ["kobberup", "sdr_rind", "vridsted_kirke"]


def test_committed_feed_is_the_run_file_written(tmp_path: Path) -> None:
    assert main(["gtfs", str(SAMPLE), "-o", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in FEED.glob("*.txt"))
    match, mismatch, errors = filecmp.cmpfiles(tmp_path, FEED, names, shallow=False)
    assert not mismatch and not errors, f"regenerate with: make school-feed ({mismatch})"


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE)]) == 0
    assert "r12-morgen (to_school) 9 stops" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("\"07:30\"", "7:30"), encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    assert "bad.yaml:14: runs[0].stops[1].time" in capsys.readouterr().err
