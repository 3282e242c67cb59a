"""The chunked SLCAN reader (``hw.can.slcan``, the ``slcan`` backend's default) on a real pty pair
with an emulated adapter: frames the unit needs become vehicle states; other identifiers are dropped
before parsing and counted; lines split over reads, command replies, standard and malformed frames
behave as with python-can's own reader. The backend contract itself (same states from every backend)
is in ``test_contract.py``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import can
import pytest

from hw.can.config import CanConfig
from hw.can.fms import FmsEncoder
from hw.can.reader import CanReader
from hw.can.slcan import ChunkedSlcanBus
from hw.can.state import VehicleState
from tests.can.test_contract import SlcanAdapter
from transit.yamlconf import parse_yaml

ENC = FmsEncoder(0x21)
WAIT_S = 5.0  # generous upper bound for frames to arrive; not a speed assertion


def _line(m: can.Message) -> bytes:
    return f"T{m.arbitration_id:08X}{len(m.data)}{bytes(m.data).hex().upper()}\r".encode()


def _noise(n: int) -> bytes:
    """Unrelated traffic: proprietary PGN 0xFF00 from other ECUs."""
    return b"".join(f"T{0x18FF0000 | i:08X}80000000000000000\r".encode() for i in range(n))


@pytest.fixture
def adapter() -> Iterator[SlcanAdapter]:
    a = SlcanAdapter()
    yield a
    a.close()


def _reader(adapter: SlcanAdapter, extra: str = "", **kw: object) -> CanReader:
    cfg = CanConfig.from_node(parse_yaml(f"backend: slcan\nchannel: {adapter.path}\nbitrate: 250000\n"
                                         f"sleep_after_open: 0\ndoors: 2\n{extra}", "<test>"))
    reader = CanReader(cfg, **kw)  # type: ignore[arg-type]
    _ = reader.bus
    adapter.drain_commands()
    return reader


def _collect(reader: CanReader, n: int) -> list[VehicleState]:
    out: list[VehicleState] = []
    deadline = time.monotonic() + WAIT_S
    while len(out) < n and time.monotonic() < deadline:
        out += [st for st, _ in reader.poll_batch(0.05)]
    return out


def test_chunked_is_the_default_and_filters_before_parsing(adapter: SlcanAdapter) -> None:
    mono = iter(range(1_000_000, 2_000_000))
    reader = _reader(adapter, stamp=lambda: float(next(mono)) + 1_000_000_000.0)
    try:
        assert isinstance(reader.bus, ChunkedSlcanBus)
        assert "S5" in adapter.commands and "O" in adapter.commands  # 250 kbit/s, then open
        speeds = [0.0, 5.0, 10.0, 15.0]
        for v in speeds:
            os.write(adapter.master, _noise(20) + _line(ENC.ccvs1(v, False)))
        states = _collect(reader, len(speeds))
        assert [s.speed_mps for s in states] == speeds
        # stamped by the reader's clock as read, never by the adapter's or the wall clock
        stamps = [s.t.timestamp() - 1_000_000_000.0 for s in states]
        assert stamps == sorted(stamps) and all(1_000_000 <= x < 2_000_000 for x in stamps)
        st = reader.stats()
        assert st["filtered_in_reader"] == 80 and st["frames"] == len(speeds) == st["decoded"]
    finally:
        reader.close()


def test_lines_split_over_reads_and_batches_keep_order(adapter: SlcanAdapter) -> None:
    reader = _reader(adapter)
    try:
        speeds = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        data = b"".join(_noise(3) + _line(ENC.ccvs1(v, False)) for v in speeds)
        cut = len(data) // 2 + 7  # inside a frame line
        os.write(adapter.master, data[:cut])
        first = [st for st, _ in reader.poll_batch(0.5)]
        os.write(adapter.master, data[cut:])
        rest = _collect(reader, len(speeds) - len(first))
        got = first + rest
        assert [s.speed_mps for s in got] == pytest.approx(speeds, abs=0.01)
        assert reader.stats()["filtered_in_reader"] == 18
    finally:
        reader.close()


def test_poll_batch_names_the_message_of_each_state(adapter: SlcanAdapter) -> None:
    reader = _reader(adapter, "batch_ms: 0\n")
    try:
        os.write(adapter.master, _line(ENC.ccvs1(3.0, False)) + _line(ENC.vdhr(1000.0)) + _noise(2)
                 + _line(ENC.dc1(True, any_enabled=True)))
        got: list[tuple[VehicleState, str]] = []
        deadline = time.monotonic() + WAIT_S
        while len(got) < 3 and time.monotonic() < deadline:
            got += reader.poll_batch(0.05)
        assert [name for _, name in got] == ["CCVS1", "VDHR", "DC1"]
        assert got[-1][0].odometer_m == 1000.0 and got[-1][0].doors_any_open is True
    finally:
        reader.close()


def test_standard_replies_and_garbage_go_through_python_can(adapter: SlcanAdapter) -> None:
    reader = _reader(adapter)
    try:
        # an 11-bit frame (no J1939 filter passes it), a BEL error reply, an unparsable extended frame,
        # a frame with too short a payload for its DLC: none may stop the good frame after them
        os.write(adapter.master, b"t1238" + b"00" * 8 + b"\r" + b"\a" + b"TZZZZZZZZ8\r"
                 + _line(ENC.ccvs1(7.0, False)))
        states = _collect(reader, 1)
        assert len(states) == 1 and states[0].speed_mps == pytest.approx(7.0, abs=0.01)
        st = reader.stats()
        assert st["bad_input"] == 1 and st["standard_id"] == 0 and st["frames"] == 1
    finally:
        reader.close()


def test_python_can_reader_still_selectable(adapter: SlcanAdapter) -> None:
    reader = _reader(adapter, "reader: python-can\n")
    try:
        assert not isinstance(reader.bus, ChunkedSlcanBus)
        os.write(adapter.master, _noise(5) + _line(ENC.ccvs1(2.0, False)))
        states = _collect(reader, 1)
        assert [s.speed_mps for s in states] == pytest.approx([2.0], abs=0.01)
        assert "filtered_in_reader" not in reader.stats() and reader.stats()["frames"] == 1
    finally:
        reader.close()


def test_bad_reader_option_names_the_key() -> None:
    with pytest.raises(ValueError, match="reader"):
        CanConfig.from_node(parse_yaml("backend: slcan\nchannel: /dev/null\nreader: fast\n", "<test>"))


def test_adapter_unplugged_is_an_interface_error_not_a_crash(adapter: SlcanAdapter) -> None:
    reader = _reader(adapter)
    try:
        os.write(adapter.master, _line(ENC.ccvs1(4.0, False)))
        assert len(_collect(reader, 1)) == 1
        os.close(adapter.master)  # the far end goes away: reads fail (EIO) or come back empty
        adapter.master = -1
        deadline = time.monotonic() + WAIT_S
        while reader.stats().get("interface_errors", 0) == 0 and time.monotonic() < deadline:
            assert reader.poll_batch(0.05) == []
        assert reader.stats()["interface_errors"] >= 1
    finally:
        reader.close()


def test_pyserial_url_without_a_descriptor_is_polled() -> None:
    """``loop://`` (pyserial's loopback, no file descriptor): what the host writes comes back, and
    frames read that way are parsed and filtered like the adapter's."""
    bus = ChunkedSlcanBus("loop://", sleep_after_open=0, bitrate=250000,
                          can_filters=[{"can_id": 0xFEF100, "can_mask": 0x3FFFF00, "extended": True}])
    try:
        bus.flush()  # the S5/O commands python-can wrote at open came back: drop them
        bus.serialPortOrig.write(_noise(3) + _line(ENC.ccvs1(6.0, False)))
        msg = bus.recv(2.0)
        assert msg is not None and msg.arbitration_id & 0x3FFFF00 == 0xFEF100 and bus.filtered == 3
    finally:
        bus.shutdown()


def test_noise_without_line_ends_is_dropped_not_buffered(adapter: SlcanAdapter) -> None:
    """Issue 12 item 7: line noise with no CR (a floating RX line, a wrong baud rate) grew the read
    buffer without bound (52 -> 77 MB in 35 s). Now the bytes beyond MAX_LINE are dropped and counted,
    and the next good frame after a line end still arrives."""
    from hw.can.slcan import MAX_LINE

    reader = _reader(adapter, "batch_ms: 0\n")
    try:
        bus = reader.bus
        assert isinstance(bus, ChunkedSlcanBus)
        chunk = b"A5" * 2048  # 4 kB of hex-looking noise, never a CR or BEL
        biggest = 0
        for _ in range(256):  # 1 MiB in all
            os.write(adapter.master, chunk)
            reader.poll_batch(0.01)
            biggest = max(biggest, len(bus._buffer))
        assert biggest <= MAX_LINE + len(chunk)
        os.write(adapter.master, b"\r" + _line(ENC.ccvs1(4.0, False)))
        states = _collect(reader, 1)
        assert [s.speed_mps for s in states] == pytest.approx([4.0], abs=0.01)
        assert reader.stats()["overlong_bytes"] >= 1_000_000
    finally:
        reader.close()
