"""Spoken announcements in Danish: what to say, and when.

Pure, like the frieze: :class:`Announcer` is fed the frieze's view (data time inside; the control room's
deviations already applied to it, so the frieze and the loudspeaker say the same), and returns the
:class:`Announcement` s that are new —
so a replay says exactly the same things at the same data times, and every text is tested without audio.
Saying them (espeak-ng, the loudspeaker, the queue that keeps them from overlapping, quiet hours) is
:mod:`onboard.passinfo.speaker`.

What is said (``docs/passenger-info.md``, "Announcements"):

- ``origin`` — boarding at the first stop: "Velkommen. Linje 920R mod Hundested Havn St.";
- ``next_stop`` — once per next stop the vehicle calls at, after leaving the previous one: "Næste stop:
  Skævinge St." (a bus: "Næste stoppested"), the new track/stand when the control room changed it, the
  delay once the frieze shows it;
- ``terminus`` — at the last stop: "Endestation. Husk at tage alt med. Tak for rejsen.";
- ``connections`` — after the next stop, the departures there that the frieze lists, each with its
  track/stand, "aflyst" when cancelled, "kører før vi ankommer" when it leaves before we arrive;
- ``deviation`` — "Vigtig meddelelse." once per change of the frieze's messages for this trip (cancelled,
  turned short, stops not called at, the control room's texts, severe first), a changed track at the next
  stop, and the rejsegaranti note once the delay passes the operator's threshold.

Each announcement has a priority (deviations before stops before connections) and a ``slot``/``key``: a
newer next stop makes the queued announcements of an older one stale (the queue drops them rather than
playing them late).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from onboard.passinfo.connections import Connection
from onboard.passinfo.frieze import FriezeView
from signage.words import words
from transit.timeutil import COPENHAGEN, ensure_utc
from transit.yamlconf import Node

Kind = Literal["origin", "next_stop", "terminus", "connections", "deviation"]

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


# ------------------------------------------------------------------------------------------------ words
#: how a vehicle arrives at a platform, per mode ("toget ankommer til spor 3", "bussen holder ved
#: stoppested B"); the nouns themselves are the frieze's (``signage.words``)
_ARRIVES = {"rail": ("ankommer", "til"), "bus": ("holder", "ved")}


def _arrives(mode: str, platform: str) -> str:
    w = words("bus" if mode == "bus" else "rail")
    verb, prep = _ARRIVES["bus" if mode == "bus" else "rail"]
    return f"{w.vehicle.lower()} {verb} {prep} {w.platform.lower()} {platform}"


# ------------------------------------------------------------------------------------------------ texts
def stop_text(view: FriezeView) -> tuple[Kind, str] | None:
    """Where the vehicle goes next (the frieze's next stop: the next one it calls at), or ``None``."""
    ns = view.next_stop
    if view.state == "not_in_service" or ns is None:
        return None
    w = view.words
    if view.state == "terminus":
        return "terminus", f"{_sentence(ns.name)} Endestation. Husk at tage alt med. Tak for rejsen."
    if view.at_origin:  # boarding at the first stop: where this vehicle goes, not "next: here"
        via = f" via {_join(list(view.via))}" if view.via else ""
        parts = [f"Velkommen. Linje {view.route} mod {_sentence(view.destination + via)}"]
        if ns.platform_changed and ns.platform:
            parts.append(f"Afgang fra {w.platform.lower()} {ns.platform}, ændret.")
        return "origin", " ".join(parts)
    parts = [_sentence(f"{w.next_stop}: {ns.name}")]
    if ns.platform_changed and ns.platform:
        parts.append(f"Ændret {w.platform.lower()}: {_arrives(view.mode, ns.platform)}.")
    if view.show_delay and view.delay_s is not None:
        parts.append(f"Vi er cirka {_minutes(view.delay_s // 60)} forsinket.")
    return "next_stop", " ".join(parts)


def connections_text(view: FriezeView, limit: int = 2) -> str | None:
    """The connections the frieze lists at the next stop, each with its track or stand (the connecting
    line's own word) and its state: cancelled, leaving before we arrive, a changed track."""
    ns = view.next_stop
    conns: Sequence[Connection] = view.connections[:limit]
    if ns is None or not conns or view.state == "not_in_service" or view.at_origin or limit <= 0:
        return None
    items = []
    for c in conns:
        w = words(c.mode)
        s = f"linje {c.route} mod {c.headsign} klokken {_clock(c.when)}"
        if c.state == "cancelled":
            s += " er aflyst"
        elif c.state == "missed":
            s += " kører før vi ankommer"
        elif c.platform:
            s += f" fra {w.platform.lower()} {c.platform}" + (", ændret" if c.platform_changed else "")
        items.append(s)
    return f"Skift ved {ns.name}: " + "; ".join(items) + "."


def deviation_text(view: FriezeView) -> str | None:
    """What the control room's deviations mean for this trip (the frieze's messages: cancelled, turned
    short, stops not called at, the control room's texts, severe first), a changed track at the next stop
    and the rejsegaranti note, in one announcement; ``None`` when there is nothing of the kind."""
    if view.state == "not_in_service":
        return None
    parts = [_sentence(t) for t in view.messages]
    ns = view.next_stop
    if ns is not None and ns.platform_changed and ns.platform and view.state == "in_service":
        w = view.words
        verb, prep = _ARRIVES["bus" if view.mode == "bus" else "rail"]
        parts.append(f"Ved {ns.name} {verb} {w.vehicle.lower()} {prep} {w.platform.lower()} {ns.platform}.")
    if view.rejsegaranti:
        parts.append(_sentence(view.rejsegaranti))
    return "Vigtig meddelelse. " + " ".join(parts) if parts else None


# ---------------------------------------------------------------------------------------------- state
class Announcer:
    """Says each thing once: the stop (and its connections) on a change of trip, day or next stop, once
    at the terminus; the deviations whenever what they mean for the trip changes. A view repeated every
    second produces nothing new."""

    def __init__(self, *, connections: int = 2) -> None:
        self.connections = connections
        self._last_stop: str | None = None
        self._last_dev: str | None = None

    def update(self, view: FriezeView, *, trip: str = "") -> list[Announcement]:
        """The announcements newly due at ``view.now``; ``trip`` (trip id and day) makes the key unique
        across trips that share a route and stops."""
        if view.state == "not_in_service" or view.next_stop is None:
            self._last_stop = self._last_dev = None
            return []
        out: list[Announcement] = []
        ns = view.next_stop
        made = stop_text(view)
        if made is not None:
            kind, text = made
            key = f"{trip}|{view.route}|{view.destination}|{ns.stop_id}|{kind}"
            if key != self._last_stop:
                self._last_stop = key
                out.append(Announcement(view.now, kind, ns.stop_id, text, speech_text(text), key, "stop"))
                conn = connections_text(view, self.connections)
                if conn is not None:
                    out.append(Announcement(view.now, "connections", ns.stop_id, conn, speech_text(conn), key,
                                            "stop"))
        dev = deviation_text(view)
        if dev != self._last_dev:
            self._last_dev = dev
            if dev is not None:
                # said first: the queue orders by priority, and a newer change replaces a queued older one
                out.insert(0, Announcement(view.now, "deviation", ns.stop_id, dev, speech_text(dev),
                                           f"{trip}|{dev}", "deviation"))
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


__all__ = ["PRIORITY", "Announcement", "Announcer", "Kind", "QuietHours", "connections_text", "deviation_text",
           "speech_text", "stop_text", "wav_name"]
