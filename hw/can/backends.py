"""CAN bus backends behind one small registry, chosen by configuration.

Each backend turns a :class:`CanConfig` and J1939 acceptance filters into a python-can bus. python-can
imports an interface's module (and its hardware library) only when that interface is opened, so this
module imports everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import can

from hw.can.config import CanConfig
from hw.can.dbc import load_dbc, pgn_index
from hw.can.j1939 import PDU2_MIN_PF
from hw.can.replay import ReplayBus
from transit.errors import BackendError, DeviceError
from transit.yamlconf import Node

log = logging.getLogger(__name__)

Filters = list[dict[str, Any]]
BackendFactory = Callable[[CanConfig, Filters], can.BusABC]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    def deco(fn: BackendFactory) -> BackendFactory:
        _BACKENDS[name] = fn
        return fn
    return deco


def backends() -> list[str]:
    return sorted(_BACKENDS)


def j1939_filters(pgns: Iterable[int]) -> Filters:
    """python-can ``can_filters`` passing only extended frames of ``pgns``, from any source address
    and with any priority (and any destination for PDU1 PGNs). On SocketCAN the kernel applies them."""
    out: Filters = []
    for pgn in sorted(set(pgns)):
        pdu1 = ((pgn >> 8) & 0xFF) < PDU2_MIN_PF
        mask = (0x3FF00 if pdu1 else 0x3FFFF) << 8
        out.append({"can_id": (pgn << 8) & mask, "can_mask": mask, "extended": True})
    return out


def filters_for_messages(names: Iterable[str], dbc: Any = None) -> Filters:
    """Filters for the named messages of a DBC (the project's Bus-FMS DBC by default)."""
    idx = pgn_index(dbc if dbc is not None else load_dbc(), set(names))
    return j1939_filters(idx)


@register_backend("socketcan")
def _socketcan(cfg: CanConfig, filters: Filters) -> can.BusABC:
    # Bit rate and bus-off recovery are set on the interface by the system, not here:
    # `ip link set can0 type can bitrate 250000 restart-ms 100` (or systemd-networkd [CAN] RestartSec=).
    # python-can asks the kernel for error frames, so bus-off and restarts reach the tracker's counters.
    return can.Bus(interface="socketcan", channel=cfg.channel, can_filters=filters or None,
                   receive_own_messages=False)


@register_backend("slcan")
def _slcan(cfg: CanConfig, filters: Filters) -> can.BusABC:
    if cfg.slcan_reader == "chunked":  # the default: python-can's own reader costs a Pi core at 1,500 frames/s
        from hw.can.slcan import open_chunked_slcan

        return open_chunked_slcan(cfg.channel, bitrate=cfg.bitrate, tty_baudrate=cfg.tty_baudrate,
                                  sleep_after_open=cfg.sleep_after_open, filters=filters,
                                  batch_s=cfg.batch_ms / 1000)
    return can.Bus(interface="slcan", channel=cfg.channel, bitrate=cfg.bitrate,
                   tty_baudrate=cfg.tty_baudrate, sleep_after_open=cfg.sleep_after_open,
                   can_filters=filters or None)


@register_backend("virtual")
def _virtual(cfg: CanConfig, filters: Filters) -> can.BusABC:
    return can.Bus(interface="virtual", channel=cfg.channel, can_filters=filters or None,
                   receive_own_messages=cfg.receive_own_messages)


@register_backend("replay")
def _replay(cfg: CanConfig, filters: Filters) -> can.BusABC:
    assert cfg.file is not None
    return ReplayBus(cfg.channel, file=cfg.file, speed=cfg.speed, log_interval_s=cfg.log_interval_s,
                     can_filters=filters or None)


def open_bus(cfg: CanConfig, filters: Filters | None = None) -> can.BusABC:
    """Open the configured bus with ``filters``; a missing device is a :class:`DeviceError`."""
    factory = _BACKENDS.get(cfg.backend)
    if factory is None:
        raise BackendError(f"unknown CAN backend {cfg.backend!r}; have {', '.join(backends())}")
    try:
        return factory(cfg, filters or [])
    except (can.CanError, OSError, ValueError, ImportError) as exc:
        if isinstance(exc, DeviceError):
            raise
        raise DeviceError(f"cannot open CAN {cfg.backend} {cfg.channel}: {exc}") from exc


def open_can(node: Node | CanConfig, messages: Iterable[str] | None = None) -> can.BusABC:
    """A python-can bus from a ``can:`` configuration node, filtered to the Bus-FMS messages the
    vehicle state needs (or to ``messages``)."""
    from hw.can.tracker import messages_for

    cfg = node if isinstance(node, CanConfig) else CanConfig.from_node(node)
    names = set(messages) if messages is not None else messages_for(cfg.speed_source, cfg.extra_messages)
    dbc = load_dbc(cfg.dbc) if cfg.dbc is not None else None
    return open_bus(cfg, filters_for_messages(names, dbc))
