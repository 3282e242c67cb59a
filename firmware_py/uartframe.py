"""Framing of door-node messages on the UART (node -> onboard computer). MicroPython-compatible.

Frame::

    0xA5 0x5A  LEN  PAYLOAD[LEN]  CRC16 (big-endian, CRC-16/CCITT-FALSE over LEN and PAYLOAD)

Payloads (integers big-endian; ``seq`` is one counter over all frames of a node, so the receiver sees
lost frames as gaps; ``t_ms`` is the node's monotonic milliseconds, wrapping at 2**32):

* COUNT  ``01 seq:u16 t_ms:u32 door:u8 in_adult:u8 out_adult:u8 in_bulky:u8 out_bulky:u8`` - deltas
  since the previous COUNT of that door, never totals.
* STATUS ``02 seq:u16 t_ms:u32 door:u8 flags:u8 turnbacks:u16 inconsistent:u16`` - heartbeat once a
  second; flags bit0 = a beam is stuck, bit1 = edge buffer overflowed, bits 4.. = beams blocked now.

The CRC is written out by hand because MicroPython has no ``binascii.crc_hqx``; the host tests check it
against ``binascii.crc_hqx``.
"""

SYNC1 = 0xA5
SYNC2 = 0x5A
T_COUNT = 1
T_STATUS = 2
MAX_PAYLOAD = 64
_LENGTHS = {T_COUNT: 12, T_STATUS: 13}

FLAG_STUCK = 1
FLAG_OVERFLOW = 2


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def _u16(v: int) -> bytes:
    return bytes(((v >> 8) & 0xFF, v & 0xFF))


def _u32(v: int) -> bytes:
    return bytes(((v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))


def _sat8(v: int) -> int:
    return 255 if v > 255 else (0 if v < 0 else v)


def frame(payload: bytes) -> bytes:
    body = bytes((len(payload),)) + payload
    return bytes((SYNC1, SYNC2)) + body + _u16(crc16(body))


def encode_count(seq: int, t_ms: int, door: int, in_adult: int, out_adult: int, in_bulky: int,
                 out_bulky: int) -> bytes:
    """A COUNT frame; callers split deltas above 255 over several frames."""
    p = (bytes((T_COUNT,)) + _u16(seq & 0xFFFF) + _u32(t_ms & 0xFFFFFFFF)
         + bytes((door & 0xFF, _sat8(in_adult), _sat8(out_adult), _sat8(in_bulky), _sat8(out_bulky))))
    return frame(p)


def encode_status(seq: int, t_ms: int, door: int, flags: int, turnbacks: int, inconsistent: int) -> bytes:
    p = (bytes((T_STATUS,)) + _u16(seq & 0xFFFF) + _u32(t_ms & 0xFFFFFFFF) + bytes((door & 0xFF, flags & 0xFF))
         + _u16(turnbacks & 0xFFFF) + _u16(inconsistent & 0xFFFF))
    return frame(p)


def _get16(b: bytes | bytearray, i: int) -> int:
    return (b[i] << 8) | b[i + 1]


def _get32(b: bytes | bytearray, i: int) -> int:
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def decode_payload(p: bytes) -> tuple:  # type: ignore[type-arg]
    """``("count", seq, t_ms, door, in_adult, out_adult, in_bulky, out_bulky)`` or
    ``("status", seq, t_ms, door, flags, turnbacks, inconsistent)``; ValueError when unknown."""
    if not p or p[0] not in _LENGTHS or len(p) != _LENGTHS[p[0]]:
        raise ValueError("unknown payload type or length")
    if p[0] == T_COUNT:
        return ("count", _get16(p, 1), _get32(p, 3), p[7], p[8], p[9], p[10], p[11])
    return ("status", _get16(p, 1), _get32(p, 3), p[7], p[8], _get16(p, 9), _get16(p, 11))


class FrameDecoder:
    """Byte stream -> messages. Resynchronises on the sync bytes after any damage; counts what it
    dropped (``bad_crc``, ``bad_payload``, ``skipped`` bytes) and never raises on input."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.bad_crc = 0
        self.bad_payload = 0
        self.skipped = 0
        self.frames = 0

    def feed(self, data: bytes) -> list:  # type: ignore[type-arg]
        self.buf.extend(data)
        out = []
        buf = self.buf
        while True:
            # find sync
            i = 0
            n = len(buf)
            while i + 1 < n and not (buf[i] == SYNC1 and buf[i + 1] == SYNC2):
                i += 1
            if i:
                self.skipped += i
                buf = buf[i:]
                n = len(buf)
            if n < 3:
                break
            ln = buf[2]
            if ln == 0 or ln > MAX_PAYLOAD:
                self.skipped += 1
                buf = buf[1:]
                continue
            if n < 3 + ln + 2:
                break
            body = bytes(buf[2:3 + ln])
            crc = _get16(buf, 3 + ln)
            if crc16(body) != crc:
                self.bad_crc += 1
                buf = buf[1:]  # the sync may have been data: search again from the next byte
                continue
            try:
                out.append(decode_payload(body[1:]))
                self.frames += 1
            except ValueError:
                self.bad_payload += 1
            buf = buf[3 + ln + 2:]
        self.buf = bytearray(buf)
        return out
