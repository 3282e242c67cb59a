"""Conformance with gpsd on its own regression logs (tests/data/gpsd-regress, 40 real receivers).

How gpsd's ``.chk`` lines correspond to our epochs: the ``.chk`` echoes each NMEA sentence and then the
reports it triggered. gpsd emits a TPV after many sentences, so one receiver epoch (one UTC time) usually
has several TPVs, each with gpsd's state so far. We emit one Fix per epoch. So every TPV with mode >= 2
and a ``time`` is compared with our Fix of that time:
- time: our epoch with exactly that ISO time (ms) must exist;
- lat/lon within 1e-7 degrees;
- altMSL within 1 mm where gpsd gives one (beyond the brief, it costs nothing);
- speed within 0.01 m/s, *when the receiver had already sent a speed for that epoch* (an RMC or VTG
  after the epoch's first timed sentence, before the TPV in the .chk). Before that, gpsd's TPV speed is
  either carried from the previous epoch or computed by gpsd from the position change (a field gpsd
  computes, not a receiver value), so there is nothing of the receiver's to compare.
TPVs without ``time`` (gpsd had a position but no date yet, e.g. a GGA/GLL before the first RMC) cannot
be matched by time; they are counted, not compared. gpsd ran its regressions without a rollover guard,
so we configure ``not_before`` = the GPS epoch here.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from hw.gnss.decoder import NmeaConfig
from hw.gnss.fix import Fix
from hw.gnss.stream import NmeaStream
from transit.timeutil import iso_utc_ms, parse_iso

DATA = Path(__file__).resolve().parent.parent / "data" / "gpsd-regress"
LOGS = sorted(p.name for p in DATA.glob("*.log"))
GPS_EPOCH = date(1980, 1, 6)

_M8N = ("gpsd dates the NEO-M8N's RMC date 18 Mar 2015 as 1 Nov 2034, exactly 1024 weeks later: the log "
        "header says '# Date = 2015-03-18' instead of '# Date: ...', so gpsfake did not preset the year and "
        "gpsd's own rollover guard moved a correct date; we keep the receiver's date")
# (file, TPV time) -> why our Fix's time cannot equal gpsd's TPV there. The rest of such a TPV is still
# checked, against our fix at the time in EXCEPTION_SHIFT earlier.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("neo-m8n.log", f"2034-11-01T17:19:{s:02d}.000Z"): _M8N for s in range(26, 48)
}
EXCEPTION_SHIFT = {_M8N: timedelta(weeks=1024)}

# Sentence types carrying a UTC time, and the field index of that time.
_TIME_FIELD = {"GGA": 1, "RMC": 1, "GNS": 1, "GST": 1, "ZDA": 1, "GLL": 5}


def _decode(path: Path) -> list[Fix]:
    """Our fixes for a log, fed as a byte stream in odd-sized chunks (exercises the line framing)."""
    data = b"".join(line for line in path.read_bytes().splitlines(keepends=True)
                    if not line.startswith(b"#"))
    stream = NmeaStream(NmeaConfig(not_before=GPS_EPOCH))
    fixes: list[Fix] = []
    for i in range(0, len(data), 977):
        fixes += stream.feed(data[i:i + 977])
    fixes += stream.flush()
    return fixes


def _tpvs(chk: Path) -> list[tuple[dict[str, object], bool]]:
    """TPV reports of a .chk with a flag: had the receiver sent a speed for that epoch yet?"""
    out = []
    epoch_time: str | None = None
    speed_seen = False
    for line in chk.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("$"):
            fields = line.lstrip("$").split("*")[0].split(",")
            kind = fields[0][2:]
            idx = _TIME_FIELD.get(kind)
            if idx is not None and len(fields) > idx and fields[idx] and fields[idx] != epoch_time:
                epoch_time, speed_seen = fields[idx], False
            if kind in ("RMC", "VTG"):
                speed_seen = True
        elif line.startswith('{"class":"TPV"'):
            out.append((json.loads(line), speed_seen))
    return out


@pytest.mark.parametrize("log", LOGS)
def test_matches_gpsd(log: str) -> None:
    fixes = _decode(DATA / log)
    by_time: dict[str, Fix] = {}
    for f in fixes:
        t = iso_utc_ms(f.time)
        assert t not in by_time, f"two epochs with time {t}"
        by_time[t] = f
    problems = []
    used_exceptions = set()
    for tpv, speed_seen in _tpvs(DATA / (log + ".chk")):
        mode = tpv.get("mode", 0)
        assert isinstance(mode, int)
        if mode < 2 or "time" not in tpv:
            continue
        t = str(tpv["time"])
        reason = EXCEPTIONS.get((log, t))
        if reason is not None:
            used_exceptions.add((log, t))
            t = iso_utc_ms(parse_iso(t) - EXCEPTION_SHIFT[reason])
        fix = by_time.get(t)
        why = None
        if fix is None:
            why = "no epoch with this time"
        elif fix.lat is None or fix.lon is None:
            why = "no position"
        elif abs(fix.lat - float(tpv["lat"])) > 1e-7 or abs(fix.lon - float(tpv["lon"])) > 1e-7:  # type: ignore[arg-type]
            why = f"position {fix.lat},{fix.lon} vs {tpv['lat']},{tpv['lon']}"
        elif speed_seen and "speed" in tpv and (
                fix.speed is None or abs(fix.speed - float(tpv["speed"])) > 0.01):  # type: ignore[arg-type]
            why = f"speed {fix.speed} vs {tpv['speed']}"
        elif "altMSL" in tpv and (fix.alt_msl is None or abs(fix.alt_msl - float(tpv["altMSL"])) > 1e-3):  # type: ignore[arg-type]
            why = f"altMSL {fix.alt_msl} vs {tpv['altMSL']}"
        if why:
            problems.append(f"{t}: {why}")
    assert not problems, f"{len(problems)} TPVs differ:\n" + "\n".join(problems[:20])
    missing = {k for k in EXCEPTIONS if k[0] == log} - used_exceptions
    assert not missing, f"listed exceptions for TPVs that do not exist: {sorted(missing)}"
    for k in used_exceptions:  # an exception must still be needed: the unshifted time has no epoch
        assert k[1] not in by_time, f"exception {k} is not needed any more: remove it"


def test_every_log_is_covered_and_compares_many_tpvs() -> None:
    """The whole set: 40 logs, and the comparison is not vacuous."""
    assert len(LOGS) == 40
    compared = skipped_no_time = 0
    for log in LOGS:
        for tpv, _ in _tpvs(DATA / (log + ".chk")):
            mode = tpv.get("mode", 0)
            if isinstance(mode, int) and mode >= 2:
                if "time" in tpv:
                    compared += 1
                else:
                    skipped_no_time += 1
    assert compared - len(EXCEPTIONS) >= 1400
    assert len(EXCEPTIONS) == 22
    assert skipped_no_time == 60


def test_log_without_checksums_gives_nothing_by_default() -> None:
    """hp58534a sends no checksums: rejected by default, as gpsd does (its .chk is empty)."""
    stream = NmeaStream(NmeaConfig(not_before=GPS_EPOCH))
    data = b"".join(x for x in (DATA / "hp58534a.log").read_bytes().splitlines(keepends=True)
                    if not x.startswith(b"#"))
    assert stream.feed(data) + stream.flush() == []
    assert stream.stats.no_checksum == 13
