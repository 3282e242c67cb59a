"""NMEA 0183 decoding and per-epoch fix assembly (pure: no clock, no I/O).

Hand-written rather than pynmea2 because
- GPS week rollover: dates before a configurable "not before" day are moved forward by 1024 weeks,
  as gpsd does; pynmea2 returns the receiver's date as is;
- our fix model: pynmea2 parses single sentences, we need epochs assembled across GGA/RMC/GSA/... with
  fix mode, quality and counters, and must never raise on bad input.
Not for speed: measured in one process on the same sentences (``python -m bench nmea_ratio_vs_pynmea2``)
the whole decoder — fields converted, epochs assembled — runs about as fast as ``pynmea2.parse`` alone
(0.97-1.29x) and 2.3-2.8x as fast as pynmea2 with the fix fields read; docs/architecture.md.

Epochs are assembled by their time fields, not by arrival order. Every sentence that carries a UTC
time of day (GGA, RMC, GNS, GLL, GST, ZDA) joins the epoch with that time, whichever epoch was being
received in between: some receivers send the RMC of one epoch after the GGA of the next, or interleave
talkers, and no fix may mix the position of one second with the speed or date of another. Sentences
without a time (VTG, GSA) belong to the epoch of the timed sentence before them (a receiver sends them
right after the sentence they complement), or, after an epoch was emitted, to the newest epoch begun
(or the next one). An epoch is
emitted
1. at the learned end of cycle: when two consecutive epochs ended with the same sentence (address and
   its repeat index, e.g. the 4th ``GNGSA`` in a row), that sentence ends the next epochs at once, so
   the fix is emitted without waiting for the next cycle (gpsd learns its cycle end the same way);
2. otherwise when the epoch after the next one begins (the fix is then two cycles late): the epoch
   before the newest stays open, its RMC may still come after the newest's GGA. A timed sentence for
   an epoch already emitted is counted as ``late`` and dropped, and the learning starts over.
Epochs are emitted in time order. :meth:`FixAssembler.flush` emits the open epochs at the end of the input.

Dates come from RMC/ZDA; epochs without one use the last date seen (advanced a day when the time of day
wraps past midnight). Epochs before any date is known cannot be placed in time and are counted
(``epochs_without_date``), not emitted: records must never be stamped with the wall clock.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from math import hypot, isfinite
from operator import xor

from hw.gnss.fix import Fix, FixMode
from transit.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

KNOTS_TO_MPS = 1852.0 / 3600.0
KMH_TO_MPS = 1.0 / 3.6
# The start of GPS week 2048 (the last 10-bit week-number rollover). A receiver with the rollover bug
# reports dates 1024 weeks too early, i.e. before this day; no current date can be earlier.
DEFAULT_NOT_BEFORE = date(2019, 4, 7)
ROLLOVER = timedelta(weeks=1024)
KNOWN_TALKERS = frozenset({"GP", "GN", "GL", "GA", "GB", "BD", "GQ"})
# Standard sentences we recognise but do not need for a fix (satellites in view, text, ...).
IGNORED_TYPES = frozenset({"GSV", "GBS", "TXT", "GRS", "DTM", "HDT", "THS", "RLM", "VLW", "ALM"})
# GNS mode characters → GGA-style quality (NMEA 4.10 table).
_GNS_QUALITY = {"A": 1, "D": 2, "P": 3, "R": 4, "F": 5, "E": 6, "M": 7, "S": 8}
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class NmeaConfig:
    """How strict the decoder is. ``not_before``: dates earlier than this get +1024 weeks."""

    require_checksum: bool = True
    not_before: date = DEFAULT_NOT_BEFORE
    max_line: int = 256  # bytes; NMEA allows 82, proprietary sentences run longer
    log_interval_s: float = 60.0


@dataclass(slots=True)
class NmeaStats:
    """Counters of everything the decoder saw; nothing is dropped without being counted here."""

    good: int = 0  # valid sentences (checksum OK), decoded or recognised
    checksum_errors: int = 0
    no_checksum: int = 0  # rejected because the checksum was missing (require_checksum)
    garbage_bytes: int = 0  # bytes outside any sentence (noise, boot banners, "$$" doubles)
    unknown: int = 0  # valid sentences of types we do not know (incl. proprietary $P...)
    ignored: int = 0  # standard sentences we know but do not need (GSV, TXT, ...)
    other_talkers: int = 0  # decoded sentences from talkers outside KNOWN_TALKERS
    malformed: int = 0  # checksum OK but fields unusable (bad time, short sentence, ...)
    too_long: int = 0  # lines longer than max_line (dropped)
    late: int = 0  # timed sentences for an epoch already emitted
    rollover_fixed: int = 0  # dates moved forward by 1024 weeks
    epochs_without_date: int = 0  # epochs before any date was known (not emitted)
    fixes: int = 0  # epochs emitted

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _Epoch:
    """Mutable accumulator for one receiver cycle."""

    __slots__ = ("tod", "date", "lat", "lon", "pos_rank", "alt", "speed", "speed_rank", "track",
                 "gsa_mode", "quality", "hdop", "sats", "gsa_sats", "eph", "n", "last_addr", "run", "untimed")

    def __init__(self) -> None:
        self.tod: int | None = None  # time of day, ms
        self.date: date | None = None
        self.lat: float | None = None
        self.lon: float | None = None
        self.pos_rank = 0
        self.alt: float | None = None
        self.speed: float | None = None
        self.speed_rank = 0
        self.track: float | None = None
        self.gsa_mode = 0
        self.quality = 0
        self.hdop: float | None = None
        self.sats: int | None = None
        self.gsa_sats = 0
        self.eph: float | None = None
        self.n = 0
        self.last_addr = ""
        self.run = 0
        self.untimed: set[str] = set()  # addresses of sentences without a time applied here


def _tod_ms(s: str) -> int:
    """``hhmmss[.sss]`` → milliseconds of the day; ValueError when malformed."""
    if len(s) < 6 or not s[:6].isdigit():
        raise ValueError(f"bad time '{s}'")
    h = int(s[0:2])
    m = int(s[2:4])
    sec = float(s[4:])
    if h > 23 or m > 59 or sec >= 61.0:
        raise ValueError(f"bad time '{s}'")
    return (h * 3600 + m * 60) * 1000 + round(sec * 1000.0)


def _num(s: str) -> float:
    """A finite float (``float()`` also accepts "nan", "inf", which must never reach a Fix)."""
    v = float(s)
    if not isfinite(v):
        raise ValueError(f"not a finite number '{s}'")
    return v


def _day(y: int, m: int, d: int) -> date:
    if not 1980 <= y <= 2200:  # GPS time starts in 1980; later years are corrupt input
        raise ValueError(f"implausible year {y}")
    return date(y, m, d)


def _coord(v: str, hemi: str, neg: str, limit: float) -> float:
    """``dddmm.mmmm`` plus hemisphere → signed degrees; ValueError when malformed."""
    dot = v.find(".")
    if dot < 0:
        dot = len(v)
    if dot < 3:
        raise ValueError(f"bad coordinate '{v}'")
    minutes = float(v[dot - 2:])
    deg = int(v[:dot - 2]) + minutes / 60.0
    if not (0.0 <= minutes < 60.0) or not 0.0 <= deg <= limit or hemi not in ("N", "S", "E", "W"):
        raise ValueError(f"bad coordinate '{v}{hemi}'")
    return -deg if hemi == neg else deg


class FixAssembler:
    """Decode NMEA sentences and assemble them into one :class:`Fix` per receiver epoch.

    Pure: ``feed`` takes one line (``str`` or ``bytes``, with or without CR/LF) and returns the fixes it
    completed. Never raises on bad input; problems go to :attr:`stats` and a rate-limited log.
    """

    def __init__(self, config: NmeaConfig | None = None, stats: NmeaStats | None = None,
                 warn: RateLimitedLog | None = None) -> None:
        self.config = config or NmeaConfig()
        self.stats = stats if stats is not None else NmeaStats()
        # paced by the monotonic clock, not data time: garbage comes when there is no data time (see
        # transit.ratelimit); it only decides what is logged, never what is decoded
        self.warn = warn or RateLimitedLog(log, self.config.log_interval_s, clock=time.monotonic)
        self._open: list[_Epoch] = []  # epochs with a time, not yet emitted (creation order)
        self._cur = _Epoch()  # where sentences without a time go (may be a fresh epoch without a time)
        self._date: date | None = None  # last known date (carried to epochs without RMC/ZDA)
        self._day0: datetime | None = None  # midnight UTC of _date
        self._prev_tod: int | None = None  # time of day of the last closed epoch
        self._emitted: deque[int] = deque(maxlen=4)  # times of day of the last epochs emitted
        self._cycle_end: tuple[str, int] | None = None
        self._candidate: tuple[str, int] | None = None
        self._tod_cache = ("", 0)
        self._skip = ""  # set by _at() when the current sentence is not applied: "notime" or "late"
        self._require = self.config.require_checksum
        self._not_before = self.config.not_before
        self._handlers = {
            "GGA": self._gga, "RMC": self._rmc, "GNS": self._gns, "VTG": self._vtg,
            "GSA": self._gsa, "GST": self._gst, "ZDA": self._zda, "GLL": self._gll,
        }

    # -- input ----------------------------------------------------------------------------------
    def feed(self, sentence: str | bytes) -> list[Fix]:
        """Decode one line; return the fixes of the epochs it completed (usually none or one)."""
        line = sentence.encode("latin-1", "replace") if isinstance(sentence, str) else sentence
        out: list[Fix] = []
        self.decode_line(line.strip(), out)
        return out

    def flush(self) -> list[Fix]:
        """End of input: emit the open epochs (those with a time), oldest first."""
        out: list[Fix] = []
        for ep in self._by_time():
            self._emit(ep, out)
        self._open.clear()
        self._cur = _Epoch()
        return out

    def decode_line(self, line: bytes, out: list[Fix]) -> None:
        """Decode one stripped line into ``out``: it may hold noise, ``$$`` and several (possibly
        truncated) sentences. Used by :class:`~hw.gnss.stream.NmeaStream`, which does the framing."""
        if not line:
            return
        st = self.stats
        parts = line.split(b"$")
        if parts[0]:
            st.garbage_bytes += len(parts[0])
            self.warn.warn("garbage", "NMEA: %d noise byte(s) outside sentences: %r",
                            len(parts[0]), parts[0][:40])
        for seg in parts[1:]:
            if not seg:
                st.garbage_bytes += 1  # a doubled "$"
                continue
            self._segment(seg, out)

    def _segment(self, seg: bytes, out: list[Fix]) -> None:
        """``seg`` is everything after one ``$``: body, then ``*HH`` when the sender added it."""
        st = self.stats
        star = seg.rfind(b"*")
        if star >= 0:
            body = seg[:star]
            hh = seg[star + 1:star + 3]
            try:
                ok = len(hh) == 2 and int(hh, 16) == reduce(xor, body, 0)
            except ValueError:
                ok = False
            if not ok:
                st.checksum_errors += 1
                self.warn.warn("checksum", "NMEA: checksum error in %r", seg[:90])
                return
            if len(seg) > star + 3 and seg[star + 3:].strip():
                st.garbage_bytes += len(seg) - star - 3
        elif self._require:
            st.no_checksum += 1
            self.warn.warn("no_checksum", "NMEA: sentence without checksum rejected: %r", seg[:90])
            return
        else:
            body = seg
        text = body.decode("latin-1")
        f = text.split(",")
        addr = f[0]
        if addr[:1] == "P" or len(addr) != 5:
            st.good += 1
            st.unknown += 1
            return
        handler = self._handlers.get(addr[2:])
        st.good += 1
        if handler is None:
            if addr[2:] in IGNORED_TYPES:
                st.ignored += 1
            else:
                st.unknown += 1
            return
        if addr[:2] not in KNOWN_TALKERS:
            st.other_talkers += 1
        self._skip = ""
        try:
            handler(f, out)
        except (ValueError, IndexError, OverflowError) as exc:
            st.malformed += 1
            self.warn.warn("malformed", "NMEA: malformed %s: %s", addr, exc)
            return
        if self._skip == "late":
            return  # belongs to an epoch already emitted (counted in _at)
        ep = self._cur
        if not self._skip:
            ep.n += 1
        # Sentences without a time still mark the receiver's cycle structure, so they take part in
        # learning the end of cycle.
        if addr == ep.last_addr:
            ep.run += 1
        else:
            ep.last_addr = addr
            ep.run = 0
        if self._cycle_end is not None and self._cycle_end[0] == addr and self._cycle_end[1] == ep.run:
            self._end_cycle(ep, out)

    # -- epochs ---------------------------------------------------------------------------------
    def _at(self, tstr: str, out: list[Fix]) -> _Epoch | None:
        """The epoch a sentence with time ``tstr`` belongs to (opening a new one, and emitting older
        ones, when the time is new); None when the sentence must not be applied (no time, or late for
        an epoch already emitted)."""
        if not tstr:
            self._skip = "notime"
            return None  # e.g. "$GPRMC,,V,,,..." while the receiver has no time yet: nothing to place
        if tstr == self._tod_cache[0]:
            tod = self._tod_cache[1]
        else:
            tod = _tod_ms(tstr)
            self._tod_cache = (tstr, tod)
        cur = self._cur
        if cur.tod == tod:
            return cur
        for ep in self._open:
            if ep.tod == tod:
                # a sentence of an epoch still open (sent after the next epoch began, or another
                # talker's): it joins its own epoch; what came without a time since the last emission
                # belongs there too
                if cur.tod is None and cur.n:
                    _merge(cur, ep)
                self._cur = ep
                return ep
        if tod in self._emitted:
            self.stats.late += 1
            self.warn.warn("late", "NMEA: sentence for an epoch already emitted; relearning the cycle end")
            self._cycle_end = self._candidate = None
            self._skip = "late"
            return None
        ep = cur if cur.tod is None else _Epoch()
        ep.tod = tod
        self._open.append(ep)
        self._cur = ep
        self._retire(out)
        return ep

    def _untimed(self, addr: str) -> _Epoch:
        """The epoch a sentence without a time belongs to: the current one, unless it already had
        this sentence (not just before: a repeated GSA run is one set) and a newer epoch has begun:
        then it is the newer epoch's (the current one was a late sentence's)."""
        cur = self._cur
        if addr in cur.untimed and cur.last_addr != addr and self._open and self._open[-1] is not cur:
            self._cur = self._open[-1]
        self._cur.untimed.add(addr)
        return self._cur

    def _by_time(self) -> list[_Epoch]:
        """Open epochs oldest first (times of day compared across midnight relative to the newest)."""
        if len(self._open) < 2:
            return list(self._open)
        ref = self._open[-1].tod
        assert ref is not None

        def age(ep: _Epoch) -> int:
            assert ep.tod is not None
            d = (ref - ep.tod) % _DAY_MS
            return d if d <= _DAY_MS // 2 else d - _DAY_MS

        return sorted(self._open, key=age, reverse=True)

    def _retire(self, out: list[Fix]) -> None:
        """A new epoch began: emit the epochs older than the one before it (that one stays open: its
        RMC may still come after the new epoch's GGA)."""
        if len(self._open) <= 2:
            return
        order = self._by_time()
        for ep in order[:-2]:
            if ep is self._cur:
                continue
            # ended by a time change: learn the end of cycle from it
            if ep.n:
                key = (ep.last_addr, ep.run)
                if self._cycle_end is not None:
                    self._cycle_end = None
                elif key == self._candidate:
                    self._cycle_end = key
                self._candidate = key
            self._open.remove(ep)
            self._emit(ep, out)

    def _end_cycle(self, ep: _Epoch, out: list[Fix]) -> None:
        """The learned end-of-cycle sentence completed ``ep``: emit it (and any older open epoch)."""
        if ep.tod is None:
            self._cur = _Epoch()  # a cycle without any time (receiver without time yet): nothing to emit
            return
        for old in self._by_time():
            if old is ep:
                break
            self._open.remove(old)
            self._emit(old, out)
        self._open.remove(ep)
        self._emit(ep, out)
        # what comes next without a time belongs to the epoch being received (a newer one already
        # begun when this one's sentences came late), else to the next one
        self._cur = self._open[-1] if self._open else _Epoch()

    def _emit(self, ep: _Epoch, out: list[Fix]) -> None:
        assert ep.tod is not None
        self._emitted.append(ep.tod)
        fix = self._fix(ep)
        if fix is not None:
            out.append(fix)

    def _fix(self, ep: _Epoch) -> Fix | None:
        assert ep.tod is not None
        tod = ep.tod
        if ep.date is not None:
            if ep.date != self._date:
                self._date = ep.date
                self._day0 = datetime(ep.date.year, ep.date.month, ep.date.day, tzinfo=UTC)
        elif self._day0 is not None and self._prev_tod is not None and tod < self._prev_tod - _DAY_MS // 2:
            self._day0 += timedelta(days=1)  # time of day wrapped past midnight without a new date
            self._date = self._day0.date()
        self._prev_tod = tod
        if self._day0 is None:
            self.stats.epochs_without_date += 1
            return None
        lat = ep.lat
        if lat is None:
            mode = FixMode.NO_FIX
        elif ep.gsa_mode >= 2:
            mode = FixMode(ep.gsa_mode)
        else:
            mode = FixMode.FIX_3D if ep.alt is not None else FixMode.FIX_2D
        sats = ep.sats if ep.sats is not None else (ep.gsa_sats or None)
        self.stats.fixes += 1
        return Fix(time=self._day0 + timedelta(milliseconds=tod), lat=lat, lon=ep.lon, alt_msl=ep.alt,
                   speed=ep.speed, track=ep.track, mode=mode, quality=ep.quality, hdop=ep.hdop,
                   sats_used=sats, eph=ep.eph, sentences=ep.n)

    def _set_date(self, ep: _Epoch, d: date) -> None:
        if d < self._not_before:
            d += ROLLOVER
            self.stats.rollover_fixed += 1
            self.warn.warn("rollover", "NMEA: date before %s moved forward 1024 weeks to %s (GPS week "
                            "rollover)", self._not_before, d)
        ep.date = d

    # -- sentences (f = fields, f[0] = address) -------------------------------------------------
    # Each handler converts every field it needs *before* touching the epoch, so a malformed sentence
    # (ValueError/IndexError) changes nothing; _at() parses the time first for the same reason.
    def _gga(self, f: list[str], out: list[Fix]) -> None:
        # GGA,time,lat,N,lon,E,quality,numSV,HDOP,alt,M,sep,M,diffAge,diffStation
        q = int(f[6]) if f[6] else 0
        if not 0 <= q <= 9:
            raise ValueError(f"bad quality '{f[6]}'")
        sats = int(f[7]) if f[7] else None
        hdop = _num(f[8]) if f[8] else None
        lat = lon = alt = None
        if q > 0 and f[2] and f[4]:
            lat = _coord(f[2], f[3], "S", 90.0)
            lon = _coord(f[4], f[5], "W", 180.0)
            alt = _num(f[9]) if f[9] else None
        ep = self._at(f[1], out)
        if ep is None:
            return
        ep.quality = q
        if sats is not None:
            ep.sats = sats
        if hdop is not None:
            ep.hdop = hdop
        if lat is not None:
            ep.lat, ep.lon, ep.pos_rank = lat, lon, 3
            if alt is not None:
                ep.alt = alt

    def _gns(self, f: list[str], out: list[Fix]) -> None:
        # GNS,time,lat,N,lon,E,modes,numSV,HDOP,alt,sep,diffAge,diffStation[,navStatus]
        q = 0
        for c in f[6]:
            q = _GNS_QUALITY.get(c, 0)
            if q:
                break
        sats = int(f[7]) if f[7] else None
        hdop = _num(f[8]) if f[8] else None
        lat = lon = alt = None
        if q and f[2] and f[4]:
            lat = _coord(f[2], f[3], "S", 90.0)
            lon = _coord(f[4], f[5], "W", 180.0)
            alt = _num(f[9]) if f[9] else None
        ep = self._at(f[1], out)
        if ep is None:
            return
        if sats is not None:
            ep.sats = sats
        if hdop is not None:
            ep.hdop = hdop
        if lat is not None:
            if not ep.quality:
                ep.quality = q
            ep.lat, ep.lon, ep.pos_rank = lat, lon, 3
            if alt is not None:
                ep.alt = alt

    def _rmc(self, f: list[str], out: list[Fix]) -> None:
        # RMC,time,status,lat,N,lon,E,speed kn,track,ddmmyy,magvar,E[,mode[,navStatus]]
        d = f[9]
        day = None
        if len(d) == 6 and d.isdigit():
            yy = int(d[4:6])
            day = _day(1900 + yy if yy >= 80 else 2000 + yy, int(d[2:4]), int(d[0:2]))
        valid = f[2] == "A" and (len(f) < 13 or f[12] != "N")
        lat = lon = speed = track = None
        if valid:
            if f[3] and f[5]:
                lat = _coord(f[3], f[4], "S", 90.0)
                lon = _coord(f[5], f[6], "W", 180.0)
            speed = _num(f[7]) * KNOTS_TO_MPS if f[7] else None
            track = _num(f[8]) if f[8] else None
        ep = self._at(f[1], out)
        if ep is None:
            return
        if day is not None:
            self._set_date(ep, day)
        if lat is not None and ep.pos_rank <= 2:
            ep.lat, ep.lon, ep.pos_rank = lat, lon, 2
        if speed is not None:
            ep.speed, ep.speed_rank = speed, 2
        if track is not None:
            ep.track = track

    def _gll(self, f: list[str], out: list[Fix]) -> None:
        # GLL,lat,N,lon,E,time,status[,mode]
        lat = lon = None
        if f[6] == "A" and (len(f) < 8 or f[7] != "N") and f[1] and f[3]:
            lat = _coord(f[1], f[2], "S", 90.0)
            lon = _coord(f[3], f[4], "W", 180.0)
        ep = self._at(f[5], out)
        if ep is not None and lat is not None and ep.pos_rank <= 1:
            ep.lat, ep.lon, ep.pos_rank = lat, lon, 1

    def _zda(self, f: list[str], out: list[Fix]) -> None:
        # ZDA,time,dd,mm,yyyy,tzh,tzm
        day = _day(int(f[4]), int(f[3]), int(f[2])) if f[2] and f[3] and f[4] else None
        ep = self._at(f[1], out)
        if ep is not None and day is not None:
            self._set_date(ep, day)

    def _gst(self, f: list[str], out: list[Fix]) -> None:
        # GST,time,rms,major,minor,orient,sigmaLat,sigmaLon,sigmaAlt
        eph = hypot(_num(f[6]), _num(f[7])) if f[6] and f[7] else None
        if eph is not None and not isfinite(eph):
            raise ValueError("GST sigma out of range")
        ep = self._at(f[1], out)
        if ep is not None and eph is not None:
            ep.eph = eph

    def _vtg(self, f: list[str], out: list[Fix]) -> None:
        # VTG,trackT,T,trackM,M,speed kn,N,speed km/h,K[,mode]
        if len(f) > 9 and f[9] == "N":
            return
        if f[5]:
            speed: float | None = _num(f[5]) * KNOTS_TO_MPS
        elif f[7]:
            speed = _num(f[7]) * KMH_TO_MPS
        else:
            speed = None
        track = _num(f[1]) if f[1] else None
        ep = self._untimed(f[0])
        if speed is not None and ep.speed_rank < 2:
            ep.speed, ep.speed_rank = speed, 1
        if track is not None and ep.track is None:
            ep.track = track

    def _gsa(self, f: list[str], out: list[Fix]) -> None:
        # GSA,sel,mode,sv1..sv12,PDOP,HDOP,VDOP[,systemId]
        m = int(f[2]) if f[2] else 0
        if not 0 <= m <= 3:
            raise ValueError(f"bad fix mode '{f[2]}'")
        used = sum(1 for s in f[3:15] if s)
        hdop = _num(f[16]) if f[16] else None
        ep = self._untimed(f[0])
        if m > ep.gsa_mode:
            ep.gsa_mode = m
        ep.gsa_sats += used
        if hdop is not None and ep.hdop is None:
            ep.hdop = hdop


def _merge(src: _Epoch, dst: _Epoch) -> None:
    """Sentences without a time collected in ``src`` belong to ``dst`` (which keeps what it has)."""
    if src.speed is not None and src.speed_rank > dst.speed_rank:
        dst.speed, dst.speed_rank = src.speed, src.speed_rank
    if dst.track is None:
        dst.track = src.track
    dst.gsa_mode = max(dst.gsa_mode, src.gsa_mode)
    dst.gsa_sats += src.gsa_sats
    if dst.hdop is None:
        dst.hdop = src.hdop
    dst.n += src.n
