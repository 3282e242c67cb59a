"""The pure CAN core: frames in, :class:`VehicleState` snapshots out.

No clock, no socket: each frame carries its receive time, and the snapshot is stamped with it.
Bad input (error frames, unknown PGNs, short payloads, timestamps that are no time) is counted, logged
once per interval and skipped; the state keeps what the good frames said.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import can

from hw.can.decode import J1939Decoder, SignalValue
from hw.can.state import DoorState, VehicleState
from transit.errors import ConfigError, DecodeError
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

KMH = 1 / 3.6
MAX_DOORS = 10
# The messages the vehicle state is built from; EEC1 and TCO1 are optional extras.
VEHICLE_MESSAGES: frozenset[str] = frozenset({"CCVS1", "DC1", "DC2", "VDHR"})
KNOWN_MESSAGES: frozenset[str] = VEHICLE_MESSAGES | {"TCO1", "EEC1"}

# SocketCAN error classes (linux/can/error.h), found in an error frame's identifier.
CAN_ERR_BUSOFF = 0x40
CAN_ERR_RESTARTED = 0x100
COUNTERS = ("frames", "decoded", "unknown_pgn", "standard_id", "remote", "other_source", "error_frames",
            "bus_off", "bus_restarted", "bad_frames", "bad_timestamp")
_MIN_T = 946684800.0  # 2000-01-01: anything earlier is a receiver without a clock, not a time
_MAX_T = 4102444800.0  # 2100-01-01


def messages_for(speed_source: str = "ccvs1", extra: Iterable[str] = ()) -> frozenset[str]:
    """The DBC messages a tracker needs for ``speed_source`` plus ``extra`` (e.g. EEC1)."""
    names = set(VEHICLE_MESSAGES) | set(extra)
    if speed_source == "tco1":
        names.add("TCO1")
    unknown = names - KNOWN_MESSAGES
    if unknown:
        raise ConfigError(f"unknown CAN message(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(KNOWN_MESSAGES))}")
    return frozenset(names)


def _flag(v: SignalValue) -> bool | None:
    return None if v is None else bool(v)


class VehicleTracker:
    """Folds Bus-FMS frames into the latest :class:`VehicleState`.

    ``speed_source``: ``ccvs1`` (wheel-based speed) or ``tco1`` (tachograph speed).
    ``doors``: the vehicle's number of doors; the snapshot then always lists doors 1..n. Without it,
    the doors DC2 reports (open or enable status available) are listed.
    ``source_address``: only accept frames from this J1939 address (None: any).
    """

    def __init__(self, decoder: J1939Decoder | None = None, *, speed_source: str = "ccvs1",
                 doors: int | None = None, source_address: int | None = None,
                 extra_messages: Iterable[str] = (), log_interval_s: float = 10.0) -> None:
        if speed_source not in ("ccvs1", "tco1"):
            raise ConfigError(f"speed_source must be ccvs1 or tco1, got {speed_source!r}")
        if doors is not None and not 0 <= doors <= MAX_DOORS:
            raise ConfigError(f"doors must be 0..{MAX_DOORS}, got {doors}")
        self.messages = messages_for(speed_source, extra_messages)
        self.decoder = decoder if decoder is not None else J1939Decoder(names=self.messages)
        self.speed_source = speed_source
        self.n_doors = doors
        self.source_address = source_address
        self.counters: Counter[str] = Counter()
        self._rlog = RateLimitedLog(log, log_interval_s)
        self._bus_off = False
        self._last_t = 0.0  # receive time of the last frame with a usable time: the clock for log intervals
        # latest values
        self._speed: float | None = None
        self._odo: float | None = None
        self._pbrake: bool | None = None
        self._doors: tuple[DoorState, ...] = self._door_tuple({})
        self._any_open: bool | None = None
        self._rpm: float | None = None
        self._state: VehicleState | None = None
        self._seen: dict[str, float] = {}
        #: the message the latest snapshot came from (``"CCVS1"`` ...), empty before the first
        self.last_message: str = ""

    # -- public ------------------------------------------------------------------------------------
    @property
    def state(self) -> VehicleState | None:
        """The latest snapshot (None before the first decoded frame)."""
        return self._state

    def last_seen(self, name: str) -> datetime | None:
        """Receive time of the last ``name`` frame (e.g. ``"CCVS1"``): lets a consumer tell a speed
        the bus stopped sending from a current one."""
        ts = self._seen.get(name)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def stats(self) -> dict[str, int]:
        """Counters (all of :data:`COUNTERS`, zero when nothing happened) plus ``unchanged``: frames
        whose payload repeated the previous one and was not decoded again."""
        out = {k: self.counters[k] for k in COUNTERS}
        out["unchanged"] = self.decoder.cache_hits
        return out

    def feed(self, msg: can.Message) -> VehicleState | None:
        """Fold one received frame in; a new snapshot when it carried vehicle state, else None."""
        c = self.counters
        c["frames"] += 1
        ts = msg.timestamp
        if not isinstance(ts, float | int) or not math.isfinite(ts) or not _MIN_T <= ts < _MAX_T:
            c["bad_timestamp"] += 1
            self._rlog.warn("bad_timestamp", "CAN frame without a usable receive time (%r); skipped", ts,
                            t=self._last_t)
            return None
        self._last_t = float(ts)
        if msg.is_error_frame:
            self._error_frame(msg, float(ts))
            return None
        if self._bus_off:
            self._bus_off = False
            log.info("CAN bus receiving again after bus-off")
        if not msg.is_extended_id:
            c["standard_id"] += 1
            return None
        if msg.is_remote_frame:
            c["remote"] += 1
            return None
        can_id = msg.arbitration_id
        if self.source_address is not None and can_id & 0xFF != self.source_address:
            if self.decoder.message_for(can_id) is not None:
                c["other_source"] += 1
                return None
        try:
            dec = self.decoder.decode(can_id, msg.data)
        except DecodeError as exc:
            c["bad_frames"] += 1
            self._rlog.warn("bad_frame", "bad CAN frame %08X: %s; skipped", can_id, exc, t=float(ts))
            return None
        if dec is None:
            c["unknown_pgn"] += 1
            return None
        c["decoded"] += 1
        self.last_message = dec.name
        self._seen[dec.name] = float(ts)
        self._apply(dec.name, dec.signals)
        st = VehicleState(datetime.fromtimestamp(ts, UTC), self._speed, self._odo, self._pbrake,
                          self._doors, self._any_open, self._rpm)
        self._state = st
        return st

    # -- internals ---------------------------------------------------------------------------------
    def _error_frame(self, msg: can.Message, ts: float) -> None:
        c = self.counters
        c["error_frames"] += 1
        cls = msg.arbitration_id
        if cls & CAN_ERR_BUSOFF:
            c["bus_off"] += 1
            self._bus_off = True
            log.warning("CAN controller went bus-off (error class %#x); waiting for restart", cls)
        elif cls & CAN_ERR_RESTARTED:
            c["bus_restarted"] += 1
            self._bus_off = False
            log.info("CAN controller restarted after bus-off")
        else:
            self._rlog.warn("error_frame", "CAN error frame (class %#x, data %s)", cls, msg.data.hex(), t=ts)

    def _door_tuple(self, per_door: Mapping[int, DoorState]) -> tuple[DoorState, ...]:
        if self.n_doors is None:
            return tuple(per_door[i] for i in sorted(per_door))
        return tuple(per_door.get(i, DoorState(i)) for i in range(1, self.n_doors + 1))

    def _apply(self, name: str, s: Mapping[str, SignalValue]) -> None:
        if name == "CCVS1":
            self._pbrake = _flag(s["ParkingBrakeSwitch"])
            if self.speed_source == "ccvs1":
                v = s["WheelBasedVehicleSpeed"]
                self._speed = None if v is None else v * KMH
        elif name == "TCO1":
            if self.speed_source == "tco1":
                v = s["TachographVehicleSpeed"]
                self._speed = None if v is None else v * KMH
        elif name == "VDHR":
            d = s["HighResTotalVehicleDistance"]
            self._odo = None if d is None else float(d)
        elif name == "DC1":
            pos = s["PositionOfDoors"]
            # SPN 1821: 0 at least one door open, 1 closing last door (still open), 2 all closed
            self._any_open = None if pos is None or pos > 2 else pos in (0, 1)
        elif name == "DC2":
            per: dict[int, DoorState] = {}
            for i in range(1, MAX_DOORS + 1):
                o = _flag(s[f"OpenStatusDoor{i}"])
                e = _flag(s[f"EnableStatusDoor{i}"])
                if o is not None or e is not None:
                    per[i] = DoorState(i, o, e)
            self._doors = self._door_tuple(per)
        elif name == "EEC1":
            r = s["EngineSpeed"]
            self._rpm = None if r is None else float(r)
