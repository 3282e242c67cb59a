"""``sim_bus record``: files, determinism, and real peers reading them (python-can, cantools, gpiozero,
pynmea2), checked against the ground truth."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import can
import pynmea2
import pytest
import yaml

from hw.can.dbc import load_dbc
from hw.can.j1939 import pgn_of
from hw.gnss.nmea import checksum
from sim_bus.record import FILES, record
from sim_bus.scenario import load_scenario
from transit.geo import haversine_m

from .conftest import REPO


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from .conftest import SHORT

    d = tmp_path_factory.mktemp("rec")
    scen = d / "test-910.yaml"
    scen.write_text(SHORT, encoding="utf-8")
    sim = record(scen, d / "out", show_progress=False)
    return d / "out", sim


def _truth(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]


def _valid(line: str) -> bool:
    if not line.startswith("$") or "*" not in line:
        return False
    body, _, cs = line[1:].rpartition("*")
    return cs == checksum(body)


def test_all_files_written(recorded: tuple[Path, Any]) -> None:
    out, _ = recorded
    for name in FILES:
        assert (out / name).stat().st_size > 0, name


def test_same_seed_same_bytes_other_seed_differs(recorded: tuple[Path, Any], tmp_path: Path) -> None:
    out, _ = recorded
    from .conftest import SHORT

    scen = tmp_path / "test-910.yaml"
    scen.write_text(SHORT, encoding="utf-8")
    again = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "sim_bus", "record", str(scen), "--seed", "5", "--out", str(again),
                    "--no-progress"], check=True, cwd=REPO, capture_output=True)
    for name in FILES:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = record(scen, tmp_path / "other", seed=6, show_progress=False)
    assert other.scenario.seed == 6
    assert (tmp_path / "other" / "gnss.nmea").read_bytes() != (out / "gnss.nmea").read_bytes()


def test_nmea_crlf_and_checksums_except_declared_corrupt(recorded: tuple[Path, Any]) -> None:
    out, _ = recorded
    raw = (out / "gnss.nmea").read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.decode("ascii").split("\r\n")[:-1]
    corrupt = {r["line"] for r in _truth(out) if r["kind"] == "corrupt"}
    assert len(corrupt) == 5  # the scenario asks for five
    bad = {i + 1 for i, line in enumerate(lines) if not _valid(line)}
    assert bad == corrupt


def test_positions_follow_truth_and_outage_reports_no_fix(recorded: tuple[Path, Any]) -> None:
    out, sim = recorded
    truth = _truth(out)
    outliers = {round(r["t"]) + k for r in truth if r["kind"] == "outlier" for k in range(r["epochs"])}
    outages = [(r["start"], r["end"]) for r in truth if r["kind"] == "outage"]
    assert any(o[0] > sim.t_start for o in outages), "the 'cutting' zone must give an outage"
    errors = []
    no_fix = 0
    for line in (out / "gnss.nmea").read_bytes().decode("ascii").split("\r\n"):
        if not line.startswith("$GNGGA") or not _valid(line):
            continue
        msg = pynmea2.parse(line)
        if msg.timestamp is None:  # cold start: the receiver does not know the time yet
            assert msg.gps_qual == 0 and line.split(",")[2] == ""
            continue
        t = (msg.timestamp.hour * 3600 + msg.timestamp.minute * 60 + msg.timestamp.second)
        epoch = sim.t_start - (sim.t_start % 86400) + t
        inside = any(a <= epoch < b for a, b in outages)
        if msg.gps_qual == 0:
            no_fix += 1
            assert inside, f"no fix outside an outage at {line}"
            assert msg.latitude == 0.0 and line.split(",")[2] == ""  # empty fields, not silence
            continue
        assert not inside
        p = sim.motion.track.at(epoch)
        lat, lon, _ = sim.plans[p.trip].shape.point_at(p.x)
        err = haversine_m(msg.latitude, msg.longitude, lat, lon)
        if int(epoch) in outliers:
            assert 15 < err < 100
        else:
            errors.append(err)
    assert no_fix > 5
    errors.sort()
    assert errors[len(errors) // 2] < 3.0  # sigma 1.5 m horizontal
    assert errors[-1] < 12.0


def test_gsv_sets_are_consistent(recorded: tuple[Path, Any]) -> None:
    """Satellites listed across a GSV group match its count (NMEA 4.10: signal id last, no padding)."""
    out, _ = recorded
    listed: dict[str, list[str]] = {}
    checked = 0
    for line in (out / "gnss.nmea").read_bytes().decode("ascii").split("\r\n"):
        if "GSV," not in line or not _valid(line):
            continue
        f = line[1:line.rindex("*")].split(",")
        talker, total, num, in_view = f[0][:2], int(f[1]), int(f[2]), int(f[3])
        sats = f[4:]
        if len(sats) % 4 == 1:
            sats = sats[:-1]  # the signal id
        assert len(sats) % 4 == 0
        if num == 1:
            listed[talker] = []
        elif len(listed.get(talker, [])) != (num - 1) * 4:
            listed[talker] = [""] * 99  # a declared-corrupt sentence broke this group: skip it
        listed[talker] += sats[0::4]
        for k in range(0, len(sats), 4):
            assert 5 <= int(sats[k + 1]) <= 90 and 0 <= int(sats[k + 2]) < 360 and 10 <= int(sats[k + 3]) <= 55
        if num == total and "" not in listed[talker]:
            assert len(listed[talker]) == in_view
            assert len(set(listed[talker])) == in_view  # no satellite twice
            checked += 1
    assert checked > 100


def test_can_log_reads_and_decodes_against_truth(recorded: tuple[Path, Any]) -> None:
    out, sim = recorded
    db = load_dbc()
    by_pgn = {pgn_of(m.frame_id): m for m in db.messages}
    visits = [r for r in _truth(out) if r["kind"] == "visit"]
    n = 0
    last_t = 0.0
    odo: list[float] = []
    door_open_seen: set[int] = set()
    cfg = sim.scenario.can
    door_lag = cfg.door_latency_ms / 1000.0
    for msg in can.LogReader(str(out / "can.log")):
        n += 1
        assert msg.timestamp >= last_t
        last_t = msg.timestamp
        assert msg.is_extended_id
        m = by_pgn.get(pgn_of(msg.arbitration_id))
        if m is None or m.name not in ("CCVS1", "DC2", "VDHR"):
            continue
        sig = m.decode(msg.data, decode_choices=False)
        if m.name == "CCVS1":
            # the sensor filters (100 ms) and refreshes (100 ms): the reading lies within the true
            # speeds of the last second; it reads 0 only where the vehicle was slower than the cutoff
            recent = [sim.motion.track.at(msg.timestamp - k * 0.05).v * 3.6 for k in range(21)]
            got = float(sig["WheelBasedVehicleSpeed"])
            if got == 0.0:
                assert min(recent) < cfg.wheel_cutoff_kmh + 0.05
            else:
                assert min(recent) - 0.05 <= got <= max(recent) + 0.05
        elif m.name == "VDHR":
            odo.append(float(sig["HighResTotalVehicleDistance"]))
        elif m.name == "DC2" and sig["OpenStatusDoor1"] == 1:
            inside = [v for v in visits if v["doors_open"] is not None
                      and v["doors_open"] - 0.01 <= msg.timestamp <= v["doors_closed"] + door_lag + 0.05]
            assert inside, f"door 1 open at {msg.timestamp} outside any visit"
            door_open_seen.add(inside[0]["seq"])
    duration = sim.t_end - sim.t_start
    assert n > duration * (10 + 60) * 0.9  # CCVS1 10/s plus 60 background frames/s
    assert odo == sorted(odo) and odo[-1] - odo[0] == pytest.approx(
        sim.motion.track.odo[-1] - sim.motion.track.odo[0], abs=10.0)
    assert len(door_open_seen) == len([v for v in visits if v["doors_open"] is not None])


def test_gpiozero_mock_pins_see_gpio_csv(recorded: tuple[Path, Any]) -> None:
    from gpiozero import DigitalInputDevice
    from gpiozero.pins.mock import MockFactory

    out, sim = recorded
    with open(out / "gpio.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == ["t", "pin", "level"]
    assert all(len(r["t"].split(".")[1]) == 3 for r in rows)
    factory = MockFactory()
    pins = sorted({int(r["pin"]) for r in rows})
    devices = {p: DigitalInputDevice(p, pull_up=None, active_state=True, pin_factory=factory) for p in pins}
    activations = dict.fromkeys(pins, 0)
    for p, dev in devices.items():
        def hit(p: int = p) -> None:
            activations[p] += 1
        dev.when_activated = hit
    for r in rows:
        pin = factory.pin(int(r["pin"]))
        if r["level"] == "1":
            pin.drive_high()
        else:
            pin.drive_low()
    rising = {p: sum(1 for r in rows if int(r["pin"]) == p and r["level"] == "1") for p in pins}
    assert activations == rising
    assert all(not d.is_active for d in devices.values())  # every beam clear at the end
    for d in devices.values():
        d.close()
    beams = {p for door in sim.scenario.vehicle.doors for b in door.beams for p in b}
    assert set(pins) <= beams
    crossings = [r for r in _truth(out) if r["kind"] == "crossing"]
    assert crossings and all(r["direction"] in ("in", "out") for r in crossings)


def test_truth_records(recorded: tuple[Path, Any]) -> None:
    out, sim = recorded
    truth = _truth(out)
    assert truth[0]["kind"] == "scenario" and truth[0]["trips"] == ["910_MT_0_0715"]
    visits = [r for r in truth if r["kind"] == "visit"]
    assert [v["stop_id"] for v in visits][:2] == ["jaegersborg", "lyngby_lokal"]
    passes = [r for r in truth if r["kind"] == "pass"]
    assert [p["stop_id"] for p in passes] == ["noergaardsvej"]  # not served by this trip
    assert visits[0]["arrival"] <= passes[0]["t"] <= visits[1]["arrival"]
    for v in visits[:-1]:
        assert v["departure"] >= v["scheduled_departure"]  # hold_at: all
    ins = sum(1 for r in truth if r["kind"] == "crossing" and r["direction"] == "in")
    assert ins == sum(v["boardings"] for v in visits)


def test_onboard_yaml_matches_recording(recorded: tuple[Path, Any]) -> None:
    """The onboard unit's own configuration loader accepts the file and points at the recording."""
    from onboard.service.config import OnboardConfig

    out, sim = recorded
    cfg = OnboardConfig.load(out / "onboard.yaml", timetable=sim.timetable)
    assert cfg.assignment.trips == ("910_MT_0_0715",) and cfg.assignment.service_day == sim.scenario.service_day
    assert cfg.vehicle.type_id == "regiosprinter"
    assert cfg.counting is not None
    assert [d.beams for d in cfg.counting.doors] == [d.beams for d in sim.scenario.vehicle.doors]
    raw = yaml.safe_load((out / "onboard.yaml").read_text(encoding="utf-8"))
    assert raw["gnss"]["backend"] == "file" and (out / raw["gnss"]["path"]).exists()
    assert raw["can"]["backend"] == "replay" and (out / raw["can"]["file"]).exists()
    assert raw["gpio"]["backend"] == "replay" and (out / raw["gpio"]["file"]).exists()


def test_920r_weekday_whole_trip(tmp_path: Path) -> None:
    """The acceptance scenario: every file for the full Hillerød -> Hundested Havn trip."""
    sc = load_scenario(REPO / "data" / "scenarios" / "920R-weekday.yaml")
    sim = record(sc.file, tmp_path, seed=1, scenario=sc, show_progress=False)
    truth = _truth(tmp_path)
    visits = [r for r in truth if r["kind"] == "visit"]
    assert visits[0]["stop_id"] == "hilleroed_8" and visits[-1]["stop_id"] == "hundested_havn"
    assert len(visits) == 19
    lines = (tmp_path / "gnss.nmea").read_bytes().decode("ascii").split("\r\n")[:-1]
    corrupt = {r["line"] for r in truth if r["kind"] == "corrupt"}
    assert {i + 1 for i, line in enumerate(lines) if not _valid(line)} == corrupt and len(corrupt) == 6
    assert sim.t_end - sim.t_start > 2580  # 07:13 .. 07:58 and beyond
