"""Bus-FMS frame encoder: vehicle quantities → J1939 ``can.Message`` with the project's DBC.

Used by the simulator (and tests) to put the same frames on a bus that a bus's FMS gateway sends.
Parameters the caller does not give are sent as J1939 'not available' (all ones), reserved bits as
ones, as J1939-71 requires of a sender.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import can
from cantools.database.can import Database

from hw.can.dbc import PgnMessage, load_dbc, pgn_index
from hw.can.j1939 import all_ones, make_id, pgn_of, priority_of
from hw.can.state import DoorState

MPS_PER_KMH = 1 / 3.6
MAX_DOORS = 10  # DC2 carries doors 1..10

# DC1 PositionOfDoors (SPN 1821)
POS_AT_LEAST_ONE_OPEN = 0
POS_CLOSING_LAST_DOOR = 1
POS_ALL_CLOSED = 2


def _bit(v: bool | None) -> int:
    return 3 if v is None else int(v)


class FmsEncoder:
    """Encodes Bus-FMS messages sent from ``source_address`` (the FMS gateway, e.g. 0x21 body controller)."""

    def __init__(self, source_address: int = 0x21, dbc: Database | None = None,
                 channel: str | None = None) -> None:
        if not 0 <= source_address <= 0xFD:
            raise ValueError(f"J1939 source address must be 0..253, got {source_address}")
        self.source_address = source_address
        self.channel = channel
        db = dbc if dbc is not None else load_dbc()
        self._by_name: dict[str, PgnMessage] = {m.name: m for m in pgn_index(db).values()}
        self._ids: dict[str, int] = {
            name: make_id(pgn_of(m.message.frame_id), source_address, priority_of(m.message.frame_id))
            for name, m in self._by_name.items()
        }
        self._defaults: dict[str, dict[str, int]] = {
            name: {s.name: all_ones(s.length) for s in m.message.signals}
            for name, m in self._by_name.items()
        }

    # -- generic -------------------------------------------------------------------------------
    def encode(self, name: str, raw: Mapping[str, int], timestamp: float = 0.0) -> can.Message:
        """A frame of message ``name`` with the given raw signal values; others 'not available'."""
        m = self._by_name[name]
        values = dict(self._defaults[name])
        for k, v in raw.items():
            if k not in values:
                raise KeyError(f"{name} has no signal {k}")
            values[k] = int(v)
        data = m.message.encode(values, scaling=False, padding=True, strict=False)
        return can.Message(timestamp=timestamp, arbitration_id=self._ids[name], is_extended_id=True,
                           data=data, dlc=len(data), channel=self.channel)

    def _raw(self, name: str, signal: str, value: float) -> int:
        """Physical → raw, clamped to the valid range so it never lands in the 'not available' codes."""
        sig = self._by_name[name].message.get_signal_by_name(signal)
        raw = round((value - float(sig.offset)) / float(sig.scale))
        top = (0xFA << (sig.length - 8)) | ((1 << (sig.length - 8)) - 1) if sig.length >= 8 \
            else (1 << sig.length) - 3
        return min(max(raw, 0), top)

    # -- Bus-FMS messages -------------------------------------------------------------------------
    def ccvs1(self, speed_mps: float | None, parking_brake: bool | None = None, *,
              brake: bool | None = None, timestamp: float = 0.0) -> can.Message:
        """CCVS1: wheel-based vehicle speed, parking brake switch, brake switch."""
        raw: dict[str, int] = {"ParkingBrakeSwitch": _bit(parking_brake), "BrakeSwitch": _bit(brake)}
        if speed_mps is not None:
            raw["WheelBasedVehicleSpeed"] = self._raw("CCVS1", "WheelBasedVehicleSpeed",
                                                      speed_mps / MPS_PER_KMH)
        return self.encode("CCVS1", raw, timestamp)

    def dc1(self, any_open: bool | None, *, closing_last: bool = False, any_enabled: bool | None = None,
            ramp_out: bool | None = None, timestamp: float = 0.0) -> can.Message:
        """DC1: position of doors (any open / closing last door / all closed), door release, ramp."""
        if any_open is None:
            pos = 15
        elif any_open:
            pos = POS_AT_LEAST_ONE_OPEN
        else:
            pos = POS_CLOSING_LAST_DOOR if closing_last else POS_ALL_CLOSED
        return self.encode("DC1", {"PositionOfDoors": pos, "Status2OfDoors": _bit(any_enabled),
                                   "RampWheelchairLiftPosition": _bit(ramp_out)}, timestamp)

    def dc1_from_doors(self, doors: Sequence[DoorState], *, timestamp: float = 0.0) -> can.Message:
        """DC1 summarising per-door states the way a door controller does."""
        opens = [d.open for d in doors if d.open is not None]
        enables = [d.enabled for d in doors if d.enabled is not None]
        return self.dc1(any(opens) if opens else None,
                        any_enabled=any(enables) if enables else None, timestamp=timestamp)

    def dc2(self, doors: Sequence[DoorState], *, locked: Mapping[int, bool] | None = None,
            timestamp: float = 0.0) -> can.Message:
        """DC2: open and enable status per door (index 1..10); doors not given are 'not available'."""
        raw: dict[str, int] = {}
        for d in doors:
            if not 1 <= d.index <= MAX_DOORS:
                raise ValueError(f"DC2 carries doors 1..{MAX_DOORS}, got door {d.index}")
            raw[f"OpenStatusDoor{d.index}"] = _bit(d.open)
            raw[f"EnableStatusDoor{d.index}"] = _bit(d.enabled)
        for i, v in (locked or {}).items():
            raw[f"LockStatusDoor{i}"] = int(v)
        return self.encode("DC2", raw, timestamp)

    def vdhr(self, odometer_m: float | None, trip_m: float | None = None, *,
             timestamp: float = 0.0) -> can.Message:
        """VDHR: high-resolution total vehicle distance (and trip distance), 5 m per bit."""
        raw: dict[str, int] = {}
        if odometer_m is not None:
            raw["HighResTotalVehicleDistance"] = self._raw("VDHR", "HighResTotalVehicleDistance", odometer_m)
        if trip_m is not None:
            raw["HighResTripDistance"] = self._raw("VDHR", "HighResTripDistance", trip_m)
        return self.encode("VDHR", raw, timestamp)

    def tco1(self, speed_mps: float | None, *, moving: bool | None = None,
             timestamp: float = 0.0) -> can.Message:
        """TCO1: tachograph vehicle speed and vehicle motion."""
        raw: dict[str, int] = {"VehicleMotion": _bit(moving)}
        if speed_mps is not None:
            raw["TachographVehicleSpeed"] = self._raw("TCO1", "TachographVehicleSpeed", speed_mps / MPS_PER_KMH)
        return self.encode("TCO1", raw, timestamp)

    def eec1(self, engine_rpm: float | None, *, timestamp: float = 0.0) -> can.Message:
        """EEC1: engine speed (for realistic background traffic)."""
        raw: dict[str, int] = {}
        if engine_rpm is not None:
            raw["EngineSpeed"] = self._raw("EEC1", "EngineSpeed", engine_rpm)
        return self.encode("EEC1", raw, timestamp)
