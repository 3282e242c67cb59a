"""Spoken announcements in Danish: what to say, and when.

Pure, like the frieze: :class:`Announcer` is fed the frieze's view (data time inside) and the
:class:`DeviationFacts` of the trip being driven, and returns the :class:`Announcement` s that are new —
so a replay says exactly the same things at the same data times, and every text is tested without audio.
Saying them (espeak-ng, the loudspeaker, the queue that keeps them from overlapping, quiet hours) is
:mod:`onboard.passinfo.speaker`.

What is said (``docs/passenger-info.md``, "Announcements"):

- ``origin`` — boarding at the first stop: "Velkommen. Linje 920R mod Hundested Havn St.";
- ``next_stop`` — once per next stop, after leaving the previous one: "Næste station: Skævinge St." (a bus:
  "Næste stop"), the new track/stand when the control room changed it, the delay once the frieze shows it;
- ``terminus`` — at the last stop: "Endestation. Husk at tage alt med. Tak for rejsen.";
- ``connections`` — after the next stop, the departures there that the frieze lists, each with its
  track/stand, "aflyst" when cancelled;
- ``deviation`` — once per change of what the control room's deviations mean for the rest of this trip:
  cancelled, turned short, stops not served, a changed track, the control room's texts (severe first).

Each announcement has a priority (deviations before stops before connections) and a ``slot``/``key``: a
newer next stop makes the queued announcements of an older one stale (the queue drops them rather than
playing them late).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from onboard.passinfo.frieze import Connection, FriezeView
from transit.deviations import PRIORITIES, DepartureRef, Deviation, DisplayMessage, effect, trip_stop_index
from transit.timeutil import COPENHAGEN, ensure_utc
from transit.yamlconf import Node

Kind = Literal["origin", "next_stop", "terminus", "connections", "deviation"]
Mode = Literal["train", "bus"]

#: lower is said first: what changed on a bad day, then where we are, then where to change
PRIORITY: dict[str, int] = {"deviation": 0, "origin": 1, "next_stop": 1, "terminus": 1, "connections": 2}


@dataclass(frozen=True)
class Announcement:
    tst: datetime          # data time of the view that caused it
    kind: Kind
    stop_id: str           # the next stop it is about ("" for a deviation without one)
    text: str              # Danish, as a passenger would read it
    speech: str            # the same, with abbreviations spelt out for the speech synthesiser
    key: str = ""          # what it is about: trip, day and next stop; or the deviations' content
    slot: str = "stop"     # a queued announcement is stale once a newer one of its slot has another key

    @property
    def priority(self) -> int:
        return PRIORITY[self.kind]


_ABBREVIATIONS = [
    (re.compile(r"\bSt\.(?=\s+[A-ZÆØÅ]|$)"), "Station."),  # "St." that also ends the sentence
    (re.compile(r"\bSt\.(?=[\s.,;:])"), "Station"),
    (re.compile(r"\bSkt\.(?=\s|$)"), "Sankt"),
    (re.compile(r"\bvej\.(?=\s|$)"), "vej"),
    (re.compile(r"\bca\.(?=\s)"), "cirka"),
    (re.compile(r"\b0?(\d{1,2}):00\b"), r"\1"),     # "klokken 07:00" is said "klokken syv"
    (re.compile(r"\b0(\d):(\d\d)\b"), r"\1:\2"),   # "07:45": "syv femogfyrre", not "nul syv ..."
]


def speech_text(text: str) -> str:
    """Spell out what a synthesiser would read wrongly ("St." → "Station")."""
    for rx, full in _ABBREVIATIONS:
        text = rx.sub(full, text)
    return text.replace("..", ".")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _clock(dt: datetime) -> str:
    return ensure_utc(dt).astimezone(COPENHAGEN).strftime("%H:%M")


def _join(names: Sequence[str]) -> str:
    """"A", "A og B", "A, B og C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def _minutes(n: int) -> str:
    return "1 minut" if n == 1 else f"{n} minutter"


# ------------------------------------------------------------------------------------- words per mode
@dataclass(frozen=True)
class Words:
    """What a train and a bus are called, and where they stop (the frieze's words)."""

    vehicle: str      # "toget" / "bussen"
    this: str         # "dette tog" / "denne bus"
    next_stop: str    # "Næste station" / "Næste stop"
    platform: str     # "spor" / "stoppested"
    verb: str         # "ankommer" / "holder"
    at: str           # "til spor" / "ved stoppested"


WORDS: dict[str, Words] = {
    "train": Words("toget", "dette tog", "Næste station", "spor", "ankommer", "til spor"),
    "bus": Words("bussen", "denne bus", "Næste stop", "stoppested", "holder", "ved stoppested"),
}


def mode_of_route_type(route_type: int) -> Mode:
    """GTFS route_type → the words used: 3 and the extended bus types 700–799 are buses, the rest rail."""
    return "bus" if route_type == 3 or 700 <= route_type < 800 else "train"


def route_modes(tt: Any) -> dict[str, Mode]:
    """Line name → mode for every route of a ``transit.timetable.Timetable`` (for connections)."""
    return {r.name: mode_of_route_type(r.route_type) for r in tt.routes.values()}


# ------------------------------------------------------------------------------------------ deviations
@dataclass(frozen=True)
class DeviationFacts:
    """What the control room's deviations mean for the trip being driven, from its next stop on."""

    cancelled: bool = False              # the rest of the trip, from the next stop, is cancelled
    ends_at: str | None = None           # turned short: the last stop still served (name)
    skipped: tuple[str, ...] = ()        # names of later stops not served (before any cancelled tail)
    next_skipped: bool = False           # the next stop itself is not served
    platform: str | None = None          # the next stop's new track/stand
    texts: tuple[str, ...] = ()          # the deviations' passenger texts, severe first
    ids: tuple[str, ...] = field(default=(), compare=False)

    @property
    def any(self) -> bool:
        return bool(self.cancelled or self.ends_at or self.skipped or self.next_skipped or self.platform
                    or self.texts)


NO_FACTS = DeviationFacts()


def deviation_facts(tt: Any, trip_id: str, day: date, next_seq: int | None, deviations: Sequence[Deviation],
                    notices: Iterable[DisplayMessage] = ()) -> DeviationFacts:
    """Apply ``deviations`` (``transit.deviations``, the unit's current ones) to the stops of ``trip_id`` on
    ``day`` from stop sequence ``next_seq`` on; ``notices`` are the message-line texts for the next stop and
    the line (``DeviationStore.messages``). Pure: the timetable and the deviations in, facts out."""
    if next_seq is None:
        return NO_FACTS
    sched = tt.trip_schedule(trip_id, day)
    start = next((i for i, s in enumerate(sched) if s.stop_sequence == next_seq), None)
    if start is None:
        return NO_FACTS
    route = tt.route_of(trip_id).name
    index = trip_stop_index(tt, trip_id)
    oday = day.isoformat()
    statuses: list[str] = []
    texts: list[tuple[str, str]] = []
    ids: list[str] = []
    platform = None
    for k, s in enumerate(sched[start:]):
        ref = DepartureRef(trip_id, oday, route, s.stop_id, s.departure if start + k < len(sched) - 1 else s.arrival,
                           tt.station_of(s.stop_id), index(s.stop_id))
        e = effect(deviations, ref, index) if deviations else None
        statuses.append("SCHEDULED" if e is None else e.status)
        if e is not None and e.ids:
            texts += e.texts
            ids += e.ids
            if k == 0 and e.platform is not None:
                platform = e.platform
    for m in notices:
        texts.append((m.priority, m.text))
        ids.append(m.id)
    # the cancelled tail: the longest run of CANCELED stops that reaches the trip's end
    tail = len(statuses)
    while tail > 0 and statuses[tail - 1] == "CANCELED":
        tail -= 1
    cancelled = tail == 0 and bool(statuses)
    ends_at = None
    if 0 < tail < len(statuses):
        ends_at = tt.stop_name(sched[start + tail - 1].stop_id)
    next_skipped = not cancelled and statuses[0] != "SCHEDULED"
    skipped = tuple(dict.fromkeys(tt.stop_name(sched[start + k].stop_id) for k in range(1, tail)
                                  if statuses[k] != "SCHEDULED"))
    ordered = sorted(dict.fromkeys(texts), key=lambda pt: -PRIORITIES.index(pt[0]))  # stable: severe first
    return DeviationFacts(cancelled, ends_at, skipped, next_skipped, platform,
                          tuple(dict.fromkeys(t for _, t in ordered)), tuple(dict.fromkeys(ids)))


# ------------------------------------------------------------------------------------------------ texts
def stop_text(view: FriezeView, facts: DeviationFacts = NO_FACTS, mode: str = "train") -> tuple[Kind, str] | None:
    """The announcement about where the vehicle is going next, or ``None`` when there is nothing to say."""
    ns = view.next_stop
    if view.state == "not_in_service" or ns is None:
        return None
    w = WORDS.get(mode, WORDS["train"])
    if view.state == "terminus":
        return "terminus", f"{_sentence(ns.name)} Endestation. Husk at tage alt med. Tak for rejsen."
    if view.at_origin:  # boarding at the first stop: where this vehicle goes, not "next: here"
        via = f" via {_join(list(view.via))}" if view.via else ""
        parts = [f"Velkommen. Linje {view.route} mod {_sentence(view.destination + via)}"]
        if facts.platform:
            parts.append(f"Afgang fra {w.platform} {facts.platform}.")
        return "origin", " ".join(parts)
    if facts.next_skipped:
        parts = [f"{w.vehicle.capitalize()} standser ikke ved {_sentence(ns.name)}"]
    else:
        parts = [_sentence(f"{w.next_stop}: {ns.name}")]
        if facts.platform:
            parts.append(f"Ændret {w.platform}: {w.vehicle} {w.verb} {w.at} {facts.platform}.")
    if view.show_delay and view.delay_s is not None:
        parts.append(f"Vi er cirka {_minutes(view.delay_s // 60)} forsinket.")
    return "next_stop", " ".join(parts)


def connections_text(view: FriezeView, modes: Mapping[str, str] | None = None, limit: int = 2) -> str | None:
    """The connections at the next stop (as the frieze lists them), each with its track or stand."""
    ns = view.next_stop
    conns: Sequence[Connection] = view.connections[:limit]
    if ns is None or not conns or view.state == "not_in_service" or view.at_origin or limit <= 0:
        return None
    items = []
    for c in conns:
        w = WORDS.get((modes or {}).get(c.route, "train"), WORDS["train"])
        s = f"linje {c.route} mod {c.headsign} klokken {_clock(c.departure)}"
        if c.cancelled:
            s += " er aflyst"
        elif c.platform:
            s += f" fra {w.platform} {c.platform}"
        items.append(s)
    return f"Skift ved {ns.name}: " + "; ".join(items) + "."


def deviation_text(view: FriezeView, facts: DeviationFacts, mode: str = "train") -> str | None:
    """What the deviations mean for this trip, in one announcement; ``None`` when they mean nothing."""
    if not facts.any or view.state == "not_in_service":
        return None
    w = WORDS.get(mode, WORDS["train"])
    parts = ["Vigtig meddelelse."]
    if facts.cancelled:
        parts.append("Denne afgang er aflyst." if view.at_origin
                     else f"{w.this.capitalize()} kører ikke videre. Resten af turen er aflyst.")
    elif facts.ends_at:
        parts.append(f"{w.this.capitalize()} kører kun til {_sentence(facts.ends_at)}")
    if facts.next_skipped and view.next_stop is not None:
        parts.append(f"{w.vehicle.capitalize()} standser ikke ved {_sentence(view.next_stop.name)}")
    if facts.skipped:
        parts.append(f"{w.vehicle.capitalize()} standser ikke ved {_sentence(_join(list(facts.skipped)))}")
    if facts.platform and view.next_stop is not None and not facts.cancelled:
        parts.append(f"Ved {view.next_stop.name} {w.verb} {w.vehicle} {w.at} {facts.platform}.")
    parts += [_sentence(t) for t in facts.texts]
    return " ".join(parts) if len(parts) > 1 else None


# ---------------------------------------------------------------------------------------------- state
class Announcer:
    """Says each thing once: the stop (and its connections) on a change of trip, day or next stop, once
    at the terminus; the deviations whenever what they mean for the trip changes. A view repeated every
    second produces nothing new."""

    def __init__(self, *, mode: str = "train", modes: Mapping[str, str] | None = None,
                 connections: int = 2) -> None:
        self.mode = mode
        self.modes = dict(modes or {})
        self.connections = connections
        self._last_stop: str | None = None
        self._last_facts: DeviationFacts = NO_FACTS

    def update(self, view: FriezeView, facts: DeviationFacts = NO_FACTS, *, trip: str = "") -> list[Announcement]:
        """The announcements newly due at ``view.now``; ``trip`` (trip id and day) makes the key unique
        across trips that share a route and stops."""
        if view.state == "not_in_service" or view.next_stop is None:
            self._last_stop, self._last_facts = None, NO_FACTS
            return []
        out: list[Announcement] = []
        ns = view.next_stop
        made = stop_text(view, facts, self.mode)
        if made is not None:
            kind, text = made
            key = f"{trip}|{view.route}|{view.destination}|{ns.stop_id}|{kind}|{int(facts.next_skipped)}"
            if key != self._last_stop:
                self._last_stop = key
                out.append(Announcement(view.now, kind, ns.stop_id, text, speech_text(text), key, "stop"))
                conn = connections_text(view, self.modes, self.connections)
                if conn is not None:
                    out.append(Announcement(view.now, "connections", ns.stop_id, conn, speech_text(conn), key,
                                            "stop"))
        if facts != self._last_facts:
            self._last_facts = facts
            dev = deviation_text(view, facts, self.mode)
            if dev is not None:
                # said first: the queue orders by priority, and a newer change replaces a queued older one
                out.insert(0, Announcement(view.now, "deviation", ns.stop_id, dev, speech_text(dev),
                                           "|".join(facts.ids) + "|" + dev, "deviation"))
        return out


# ------------------------------------------------------------------------------------------ quiet hours
@dataclass(frozen=True)
class QuietHours:
    """Local (Europe/Copenhagen) periods without announcements, e.g. 23:00–06:00; judged at the data
    time of the announcement, never the unit's wall clock. A period may run over midnight."""

    periods: tuple[tuple[time, time], ...] = ()

    def muted(self, t: datetime) -> bool:
        local = ensure_utc(t).astimezone(COPENHAGEN).time()
        for start, end in self.periods:
            if (start <= local < end) if start < end else (local >= start or local < end):
                return True
        return False

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"23:00-06:00"``, several separated by commas; :class:`ValueError` naming what is wrong."""
        periods = []
        for part in text.split(","):
            m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", part)
            if m is None:
                raise ValueError(f"expected HH:MM-HH:MM, got '{part.strip()}'")
            h1, m1, h2, m2 = (int(x) for x in m.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                raise ValueError(f"no such time of day in '{part.strip()}'")
            start, end = time(h1, m1), (time.max if h2 == 24 else time(h2, m2))  # 24:00: to the day's end
            if start == end:
                raise ValueError(f"'{part.strip()}' is an empty period")
            periods.append((start, end))
        return cls(tuple(periods))

    @classmethod
    def from_node(cls, node: Node | None) -> QuietHours:
        """A string (``"23:00-06:00"``, or several with commas) or a list of them."""
        if node is None:
            return cls()
        items = node.as_list() if isinstance(node.value, list) else [node]
        periods: list[tuple[time, time]] = []
        for it in items:
            if not isinstance(it.value, str):
                raise it.error("expected a quoted period like \"23:00-06:00\"")
            try:
                periods += cls.parse(it.value).periods
            except ValueError as exc:
                raise it.error(str(exc)) from None
        return cls(tuple(periods))


def wav_name(a: Announcement) -> str:
    """Deterministic file name from the data time, the kind and the stop (a replay overwrites, never piles
    up)."""
    stamp = ensure_utc(a.tst).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", a.stop_id)[:40] or "trip"
    return f"{stamp}_{a.kind}_{safe}.wav"


__all__ = ["NO_FACTS", "PRIORITY", "WORDS", "Announcement", "Announcer", "DeviationFacts", "Kind", "QuietHours",
           "Words", "connections_text", "deviation_facts", "deviation_text", "mode_of_route_type", "route_modes",
           "speech_text", "stop_text", "wav_name"]
