"""SAE J1939 identifier arithmetic and the 'not available' rules (J1939-71 §5.1.4 ranges).

Hand-written because it is a few lines of bit arithmetic; python-can and cantools know the frame
layout but not J1939 parameter-group addressing.
"""

from __future__ import annotations

PDU2_MIN_PF = 240  # PF >= 240: PDU2 (broadcast, PS is the group extension); below: PDU1, PS = destination


def pgn_of(can_id: int) -> int:
    """The parameter group number of a 29-bit identifier (destination masked for PDU1)."""
    pf = (can_id >> 16) & 0xFF
    if pf < PDU2_MIN_PF:
        return (can_id >> 8) & 0x3FF00  # EDP, DP, PF; PS is the destination address
    return (can_id >> 8) & 0x3FFFF


def source_address(can_id: int) -> int:
    return can_id & 0xFF


def priority_of(can_id: int) -> int:
    return (can_id >> 26) & 0x7


def make_id(pgn: int, source: int, priority: int = 6, destination: int = 0xFF) -> int:
    """The 29-bit identifier for ``pgn`` sent by ``source`` (``destination`` only for PDU1)."""
    if not 0 <= source <= 0xFF or not 0 <= priority <= 7 or not 0 <= pgn <= 0x3FFFF:
        raise ValueError(f"bad J1939 address: pgn={pgn:#x} sa={source} prio={priority}")
    pf = (pgn >> 8) & 0xFF
    if pf < PDU2_MIN_PF:
        pgn = (pgn & 0x3FF00) | (destination & 0xFF)
    return (priority << 26) | (pgn << 8) | source


def not_available_from(length: int) -> int:
    """The first raw value that is not a measurement for a parameter of ``length`` bits.

    J1939: parameters of a byte or more are valid up to 0xFA.. (0xFB.. reserved, 0xFE.. error,
    0xFF.. not available); discrete parameters (2, 3, 4, 5 bits) use the top two values for error and
    not available (2-bit: 2 error, 3 n/a; 4-bit: 14, 15).
    """
    if length >= 8:
        return 0xFB << (length - 8)
    return (1 << length) - 2


def all_ones(length: int) -> int:
    """The 'not available' raw value a sender puts in a parameter it does not provide."""
    return (1 << length) - 1
