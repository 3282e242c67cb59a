"""Readers of counting input never crash and never lose good data: gpio.csv, door-node bytes, edges and
stop events in any order."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.uartframe import encode_count
from hw.gpio.inputs import ReplayInputs
from hw.gpio.uart_node import NodeCount, NodeStream
from tests.counting.test_counting_core import CAP, T0, counter, ev
from tests.typed import typed

edge = st.tuples(st.floats(1.7e9, 1.8e9, allow_nan=False).map(lambda t: round(t, 3)),
                 st.integers(0, 40), st.integers(0, 1))
junk = st.one_of(
    st.text(alphabet="0123456789.,-eE+xinfa \t;", max_size=25),
    st.sampled_from(["inf,17,1", "nan,17,1", "1.5,17,2", "1.5,-1,0", "1.5,17", "1.5,17,1,0", "t,pin,level",
                     "1e400,3,1", "\x00\x01", "1.5, 17 ,1x"]),
).filter(lambda s: "\n" not in s and "\r" not in s)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(edge.map(lambda e: ("good", e)), junk.map(lambda j: ("junk", j))), max_size=40))
def test_gpio_csv_keeps_every_good_row_and_counts_the_rest(tmp_path: Path, rows: list[tuple[str, Any]]) -> None:
    from hw.gpio.inputs import parse_edge
    from transit.errors import DecodeError

    lines = ["t,pin,level"] + [f"{e[0]:.3f},{e[1]},{e[2]}" if kind == "good" else e for kind, e in rows]
    expected, bad = [], 0
    for line in lines[1:]:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            expected.append(parse_edge(s))
        except DecodeError:
            bad += 1
    f = tmp_path / "gpio.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = ReplayInputs(f)
    got = list(src.edges())
    assert got == expected and src.bad_lines == bad
    assert all(math.isfinite(t) and lvl in (0, 1) and pin >= 0 for t, pin, lvl in got)
    good = [(float(f"{e[0]:.3f}"), e[1], e[2]) for kind, e in rows if kind == "good"]
    assert [g for g in got if g in good] == [g for g in good]  # none of the real rows went missing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12), st.lists(st.integers(0, 30), max_size=6))
def test_door_node_stream_survives_garbage_and_decodes_every_intact_frame(noise: list[bytes],
                                                                        counts: list[int]) -> None:
    s = NodeStream()
    data = b""
    for i, n in enumerate(counts):
        # a byte that cannot start a frame separates noise from the frame behind it
        data += (noise[i] if i < len(noise) else b"") + b"\x00" * 8 + encode_count(i, 1000 * i, 1, n, 0, 0, 0)
    out: list[Any] = []
    for k in range(0, len(data), 7):  # any chunking
        out += s.feed(T0 + k / 1000, data[k:k + 7])
    got = [e.in_adult for e in out if isinstance(e, NodeCount) and e.door == 1]
    assert got[len(got) - len(counts):] == counts  # noise may decode as frames too, never hide real ones
    for e in out:
        assert math.isfinite(e.t)


edges_any_order = st.lists(st.tuples(st.floats(T0 - 100, T0 + 1000, allow_nan=False),
                                     st.sampled_from([2, 3, 9, 99]), st.integers(0, 1)), max_size=60)
stop_events = st.lists(st.tuples(st.sampled_from(["arr", "ars", "doo", "dep", "pas", "wait", "due", "vp"]),
                                 st.floats(T0 - 100, T0 + 1000, allow_nan=False), st.integers(1, 4)), max_size=10)
bad_events = st.lists(st.dictionaries(st.sampled_from(["event", "tst", "trip_id", "seq", "stop_id", "oday"]),
                                      st.one_of(st.none(), st.text(max_size=10), st.integers(), st.floats())),
                      max_size=4)


@settings(max_examples=150, deadline=None)
@given(edges_any_order, stop_events, bad_events, st.sampled_from(["can", "gpio", "none"]))
def test_counter_survives_any_input_order_and_bad_events(edges: list[tuple[float, int, int]],
                                                        stops: list[tuple[str, float, int]],
                                                        bad: list[dict[str, Any]], gate: str) -> None:
    c = counter(CAP, gate=gate)
    items: list[tuple[float, Any]] = [(t, ("edge", (t, p, lvl))) for t, p, lvl in edges]
    items += [(t, ("stop", ev(e, t, seq))) for e, t, seq in stops]
    refused = 0
    for b in bad:  # damaged events are refused where they come in (the decoder), the valid ones counted
        try:
            items.append((T0, ("stop", typed(b))))
        except (msgspec.ValidationError, ValueError):
            refused += 1
    recs: list[Any] = []
    for _, (kind, item) in items:  # deliberately not sorted: inputs may arrive out of order
        if kind == "edge":
            recs += c.on_edge(*item)
        else:
            recs += c.on_stop_event(item)
    recs += c.finish()
    for r in recs:
        if r.event == "occupancy":
            assert r.vehicleload >= 0
    assert refused >= sum(1 for b in bad if not _has_valid_tst(b))  # no valid time: never gets in
    assert c.diagnostics()["bad_event"] == 0  # what passed the edge is a valid record


def _has_valid_tst(rec: dict[str, Any]) -> bool:
    from transit.timeutil import parse_iso

    try:
        parse_iso(str(rec["tst"]))
    except (KeyError, ValueError):
        return False
    return True
