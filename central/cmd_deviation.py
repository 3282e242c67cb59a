"""``python -m central deviation publish|list|withdraw|ingest``: the control room's deviations.

``publish KIND ...`` sends one retained, expiring deviation (``cancel``, ``skip``, ``track``, ``planned``,
``message``; docs/messages.md "Deviations"); ``list`` prints what the broker holds; ``withdraw ID`` removes
one; ``ingest URL`` turns a journey planner's GTFS-Realtime ServiceAlerts and TripUpdates into deviations
(``central.gtfsrt_ingest``). With ``--feed`` (or ``--operator``, whose feed is used) trip and stop ids are
checked against the timetable and the validity period defaults to the trip's own time. The time stamp
is the control room's system clock (an office machine kept by NTP), or ``--at`` for a replay.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from transit.cli import add_mqtt_arguments, instant, mqtt_from_args, sub_parser
from transit.errors import ConfigError

EXAMPLES = """\
rettid-central deviation publish cancel --trip 920R_MT_0_0745 --oday 2026-11-23 --text "Aflyst: signalfejl" \\
    --broker mqtts://broker:8883 --ca ca.crt --cert controlroom.crt --key controlroom.key
rettid-central deviation publish cancel --trip 920R_MT_0_0715 --from-stop hanehoved --feed data/gtfs/lokaltog-sample
rettid-central deviation publish track --trip 920R_MT_0_0715 --stop hilleroed --platform 9
rettid-central deviation publish message --stop hilleroed --priority severe --text "Elevatoren er ude af drift" \\
    --until 2026-11-23T18:00:00+01:00
rettid-central deviation list
rettid-central deviation withdraw vp-20261123-0042
rettid-central deviation ingest https://planner.example/gtfs-rt/alerts --interval 30
"""

_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _common(p: argparse.ArgumentParser) -> None:
    add_mqtt_arguments(p, tls=True)
    p.add_argument("--oper", default="lokaltog", help="operator id (the topic's <oper>; default lokaltog)")
    p.add_argument("--at", type=instant, help="time stamp instead of the system clock (replays, tests)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    pub = sub_parser(sub, "publish", help="publish a retained, expiring deviation", examples=EXAMPLES)
    kinds = pub.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind, help_ in (("cancel", "a trip cancelled, whole or from/to a stop"),
                        ("skip", "a stop not served by a trip, or by every trip of some lines"),
                        ("track", "a departure leaves from another track/stand"),
                        ("planned", "planned works: lines not serving stops, with replacement transport"),
                        ("message", "free text for stops and/or lines")):
        k = sub_parser(kinds, kind, help=help_, examples=EXAMPLES)
        _common(k)
        k.add_argument("--id", help="deviation id (letters, digits . _ -); default made from kind and time")
        k.add_argument("--text", default="", help="passenger text in Danish (up to 500 characters)")
        k.add_argument("--priority", choices=("info", "warning", "severe"), default=None,
                       help="info (default), warning or severe")
        k.add_argument("--from", dest="valid_from", type=instant, help="start of validity (default: now)")
        k.add_argument("--until", dest="valid_to", type=instant,
                       help="end of validity (default: the trip's end + 1 h with a feed, else end of the day)")
        k.add_argument("--feed", type=Path, help="GTFS feed: check trip/stop ids, default validity from the trip")
        k.add_argument("--operator", type=Path, help="operator file (its feed is used when --feed is not given)")
        if kind in ("cancel", "track"):
            k.add_argument("--trip", required=True, help="GTFS trip_id")
        if kind in ("skip",):
            k.add_argument("--trip", help="GTFS trip_id (default: every trip of --route)")
        if kind in ("cancel", "track", "skip"):
            k.add_argument("--oday", type=date.fromisoformat, help="operating day (default: today, Copenhagen)")
        if kind == "cancel":
            k.add_argument("--from-stop", help="first stop not served (a trip turned short)")
            k.add_argument("--to-stop", help="last stop not served")
            k.add_argument("--route", help="line (route_short_name); from the feed when given")
        if kind in ("skip", "track"):
            k.add_argument("--stop", required=True, help="stop_id or parent station")
        if kind == "track":
            k.add_argument("--platform", required=True, help="the new track/stand as passengers see it")
        if kind in ("skip", "planned", "message"):
            k.add_argument("--route", dest="routes", action="append", default=[], help="line, repeatable")
        if kind in ("planned", "message"):
            k.add_argument("--stop", dest="stops", action="append", default=[], help="stop_id, repeatable")
        if kind == "planned":
            k.add_argument("--replacement", choices=("bus", "taxi"), help="replacement transport")
            k.add_argument("--replacement-route", help="line name of the replacement service (e.g. 920B)")
            k.add_argument("--replacement-text", default="", help="where and how to board it")
    ls = sub_parser(sub, "list", help="print the deviations the broker holds", examples=EXAMPLES)
    _common(ls)
    ls.add_argument("--all-operators", action="store_true", help="every operator's, not only --oper")
    ls.add_argument("--json", action="store_true", help="JSON Lines instead of a table")
    wd = sub_parser(sub, "withdraw", help="withdraw a deviation (empty retained message)", examples=EXAMPLES)
    _common(wd)
    wd.add_argument("id", nargs="+", help="deviation id(s)")
    ing = sub_parser(sub, "ingest", help="GTFS-Realtime ServiceAlerts/TripUpdates from a URL as deviations",
                     examples=EXAMPLES)
    _common(ing)
    ing.add_argument("url", help="GTFS-Realtime feed URL (http(s)://, or file:// for a saved feed)")
    ing.add_argument("--feed", type=Path, help="GTFS feed: stop sequences, platforms, trip ends")
    ing.add_argument("--operator", type=Path, help="operator file (its feed is used when --feed is not given)")
    ing.add_argument("--interval", type=float, default=30.0, help="seconds between polls (default 30)")
    ing.add_argument("--once", action="store_true", help="poll once and exit")


def _timetable(args: argparse.Namespace) -> Any:
    feed = getattr(args, "feed", None)
    if feed is None and getattr(args, "operator", None) is not None:
        from transit.operator import load_operator

        feed = Path(load_operator(args.operator).feed)
    if feed is None:
        return None
    from transit.timetable import Timetable

    return Timetable.load(feed)


def _now(args: argparse.Namespace) -> datetime:
    at: datetime | None = args.at
    return at.astimezone(UTC) if at is not None else datetime.now(UTC)


def build(args: argparse.Namespace, now: datetime, tt: Any = None) -> Any:
    """The deviation the ``publish`` arguments describe (checked against ``tt`` when given)."""
    from transit import deviations as dv
    from transit.timeutil import COPENHAGEN, gtfs_datetime

    kind = args.kind
    oday = getattr(args, "oday", None) or now.astimezone(COPENHAGEN).date()
    trip: str | None = getattr(args, "trip", None)
    route = getattr(args, "route", None)
    end = None
    if tt is not None:
        if trip is not None:
            if trip not in tt.trips:
                raise ConfigError(f"trip '{trip}' is not in the timetable {tt.source}", key="--trip")
            if not tt.runs_on(trip, oday):
                raise ConfigError(f"trip '{trip}' does not run on {oday}", key="--oday")
            route = route or tt.route_of(trip).name
            end = gtfs_datetime(oday, tt.trip_end_s(trip), tt.tz)
            stops = {s.stop_id for s in tt.stop_times(trip)} | {tt.station_of(s.stop_id) for s in tt.stop_times(trip)}
            for key in ("from_stop", "to_stop", "stop"):
                v = getattr(args, key, None)
                if v is not None and v not in stops:
                    raise ConfigError(f"trip '{trip}' does not call at '{v}'", key=f"--{key.replace('_', '-')}")
        for sid in [*getattr(args, "stops", []), *([args.stop] if getattr(args, "stop", None) else [])]:
            if sid not in tt.stops:
                raise ConfigError(f"stop '{sid}' is not in the timetable", key="--stop")
        names = {r.name for r in tt.routes.values()}
        for r in getattr(args, "routes", []):
            if r not in names:
                raise ConfigError(f"line '{r}' is not in the timetable", key="--route")
    valid_from = args.valid_from.astimezone(UTC) if args.valid_from else now
    if args.valid_to:
        valid_to = args.valid_to.astimezone(UTC)
    elif end is not None:
        valid_to = end + timedelta(hours=1)
    else:  # the end of the operating day (GTFS days run past midnight)
        valid_to = gtfs_datetime(oday, 28 * 3600)
    dev_id = args.id or f"{kind}-{now.strftime('%Y%m%dT%H%M%S')}"
    if not _ID.match(dev_id):
        raise ConfigError(f"id '{dev_id}' may use only letters, digits, '.', '_' and '-' (64 at most)", key="--id")
    common: dict[str, Any] = {"id": dev_id, "oper": args.oper, "tst": now, "valid_from": valid_from,
                              "valid_to": valid_to, "text": args.text}
    if args.priority:
        common["priority"] = args.priority
    if kind == "cancel":
        assert trip is not None  # required by its parser
        d: Any = dv.TripCancellation(**common, trip_id=trip, oday=oday.isoformat(), route=route,
                                     from_stop=args.from_stop, to_stop=args.to_stop)
    elif kind == "skip":
        d = dv.StopSkip(**common, stop_id=args.stop, trip_id=trip, oday=oday.isoformat() if trip else None,
                        routes=tuple(args.routes))
    elif kind == "track":
        assert trip is not None
        d = dv.TrackChange(**common, trip_id=trip, oday=oday.isoformat(), stop_id=args.stop, platform=args.platform,
                           route=route)
    elif kind == "planned":
        if not args.routes:
            raise ConfigError("planned works need at least one --route", key="--route")
        repl = None
        if args.replacement:
            repl = dv.Replacement(mode=args.replacement, route=args.replacement_route, text=args.replacement_text)
        d = dv.PlannedDeviation(**common, routes=tuple(args.routes), stops=tuple(args.stops), replacement=repl)
    else:
        d = dv.Notice(**common, stops=tuple(args.stops), routes=tuple(args.routes))
    try:
        dv.check_deviation(d)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return d


def run(args: argparse.Namespace) -> int:
    from central.deviations import BrokerRefusedError

    try:
        return _run(args)
    except BrokerRefusedError as exc:  # a runtime failure (exit 1), not bad input
        sys.stderr.write(f"deviation: {exc}\n")
        return 1


def _run(args: argparse.Namespace) -> int:
    from central.deviations import DeviationClient

    mqtt = mqtt_from_args(args)
    if args.action == "ingest":
        from central.gtfsrt_ingest import run_ingest

        return int(run_ingest(args, mqtt, _timetable(args), report=print))
    now = _now(args)
    if args.action == "publish":
        d = build(args, now, _timetable(args))
        with DeviationClient(mqtt) as c:
            exp = c.publish(d, now)
        print(f"published {d.kind} {d.id} (valid {d.valid_from.isoformat()} .. {d.valid_to.isoformat()}, "
              f"broker keeps it {exp} s)")
        return 0
    if args.action == "withdraw":
        with DeviationClient(mqtt) as c:
            for i in args.id:
                c.withdraw(args.oper, i)
                print(f"withdrawn {i}")
        return 0
    from transit.deviations import to_builtins

    with DeviationClient(mqtt) as c:
        devs = c.retained(None if args.all_operators else args.oper)
    if args.json:
        import json

        for d in devs:
            sys.stdout.write(json.dumps(to_builtins(d), ensure_ascii=False) + "\n")
        return 0
    if not devs:
        print("no deviations")
        return 0
    print(f"{'id':<24} {'kind':<8} {'valid from':<17} {'valid to':<17} {'prio':<8} what")
    for d in devs:
        what = _what(d)
        print(f"{d.id:<24} {d.kind:<8} {d.valid_from:%Y-%m-%d %H:%M} {d.valid_to:%Y-%m-%d %H:%M}"
              f" {d.priority:<8} {what}")
    return 0


def _what(d: Any) -> str:
    parts = []
    for key in ("trip_id", "oday", "stop_id", "from_stop", "to_stop", "platform"):
        v = getattr(d, key, None)
        if v:
            parts.append(f"{key}={v}")
    for key in ("routes", "stops"):
        v = getattr(d, key, None)
        if v:
            parts.append(f"{key}={','.join(v)}")
    if d.text:
        parts.append(repr(d.text[:60]))
    return " ".join(parts)
