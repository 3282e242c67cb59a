"""Beam patterns shared by the firmware tests (CPython) and the gpiozero mock-pin tests.

Each pattern: a list of ``(t_ms, beam, level)`` with beams ``A``/``B`` (lane 0) and ``A2``/``B2``
(lane 1 of a wide door), level 1 = blocked, and the expected counts ``{(direction, class): n}``.
"""

from __future__ import annotations


def _bounce(t: int, beam: str, level: int, toggles: int = 3) -> list[tuple[int, str, int]]:
    """A real transition followed by fast toggles (1 ms apart) that end on the new level."""
    out = [(t, beam, level)]
    for i in range(toggles):
        out.append((t + 2 * i + 1, beam, 1 - level))
        out.append((t + 2 * i + 2, beam, level))
    return out


def _walk(t: int, first: str, second: str, dur_ab: int = 150, lead: int = 80) -> list[tuple[int, str, int]]:
    """One body walking from ``first`` beam to ``second``."""
    return [(t, first, 1), (t + lead, second, 1), (t + lead + dur_ab, first, 0),
            (t + 2 * lead + dur_ab, second, 0)]


PATTERNS: dict[str, tuple[list[tuple[int, str, int]], dict[tuple[str, str], int]]] = {
    "boarding": (_walk(1000, "A", "B"), {("in", "adult"): 1}),
    "alighting": (_walk(1000, "B", "A"), {("out", "adult"): 1}),
    "turnback_at_outer_beam": ([(1000, "A", 1), (1400, "A", 0)], {}),
    "turnback_from_both_beams": ([(1000, "A", 1), (1080, "B", 1), (1300, "B", 0), (1400, "A", 0)], {}),
    "turnback_inside": ([(1000, "B", 1), (1200, "B", 0)], {}),
    "linger_then_board": ([(1000, "A", 1), (1080 + 5000, "B", 1), (6300, "A", 0), (6380, "B", 0)],
                          {("in", "adult"): 1}),
    "linger_then_leave": ([(1000, "A", 1), (7000, "A", 0)], {}),
    "back_to_back_boarding": ([(1000, "A", 1), (1080, "B", 1), (1230, "A", 0), (1300, "A", 1),
                               (1310, "B", 0), (1380, "B", 1), (1530, "A", 0), (1610, "B", 0)],
                              {("in", "adult"): 2}),
    "back_to_back_alighting": ([(1000, "B", 1), (1080, "A", 1), (1230, "B", 0), (1300, "B", 1),
                                (1310, "A", 0), (1380, "A", 1), (1530, "B", 0), (1610, "A", 0)],
                               {("out", "adult"): 2}),
    "group_of_three": (_walk(1000, "A", "B") + _walk(1400, "A", "B") + _walk(1800, "A", "B"),
                       {("in", "adult"): 3}),
    "board_then_alight": (_walk(1000, "A", "B") + _walk(2000, "B", "A"),
                          {("in", "adult"): 1, ("out", "adult"): 1}),
    "pram_boarding": (_walk(1000, "A", "B", dur_ab=1600, lead=150), {("in", "bulky"): 1}),
    "wheelchair_alighting": (_walk(1000, "B", "A", dur_ab=1300, lead=200), {("out", "bulky"): 1}),
    "bounce_boarding": (_bounce(1000, "A", 1) + _bounce(1080, "B", 1) + _bounce(1230, "A", 0)
                        + _bounce(1310, "B", 0), {("in", "adult"): 1}),
    "glitches_only": ([(1000, "A", 1), (1003, "A", 0), (2000, "B", 1), (2002, "B", 0)], {}),
    "dropout_while_blocked": ([(1000, "A", 1), (1080, "B", 1), (1150, "B", 0), (1153, "B", 1),
                               (1230, "A", 0), (1310, "B", 0)], {("in", "adult"): 1}),
    "wide_door_side_by_side": (_walk(1000, "A", "B") + _walk(1250, "A2", "B2", dur_ab=200),
                               {("in", "adult"): 2}),
    "wide_body_straddling": (_walk(1000, "A", "B", dur_ab=1500, lead=150)
                             + _walk(1006, "A2", "B2", dur_ab=1497, lead=148), {("in", "bulky"): 1}),
}

LANES = {"A": (0, 0), "B": (0, 1), "A2": (1, 0), "B2": (1, 1)}
