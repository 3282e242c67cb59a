"""Door counter state machine under CPython, one test per beam pattern."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.doorcount import DoorCounter, LaneCounter
from tests.counting.patterns import LANES, PATTERNS

PINS = {"A": 10, "B": 11, "A2": 12, "B2": 13}


def run_pattern(events: list[tuple[int, str, int]]) -> Counter[tuple[str, str]]:
    dc = DoorCounter(1, [(10, 11), (12, 13)])
    got: Counter[tuple[str, str]] = Counter()
    for t, beam, level in sorted(events, key=lambda e: e[0]):
        for c in dc.edge(float(t), PINS[beam], level):
            got[(c.direction, c.cls)] += 1
    for c in dc.flush(events[-1][0] + 100_000.0):
        got[(c.direction, c.cls)] += 1
    return got


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern(name: str) -> None:
    events, expected = PATTERNS[name]
    assert run_pattern(events) == Counter(expected)


def test_lanes_table_matches_pins() -> None:
    assert set(LANES) == set(PINS)


def test_turnbacks_are_counted_as_diagnostics() -> None:
    lane = LaneCounter()
    for t, beam, level in PATTERNS["turnback_from_both_beams"][0]:
        assert lane.edge(float(t), 0 if beam == "A" else 1, level) == []
    assert lane.advance(10_000.0) == []
    assert lane.turnbacks == 1


def test_glitch_shorter_than_debounce_never_reaches_path_logic() -> None:
    lane = LaneCounter(debounce_ms=15)
    lane.edge(0.0, 0, 1)
    lane.edge(10.0, 0, 0)  # back before 15 ms stable
    lane.advance(1000.0)
    assert lane.blocked() == (0, 0)
    assert lane.glitches == 1


def test_debounced_transition_keeps_time_of_its_edge() -> None:
    # B's raw edge comes 5 ms after A's; both commit later but in edge order: a boarding, not alighting.
    lane = LaneCounter(debounce_ms=15)
    lane.edge(0.0, 0, 1)
    lane.edge(5.0, 1, 1)
    lane.edge(100.0, 0, 0)
    lane.edge(105.0, 1, 0)
    out = lane.advance(200.0)
    assert [(c.direction, c.t0, c.t1) for c in out] == [("in", 0.0, 105.0)]


def test_stuck_beam_detected() -> None:
    lane = LaneCounter(stuck_ms=60_000)
    lane.edge(0.0, 1, 1)
    lane.advance(30_000.0)
    assert not lane.stuck(30_000.0)
    assert lane.stuck(61_000.0)


def test_lost_edge_resynchronises_without_exception() -> None:
    lane = LaneCounter()
    lane.edge(0.0, 0, 0)  # no change
    lane.edge(10.0, 1, 0)
    # A released without ever being blocked (e.g. started while blocked): counted as inconsistent.
    lane.beams[0].stable = 1
    lane.beams[0].raw = 1
    lane.edge(100.0, 0, 0)
    lane.advance(200.0)
    assert lane.inconsistent == 1
    assert run_pattern(PATTERNS["boarding"][0])[("in", "adult")] == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 400)), max_size=80))
def test_random_edges_never_raise_and_every_count_needs_both_beams(steps: list[tuple[int, int, int]]) -> None:
    dc = DoorCounter(1, [(10, 11), (12, 13)])
    t = 0.0
    out = []
    level = {10: 0, 11: 0, 12: 0, 13: 0}
    blocks = {10: 0, 11: 0, 12: 0, 13: 0}
    for pin_i, lvl, dt in steps:
        pin = 10 + pin_i
        t += dt
        out += dc.edge(t, pin, lvl)
        if lvl and not level[pin]:
            blocks[pin] += 1
        level[pin] = lvl
    out += dc.flush(t + 10_000)
    for lane, (a, b) in enumerate(((10, 11), (12, 13))):
        n = sum(1 for c in out if c.lane == lane)
        assert n <= min(blocks[a], blocks[b])
    assert all(c.direction in ("in", "out") and c.cls in ("adult", "bulky") and c.t0 <= c.t1 for c in out)
