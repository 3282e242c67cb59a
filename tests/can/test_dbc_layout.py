"""The DBC's bit layouts against byte positions written out by hand from the J1939-71 / FMS tables
(byte 1 = first data byte, bit 1 = least significant), independent of cantools and of the encoder."""

from __future__ import annotations

from hw.can.dbc import load_dbc, pgn_index
from hw.can.fms import FmsEncoder
from hw.can.j1939 import pgn_of
from hw.can.state import DoorState

ENC = FmsEncoder(source_address=0x21)


def test_pgns_and_priorities() -> None:
    idx = pgn_index(load_dbc())
    assert {hex(p): m.name for p, m in idx.items()} == {
        "0xfef1": "CCVS1", "0xfe4e": "DC1", "0xfda5": "DC2", "0xfec1": "VDHR", "0xfe6c": "TCO1", "0xf004": "EEC1"}
    assert all(m.message.is_extended_frame and m.message.length == 8 for m in idx.values())
    assert pgn_of(ENC.ccvs1(0).arbitration_id) == 0xFEF1 and ENC.ccvs1(0).arbitration_id >> 26 == 6


def test_ccvs1_speed_is_bytes_2_3_little_endian_and_parking_brake_byte_1_bits_3_4() -> None:
    d = ENC.ccvs1(50 / 3.6, parking_brake=True).data  # 50 km/h = 12800 = 0x3200
    assert d[1] == 0x00 and d[2] == 0x32
    assert (d[0] >> 2) & 0x3 == 1


def test_vdhr_total_distance_is_bytes_1_to_4_at_5_m() -> None:
    d = ENC.vdhr(5 * 0x01020304).data
    assert bytes(d[:4]) == bytes([0x04, 0x03, 0x02, 0x01])


def test_dc1_position_of_doors_is_byte_1_bits_1_to_4() -> None:
    assert ENC.dc1(True).data[0] & 0x0F == 0
    assert ENC.dc1(False).data[0] & 0x0F == 2
    assert ENC.dc1(False, closing_last=True).data[0] & 0x0F == 1
    assert (ENC.dc1(True, any_enabled=True).data[0] >> 6) & 0x3 == 1


def test_dc2_six_bits_per_door_lock_open_enable() -> None:
    # door 1: byte 1 bits 1-2 lock, 3-4 open, 5-6 enable; door 2 starts at byte 1 bits 7-8 (lock)
    d = ENC.dc2([DoorState(1, True, True), DoorState(2, True, False)], locked={1: False, 2: False}).data
    assert d[0] == 0b00_01_01_00  # lock2=0, enable1=1, open1=1, lock1=0
    assert d[1] & 0x0F == 0b00_01  # enable2=0, open2=1
    # door 10: bits 55-60 (0-based 54..59)
    d = ENC.dc2([DoorState(10, True, False)]).data
    raw = int.from_bytes(d, "little")
    assert (raw >> 56) & 0x3 == 1 and (raw >> 58) & 0x3 == 0 and (raw >> 60) == 0xF  # reserved bits = 1


def test_tco1_speed_is_bytes_7_8() -> None:
    d = ENC.tco1(50 / 3.6).data
    assert d[6] == 0x00 and d[7] == 0x32


def test_eec1_engine_speed_is_bytes_4_5_at_0_125_rpm() -> None:
    d = ENC.eec1(650.0).data  # 5200 = 0x1450
    assert d[3] == 0x50 and d[4] == 0x14
