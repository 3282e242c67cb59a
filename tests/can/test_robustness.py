"""Bad input never raises out of the tracker or the replay reader; good frames around it still decode."""

from __future__ import annotations

from pathlib import Path

import can
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw.can.fms import FmsEncoder
from hw.can.replay import ReplayBus
from hw.can.state import DoorState
from hw.can.tracker import VehicleTracker
from tests.can.helpers import T0

ENC = FmsEncoder(source_address=0x21)
GOOD = [ENC.ccvs1(12.5, parking_brake=False), ENC.vdhr(5000.0), ENC.dc1(False),
        ENC.dc2([DoorState(1, False, True), DoorState(2, True, True)]), ENC.tco1(12.5), ENC.eec1(900.0)]

frames = st.builds(
    lambda cid, ext, data, err, rtr, ts: can.Message(
        timestamp=ts, arbitration_id=cid & (0x1FFFFFFF if ext else 0x7FF), is_extended_id=ext, data=data,
        dlc=len(data), is_error_frame=err, is_remote_frame=rtr, check=False),
    st.one_of(st.integers(0, 0x1FFFFFFF), st.sampled_from([m.arbitration_id for m in GOOD])),
    st.booleans(), st.binary(max_size=16), st.booleans(), st.booleans(),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(T0)))


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, max_size=30))
def test_random_frames_never_raise(msgs: list[can.Message]) -> None:
    tr = VehicleTracker(extra_messages=["EEC1", "TCO1"], doors=4)
    for m in msgs:
        tr.feed(m)
    assert tr.stats()["frames"] == len(msgs)


@st.composite
def mutated(draw: st.DrawFn) -> can.Message:
    g = draw(st.sampled_from(GOOD))
    data = bytearray(g.data)
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "id", "std"]))
    cid, ext = g.arbitration_id, True
    if kind == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data[i] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "extend":
        data += draw(st.binary(min_size=1, max_size=56))
    elif kind == "id":
        cid ^= 1 << draw(st.integers(0, 28))
    else:
        ext, cid = False, cid & 0x7FF
    return can.Message(timestamp=T0, arbitration_id=cid, is_extended_id=ext, data=bytes(data), dlc=len(data),
                       check=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(mutated(), max_size=10))
def test_good_frames_around_mutated_ones_still_decode(bad: list[can.Message]) -> None:
    tr = VehicleTracker(extra_messages=["EEC1", "TCO1"], doors=2)
    for m in bad:
        tr.feed(m)
    before = tr.stats()["decoded"]
    t = T0 + 1.0
    for g in GOOD:
        s = tr.feed(can.Message(timestamp=t, arbitration_id=g.arbitration_id, is_extended_id=True,
                                data=g.data, dlc=8))
        assert s is not None
        t += 0.01
    s = tr.state
    assert s is not None
    assert s.speed_mps == pytest.approx(12.5, abs=0.01)
    assert s.odometer_m == 5000.0
    assert s.doors == (DoorState(1, False, True), DoorState(2, True, True))
    assert s.doors_any_open is False and s.parking_brake is False and s.engine_rpm == 900.0
    assert tr.stats()["decoded"] == before + len(GOOD)


def _lines(msgs: list[can.Message]) -> list[str]:
    return [f"({m.timestamp:.6f}) can0 {m.arbitration_id:08X}#{m.data.hex().upper()}\n" for m in msgs]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.lists(st.one_of(st.text(max_size=60), st.binary(max_size=40).map(lambda b: b.hex()),
                                st.sampled_from(["(1.5) can0 18FEF100#", "(x) can0 18FEF100#00",
                                                 "(1.0) can0 ZZZ#00", "(1.0) can0", "18FEF100#0011",
                                                 "(1.0) can0 18FEF100#0G"])),
                      max_size=8))
def test_replay_skips_garbage_lines_and_keeps_good_ones(tmp_path: Path, noise: list[str]) -> None:
    good = [ENC.ccvs1(3.0, timestamp=T0 + i) for i in range(4)]
    text = _lines(good[:2]) + [n.replace("\n", " ").replace("\r", " ") + "\n" for n in noise] + _lines(good[2:])
    p = tmp_path / "noisy.log"
    p.write_text("".join(text), encoding="utf-8")
    bus = ReplayBus(file=p, speed=0.0)
    tr = VehicleTracker()
    try:
        while (m := bus.recv(0)) is not None:
            tr.feed(m)
    finally:
        bus.shutdown()
    assert tr.stats().get("decoded", 0) >= 4
    assert tr.state is not None and tr.state.speed_mps == pytest.approx(3.0, abs=0.01)
    assert tr.state.t.timestamp() == pytest.approx(T0 + 3)


def test_paced_replay_is_not_stalled_by_a_wild_timestamp(tmp_path: Path) -> None:
    # one frame claims to be 11 days later, one is from before the log began: pacing restarts at each
    # jump instead of waiting for them, so the good frames behind them still come out
    times = [T0, T0 + 0.01, T0 + 1e6, T0 + 0.02, T0 - 5000.0, T0 + 0.03]
    p = tmp_path / "jumps.log"
    p.write_text("".join(_lines([ENC.ccvs1(float(i), timestamp=t) for i, t in enumerate(times)])), encoding="utf-8")
    bus = ReplayBus(file=p, speed=1.0)
    got = []
    try:
        for _ in range(40):  # each recv waits at most 0.5 s; a stalled replay returns None every time
            m = bus.recv(0.5)
            if m is not None:
                got.append(m.timestamp)
            if bus.exhausted:
                break
    finally:
        bus.shutdown()
    assert got == pytest.approx(times)


def test_paced_replay_of_a_log_stitched_from_two_days_restarts_pacing(tmp_path: Path) -> None:
    day2 = T0 + 2 * 86400
    times = [T0, T0 + 0.01, day2, day2 + 0.01, day2 + 0.02]
    p = tmp_path / "stitched.log"
    p.write_text("".join(_lines([ENC.ccvs1(1.0, timestamp=t) for t in times])), encoding="utf-8")
    bus = ReplayBus(file=p, speed=1.0)
    got = []
    try:
        for _ in range(40):
            m = bus.recv(0.5)
            if m is not None:
                got.append(m.timestamp)
            if bus.exhausted:
                break
    finally:
        bus.shutdown()
    assert got == pytest.approx(times)
