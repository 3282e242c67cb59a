"""The node firmware (``firmware_py/node/main.py``) under CPython with the stand-in ``machine`` module:
beam patterns on pin interrupts -> UART frames -> decoded counts."""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from firmware_py.uartframe import FrameDecoder
from tests.counting.patterns import PATTERNS

STANDIN = str(Path(__file__).parent / "standin")
PINS = {"A": 2, "B": 3, "A2": 4, "B2": 5}
CONF: dict[str, Any] = {"uart": 0, "baud": 115200, "tx": 0, "rx": 1, "doors": [(1, [(2, 3), (4, 5)])],
                        "blocked_level": 1, "pull": "down", "debounce_ms": 15, "bulky_ms": 800,
                        "stuck_ms": 60000, "merge_ms": 40, "status_every_ms": 1000}


@pytest.fixture
def fw(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(STANDIN)
    for name in ("machine", "firmware_py.node.main"):
        sys.modules.pop(name, None)
    machine = importlib.import_module("machine")
    main = importlib.import_module("firmware_py.node.main")
    yield machine, main
    for name in ("machine", "firmware_py.node.main"):
        sys.modules.pop(name, None)


def drive(machine: ModuleType, node: Any, events: list[tuple[int, str, int]], start: int) -> None:
    for t, beam, level in sorted(events, key=lambda e: e[0]):
        machine._set_time(start + t)
        machine._pins[PINS[beam]]._drive(level)
        node.step()
    for _ in range(20):
        machine.sleep_ms(100)
        node.step()


def counts(frames: list[tuple]) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    got: Counter[tuple[str, str]] = Counter()
    for f in frames:
        if f[0] == "count":
            got[("in", "adult")] += f[4]
            got[("out", "adult")] += f[5]
            got[("in", "bulky")] += f[6]
            got[("out", "bulky")] += f[7]
    return +got


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_through_interrupts_and_uart(fw: tuple[ModuleType, ModuleType], name: str) -> None:
    machine, main = fw
    machine._reset(start_ms=0)
    node = main.Node(CONF)
    events, expected = PATTERNS[name]
    drive(machine, node, events, start=0)
    frames = FrameDecoder().feed(bytes(machine._uarts[0].sent))
    assert counts(frames) == Counter(expected)
    seqs = [f[1] for f in frames]
    assert seqs == list(range(len(seqs)))  # one sequence over all frames: no gaps


def test_ticks_wrap_does_not_break_counting(fw: tuple[ModuleType, ModuleType]) -> None:
    machine, main = fw
    start = machine.TICKS_PERIOD - 1100  # the boarding straddles the 2**30 ms wrap of ticks_ms
    machine._reset(start_ms=start)
    node = main.Node(CONF)
    drive(machine, node, PATTERNS["back_to_back_boarding"][0], start=start)
    frames = FrameDecoder().feed(bytes(machine._uarts[0].sent))
    assert counts(frames) == Counter({("in", "adult"): 2})


def test_heartbeat_reports_blocked_and_stuck_beam(fw: tuple[ModuleType, ModuleType]) -> None:
    machine, main = fw
    machine._reset()
    node = main.Node(CONF)
    machine._pins[3]._drive(1)  # B of lane 0 blocked for good
    for _ in range(70):
        machine.sleep_ms(1000)
        node.step()
    status = [f for f in FrameDecoder().feed(bytes(machine._uarts[0].sent)) if f[0] == "status"]
    assert len(status) >= 60
    assert status[-1][4] & 1  # stuck
    assert status[-1][4] >> 4 == 0b10  # lane 0: A clear, B blocked
    assert not status[5][4] & 1
