"""The Danish words a display uses, per mode of transport.

A train calls at a station and leaves from a track ("Spor 2"); a bus calls at a stop ("stoppested") and
leaves from a stand there ("Stoppested B"). Which one a line is comes from GTFS ``route_type`` (3 and the
extended 700-799 are buses, 200-299 coaches), never from the line's name, so "Spor B" can never appear on a
bus. The frieze, the countdown display and the announcements take their nouns from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["rail", "bus"]


def mode_of(route_type: int) -> Mode:
    """``bus`` for GTFS bus (3), coach (200-299) and the extended bus types (700-799); else ``rail``."""
    return "bus" if route_type == 3 or 200 <= route_type < 300 or 700 <= route_type < 800 else "rail"


@dataclass(frozen=True)
class Words:
    """Nouns and phrases for one mode (Danish)."""

    vehicle: str            # "Toget" / "Bussen": the subject of a sentence about this vehicle
    stop: str               # "station" / "stoppested"
    stop_definite: str      # "stationen" / "stoppestedet"
    platform: str           # "Spor" / "Stoppested": before a platform code
    next_stop: str          # label above the next stop
    skips: str              # "{vehicle} {skips} ved X": does not call there

    def platform_label(self, code: str) -> str:
        """``Spor 2`` on a train, ``Stoppested B`` on a bus."""
        return f"{self.platform} {code}"


RAIL = Words(vehicle="Toget", stop="station", stop_definite="stationen", platform="Spor",
             next_stop="Næste stop", skips="standser ikke")
BUS = Words(vehicle="Bussen", stop="stoppested", stop_definite="stoppestedet", platform="Stoppested",
            next_stop="Næste stoppested", skips="stopper ikke")


def words(mode: Mode) -> Words:
    return BUS if mode == "bus" else RAIL


__all__ = ["BUS", "RAIL", "Mode", "Words", "mode_of", "words"]
