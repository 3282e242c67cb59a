"""NMEA 0183 framing helpers: checksum and sentence framing (the decoder lives in ``hw.gnss.decode``)."""

from __future__ import annotations

from functools import reduce
from operator import xor

__all__ = ["checksum", "frame"]


def checksum(body: str) -> str:
    """Return the NMEA checksum of ``body`` (the text between ``$`` and ``*``) as two upper-case hex digits.

    The checksum is the XOR of all bytes of the body, as NMEA 0183 defines it.
    """
    return format(reduce(xor, body.encode("ascii", "replace"), 0), "02X")


def frame(body: str) -> str:
    """Return ``$`` + body + ``*HH`` (no CR/LF: the writer chooses the line ending)."""
    return f"${body}*{checksum(body)}"
