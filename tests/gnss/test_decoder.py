"""Unit tests of the NMEA decoder and epoch assembly on hand-made and real sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hw.gnss.decoder import DEFAULT_NOT_BEFORE, KNOTS_TO_MPS, FixAssembler, NmeaConfig
from hw.gnss.fix import Fix, FixMode
from hw.gnss.nmea import frame
from hw.gnss.stream import NmeaStream

DATA = Path(__file__).resolve().parent.parent / "data" / "gpsd-regress"
OLD = NmeaConfig(not_before=date(1980, 1, 6))  # old logs: no rollover guard


def run(lines: list[str], config: NmeaConfig = OLD) -> tuple[list[Fix], FixAssembler]:
    a = FixAssembler(config)
    out: list[Fix] = []
    for line in lines:
        out += a.feed(line)
    out += a.flush()
    return out, a


def epoch(hhmmss: str, lat: str = "5540.1234", lon: str = "01234.5678", q: str = "1",
          date6: str = "231126", kn: str = "10.0") -> list[str]:
    return [
        frame(f"GPRMC,{hhmmss},A,{lat},N,{lon},E,{kn},90.0,{date6},,,A"),
        frame(f"GPGGA,{hhmmss},{lat},N,{lon},E,{q},09,0.9,42.5,M,40.0,M,,"),
        frame("GPGSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.5,0.9,1.2"),
    ]


def test_epoch_fields_from_rmc_gga_gsa() -> None:
    fixes, a = run(epoch("065500.00") + epoch("065501.00"))
    assert len(fixes) == 2
    f = fixes[0]
    assert f.time == datetime(2026, 11, 23, 6, 55, tzinfo=UTC)
    assert f.lat == pytest.approx(55 + 40.1234 / 60, abs=1e-12)
    assert f.lon == pytest.approx(12 + 34.5678 / 60, abs=1e-12)
    assert f.alt_msl == 42.5
    assert f.speed == pytest.approx(10 * KNOTS_TO_MPS)
    assert f.track == 90.0
    assert f.mode is FixMode.FIX_3D
    assert (f.quality, f.hdop, f.sats_used, f.sentences) == (1, 0.9, 9, 3)
    assert a.stats.good == 6 and a.stats.fixes == 2


def test_south_west_and_rtk_quality() -> None:
    fixes, _ = run([frame("GNGGA,120000.00,3346.0000,S,07030.0000,W,4,12,0.5,10.0,M,0,M,1.0,0001"),
                    frame("GNRMC,120000.00,A,3346.0000,S,07030.0000,W,0.0,,010125,,,R,V")])
    assert fixes[0].lat == pytest.approx(-33.766666666, abs=1e-8)
    assert fixes[0].lon == pytest.approx(-70.5, abs=1e-12)
    assert fixes[0].quality == 4  # RTK fixed


def test_gns_gst_zda_vtg_gll() -> None:
    lines = [
        frame("GNGNS,101010.00,5540.0000,N,01230.0000,E,AAN,10,0.8,12.0,41.0,,,V"),
        frame("GNVTG,45.0,T,,M,2.0,N,3.7,K,A"),
        frame("GNGST,101010.00,1.0,2.0,1.0,0.0,3.0,4.0,5.0"),
        frame("GNZDA,101010.00,24,11,2026,00,00"),
    ]
    fixes, _ = run(lines)
    f = fixes[0]
    assert f.time == datetime(2026, 11, 24, 10, 10, 10, tzinfo=UTC)
    assert (f.lat, f.lon, f.alt_msl, f.quality, f.sats_used) == (55 + 40 / 60, 12.5, 12.0, 1, 10)
    assert f.speed == pytest.approx(2 * KNOTS_TO_MPS) and f.track == 45.0
    assert f.eph == pytest.approx(5.0)  # sqrt(3² + 4²) from GST's lat/lon sigmas
    gll, _ = run([frame("GPZDA,101011.00,24,11,2026,00,00"),
                  frame("GPGLL,5540.0000,N,01230.0000,E,101011.00,A,A")])
    assert gll[0].has_position and gll[0].mode is FixMode.FIX_2D


def test_invalid_status_gives_no_position() -> None:
    fixes, _ = run([frame("GPRMC,101010.00,V,5540.0,N,01230.0,E,0.0,,241126,,,N"),
                    frame("GPGGA,101010.00,5540.0,N,01230.0,E,0,00,99.9,,M,,M,,")])
    assert fixes[0].lat is None and fixes[0].mode is FixMode.NO_FIX and not fixes[0].has_position


@pytest.mark.parametrize("talker", ["GP", "GN", "GL", "GA", "GB", "BD", "GQ", "QZ"])
def test_talkers(talker: str) -> None:
    fixes, a = run([frame(f"{talker}RMC,000001.00,A,5540.0,N,01230.0,E,1.0,,241126,,,A")])
    assert fixes[0].has_position
    assert a.stats.other_talkers == (1 if talker == "QZ" else 0)


def test_checksum_required_by_default_and_optional() -> None:
    body = "GPRMC,000001.00,A,5540.0,N,01230.0,E,1.0,,241126,,,A"
    fixes, a = run(["$" + body])
    assert fixes == [] and a.stats.no_checksum == 1
    fixes, a = run(["$" + body], NmeaConfig(require_checksum=False, not_before=date(1980, 1, 6)))
    assert len(fixes) == 1 and a.stats.no_checksum == 0
    bad = frame(body)[:-2] + "00"
    fixes, a = run([bad])
    assert fixes == [] and a.stats.checksum_errors == 1


def test_noise_double_dollar_leading_space_and_concatenation() -> None:
    good = epoch("000001.00")
    trunc = "$GPGGA,000002$" + good[0][1:]  # a truncated GGA glued to a whole sentence
    fixes, a = run(["r" + good[0], " " + good[1], "$" + good[2], trunc])
    assert len(fixes) == 1 and fixes[0].sentences == 4  # the glued RMC joined the same epoch
    assert a.stats.garbage_bytes == 2 and a.stats.no_checksum == 1


def test_empty_fields_never_raise() -> None:
    fixes, a = run([frame("GPGGA,,,,,,,,,,,,,,"), frame("GPRMC,,,,,,,,,,,,"), frame("GPVTG,,,,,,,,,"),
                    frame("GPGSA,,,,,,,,,,,,,,,,,"), frame("GPGST,,,,,,,,"), frame("GPZDA,,,,,,"),
                    frame("GPGLL,,,,,,,"), frame("GPGNS,,,,,,,,,,,,")])
    assert fixes == [] and a.stats.good == 8 and a.stats.malformed == 0


def test_malformed_fields_counted() -> None:
    fixes, a = run([frame("GPGGA,256199.00,5540.0,N,01230.0,E,1,09,0.9,1,M,0,M,,"),
                    frame("GPRMC,000001.00,A,55x0.0,N,01230.0,E,1.0,,241126,,,A"), frame("GPGGA,1")])
    assert fixes == [] and a.stats.malformed == 3


def test_unknown_and_ignored_sentences() -> None:
    _, a = run([frame("PUBX,00,foo"), frame("GPGSV,1,1,00"), frame("GPXYZ,1"), frame("GPTXT,01,01,02,hi")])
    assert (a.stats.unknown, a.stats.ignored, a.stats.good) == (2, 2, 4)


def test_week_rollover_guard_default_moves_1999_to_2019() -> None:
    """april6_2019.log: a Telit receiver after the 6 Apr 2019 rollover reports 22 Aug 1999."""
    lines = [x for x in (DATA / "april6_2019.log").read_text().splitlines() if not x.startswith("#")]
    fixes, a = run(lines, NmeaConfig())
    assert DEFAULT_NOT_BEFORE == date(2019, 4, 7)
    assert [f.time for f in fixes] == [datetime(2019, 4, 7, 0, 2, 31, 420000, tzinfo=UTC)]
    assert a.stats.rollover_fixed == 1
    fixes, _ = run(lines, NmeaConfig(not_before=date(1990, 1, 1)))
    assert fixes[0].time.year == 1999  # guard configurable


def test_midnight_without_date_sentence() -> None:
    lines = epoch("235959.00", date6="311226") + [frame("GPGGA,000000.00,5540.0,N,01230.0,E,1,09,0.9,1,M,0,M,,")]
    fixes, _ = run(lines)
    assert [f.time for f in fixes] == [datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
                                       datetime(2027, 1, 1, tzinfo=UTC)]


def test_epochs_without_date_are_counted_not_emitted() -> None:
    fixes, a = run([frame("GPGGA,000000.00,5540.0,N,01230.0,E,1,09,0.9,1,M,0,M,,")])
    assert fixes == [] and a.stats.epochs_without_date == 1


def test_learned_cycle_end_emits_without_waiting() -> None:
    a = FixAssembler(OLD)
    got = [len(a.feed(s)) for n in range(5) for s in epoch(f"00000{n}.00")]
    # epochs 0 and 1 end by time change when epochs 2 and 3 begin (learning: the epoch before the newest
    # stays open); then GSA is known as the cycle end: epoch 3's emits epochs 2 and 3, epoch 4's at once
    assert got == [0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 1]
    assert a.flush() == [] and a.stats.fixes == 5 and a.stats.late == 0


def test_late_sentence_after_learned_end_is_counted() -> None:
    a = FixAssembler(OLD)
    for n in range(4):
        for s in epoch(f"00000{n}.00"):
            a.feed(s)
    a.feed(frame("GPZDA,000003.00,23,11,2026,00,00"))  # after the learned end of epoch 3
    assert a.stats.late == 1
    for s in epoch("000004.00"):
        a.feed(s)
    assert [f.time.second for f in a.flush()] == [4]


def test_stream_framing_over_any_chunking() -> None:
    data = (DATA / "ublox-zed-f9p-nmea.log").read_bytes()
    data = b"".join(x for x in data.splitlines(keepends=True) if not x.startswith(b"#"))
    whole = NmeaStream(OLD)
    ref = whole.feed(data) + whole.flush()
    for size in (1, 7, 64, 1000):
        s = NmeaStream(OLD)
        got: list[Fix] = []
        for i in range(0, len(data), size):
            got += s.feed(data[i:i + size])
        assert got + s.flush() == ref
    assert len(ref) == 29 and whole.stats.checksum_errors == 0


def test_too_long_line_is_dropped_and_bounded() -> None:
    s = NmeaStream(OLD)
    good = "\r\n".join(epoch("000001.00") + epoch("000002.00")).encode() + b"\r\n"
    assert s.feed(b"$GPGGA," + b"9" * 5000) == []
    assert len(s._buf) <= 300
    out = s.feed(b"tail of the long line\r\n" + good) + s.flush()
    assert [f.time.second for f in out] == [1, 2]
    assert s.stats.too_long == 1 and s.stats.good == 6


def test_cr_only_and_lf_only_line_ends() -> None:
    body = epoch("000001.00") + epoch("000002.00")
    for end in (b"\r", b"\n", b"\r\n"):
        s = NmeaStream(OLD)
        out = s.feed(end.join(x.encode() for x in body) + end) + s.flush()
        assert [f.time.second for f in out] == [1, 2] and s.stats.garbage_bytes == 0


def _late_rmc_stream(n: int) -> list[str]:
    """A receiver that sends the RMC (and its VTG) of each epoch after the GGA and GSA of the next one:
    position and speed differ every second, so a mix-up shows."""
    lines: list[str] = []
    for k in range(n + 1):
        if k < n:
            lat = f"5540.{1000 + k:04d}"
            lines += [frame(f"GPGGA,0000{k:02d}.00,{lat},N,01230.0000,E,1,09,0.9,42.5,M,40.0,M,,"),
                      frame("GPGSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.5,0.9,1.2")]
        if k > 0:
            j = k - 1
            lat = f"5540.{1000 + j:04d}"
            lines += [frame(f"GPRMC,0000{j:02d}.00,A,{lat},N,01230.0000,E,{j + 1}.0,90.0,231126,,,A"),
                      frame(f"GPVTG,90.0,T,,M,{j + 1}.0,N,{(j + 1) * 1.852:.3f},K,A")]
    return lines


def test_rmc_after_the_next_epochs_gga_joins_its_own_epoch() -> None:
    fixes, a = run(_late_rmc_stream(8))
    assert [f.time.second for f in fixes] == list(range(8))  # one fix per epoch, in time order
    for f in fixes:
        k = f.time.second
        assert f.lat == pytest.approx(55 + (40 + (1000 + k) / 10000) / 60, abs=1e-12)
        assert f.speed == pytest.approx((k + 1) * KNOTS_TO_MPS)  # its own second's speed, not a neighbour's
        assert f.quality == 1 and f.hdop == 0.9
    assert a.stats.late == 0


def test_late_rmc_epochs_are_emitted_at_the_learned_cycle_end() -> None:
    a = FixAssembler(OLD)
    emitted_after: list[str] = []
    for line in _late_rmc_stream(8):
        for f in a.feed(line):
            emitted_after.append(f"{line[3:6]}:{f.time.second}")
    # once learned, the VTG that completes epoch k emits it at once (no wait for epoch k + 2)
    assert emitted_after[-3:] == ["VTG:5", "VTG:6", "VTG:7"]
    assert a.flush() == []


def test_interleaved_talkers_by_time() -> None:
    """Two talkers whose sentences for second 1 arrive amid those for second 2: each joins its epoch."""
    lines = [frame("GNGGA,000001.00,5540.0000,N,01230.0000,E,1,12,0.7,10.0,M,40.0,M,,"),
             frame("GNGGA,000002.00,5540.0100,N,01230.0000,E,1,12,0.7,10.0,M,40.0,M,,"),
             frame("GPRMC,000001.00,A,5540.0000,N,01230.0000,E,3.0,10.0,231126,,,A"),
             frame("GLZDA,000002.00,23,11,2026,00,00"),
             frame("GNRMC,000002.00,A,5540.0100,N,01230.0000,E,4.0,10.0,231126,,,A"),
             frame("GNGGA,000003.00,5540.0200,N,01230.0000,E,1,12,0.7,10.0,M,40.0,M,,"),
             frame("GNRMC,000003.00,A,5540.0200,N,01230.0000,E,5.0,10.0,231126,,,A")]
    fixes, a = run(lines)
    assert [(f.time.second, round(f.speed / KNOTS_TO_MPS, 1)) for f in fixes if f.speed] == [(1, 3.0), (2, 4.0),
                                                                                              (3, 5.0)]
    assert [f.lat for f in fixes] == sorted(f.lat for f in fixes)
    assert a.stats.late == 0
