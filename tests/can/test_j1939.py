"""J1939 identifier arithmetic, 'not available' ranges and PGN acceptance filters."""

from __future__ import annotations

import can
from hypothesis import given
from hypothesis import strategies as st

from hw.can.backends import filters_for_messages, j1939_filters
from hw.can.j1939 import make_id, not_available_from, pgn_of, priority_of, source_address


def test_pgn_of_pdu2_keeps_group_extension_and_masks_source() -> None:
    assert pgn_of(0x18FEF100) == 0xFEF1
    assert pgn_of(0x0CFEF121) == 0xFEF1
    assert pgn_of(0x0CF00400) == 0xF004
    assert source_address(0x18FEF121) == 0x21
    assert priority_of(0x0CF00400) == 3


def test_pgn_of_pdu1_masks_destination() -> None:
    assert pgn_of(0x18EC00FE) == 0xEC00  # TP.CM to global
    assert pgn_of(0x18EC30FE) == 0xEC00  # TP.CM to 0x30
    assert make_id(0xEC00, 0xFE, 6, 0x30) == 0x18EC30FE


@given(st.integers(0, 0x3FFFF), st.integers(0, 0xFF), st.integers(0, 7), st.integers(0, 0xFF))
def test_make_id_round_trips(pgn: int, sa: int, prio: int, da: int) -> None:
    cid = make_id(pgn, sa, prio, da)
    assert cid < 1 << 29
    pdu1 = (pgn >> 8) & 0xFF < 240
    assert pgn_of(cid) == (pgn & 0x3FF00 if pdu1 else pgn)
    assert source_address(cid) == sa and priority_of(cid) == prio


def test_not_available_ranges() -> None:
    assert not_available_from(2) == 2  # 2 error, 3 n/a
    assert not_available_from(4) == 14
    assert not_available_from(8) == 0xFB
    assert not_available_from(16) == 0xFB00
    assert not_available_from(32) == 0xFB000000


def _passes(filters: list[dict[str, object]], msg: can.Message) -> bool:
    bus = can.Bus(interface="virtual", channel="filtertest", can_filters=filters)
    try:
        return bus._matches_filters(msg)
    finally:
        bus.shutdown()


def test_filters_pass_needed_pgns_from_any_source_and_priority() -> None:
    f = filters_for_messages({"CCVS1", "DC2"})
    assert len(f) == 2 and all(x["extended"] for x in f)
    ok = [0x18FEF100, 0x0CFEF121, 0x18FDA5EE]
    bad = [0x0CF00400, 0x18FEF200, 0x18FEC100, 0x18EC00FE]
    for cid in ok:
        assert _passes(f, can.Message(arbitration_id=cid, is_extended_id=True)), hex(cid)
    for cid in bad:
        assert not _passes(f, can.Message(arbitration_id=cid, is_extended_id=True)), hex(cid)
    # an 11-bit frame whose id happens to match the low bits never passes
    assert not _passes(f, can.Message(arbitration_id=0x100, is_extended_id=False))


def test_pdu1_filter_ignores_destination() -> None:
    f = j1939_filters([0xEC00])
    assert _passes(f, can.Message(arbitration_id=0x18EC30FE, is_extended_id=True))
    assert _passes(f, can.Message(arbitration_id=0x18ECFF00, is_extended_id=True))
    assert not _passes(f, can.Message(arbitration_id=0x18EB00FE, is_extended_id=True))
