"""The ``can:`` section of a unit's configuration, validated once at start-up.

```yaml
can:
  backend: socketcan        # socketcan | slcan | virtual | replay
  channel: can0             # interface; serial port, pty or pyserial URL (slcan); bus name (virtual)
  bitrate: 250000           # J1939 buses run at 250 kbit/s (some at 500)
  # slcan only:  tty_baudrate: 115200,  sleep_after_open: 2.0,
  #               reader: chunked (hw.can.slcan: chunk reads, J1939 filter before parsing) | python-can,
  #               batch_ms: 20 (chunked: wait this long after a chunk so frames arrive in batches;
  #               frames are stamped when read, so up to this late: J1939 sends CCVS1 every 100 ms)
  # replay only: file: can.log,  speed: 1.0  (0 = as fast as possible)
  speed_source: ccvs1       # or tco1 (tachograph speed)
  doors: 3                  # the vehicle's doors (DC2 lists up to 10)
  source_address: 0x21      # optional: only accept Bus-FMS frames from this J1939 address
  extra_messages: [EEC1]    # optional DBC messages beyond CCVS1, DC1, DC2, VDHR
  dbc: busfms.dbc           # optional: a different DBC with the same message and signal names
```
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

from transit.errors import ConfigError
from transit.yamlconf import Node, resolve_path

BACKENDS = ("socketcan", "slcan", "virtual", "replay")
SLCAN_READERS = ("chunked", "python-can")
_SLCAN_BITRATES = (10000, 20000, 50000, 100000, 125000, 250000, 500000, 750000, 1000000, 83300)
_COMMON = {"backend", "channel", "bitrate", "speed_source", "doors", "source_address", "extra_messages",
           "dbc", "log_interval_s", "reopen_max_s"}
_ALLOWED = {
    "socketcan": _COMMON,
    "virtual": _COMMON | {"receive_own_messages"},
    "slcan": _COMMON | {"tty_baudrate", "sleep_after_open", "reader", "batch_ms"},
    "replay": _COMMON | {"file", "speed"},
}


@dataclass(frozen=True, slots=True)
class CanConfig:
    backend: str
    channel: str
    bitrate: int | None = 250000
    speed_source: str = "ccvs1"
    doors: int | None = None
    source_address: int | None = None
    extra_messages: tuple[str, ...] = ()
    dbc: Path | None = None
    log_interval_s: float = 10.0
    reopen_max_s: float = 30.0  # longest wait between attempts to reopen a failed interface
    receive_own_messages: bool = False  # virtual
    tty_baudrate: int = 115200  # slcan
    sleep_after_open: float = 2.0  # slcan: adapters need a moment after the port opens
    slcan_reader: str = "chunked"  # slcan: chunked (hw.can.slcan) | python-can (its byte-by-byte reader)
    batch_ms: float = 20.0  # slcan chunked: pause after a chunk (frames are stamped up to this late)
    file: Path | None = None  # replay
    speed: float = 1.0  # replay pacing factor; 0 = as fast as possible

    @classmethod
    def from_node(cls, node: Node) -> CanConfig:
        backend = node.child("backend").choice(BACKENDS)
        node.reject_unknown(_ALLOWED[backend])
        file_node = node.opt("file")
        file = None if file_node is None else resolve_path(file_node)  # relative to the config file
        if backend == "replay":
            if file is None:
                raise node.child("file").error("missing")  # names the key
            channel = node.get_str("channel", "can0")
        else:
            channel = node.child("channel").as_str()
        bitrate_node = node.opt("bitrate")
        bitrate = None if bitrate_node is None else bitrate_node.as_int(min=10000, max=1000000)
        if backend == "slcan" and bitrate is not None and bitrate not in _SLCAN_BITRATES:
            raise node.child("bitrate").error(f"SLCAN adapters support {', '.join(map(str, _SLCAN_BITRATES))}")
        extra: tuple[str, ...] = ()
        en = node.opt("extra_messages")
        if en is not None:
            extra = tuple(n.choice(("EEC1", "TCO1")) for n in en.as_list())
        doors_node = node.opt("doors")
        sa_node = node.opt("source_address")
        ss_node = node.opt("speed_source")
        return cls(
            backend=backend,
            channel=channel,
            bitrate=bitrate,
            speed_source="ccvs1" if ss_node is None else ss_node.choice(("ccvs1", "tco1")),
            doors=None if doors_node is None else doors_node.as_int(min=0, max=10),
            source_address=None if sa_node is None else sa_node.as_int(min=0, max=253),
            extra_messages=extra,
            dbc=None if node.opt("dbc") is None else resolve_path(node.child("dbc")),
            log_interval_s=node.get_float("log_interval_s", 10.0, min=0.0),
            reopen_max_s=node.get_float("reopen_max_s", 30.0, min=0.1),
            receive_own_messages=node.get_bool("receive_own_messages", False),
            tty_baudrate=node.get_int("tty_baudrate", 115200, min=1200),
            sleep_after_open=node.get_float("sleep_after_open", 2.0, min=0.0),
            slcan_reader="chunked" if node.opt("reader") is None else node.child("reader").choice(SLCAN_READERS),
            batch_ms=node.get_float("batch_ms", 20.0, min=0.0, max=100.0),
            file=file,
            speed=node.get_float("speed", 1.0, min=0.0),
        )


# -- command-line options (python-can's can/cli.py add_bus_arguments shape) ---------------------------


def add_can_arguments(p: argparse.ArgumentParser) -> None:
    """``--can-backend``, ``--can-channel``, ``--can-bitrate``: a live bus named on the command line (or
    a configuration's ``can:`` section overridden). Read back with :func:`can_config_from_args`."""
    g = p.add_argument_group("CAN bus")
    g.add_argument("--can-backend", choices=BACKENDS, help="read a live bus instead of a file "
                   "(socketcan, slcan, virtual)")
    g.add_argument("--can-channel", metavar="CHANNEL", help="interface (can0), serial port (slcan) or bus name")
    g.add_argument("--can-bitrate", type=int, metavar="BITS", help="bit rate (slcan; default 250000)")


def can_config_from_args(args: argparse.Namespace, base: CanConfig | None = None) -> CanConfig | None:
    """``base`` with the command line's overrides, or a configuration from the options alone; None when
    neither names a bus."""
    backend = getattr(args, "can_backend", None)
    if base is None and backend is None:
        return None
    cfg = base if base is not None else CanConfig(backend=str(backend), channel="can0")
    changes: dict[str, object] = {}
    if backend is not None:
        changes["backend"] = backend
    if getattr(args, "can_channel", None):
        changes["channel"] = args.can_channel
    if getattr(args, "can_bitrate", None):
        if not 10000 <= args.can_bitrate <= 1000000:
            raise ConfigError(f"{args.can_bitrate} is not a CAN bit rate (10000-1000000)", key="--can-bitrate")
        changes["bitrate"] = args.can_bitrate
    if changes.get("backend") == "replay":
        raise ConfigError("a log file is given as FILE, not --can-backend replay", key="--can-backend")
    return replace(cfg, **changes) if changes else cfg  # type: ignore[arg-type]
