"""Shared helpers for the CAN tests."""

from __future__ import annotations

from pathlib import Path

import can

DATA = Path(__file__).resolve().parent.parent / "data" / "can-captures"
CAPTURE_11111111 = DATA / "css-11111111-00000012-00000001.first30s.candump.log"
CAPTURE_FCBF0606 = DATA / "css-FCBF0606-00003482-00000001-60B621D9.candump.log"
CSS_DBC = DATA / "CSS-Electronics-SAE-J1939-DEMO.dbc"
T0 = 1_790_000_000.0  # 2026-09-21, a plausible receive time


def frame(can_id: int, data: bytes, t: float = T0, extended: bool = True) -> can.Message:
    return can.Message(timestamp=t, arbitration_id=can_id, is_extended_id=extended, data=data,
                       dlc=len(data))


def write_candump(path: Path, msgs: list[can.Message], channel: str = "can0") -> None:
    """Write ``msgs`` as candump -l lines with python-can's own writer."""
    with can.CanutilsLogWriter(str(path), channel=channel) as w:
        for m in msgs:
            w.on_message_received(m)
