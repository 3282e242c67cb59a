"""UART framing: CRC, round trip, resynchronisation after damage."""

from __future__ import annotations

import binascii
import random

from hypothesis import given
from hypothesis import strategies as st

from firmware_py.uartframe import FrameDecoder, crc16, encode_count, encode_status


def test_crc_matches_crc_hqx() -> None:
    for data in (b"", b"123456789", bytes(range(256))):
        assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


def test_round_trip() -> None:
    data = encode_count(7, 123456789, 2, 3, 1, 0, 1) + encode_status(8, 123457000, 2, 0b10_0001, 5, 1)
    assert FrameDecoder().feed(data) == [("count", 7, 123456789, 2, 3, 1, 0, 1),
                                         ("status", 8, 123457000, 2, 0b10_0001, 5, 1)]


def test_split_feeds_and_garbage_between_frames() -> None:
    a = encode_count(1, 1000, 1, 1, 0, 0, 0)
    b = encode_count(2, 2000, 1, 0, 2, 0, 0)
    stream = b"\x00\xa5\xff" + a + b"\xa5\x5a\x09garbage" + b
    dec = FrameDecoder()
    got = []
    for i in range(len(stream)):
        got += dec.feed(stream[i:i + 1])
    assert [g[1] for g in got] == [1, 2]
    assert dec.skipped > 0


def test_corrupted_frame_dropped_next_kept() -> None:
    a = bytearray(encode_count(1, 1000, 1, 1, 0, 0, 0))
    a[8] ^= 0x40
    b = encode_count(2, 2000, 1, 0, 2, 0, 0)
    dec = FrameDecoder()
    assert [g[1] for g in dec.feed(bytes(a) + b)] == [2]
    assert dec.bad_crc >= 1


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=2**32 - 1))
def test_random_noise_never_raises_and_good_frames_survive(noise: bytes, seed: int) -> None:
    rng = random.Random(seed)
    frames = [encode_count(i, i * 10, 1, i % 5, 0, 0, 0) for i in range(5)]
    stream = bytearray()
    for f in frames:
        cut = rng.randrange(len(noise) + 1)
        stream += noise[:cut][:20] + f
    # A false sync near the end waits for its claimed length; the next bytes on a live line settle it.
    stream += bytes(70)
    got = FrameDecoder().feed(bytes(stream))
    seqs = [g[1] for g in got if g[0] == "count" and g[2] == g[1] * 10]
    assert seqs == [0, 1, 2, 3, 4]


def test_noise_never_grows_the_buffer() -> None:
    """Issue 12 item 7: a door node's UART line carrying noise (no frame ever completes) keeps the
    decoder's buffer at most one frame long, and a good frame after 1 MB of noise is still decoded."""
    from firmware_py.uartframe import MAX_PAYLOAD

    dec = FrameDecoder()
    rng = random.Random(7)
    for _ in range(256):
        dec.feed(rng.randbytes(4096))
        assert len(dec.buf) <= 3 + MAX_PAYLOAD + 2
    got = dec.feed(encode_count(9, 5000, 1, 2, 0, 0, 0))
    assert got and got[-1][1] == 9
    assert dec.skipped > 500_000
