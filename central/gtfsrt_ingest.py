"""GTFS-Realtime in: a journey planner's ServiceAlerts and TripUpdates turned into the control room's
deviations (``python -m central deviation ingest URL``).

What becomes what (``transit.deviations``; the GTFS-Realtime reference's fields):

- TripUpdate with ``trip.schedule_relationship = CANCELED`` → ``cancel`` (the whole trip);
- StopTimeUpdate ``SKIPPED`` → ``skip`` of that trip at that stop (``stop_id``, else ``stop_sequence``
  through the timetable);
- StopTimeUpdate ``stop_time_properties.assigned_stop_id`` (a platform change, the reference's way to
  say "another track") → ``track``, the new platform's ``platform_code`` from the timetable;
- Alert with effect ``NO_SERVICE``: informed trips → ``cancel``; informed stops → ``skip`` for the informed
  lines (all when none); other alerts → ``message`` for their stops and lines, text in Danish where the
  alert has a ``da`` translation, severity → priority, the first active period → validity.

The feed's header time stamp is the deviations' ``tst`` (data time, not this machine's clock). A
deviation the feed no longer carries is withdrawn (the ingest lists the ``gtfs-rt`` deviations the broker
holds at start, so a restart withdraws what disappeared meanwhile); a feed that cannot be fetched or
decoded changes nothing (counted, logged rate-limited) — an outage of the planner never clears a
cancellation. Only changed deviations are published again.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from transit.config import MqttConfig
from transit.deviations import (
    MAX_TEXT,
    AnyDeviation,
    Notice,
    Priority,
    StopSkip,
    TrackChange,
    TripCancellation,
    encode_deviation,
)
from transit.errors import DecodeError
from transit.ratelimit import RateLimitedLog
from transit.timeutil import from_epoch, gtfs_datetime

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 20 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
DEFAULT_SPAN = timedelta(hours=6)  # validity of a trip-level deviation when no timetable says when it runs


@dataclass
class IngestCounters:
    polls: int = 0
    fetch_errors: int = 0
    decode_errors: int = 0
    entities: int = 0
    skipped_entities: int = 0  # not placeable (no trip day, unknown stop sequence ...)
    published: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _id(*parts: str) -> str:
    text = "rt-" + "-".join(_SAFE.sub("_", p) for p in parts if p)
    if len(text) > 64:
        text = "rt-" + hashlib.sha1(text.encode()).hexdigest()[:20]
    return text


def _text(ts: Any) -> str:
    """A TranslatedString in Danish where there is one, else the first translation."""
    best = ""
    for tr in ts.translation:
        if tr.language.lower().startswith("da"):
            return str(tr.text)
        if not best:
            best = str(tr.text)
    return best


def _clean(text: str) -> str:
    text = " ".join(text.split())  # control characters and newlines become spaces
    return text[:MAX_TEXT - 1] + "…" if len(text) > MAX_TEXT else text


class Converter:
    """Feed → deviations, with the timetable (optional) for stop sequences, platforms and trip times."""

    def __init__(self, oper: str, tt: Any = None) -> None:
        self.oper = oper
        self.tt = tt
        self.counters = IngestCounters()
        self._ratelog = RateLimitedLog(log, 60.0)

    def _skip(self, reason: str, detail: str) -> None:
        self.counters.skipped_entities += 1
        self.counters.reasons[reason] = self.counters.reasons.get(reason, 0) + 1
        self._ratelog.warn(reason, "GTFS-RT entity not used: %s", detail[:200])

    def _route(self, route_id: str) -> str:
        if self.tt is not None and route_id in self.tt.routes:
            return str(self.tt.routes[route_id].name)
        return route_id

    def _trip_window(self, trip_id: str, oday: date, tst: datetime) -> tuple[datetime, datetime]:
        if self.tt is not None and trip_id in self.tt.trips and self.tt.stop_times(trip_id):
            start = gtfs_datetime(oday, self.tt.trip_start_s(trip_id), self.tt.tz)
            end = gtfs_datetime(oday, self.tt.trip_end_s(trip_id), self.tt.tz)
            return min(tst, start - timedelta(minutes=5)), max(end, tst) + timedelta(hours=1)
        return tst - DEFAULT_SPAN, tst + DEFAULT_SPAN

    def _oday(self, start_date: str, trip_id: str, tst: datetime) -> date | None:
        if start_date:
            try:
                return datetime.strptime(start_date, "%Y%m%d").date()
            except ValueError:
                return None
        if self.tt is not None and trip_id in self.tt.trips:  # the service day it is under way on
            for trip, day in self.tt.active_trips(tst, before_s=3600, after_s=3600):
                if trip.trip_id == trip_id:
                    return day  # type: ignore[no-any-return]
        return None

    def convert(self, feed: Any, now: datetime) -> list[AnyDeviation]:
        from google.transit import gtfs_realtime_pb2 as rt

        tst = from_epoch(feed.header.timestamp) if feed.header.timestamp else now
        out: list[AnyDeviation] = []
        for ent in feed.entity:
            self.counters.entities += 1
            if ent.is_deleted:
                continue
            try:
                if ent.HasField("trip_update"):
                    out += self._trip_update(ent.id, ent.trip_update, tst, rt)
                if ent.HasField("alert"):
                    out += self._alert(ent.id, ent.alert, tst, rt)
            except (ValueError, DecodeError) as exc:  # msgspec validation, a bad field: skip the entity
                self._skip("invalid", f"{ent.id}: {exc}")
        return out

    def _trip_update(self, eid: str, tu: Any, tst: datetime, rt: Any) -> list[AnyDeviation]:
        trip_id = tu.trip.trip_id
        if not trip_id:
            self._skip("no_trip_id", eid)
            return []
        oday = self._oday(tu.trip.start_date, trip_id, tst)
        if oday is None:
            self._skip("no_day", f"{eid}: trip {trip_id} without start_date, not placeable in the timetable")
            return []
        vf, vt = self._trip_window(trip_id, oday, tst)
        base: dict[str, Any] = {"oper": self.oper, "tst": tst, "valid_from": vf, "valid_to": vt, "source": "gtfs-rt"}
        route = self._route(tu.trip.route_id) if tu.trip.route_id else (
            self.tt.route_of(trip_id).name if self.tt is not None and trip_id in self.tt.trips else None)
        if tu.trip.schedule_relationship == rt.TripDescriptor.CANCELED:
            return [TripCancellation(id=_id(eid), trip_id=trip_id, oday=oday.isoformat(), route=route, **base)]
        out: list[AnyDeviation] = []
        for stu in tu.stop_time_update:
            stop = stu.stop_id or self._stop_by_seq(trip_id, stu.stop_sequence if stu.HasField("stop_sequence") else None)
            if not stop:
                self._skip("no_stop", f"{eid}: stop_time_update without a placeable stop")
                continue
            if stu.schedule_relationship == rt.TripUpdate.StopTimeUpdate.SKIPPED:
                out.append(StopSkip(id=_id(eid, "skip", stop), stop_id=stop, trip_id=trip_id, oday=oday.isoformat(),
                                    **base))
            props = stu.stop_time_properties if stu.HasField("stop_time_properties") else None
            if props is not None and props.assigned_stop_id:
                new = props.assigned_stop_id
                st = self.tt.stops.get(new) if self.tt is not None else None
                platform = (st.platform_code if st is not None and st.platform_code else new)
                where = self.tt.station_of(stop) if self.tt is not None and stop in self.tt.stops else stop
                out.append(TrackChange(id=_id(eid, "track", stop), trip_id=trip_id, oday=oday.isoformat(),
                                       stop_id=where, platform=platform, route=route, **base))
        return out

    def _stop_by_seq(self, trip_id: str, seq: int | None) -> str | None:
        if seq is None or self.tt is None or trip_id not in self.tt.trips:
            return None
        for st in self.tt.stop_times(trip_id):
            if st.stop_sequence == seq:
                return str(st.stop_id)
        return None

    def _alert(self, eid: str, a: Any, tst: datetime, rt: Any) -> list[AnyDeviation]:
        period = a.active_period[0] if a.active_period else None
        vf = from_epoch(period.start) if period is not None and period.start else tst
        vt = from_epoch(period.end) if period is not None and period.end else max(vf, tst) + timedelta(hours=24)
        prio: Priority = {rt.Alert.SEVERE: "severe", rt.Alert.WARNING: "warning"}.get(  # type: ignore[assignment]
            a.severity_level, "info")
        head, desc = _text(a.header_text), _text(a.description_text)
        text = _clean(head if not desc else f"{head.rstrip('.')}. {desc}" if head else desc)
        base: dict[str, Any] = {"oper": self.oper, "tst": tst, "valid_from": vf, "valid_to": vt, "priority": prio,
                                "text": text, "source": "gtfs-rt"}
        trips, stops, routes = [], [], []
        for ie in a.informed_entity:
            if ie.HasField("trip") and ie.trip.trip_id:
                trips.append(ie.trip)
            elif ie.stop_id:
                stops.append(ie.stop_id)
                if ie.route_id:
                    routes.append(self._route(ie.route_id))
            elif ie.route_id:
                routes.append(self._route(ie.route_id))
        stops, routes = list(dict.fromkeys(stops)), list(dict.fromkeys(routes))
        out: list[AnyDeviation] = []
        if a.effect == rt.Alert.NO_SERVICE:
            for td in trips:
                oday = self._oday(td.start_date, td.trip_id, vf)
                if oday is None:
                    self._skip("no_day", f"{eid}: trip {td.trip_id} without start_date")
                    continue
                out.append(TripCancellation(id=_id(eid, td.trip_id), trip_id=td.trip_id, oday=oday.isoformat(),
                                            **base))
            for s in stops:
                out.append(StopSkip(id=_id(eid, s), stop_id=s, routes=tuple(routes), **base))
            if stops or trips:
                return out
        if not text:
            self._skip("no_text", f"{eid}: alert without text or usable entities")
            return out
        if not stops and not routes:
            self._skip("no_target", f"{eid}: alert for no stop or line")
            return out
        out.append(Notice(id=_id(eid), stops=tuple(stops), routes=tuple(routes), **base))
        return out


def fetch(url: str, timeout_s: float = 20.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:  # noqa: S310 - the operator's configured URL
        data: bytes = r.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        raise DecodeError(f"GTFS-RT feed larger than {MAX_FEED_BYTES} bytes")
    return data


def parse(data: bytes) -> Any:
    from google.protobuf.message import DecodeError as PbDecodeError
    from google.transit import gtfs_realtime_pb2 as rt

    feed = rt.FeedMessage()
    try:
        feed.ParseFromString(data)
    except PbDecodeError as exc:
        raise DecodeError(f"not a GTFS-Realtime FeedMessage: {exc}") from None
    if not feed.header.gtfs_realtime_version:
        raise DecodeError("not a GTFS-Realtime FeedMessage (no header.gtfs_realtime_version)")
    return feed


def _key(d: AnyDeviation) -> bytes:
    """What counts as a change: everything but the time stamp."""
    return encode_deviation(msgspec.structs.replace(d, tst=d.valid_from))


def run_ingest(args: argparse.Namespace, mqtt: MqttConfig, tt: Any,
               report: Callable[[str], None] = log.info) -> int:
    """Poll ``args.url`` every ``args.interval`` s (once with ``args.once``: then ``report`` gets a summary
    and the exit status is 1 when the feed could not be read)."""
    from central.deviations import DeviationClient

    conv = Converter(args.oper, tt)
    ratelog = RateLimitedLog(log, 300.0, clock=time.monotonic)
    with DeviationClient(mqtt) as c:
        known = {d.id: _key(d) for d in c.retained(args.oper) if d.source == "gtfs-rt"}
        while True:
            conv.counters.polls += 1
            try:
                feed = parse(fetch(args.url))
            except (OSError, DecodeError) as exc:
                kind = "decode" if isinstance(exc, DecodeError) else "fetch"
                setattr(conv.counters, f"{kind}_errors", getattr(conv.counters, f"{kind}_errors") + 1)
                ratelog.warn(kind, "GTFS-RT %s failed (%s); deviations left as they are", args.url, exc)
                feed = None
            if feed is not None:
                now = datetime.now(UTC)
                devs = {d.id: d for d in conv.convert(feed, now) if d.valid_to > now}
                for dev_id, d in devs.items():
                    k = _key(d)
                    if known.get(dev_id) == k:
                        conv.counters.unchanged += 1
                        continue
                    c.publish(d, now)
                    known[dev_id] = k
                    conv.counters.published += 1
                for dev_id in sorted(set(known) - set(devs)):
                    c.withdraw(args.oper, dev_id)
                    del known[dev_id]
                    conv.counters.withdrawn += 1
                log.info("GTFS-RT %s: %d deviation(s), %d published, %d withdrawn so far", args.url, len(devs),
                         conv.counters.published, conv.counters.withdrawn)
            if args.once:
                report(f"ingested {args.url}: {len(known)} deviation(s) held; published {conv.counters.published}, "
                       f"unchanged {conv.counters.unchanged}, withdrawn {conv.counters.withdrawn}, "
                       f"entities not used {conv.counters.skipped_entities}")
                return 0 if feed is not None else 1
            time.sleep(args.interval)


__all__ = ["Converter", "IngestCounters", "fetch", "parse", "run_ingest"]
