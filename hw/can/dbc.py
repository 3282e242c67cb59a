"""The project's Bus-FMS DBC and a PGN-keyed view of any J1939 DBC.

A J1939 DBC names each message with one example identifier (priority, PGN, a placeholder source
address). Real vehicles send the same PGN from other source addresses and priorities, so lookups go by
PGN, never by the full identifier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cantools
from cantools.database.can import Database, Message
from cantools.database.errors import Error as CantoolsError

from hw.can.j1939 import not_available_from, pgn_of
from transit.errors import ConfigError

log = logging.getLogger(__name__)

BUSFMS_DBC = Path(__file__).with_name("busfms.dbc")


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """What decoding needs of one signal: raw range limit for J1939 'not available', and scaling."""

    name: str
    na_from: int  # raw values >= this are error / not available
    scale: float
    offset: float
    is_float: bool  # False when scale and offset are whole numbers (keep ints for discrete values)


@dataclass(frozen=True, slots=True)
class PgnMessage:
    """One DBC message, indexed by its PGN."""

    pgn: int
    name: str
    message: Message
    signals: tuple[SignalSpec, ...]


def load_dbc(path: str | Path | None = None) -> Database:
    """Load a DBC file (the project's Bus-FMS DBC by default); errors name the file."""
    p = Path(path) if path is not None else BUSFMS_DBC
    try:
        db = cantools.database.load_file(str(p), database_format="dbc", strict=True)
    except (OSError, CantoolsError, ValueError) as exc:
        raise ConfigError(f"cannot load DBC: {exc}", file=str(p)) from None
    assert isinstance(db, Database)
    return db


def _spec(sig: object) -> SignalSpec:
    from cantools.database.can import Signal

    assert isinstance(sig, Signal)
    scale = float(sig.scale)
    offset = float(sig.offset)
    na = not_available_from(sig.length) if not sig.is_signed else 1 << 64
    return SignalSpec(sig.name, na, scale, offset, not (scale.is_integer() and offset.is_integer()))


def pgn_index(db: Database, names: set[str] | None = None) -> dict[int, PgnMessage]:
    """PGN → message for the extended-frame messages of ``db`` (only ``names`` if given)."""
    out: dict[int, PgnMessage] = {}
    for m in db.messages:
        if not m.is_extended_frame or (names is not None and m.name not in names):
            continue
        pgn = pgn_of(m.frame_id)
        if pgn in out:
            log.warning("DBC has two messages for PGN %#06x (%s, %s); using the first",
                        pgn, out[pgn].name, m.name)
            continue
        out[pgn] = PgnMessage(pgn, m.name, m, tuple(_spec(s) for s in m.signals))
    if names is not None:
        missing = names - {p.name for p in out.values()}
        if missing:
            raise ConfigError(f"DBC lacks message(s) {', '.join(sorted(missing))}")
    return out
