"""J1939 frame → named physical signal values, with cantools, looked up by PGN.

Raw values are decoded with cantools (``scaling=False, decode_choices=False``), then J1939's error and
'not available' codes become ``None`` and the rest are scaled. Lookups and the last decoded payload per
identifier are cached: on a vehicle bus most frames repeat the previous payload, and a Pi has little
CPU to spare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cantools.database.can import Database
from cantools.database.errors import Error as CantoolsError

from hw.can.dbc import PgnMessage, load_dbc, pgn_index
from hw.can.j1939 import pgn_of
from transit.errors import DecodeError

SignalValue = float | int | None
_CACHE_LIMIT = 4096  # identifiers remembered; a real bus has a few dozen, garbage input many more


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded frame: PGN, source address, message name and physical values (None = n/a)."""

    pgn: int
    source: int
    name: str
    signals: Mapping[str, SignalValue]  # shared with the cache: read only


def _physical(pm: PgnMessage, raw: dict[str, int | float]) -> dict[str, SignalValue]:
    out: dict[str, SignalValue] = {}
    for spec in pm.signals:
        r = raw.get(spec.name)
        if r is None or r >= spec.na_from:
            out[spec.name] = None
        elif spec.is_float:
            out[spec.name] = r * spec.scale + spec.offset
        else:
            out[spec.name] = int(r * spec.scale + spec.offset)
    return out


class J1939Decoder:
    """Decodes extended frames of the PGNs in a DBC (optionally only the messages ``names``)."""

    def __init__(self, dbc: Database | None = None, names: set[str] | frozenset[str] | None = None) -> None:
        self.db = dbc if dbc is not None else load_dbc()
        self.by_pgn: dict[int, PgnMessage] = pgn_index(self.db, set(names) if names is not None else None)
        self._by_id: dict[int, PgnMessage | None] = {}
        self._last: dict[int, tuple[bytes, Decoded]] = {}
        self.cache_hits = 0

    def message_for(self, can_id: int) -> PgnMessage | None:
        """The DBC message for a 29-bit identifier, or None for a PGN we do not know."""
        try:
            return self._by_id[can_id]
        except KeyError:
            pm = self.by_pgn.get(pgn_of(can_id))
            if len(self._by_id) >= _CACHE_LIMIT:
                self._by_id.clear()
            self._by_id[can_id] = pm
            return pm

    def decode(self, can_id: int, data: bytes | bytearray) -> Decoded | None:
        """Decode one extended frame. None: PGN not in the DBC. DecodeError: a known PGN with a bad payload."""
        pm = self.message_for(can_id)
        if pm is None:
            return None
        payload = bytes(data)
        last = self._last.get(can_id)
        if last is not None and last[0] == payload:
            self.cache_hits += 1
            return last[1]
        if len(payload) < pm.message.length:
            raise DecodeError(f"{pm.name} (PGN {pm.pgn:#06x}) needs {pm.message.length} bytes, got {len(payload)}")
        try:
            raw = pm.message.decode(payload, decode_choices=False, scaling=False)
        except (CantoolsError, ValueError) as exc:
            raise DecodeError(f"{pm.name} (PGN {pm.pgn:#06x}): {exc}") from None
        assert isinstance(raw, dict)
        dec = Decoded(pm.pgn, can_id & 0xFF, pm.name, _physical(pm, raw))  # type: ignore[arg-type]
        if len(self._last) >= _CACHE_LIMIT:
            self._last.clear()
        self._last[can_id] = (payload, dec)
        return dec
