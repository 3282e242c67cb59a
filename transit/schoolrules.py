"""The school-bus contract's numbers (DOMAIN.md "School buses", seeds/001 Viborg), in one place.

Defaults are Viborg's service level; an operator file may set its own in a ``school:`` section
(``data/operators/viborg-skolebus.yaml`` documents every key), because municipalities agree other limits
("medmindre andet er aftalt"). Pure values, parsed once with file, line and key in every error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from transit.yamlconf import Node


def _hhmm(n: Node) -> time:
    v = n.value
    if isinstance(v, int) and not isinstance(v, bool):
        raise n.error(f"expected a time 'HH:MM' in quotes (YAML reads an unquoted time as the number {v})")
    try:
        return time.fromisoformat(n.as_str())
    except ValueError:
        raise n.error(f"expected a time 'HH:MM', got '{n.as_str()}'") from None


@dataclass(frozen=True)
class SchoolRules:
    """Ride time, the school arrival window, the notice before a pickup, the ride-time warning."""

    #: "Den samlede køretid for den enkelte elev/borger må ikke overstige 60 minutter"
    ride_limit_min: float = 60.0
    #: warn the driver this long before the earliest boarded pupil reaches the limit
    warn_lead_min: float = 10.0
    #: "Skolebusserne planlægges med ankomst mellem 7.45 og 8.15"
    window_start: time = time(7, 45)
    window_end: time = time(8, 15)
    #: "ankomst tidligst 10 minutter før, det ringer ind" (the school supervises from then)
    early_margin_min: float = 10.0
    #: "skal chaufføren varsle borgeren 10 minutter før ankomst"
    notice_min: float = 10.0
    #: a notice is sent again when the ETA grows by more than this after it was sent (ours: the issue's 5)
    resend_growth_min: float = 5.0
    #: a school bus does not leave a pickup before its planned time (children come at the planned time)
    hold_at_pickups: bool = True

    @classmethod
    def from_node(cls, n: Node | None) -> SchoolRules:
        """An operator file's ``school:`` section (absent: the defaults)."""
        if n is None:
            return cls()
        n.reject_unknown({"ride_limit_min", "warn_lead_min", "window", "early_margin_min", "notice_min",
                          "resend_growth_min", "hold_at_pickups"})
        d = cls()
        start, end = d.window_start, d.window_end
        w = n.opt("window")
        if w is not None:
            items = w.as_list()
            if len(items) != 2:
                raise w.error("expected [start, end], e.g. [\"07:45\", \"08:15\"]")
            start, end = _hhmm(items[0]), _hhmm(items[1])
            if end <= start:
                raise items[1].error("the window ends before it starts")
        limit = n.get_float("ride_limit_min", d.ride_limit_min, min=5.0, max=240.0)
        lead = n.get_float("warn_lead_min", d.warn_lead_min, min=0.0, max=60.0)
        if lead >= limit:
            raise n.child("warn_lead_min").error(f"the warning lead {lead:g} min is not below the limit {limit:g}")
        return cls(ride_limit_min=limit, warn_lead_min=lead, window_start=start, window_end=end,
                   early_margin_min=n.get_float("early_margin_min", d.early_margin_min, min=0.0, max=60.0),
                   notice_min=n.get_float("notice_min", d.notice_min, min=1.0, max=60.0),
                   resend_growth_min=n.get_float("resend_growth_min", d.resend_growth_min, min=0.5, max=60.0),
                   hold_at_pickups=n.get_bool("hold_at_pickups", d.hold_at_pickups))


__all__ = ["SchoolRules"]
