"""Contract tests for the CAN interface: the same frames through every backend give the same states.

Always on the simulated backends (python-can ``virtual``, candump replay, SLCAN over a real pty pair
with an adapter emulation on the master side, with the chunked reader and with python-can's own); on a real SocketCAN interface when
``RETTID_CAN_CHANNEL`` names one (e.g. ``vcan0``: ``ip link add vcan0 type vcan && ip link set vcan0 up``).
"""

from __future__ import annotations

import os
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import can
import pytest

from hw.can.config import CanConfig
from hw.can.fms import FmsEncoder
from hw.can.reader import CanReader
from hw.can.state import DoorState, VehicleState
from tests.can.helpers import T0, frame, write_candump

ENC = FmsEncoder(source_address=0x21)
WAIT_S = 5.0  # generous upper bound for frames to arrive; not a speed assertion


def scenario() -> tuple[list[can.Message], int]:
    """A realistic mix: needed Bus-FMS frames between engine, transmission and 11-bit traffic."""
    t = T0
    msgs: list[can.Message] = []

    def add(m: can.Message) -> None:
        nonlocal t
        m.timestamp = t
        msgs.append(m)
        t += 0.01

    add(ENC.eec1(700.0))
    add(frame(0x18FEF200, bytes(8)))  # LFE: not needed
    add(frame(0x123, bytes(8), extended=False))
    add(ENC.ccvs1(8.0, parking_brake=False))
    add(ENC.eec1(720.0))
    add(ENC.vdhr(1000.0))
    add(ENC.tco1(8.0))
    add(ENC.dc1(True, any_enabled=True))
    add(frame(0x18EC00FE, bytes(8)))  # TP.CM: not needed
    add(ENC.dc2([DoorState(1, True, True), DoorState(2, False, True)]))
    add(ENC.ccvs1(0.0, parking_brake=True))
    needed = 5
    return msgs, needed


def check_final(states: list[VehicleState], needed: int) -> None:
    assert len(states) == needed
    s = states[-1]
    assert s.t.utcoffset() is not None and s.t.utcoffset().total_seconds() == 0
    assert s.speed_mps == 0.0 and s.parking_brake is True
    assert s.odometer_m == 1000.0
    assert s.doors_any_open is True
    assert s.doors == (DoorState(1, True, True), DoorState(2, False, True), DoorState(3, None, None))
    assert states[0].speed_mps == pytest.approx(8.0, abs=0.01) and states[0].parking_brake is False


def collect(reader: CanReader, n: int) -> list[VehicleState]:
    out: list[VehicleState] = []
    deadline = time.monotonic() + WAIT_S
    while len(out) < n and time.monotonic() < deadline and not reader.exhausted:
        s = reader.poll(0.05)
        if s is not None:
            out.append(s)
    return out


@dataclass
class Harness:
    reader: CanReader
    send: Callable[[list[can.Message]], None]
    close: Callable[[], None]


def _virtual(tmp_path: Path) -> Iterator[Harness]:
    ch = f"rettid-{uuid.uuid4().hex[:8]}"
    reader = CanReader(CanConfig(backend="virtual", channel=ch, doors=3))
    _ = reader.bus  # a virtual bus only sees frames sent after it exists
    sender = can.Bus(interface="virtual", channel=ch)

    def send(msgs: list[can.Message]) -> None:
        for m in msgs:
            sender.send(m)

    yield Harness(reader, send, sender.shutdown)


def _replay(tmp_path: Path) -> Iterator[Harness]:
    log = tmp_path / "can.log"

    def send(msgs: list[can.Message]) -> None:
        write_candump(log, msgs)

    reader = CanReader(CanConfig(backend="replay", channel="can0", file=log, speed=0.0, doors=3))
    yield Harness(reader, send, lambda: None)


class SlcanAdapter:
    """The far end of a pty pair behaving like a USB SLCAN adapter (Lawicel protocol)."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave  # keep open so the master never sees EOF between opens
        self.commands: list[str] = []
        self._buf = b""

    def drain_commands(self, timeout: float = 0.2) -> None:
        """Read what the host sent (C, Sn, O ...) and acknowledge each with CR, as adapters do."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.02)
            if not r:
                continue
            self._buf += os.read(self.master, 1024)
            while b"\r" in self._buf:
                cmd, _, self._buf = self._buf.partition(b"\r")
                self.commands.append(cmd.decode("ascii", "replace"))
                os.write(self.master, b"\r")

    def send(self, msgs: list[can.Message]) -> None:
        for m in msgs:
            if m.is_extended_id:
                line = f"T{m.arbitration_id:08X}{len(m.data)}{m.data.hex().upper()}\r"
            else:
                line = f"t{m.arbitration_id:03X}{len(m.data)}{m.data.hex().upper()}\r"
            os.write(self.master, line.encode())

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


def _slcan(tmp_path: Path, slcan_reader: str = "chunked") -> Iterator[Harness]:
    adapter = SlcanAdapter()
    reader = CanReader(CanConfig(backend="slcan", channel=adapter.path, bitrate=250000, sleep_after_open=0.0,
                                 doors=3, slcan_reader=slcan_reader))
    _ = reader.bus
    adapter.drain_commands()
    assert "S5" in adapter.commands and "O" in adapter.commands  # 250 kbit/s, then open
    yield Harness(reader, adapter.send, adapter.close)


def _socketcan(tmp_path: Path) -> Iterator[Harness]:
    ch = os.environ.get("RETTID_CAN_CHANNEL")
    if not ch:
        pytest.skip("set RETTID_CAN_CHANNEL (e.g. vcan0) to run the contract on a real interface")
    reader = CanReader(CanConfig(backend="socketcan", channel=ch, doors=3))
    _ = reader.bus
    sender = can.Bus(interface="socketcan", channel=ch)

    def send(msgs: list[can.Message]) -> None:
        for m in msgs:
            sender.send(m)

    yield Harness(reader, send, sender.shutdown)


def _slcan_python_can(tmp_path: Path) -> Iterator[Harness]:
    """python-can's own (byte-by-byte) SLCAN reader, ``reader: python-can``."""
    yield from _slcan(tmp_path, "python-can")


HARNESSES = {"virtual": _virtual, "replay": _replay, "slcan": _slcan, "slcan-python-can": _slcan_python_can,
             "socketcan": _socketcan}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    gen = HARNESSES[request.param](tmp_path)
    h = next(gen)
    try:
        yield h
    finally:
        h.reader.close()
        h.close()


def test_backend_delivers_vehicle_state_and_filters_unneeded_frames(harness: Harness) -> None:
    msgs, needed = scenario()
    harness.send(msgs)
    states = collect(harness.reader, needed)
    check_final(states, needed)
    st = harness.reader.stats()
    # the PGN filters stopped EEC1, TCO1, LFE, TP.CM and the 11-bit frame before the tracker
    assert st["frames"] == needed == st["decoded"]
    assert st["unknown_pgn"] == 0 and st["standard_id"] == 0


def test_replay_keeps_recorded_times(tmp_path: Path) -> None:
    msgs, needed = scenario()
    log = tmp_path / "can.log"
    write_candump(log, msgs)
    with CanReader(CanConfig(backend="replay", channel="can0", file=log, speed=0.0)) as r:
        states = list(r.updates())
    assert [s.t.timestamp() for s in states] == pytest.approx(
        [m.timestamp for m in msgs if m.arbitration_id & 0x3FFFF00 in (0xFEF100, 0xFEC100, 0xFE4E00, 0xFDA500)])


def test_replay_paced_waits_for_the_recorded_time(tmp_path: Path) -> None:
    log = tmp_path / "can.log"
    write_candump(log, [ENC.ccvs1(1.0, timestamp=T0), ENC.ccvs1(2.0, timestamp=T0 + 3600)])
    with CanReader(CanConfig(backend="replay", channel="can0", file=log, speed=1.0)) as r:
        assert r.poll(0.05) is not None
        assert r.poll(0.01) is None  # the next frame is an hour away in recorded time
        assert not r.exhausted


def test_slcan_garbage_from_adapter_is_counted_and_reading_goes_on() -> None:
    adapter = SlcanAdapter()
    reader = CanReader(CanConfig(backend="slcan", channel=adapter.path, bitrate=250000, sleep_after_open=0.0))
    try:
        _ = reader.bus
        adapter.drain_commands()
        os.write(adapter.master, b"TZZZZZZZZ8\r")
        adapter.send([ENC.ccvs1(5.0)])
        states = collect(reader, 1)
        assert len(states) == 1 and states[0].speed_mps == pytest.approx(5.0, abs=0.01)
        assert reader.stats()["bad_input"] == 1
    finally:
        reader.close()
        adapter.close()


class _FailingBus(can.BusABC):
    """A bus whose interface dies on the first read (USB adapter pulled, interface down)."""

    def __init__(self) -> None:
        super().__init__(channel="dead")
        self.shut = False

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        raise can.CanOperationError("Network is down")

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        raise can.CanOperationError("Network is down")

    def shutdown(self) -> None:
        self.shut = True
        super().shutdown()


def test_reader_reopens_the_interface_after_a_failure() -> None:
    ch = f"rettid-{uuid.uuid4().hex[:8]}"
    dead = _FailingBus()
    reader = CanReader(CanConfig(backend="virtual", channel=ch), bus=dead)
    try:
        assert reader.poll(0.01) is None
        assert dead.shut and reader.stats()["interface_errors"] == 1
        _ = reader.bus  # reopened from configuration
        assert reader.stats()["opens"] == 1
        sender = can.Bus(interface="virtual", channel=ch)
        try:
            sender.send(ENC.ccvs1(3.0))
            states = collect(reader, 1)
        finally:
            sender.shutdown()
        assert len(states) == 1 and states[0].speed_mps == pytest.approx(3.0, abs=0.01)
    finally:
        reader.close()


def test_reader_updates_stop_on_event() -> None:
    ch = f"rettid-{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    with CanReader(CanConfig(backend="virtual", channel=ch)) as reader:
        _ = reader.bus
        sender = can.Bus(interface="virtual", channel=ch)
        try:
            sender.send(ENC.ccvs1(1.0))
            got = []
            for s in reader.updates(stop, timeout=0.05):
                got.append(s)
                stop.set()
        finally:
            sender.shutdown()
    assert len(got) == 1


def test_poll_batch_gives_the_same_states_with_their_messages(harness: Harness) -> None:
    msgs, needed = scenario()
    harness.send(msgs)
    got: list[tuple[VehicleState, str]] = []
    deadline = time.monotonic() + WAIT_S
    while len(got) < needed and time.monotonic() < deadline and not harness.reader.exhausted:
        got += harness.reader.poll_batch(0.05)
    check_final([st for st, _ in got], needed)
    assert [name for _, name in got] == ["CCVS1", "VDHR", "DC1", "DC2", "CCVS1"]
