"""Encoder → tracker round trips, J1939 'not available', error frames and bus-off."""

from __future__ import annotations

from datetime import UTC, datetime

import cantools
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.can.fms import FmsEncoder
from hw.can.state import DoorState
from hw.can.tracker import VehicleTracker
from tests.can.helpers import CSS_DBC, T0, frame

ENC = FmsEncoder(source_address=0x21)


def test_state_is_stamped_with_the_frame_time_in_utc() -> None:
    tr = VehicleTracker()
    st_ = tr.feed(ENC.ccvs1(10.0, parking_brake=False, timestamp=T0 + 0.25))
    assert st_ is not None
    assert st_.t == datetime.fromtimestamp(T0 + 0.25, UTC)
    assert st_.t.tzinfo is not None and st_.t.utcoffset() is not None and st_.t.utcoffset().total_seconds() == 0
    assert st_.speed_mps == pytest.approx(10.0, abs=1 / 256 / 3.6)
    assert st_.parking_brake is False


def test_fields_accumulate_across_messages() -> None:
    tr = VehicleTracker(doors=3)
    tr.feed(ENC.ccvs1(0.0, parking_brake=True, timestamp=T0))
    tr.feed(ENC.vdhr(123_455.0, timestamp=T0 + 0.1))
    tr.feed(ENC.dc1(True, any_enabled=True, timestamp=T0 + 0.2))
    s = tr.feed(ENC.dc2([DoorState(1, True, True), DoorState(2, False, True)], timestamp=T0 + 0.3))
    assert s is not None
    assert s.speed_mps == 0.0 and s.parking_brake is True
    assert s.odometer_m == 123_455.0
    assert s.doors_any_open is True
    # door 3 is not in the frame: 'not available', not 'closed'
    assert s.doors == (DoorState(1, True, True), DoorState(2, False, True), DoorState(3, None, None))


def test_closing_last_door_counts_as_open_and_all_closed_as_closed() -> None:
    tr = VehicleTracker()
    s = tr.feed(ENC.dc1(False, closing_last=True, timestamp=T0))
    assert s is not None and s.doors_any_open is True
    s = tr.feed(ENC.dc1(False, timestamp=T0 + 0.1))
    assert s is not None and s.doors_any_open is False


def test_not_available_values_become_none() -> None:
    tr = VehicleTracker()
    s = tr.feed(frame(0x18FEF100, bytes([0xFF] * 8)))
    assert s is not None and s.speed_mps is None and s.parking_brake is None
    # speed 0xFExx = error indicator; parking brake 2 = error
    s = tr.feed(frame(0x18FEF100, bytes([0b11111011, 0x00, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])))
    assert s is not None and s.speed_mps is None and s.parking_brake is None
    s = tr.feed(frame(0x18FEC100, bytes([0xFF] * 8)))
    assert s is not None and s.odometer_m is None
    s = tr.feed(frame(0x18FDA500, bytes([0xFF] * 8)))
    assert s is not None and s.doors == ()
    # the largest valid speed still decodes: 0xFAFF / 256 km/h
    s = tr.feed(frame(0x18FEF100, bytes([0xFF, 0xFF, 0xFA, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])))
    assert s is not None and s.speed_mps == pytest.approx(0xFAFF / 256 / 3.6)


@given(speed=st.floats(0, 69.0), odo=st.floats(0, 1e10), opens=st.lists(st.sampled_from([None, True, False]),
                                                                     min_size=1, max_size=10))
def test_encoder_tracker_round_trip(speed: float, odo: float, opens: list[bool | None]) -> None:
    tr = VehicleTracker(doors=len(opens))
    doors = [DoorState(i + 1, o, None if o is None else not o) for i, o in enumerate(opens)]
    tr.feed(ENC.ccvs1(speed, timestamp=T0))
    tr.feed(ENC.vdhr(odo, timestamp=T0))
    s = tr.feed(ENC.dc2(doors, timestamp=T0))
    assert s is not None
    assert s.speed_mps == pytest.approx(speed, abs=0.5 / 256 / 3.6 + 1e-9)
    assert s.odometer_m == pytest.approx(odo, abs=2.5)
    assert s.doors == tuple(doors)


def test_encoded_speed_decodes_with_an_independent_dbc() -> None:
    """CSS's demo DBC (not ours) reads our CCVS1 frames the same."""
    css = cantools.database.load_file(str(CSS_DBC))
    m = css.get_message_by_name("CCVS1")
    for v in (0.0, 1.0, 13.9, 25.0):
        f = ENC.ccvs1(v, timestamp=T0)
        assert m.decode(f.data)["WheelBasedVehicleSpeed"] == pytest.approx(v * 3.6, abs=1 / 256)


def test_tco1_speed_source() -> None:
    tr = VehicleTracker(speed_source="tco1")
    s = tr.feed(ENC.ccvs1(5.0, timestamp=T0))
    assert s is not None and s.speed_mps is None
    s = tr.feed(ENC.tco1(7.5, moving=True, timestamp=T0 + 0.05))
    assert s is not None and s.speed_mps == pytest.approx(7.5, abs=0.01)


def test_unknown_pgns_standard_ids_and_other_sources_are_counted() -> None:
    tr = VehicleTracker(source_address=0x21)
    assert tr.feed(frame(0x18FEF200, bytes(8))) is None  # fuel economy: not ours
    assert tr.feed(frame(0x123, bytes(8), extended=False)) is None
    assert tr.feed(ENC.encode("CCVS1", {}, T0)) is not None  # from 0x21
    assert tr.feed(FmsEncoder(source_address=0x00).ccvs1(3.0, timestamp=T0)) is None
    st_ = tr.stats()
    assert {k: v for k, v in st_.items() if v} == {"frames": 4, "unknown_pgn": 1, "standard_id": 1,
                                                  "decoded": 1, "other_source": 1}


def test_short_frame_is_counted_and_state_kept() -> None:
    tr = VehicleTracker()
    tr.feed(ENC.ccvs1(4.0, timestamp=T0))
    assert tr.feed(frame(0x18FEF100, b"\x00\x10", T0 + 0.1)) is None
    assert tr.stats()["bad_frames"] == 1
    assert tr.state is not None and tr.state.speed_mps == pytest.approx(4.0, abs=0.01)


def test_error_frames_and_bus_off_are_counted_and_logged_once_per_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    import can

    tr = VehicleTracker(log_interval_s=10.0)
    caplog.set_level("INFO", logger="hw.can.tracker")
    for i in range(50):  # 5 s of protocol errors at 10 Hz
        tr.feed(can.Message(timestamp=T0 + i * 0.1, is_error_frame=True, arbitration_id=0x08, data=bytes(8)))
    tr.feed(can.Message(timestamp=T0 + 5.0, is_error_frame=True, arbitration_id=0x40, data=bytes(8)))
    tr.feed(can.Message(timestamp=T0 + 5.1, is_error_frame=True, arbitration_id=0x100, data=bytes(8)))
    s = tr.feed(ENC.ccvs1(2.0, timestamp=T0 + 5.2))
    assert s is not None and s.speed_mps == pytest.approx(2.0, abs=0.01)
    st_ = tr.stats()
    assert st_["error_frames"] == 52 and st_["bus_off"] == 1 and st_["bus_restarted"] == 1
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("error frame" in m for m in msgs) == 1
    assert any("bus-off" in m for m in msgs) and any("restarted" in m for m in msgs)
    # a new interval logs again, with the number suppressed
    tr.feed(can.Message(timestamp=T0 + 11.0, is_error_frame=True, arbitration_id=0x08, data=bytes(8)))
    assert "49 more" in caplog.records[-1].getMessage()


def test_frames_without_a_real_time_are_rejected() -> None:
    tr = VehicleTracker()
    assert tr.feed(ENC.ccvs1(1.0, timestamp=0.0)) is None  # Pi booted in 1970
    assert tr.feed(ENC.ccvs1(1.0, timestamp=float("nan"))) is None
    assert tr.stats()["bad_timestamp"] == 2 and tr.state is None


def test_unchanged_payloads_are_not_decoded_again() -> None:
    tr = VehicleTracker()
    for i in range(10):
        tr.feed(ENC.ccvs1(3.0, timestamp=T0 + i * 0.1))
    assert tr.decoder.cache_hits == 9
    assert tr.state is not None and tr.state.t == datetime.fromtimestamp(T0 + 0.9, UTC)


def test_last_seen_per_message() -> None:
    tr = VehicleTracker()
    assert tr.last_seen("CCVS1") is None
    tr.feed(ENC.ccvs1(1.0, timestamp=T0))
    tr.feed(ENC.vdhr(10.0, timestamp=T0 + 2))
    assert tr.last_seen("CCVS1") == datetime.fromtimestamp(T0, UTC)
    assert tr.last_seen("VDHR") == datetime.fromtimestamp(T0 + 2, UTC)
