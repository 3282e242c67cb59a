"""Property tests: nothing a serial line delivers makes the decoder raise, and bad input around good
sentences does not change the fixes decoded from the good ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw.gnss.decoder import NmeaConfig
from hw.gnss.fix import Fix
from hw.gnss.nmea import frame
from hw.gnss.stream import NmeaStream

DATA = Path(__file__).resolve().parent.parent / "data" / "gpsd-regress"
CONFIG = NmeaConfig(not_before=date(1980, 1, 6))


def _lines(name: str) -> list[bytes]:
    return [x.rstrip(b"\r\n") for x in (DATA / name).read_bytes().splitlines() if x.startswith(b"$")]


# A mix of receivers: modern multi-GNSS, SiRF, RTK.
GOOD = _lines("ublox-neo-m9n-nmea.log")[:300] + _lines("bu353s4.log") + _lines("nmea-rtk.log")[:80]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode(data: bytes, chunks: list[int] | None = None) -> tuple[list[Fix], NmeaStream]:
    s = NmeaStream(CONFIG)
    out: list[Fix] = []
    if chunks:
        i = 0
        for n in chunks:
            out += s.feed(data[i:i + n])
            i += n
        out += s.feed(data[i:])
    else:
        out += s.feed(data)
    return out + s.flush(), s


@SETTINGS
@given(st.binary(max_size=4000), st.lists(st.integers(1, 300), max_size=30))
def test_random_bytes_never_raise(data: bytes, chunks: list[int]) -> None:
    fixes, s = decode(data, chunks)
    assert s.stats.good + s.stats.checksum_errors + s.stats.no_checksum >= 0
    for f in fixes:
        assert f.time.tzinfo is not None


_FIELD_CHARS = st.sampled_from(list("0123456789.,-+ANSEWVMKTaz*$ \x00\xff"))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 90),
                          st.sampled_from(["replace", "insert", "delete", "truncate"]), _FIELD_CHARS),
                min_size=1, max_size=40))
def test_mutated_sentences_with_valid_checksums_never_raise(muts: list[tuple[int, int, str, str]]) -> None:
    """Mutated bodies re-framed with a correct checksum reach the field parsers: no exception escapes."""
    lines = []
    for idx, pos, op, ch in muts:
        body = GOOD[idx].decode("latin-1").lstrip("$").split("*")[0]
        pos = min(pos, len(body))
        if op == "replace":
            body = body[:pos] + ch + body[pos + 1:]
        elif op == "insert":
            body = body[:pos] + ch + body[pos:]
        elif op == "delete":
            body = body[:pos] + body[pos + 1:]
        else:
            body = body[:pos]
        lines.append(frame(body).encode("latin-1", "replace"))
    decode(b"\r\n".join(lines) + b"\r\n")


def _corrupt(line: bytes, pos: int, byte: int, how: str) -> bytes:
    """A damaged copy of a sentence that the decoder must reject (wrong or missing checksum)."""
    pos = pos % len(line)
    if how == "truncate":
        return line[:max(1, min(pos, len(line) - 1))]
    if line[pos] == byte:
        byte ^= 0x01
    return line[:pos] + bytes([byte]) + line[pos + 1:]


@SETTINGS
@given(st.data())
def test_good_sentences_around_bad_ones_still_decode(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(GOOD) - 120))
    good = GOOD[start:start + 120]
    ref, ref_stream = decode(b"\r\n".join(good) + b"\r\n")
    mixed: list[bytes] = []
    for line in good:
        for _ in range(data.draw(st.integers(0, 2))):
            kind = data.draw(st.sampled_from(["noise", "corrupt"]))
            if kind == "noise":
                noise = data.draw(st.binary(min_size=1, max_size=120))
                mixed.append(noise.replace(b"$", b"#").replace(b"\n", b" "))
            else:
                victim = GOOD[data.draw(st.integers(0, len(GOOD) - 1))]
                mixed.append(_corrupt(victim, data.draw(st.integers(0, 200)),
                                      data.draw(st.integers(1, 255)),
                                      data.draw(st.sampled_from(["byte", "truncate"]))))
        mixed.append(line)
    chunks = data.draw(st.lists(st.integers(1, 500), max_size=20))
    got, stream = decode(b"\r\n".join(mixed) + b"\r\n", chunks)
    assert got == ref
    assert stream.stats.fixes == ref_stream.stats.fixes
