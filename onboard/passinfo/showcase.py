"""The frieze's states on a bad day and a normal one, as hand-made views: the reference images of the
display tests (``tests/display/golden/frieze_*``) and the pictures in ``docs/passenger-info.md``
(``scripts/frieze_pictures.py``, ``make docs-img``) are rendered from these, so both show the same thing.

Hand-made rather than taken from the sample feed so a regenerated feed does not change the pictures; the
names and lines are Lokaltog's and Movia's. Each entry names the page of the view to show (the frieze
pages its right-hand area: stops, connections, messages, the rejsegaranti note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from onboard.passinfo.connections import Connection
from onboard.passinfo.frieze import FriezePanel, FriezeStop, FriezeView, page_names

NOW = datetime(2026, 11, 23, 9, 26, 30, tzinfo=UTC)  # 10:26:30 in Copenhagen, a Monday
DAY = date(2026, 11, 23)
TFT = FriezePanel()
LED = FriezePanel(width=192, height=32, antialias=False)
REJSEGARANTI = ("Toget er mere end 20 minutter forsinket. Du kan søge Movias rejsegaranti på "
                "moviatrafik.dk/rejsegaranti")
LONG_MESSAGE = ("Sporarbejde mellem Frederiksværk og Hundested fra lørdag 28. november kl. 04.00 til mandag "
                "30. november kl. 04.00. Togbusser kører i stedet og afgår fra busholdepladsen ved stationerne. "
                "Rejsen tager op til 25 minutter længere, og togbusserne kører ikke til Hundested Havn, men "
                "holder ved Hundested St. Cykler og barnevogne kan ikke medtages i togbusserne. Se Rejseplanen "
                "for din rejse. Vi beklager ulejligheden.")


def _stop(sid: str, name: str, minutes: int, delay_s: int = 0, *, terminus: bool = False,
          platform: str | None = None, status: str = "SCHEDULED", changed: bool = False) -> FriezeStop:
    t = NOW + timedelta(minutes=minutes)
    return FriezeStop(sid, name, t, t + timedelta(seconds=delay_s), platform, terminus, status,  # type: ignore[arg-type]
                      changed)


def train(delay_s: int = 0) -> FriezeView:
    """A 920R to Hundested Havn between Hillerød and Frederiksværk."""
    d = delay_s
    return FriezeView(
        now=NOW, state="in_service", route="920R", destination="Hundested Havn St.", via=("Frederiksværk",),
        next_stop=_stop("skaevinge", "Skævinge St.", 2, d, platform="1"),
        following=(_stop("grimstrup", "Grimstrup St.", 5, d), _stop("oelsted", "Ølsted St.", 8, d),
                   _stop("kregme", "Kregme St.", 11, d),
                   _stop("hundested_havn", "Hundested Havn St.", 32, d, terminus=True)),
        delay_s=d, delay_threshold_s=120, mode="rail",
        connections=(Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=9), "2"),))


def cancellation() -> FriezeView:
    """Arriving at Hillerød 6 min late: the 950R we would have caught leaves before we arrive, the 930R
    is cancelled by the control room, the 960R leaves late from a changed track, a bus at its stand."""
    arrive = NOW + timedelta(minutes=4)
    v = FriezeView(
        now=NOW, state="in_service", route="920R", destination="Hillerød St.",
        next_stop=FriezeStop("hilleroed_8", "Hillerød St.", arrive - timedelta(minutes=6), arrive, "8", True),
        delay_s=360, delay_threshold_s=120, mode="rail",
        connections=(
            Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=5), "9", "missed", mode="rail"),
            Connection("930R", "Helsingør St.", NOW + timedelta(minutes=9), "5", "cancelled", mode="rail"),
            Connection("960R", "Tisvildeleje St.", NOW + timedelta(minutes=10), "3", "departs",
                       NOW + timedelta(minutes=13), "rail", platform_changed=True),
            Connection("330R", "Fredensborg St.", NOW + timedelta(minutes=14), "A", "departs", mode="bus")),
        messages=("930R 10:35 mod Helsingør er aflyst på grund af signalfejl.",))
    return v


def skipped() -> FriezeView:
    """Ølsted is skipped, and the train turns at Frederiksværk (the rest of the trip cancelled)."""
    return FriezeView(
        now=NOW, state="in_service", route="920R", destination="Hundested Havn St.",
        next_stop=_stop("grimstrup", "Grimstrup St.", 2, 240, platform="1"),
        following=(_stop("oelsted", "Ølsted St.", 5, 240, status="SKIPPED"), _stop("kregme", "Kregme St.", 8, 240),
                   _stop("frederiksvaerk", "Frederiksværk St.", 13, 240),
                   _stop("hanehoved", "Hanehoved St.", 15, 240, status="CANCELED"),
                   _stop("hundested_havn", "Hundested Havn St.", 29, 240, terminus=True, status="CANCELED")),
        delay_s=240, delay_threshold_s=120, mode="rail",
        messages=("Toget kører kun til Frederiksværk St. Aflyst herfra til Hundested Havn.",
                  "Toget standser ikke ved Ølsted St."))


def long_message() -> FriezeView:
    return replace(train(), messages=(LONG_MESSAGE,), connections=())


def rejsegaranti() -> FriezeView:
    return replace(train(delay_s=25 * 60), rejsegaranti=REJSEGARANTI, connections=())


def bus() -> FriezeView:
    """A 330R at Hillerød St.: it stops at a stoppested, stand B; connections to trains (spor) and buses."""
    return FriezeView(
        now=NOW, state="in_service", route="330R", destination="Fredensborg St.",
        next_stop=_stop("hilleroed_b", "Hillerød St.", 2, 60, platform="B"),
        following=(_stop("bus_hilleroed_trollesminde", "Hillerød, Trollesminde", 6, 60),
                   _stop("bus_asminderoed", "Asminderød", 12, 60),
                   _stop("fredensborg_b", "Fredensborg St.", 17, 60, terminus=True, platform="B")),
        delay_s=60, delay_threshold_s=120, mode="bus",
        connections=(Connection("920R", "Hundested St.", NOW + timedelta(minutes=8), "8", mode="rail"),
                     Connection("330R", "Frederikssund St.", NOW + timedelta(minutes=9), "A", mode="bus"),
                     Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=12), "9", mode="rail")))


def train_track_change() -> FriezeView:
    """A train whose next stop's track was changed by the control room."""
    v = train()
    assert v.next_stop is not None
    return replace(v, next_stop=replace(v.next_stop, platform="2", platform_changed=True))


@dataclass(frozen=True)
class State:
    """One picture: a view, the page of it to show and the panel."""

    name: str
    make: Callable[[], FriezeView]
    page: str  # a page name (frieze.page_names) or its prefix
    panel: FriezePanel = TFT
    doc: str = ""


STATES: tuple[State, ...] = (
    State("frieze_train", train_track_change, "stops", doc="a train: next stop with its track (changed: amber)"),
    State("frieze_bus", bus, "stops", doc="a bus: 'Næste stoppested', the stand (Stoppested B), never 'Spor'"),
    State("frieze_bus_connections", bus, "connections", doc="connections from a bus: trains at a track, buses at a stand"),
    State("frieze_cancellation", cancellation, "connections",
          doc="connections: one leaves before we arrive, one cancelled, one late from another track"),
    State("frieze_cancellation_message", cancellation, "note:", doc="the control room's text for it"),
    State("frieze_skipped", skipped, "stops", doc="a skipped stop and a trip turned short"),
    State("frieze_skipped_message", skipped, "note:", doc="the same, said in words"),
    State("frieze_long_message", long_message, "note:Trafikinformation  1/", doc="a long message, paged (page 1)"),
    State("frieze_long_message_p2", long_message, "note:Trafikinformation  2/", doc="... page 2"),
    State("frieze_rejsegaranti", rejsegaranti, "note:Rejsegaranti", doc="more than 20 min late: the rejsegaranti"),
    State("led_bus", bus, "Næste: ", LED, doc="LED strip, a bus"),
    State("led_cancellation", cancellation, "Skift: 930R", LED, doc="LED strip: a cancelled connection"),
    State("led_long_message", long_message, "Sporarbejde", LED, doc="LED strip: a long message, paged by words"),
    State("led_rejsegaranti", rejsegaranti, "Toget er mere", LED, doc="LED strip: the rejsegaranti note"),
)


def at_page(view: FriezeView, panel: FriezePanel, page: str) -> FriezeView:
    """``view`` at the first data time (from its own, in steps of ``page_s``) that shows ``page``."""
    names = page_names(view, panel)
    matches = [i for i, n in enumerate(names) if n.startswith(page)]
    if not matches:
        raise ValueError(f"no page {page!r} in {names}")
    step = panel.page_s
    k0 = int(view.now.timestamp() // step)
    for k in range(k0, k0 + len(names) + 1):
        if k % len(names) == matches[0]:
            return replace(view, now=datetime.fromtimestamp(k * step + step / 2, UTC))
    raise AssertionError("unreachable: one of len(names) consecutive pages is the one wanted")


def state_view(s: State) -> FriezeView:
    return at_page(s.make(), s.panel, s.page)


__all__ = ["LED", "NOW", "STATES", "TFT", "State", "at_page", "state_view"]
