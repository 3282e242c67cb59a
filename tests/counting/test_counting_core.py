"""Counting core: gating, attribution to stop visits, deltas, load, terminus, occupancy, alarms."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from firmware_py.uartframe import encode_count, encode_status
from hw.can.state import DoorState, VehicleState
from hw.gpio.uart_node import NodeStream, apply_node_events
from onboard.counting.occupancy import (
    EMPTY,
    FEW_SEATS,
    FULL,
    MANY_SEATS,
    NO_DATA,
    STANDING,
    LoadTracker,
    VehicleCapacity,
    occupancy_percent,
    occupancy_status,
)
from onboard.counting.passengers import CountingConfig, DoorConfig, PassengerCounter
from tests.typed import typed
from transit.errors import ConfigError
from transit.timeutil import from_epoch, iso_utc_ms
from transit.yamlconf import parse_yaml

T0 = 1_795_000_000.0
CAP = VehicleCapacity(seats=40, folding_seats=4, approved=60)


def ev(event: str, t: float, seq: int, trip: str = "T1", stop: str | None = None) -> Any:
    return typed({"event": event, "tst": iso_utc_ms(from_epoch(t)), "trip_id": trip, "stop_id": stop or f"S{seq}",
            "seq": seq, "oday": "2026-11-18", "route": "920R", "dir": 1, "start": "12:05", "loc": "GPS"})


def board(c: PassengerCounter, t: float, a: int = 2, b: int = 3) -> None:
    for dt, pin, lvl in ((0, a, 1), (0.08, b, 1), (0.23, a, 0), (0.31, b, 0)):
        c.on_edge(t + dt, pin, lvl)


def alight(c: PassengerCounter, t: float, a: int = 2, b: int = 3) -> None:
    for dt, pin, lvl in ((0, b, 1), (0.08, a, 1), (0.23, b, 0), (0.31, a, 0)):
        c.on_edge(t + dt, pin, lvl)


def doors(c: PassengerCounter, t: float, open_: bool | None) -> None:
    c.on_vehicle_state(VehicleState(from_epoch(t), doors=(DoorState(1, open_, open_),)))


def counter(cap: VehicleCapacity | None = CAP, gate: str = "can") -> PassengerCounter:
    return PassengerCounter(CountingConfig((DoorConfig(1, ((2, 3),), gate, 9 if gate == "gpio" else None),)),
                            cap, veh="veh7", oper="op1")


def only(recs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [r for r in recs if r.event == event]


def test_visit_deltas_load_and_record_fields() -> None:
    c = counter()
    out = c.on_stop_event(ev("ars", T0, 1))
    doors(c, T0 + 1, True)
    for i in range(5):
        board(c, T0 + 2 + i)
    doors(c, T0 + 10, False)
    out += c.on_stop_event(ev("dep", T0 + 12, 1))
    out += c.on_stop_event(ev("ars", T0 + 100, 2))
    doors(c, T0 + 101, True)
    alight(c, T0 + 102)
    alight(c, T0 + 103)
    board(c, T0 + 105)
    doors(c, T0 + 110, False)
    out += c.on_stop_event(ev("dep", T0 + 112, 2))
    apc = only(out, "apc")
    assert [(r.stop_id, r.in_, r.out, r.vehicleload) for r in apc] == [("S1", 5, 0, 5), ("S2", 1, 2, 4)]
    assert all(r.countquality == "regular" and r.class_ == "adult" and r.door == 1 for r in apc)
    r = apc[0]
    assert r.tst == iso_utc_ms(from_epoch(T0 + 12)) and r.veh == "veh7" and r.oper == "op1"
    assert (r.route, r.dir, r.start, r.oday, r.seq, r.loc) == ("920R", 1, "12:05", "2026-11-18", 1, "GPS")
    assert len({x.id for x in out}) == len(out) and all(len(x.id) == 16 for x in out)
    occ = only(out, "occupancy")
    assert [(o.vehicleload, o.occu, o.occupancy_status) for o in occ] == [(5, 11, MANY_SEATS), (4, 9, MANY_SEATS)]


def test_same_inputs_same_ids() -> None:
    def run() -> list[str]:
        c = counter()
        out = c.on_stop_event(ev("ars", T0, 1))
        doors(c, T0 + 1, True)
        board(c, T0 + 2)
        out += c.on_stop_event(ev("dep", T0 + 12, 1))
        return [r.id for r in out + c.finish()]
    assert run() == run()


def test_gating_drops_crossings_while_closed_and_unknown_state_is_defect() -> None:
    c = counter()
    c.on_stop_event(ev("ars", T0, 1))
    board(c, T0 + 1)  # door state never reported: counted, but defect
    doors(c, T0 + 5, False)
    board(c, T0 + 20)  # known closed (beyond the grace time): not counted
    out = c.on_stop_event(ev("dep", T0 + 30, 1))
    apc = only(out, "apc")[0]
    assert (apc.in_, apc.countquality, apc.defect) == (1, "defect", ["gate_unknown"])
    assert c.diagnostics()["gated_out"] == 1


def test_gpio_door_contact_gates() -> None:
    c = counter(gate="gpio")
    c.on_stop_event(ev("ars", T0, 1))
    c.on_edge(T0 + 1, 9, 0)  # contact: closed
    board(c, T0 + 5)
    c.on_edge(T0 + 10, 9, 1)  # open
    board(c, T0 + 11)
    board(c, T0 + 13)
    out = c.on_stop_event(ev("dep", T0 + 30, 1))
    assert only(out, "apc")[0].in_ == 2 and only(out, "apc")[0].countquality == "regular"


def test_crossings_before_a_visit_go_to_the_next_visit() -> None:
    c = counter()
    doors(c, T0, True)
    board(c, T0 + 1)  # first stop of a trip announced only by dep
    board(c, T0 + 2)
    out = c.on_stop_event(ev("dep", T0 + 10, 1))
    assert only(out, "apc")[0].in_ == 2 and only(out, "apc")[0].stop_id == "S1"
    assert c.diagnostics()["orphans"] == 2


def test_load_never_negative_and_clamp_reported() -> None:
    c = counter()
    c.on_stop_event(ev("ars", T0, 1))
    doors(c, T0 + 1, True)
    alight(c, T0 + 2)  # nobody was on board: a counting error
    out = c.on_stop_event(ev("dep", T0 + 10, 1))
    occ = only(out, "occupancy")[0]
    assert occ.vehicleload == 0 and occ.clamped == 1
    assert occ.occupancy_status == EMPTY


def test_terminus_reconciles_and_carries_next_trip_boardings() -> None:
    c = counter()
    c.on_stop_event(ev("ars", T0, 1))
    doors(c, T0 + 1, True)
    for i in range(3):
        board(c, T0 + 2 + i)
    c.on_stop_event(ev("dep", T0 + 10, 1))
    out = c.on_stop_event(ev("ars", T0 + 100, 2))  # last stop of T1: no dep follows
    alight(c, T0 + 102)
    alight(c, T0 + 103)  # one alighting missed by the sensor: residual 1
    board(c, T0 + 300)  # boarding for the next trip during the layover
    out += c.on_stop_event(ev("dep", T0 + 400, 1, trip="T2", stop="S2"))
    occ = only(out, "occupancy")
    t1_end = [o for o in occ if o.trip_id == "T1"][0]
    assert t1_end.terminus is True and t1_end.residual == 1 and t1_end.vehicleload == 0
    assert [(r.trip_id, r.in_, r.out) for r in only(out, "apc")] == [("T1", 0, 2), ("T2", 1, 0)]
    assert [o for o in occ if o.trip_id == "T2"][0].vehicleload == 1


def test_capacity_alarm_above_approved() -> None:
    c = counter(VehicleCapacity(seats=2, folding_seats=0, approved=3))
    c.on_stop_event(ev("ars", T0, 1))
    doors(c, T0 + 1, True)
    for i in range(4):
        board(c, T0 + 2 + i)
    out = c.on_stop_event(ev("dep", T0 + 10, 1))
    alarm = only(out, "alarm")
    assert len(alarm) == 1 and alarm[0].vehicleload == 4 and alarm[0].capacity == 3
    assert only(out, "occupancy")[0].occupancy_status == FULL


def test_no_capacity_means_no_data_not_zero() -> None:
    c = counter(cap=None)
    c.on_stop_event(ev("ars", T0, 1))
    out = c.on_stop_event(ev("dep", T0 + 10, 1))
    occ = only(out, "occupancy")[0]
    assert occ.occupancy_status == NO_DATA and occ.occu is None and occ.vehicleload == 0


def test_occupancy_status_steps_and_percent() -> None:
    cap = VehicleCapacity(seats=90, folding_seats=10, approved=200)
    assert occupancy_percent(50, cap) == 50
    assert [occupancy_status(n, cap) for n in (0, 49, 50, 99, 100, 179, 180, 200)] == [
        EMPTY, MANY_SEATS, FEW_SEATS, FEW_SEATS, STANDING, STANDING, "CRUSHED_STANDING_ROOM_ONLY", FULL]
    assert occupancy_status(None, cap) == NO_DATA


def test_load_tracker() -> None:
    lt = LoadTracker()
    assert lt.apply(5, 0).load == 5
    step = lt.apply(1, 7)
    assert (step.load, step.clamped) == (1, 2)
    assert lt.reconcile().residual == 1 and lt.load == 0


def test_config_from_yaml_and_errors() -> None:
    cfg = CountingConfig.from_node(parse_yaml(
        "doors:\n  - index: 1\n    beams: [[2, 3]]\n  - index: 2\n    beams: [[4, 5], [6, 7]]\n"
        "    gate: gpio\n    contact_pin: 8\ndebounce_ms: 20\n", "onboard.yaml"))
    assert cfg.doors[1].beams == ((4, 5), (6, 7)) and cfg.doors[1].contact_pin == 8 and cfg.debounce_ms == 20
    with pytest.raises(ConfigError, match=r"onboard.yaml:3: doors\[0\].beams\[0\]: expected two GPIO"):
        CountingConfig.from_node(parse_yaml("doors:\n  - index: 1\n    beams: [[2]]\n", "onboard.yaml"))
    with pytest.raises(ConfigError, match="already used"):
        CountingConfig.from_node(parse_yaml("doors:\n  - index: 1\n    beams: [[2, 2]]\n"))
    with pytest.raises(ConfigError, match="contact_pin"):
        CountingConfig.from_node(parse_yaml("doors:\n  - index: 1\n    beams: [[2, 3]]\n    gate: gpio\n"))
    cap = VehicleCapacity.from_node(parse_yaml("seats: 80\nfolding_seats: 12\napproved_capacity: 180\n"))
    assert cap.seat_total == 92
    with pytest.raises(ConfigError, match="below the seats"):
        VehicleCapacity.from_node(parse_yaml("seats: 80\napproved_capacity: 50\n"))


def test_bad_inputs_are_counted_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    c = counter()
    c.on_edge(T0, 99, 1)
    c.on_stop_event(msgspec.structs.replace(ev("ars", T0, 1), tst="not a time"))  # built, never decoded
    c.on_crossing(T0, 7, "in")
    d = c.diagnostics()
    assert d["unknown_pin"] == 1 and d["bad_event"] == 2
    assert "pin 99" in caplog.text


def test_uart_node_backend_counts_and_flags_lost_frames() -> None:
    c = counter(gate="none")
    c.on_stop_event(ev("ars", T0, 1))
    stream = NodeStream()
    data = encode_status(0, 5000, 1, 0, 0, 0) + encode_count(1, 6000, 1, 3, 1, 1, 0)
    events = stream.feed(T0 + 1.0, data)
    apply_node_events(c, events, (1,))
    events = stream.feed(T0 + 2.0, encode_count(4, 7000, 1, 1, 0, 0, 0))  # seq 2, 3 lost
    apply_node_events(c, events, (1,))
    assert stream.lost == 2
    out = c.on_stop_event(ev("dep", T0 + 10, 1))
    apc = {r.class_: r for r in only(out, "apc")}
    assert (apc["adult"].in_, apc["adult"].out, apc["bulky"].in_) == (4, 1, 1)
    assert apc["adult"].countquality == "defect" and "frames_lost" in apc["adult"].defect
    assert stream.check_silent(T0 + 30) is not None


def test_occupancy_now_for_predictions() -> None:
    c = counter()
    assert c.occupancy_now()["occupancy_status"] == EMPTY
    c.on_stop_event(ev("ars", T0, 1))
    doors(c, T0 + 1, True)
    for i in range(30):
        board(c, T0 + 2 + i)
    c.on_stop_event(ev("dep", T0 + 40, 1))
    now = c.occupancy_now()
    assert (now["vehicleload"], now["occu"], now["occupancy_status"]) == (30, 68, FEW_SEATS)
    assert counter(cap=None).occupancy_now()["occupancy_status"] == NO_DATA


def test_capacity_from_operator_vehicle_type() -> None:
    from pathlib import Path

    from transit.operator import load_operator

    op = load_operator(Path(__file__).resolve().parents[2] / "data" / "operators" / "lokaltog.yaml")
    vt = op.vehicle_type_for("920R")
    assert vt is not None
    cap = VehicleCapacity.from_object(vt)
    assert (cap.seat_total, cap.approved) == (vt.seats + vt.folding_seats, vt.approved_capacity)
    assert occupancy_percent(cap.seat_total, cap) == 100
