"""Property tests: nothing a serial line delivers makes the decoder raise, and bad input around good
sentences does not change the fixes decoded from the good ones."""

from __future__ import annotations

import os
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
# More examples for a deeper local run: RETTID_HYPOTHESIS_EXAMPLES=5000 pytest tests/gnss/test_properties.py
SETTINGS = settings(max_examples=int(os.environ.get("RETTID_HYPOTHESIS_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


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
    if how == "truncate":
        pos = pos % len(line)
        return line[:max(1, min(pos, len(line) - 1))]
    # A byte of the body (between "$" and "*"): the checksum no longer matches. (Changing a checksum
    # digit's case, "*4E" -> "*4e", would not damage anything: hex is case-insensitive.)
    pos = 1 + pos % (line.rindex(b"*") - 1)
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


_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "3", "9", "29", "-1", "A", "V", "N", "S", "E", "W", "M", "T", "K",
                     "nan", "inf", "-inf", "1e999", "1e300", "99999999", "123519", "235959.99", "240000",
                     "4807.038", "01131.000", "9000.0", "18000.0", "-4807.0", "311299", "290200", "000000",
                     "2026", "9999", "0001", "AAN", "NNN", "1_0", " 5", "+5", "0x10"]),
    st.text(alphabet="0123456789.-+eE", max_size=12),
)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["GP", "GN", "BD", "ZZ"]),
                          st.sampled_from(["GGA", "RMC", "GNS", "VTG", "GSA", "GST", "ZDA", "GLL"]),
                          st.lists(_VALUES, max_size=20)), min_size=1, max_size=30))
def test_hostile_field_values_never_raise(sentences: list[tuple[str, str, list[str]]]) -> None:
    """Every decoded sentence type with hostile values (nan, inf, huge, negative, wrong counts) and a
    valid checksum: counted as malformed or decoded, never an exception, never a non-finite Fix value."""
    data = b"".join(frame(",".join([t + k, *fields])).encode() + b"\r\n" for t, k, fields in sentences)
    fixes, s = decode(data)
    for f in fixes:
        for v in (f.lat, f.lon, f.alt_msl, f.speed, f.track, f.hdop, f.eph):
            assert v is None or v == v and abs(v) != float("inf")
        if f.lat is not None:
            assert -90 <= f.lat <= 90 and f.lon is not None and -180 <= f.lon <= 180
