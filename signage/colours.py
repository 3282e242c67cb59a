"""Colours shared by the frieze and the countdown display: ``#RRGGBB`` parsing and line badge colours."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from transit.errors import ConfigError
from transit.yamlconf import Node

RGB = tuple[int, int, int]

# Our choice of badge colours for the Lokaltog lines (configurable per panel with ``line_colours``);
# any other line gets a stable colour from LINE_PALETTE by a hash of its name.
DEFAULT_LINE_COLOURS: dict[str, str] = {
    "910": "#00838F", "920R": "#D84315", "920E": "#B71C1C", "930R": "#2E7D32", "940R": "#6A1B9A",
    "950R": "#1565C0", "960R": "#0277BD",
}
LINE_PALETTE = ("#C62828", "#1565C0", "#2E7D32", "#6A1B9A", "#EF6C00", "#00838F", "#AD1457", "#4E342E")


def parse_colour(text: str, node: Node | None = None) -> RGB:
    """``#RRGGBB`` → (r, g, b); errors name the config key when a node is given."""
    t = text.strip().lstrip("#")
    message = f"expected a colour #RRGGBB, got '{text}'"
    if len(t) != 6:
        raise node.error(message) if node is not None else ConfigError(message)
    try:
        return int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16)
    except ValueError:
        raise (node.error(message) if node is not None else ConfigError(message)) from None


def line_colour(route: str, overrides: Sequence[tuple[str, RGB]] = ()) -> RGB:
    """A line's badge colour: a configured override, our default for the line, or a stable hash colour."""
    for name, rgb in overrides:
        if name == route:
            return rgb
    if route in DEFAULT_LINE_COLOURS:
        return parse_colour(DEFAULT_LINE_COLOURS[route])
    h = int(hashlib.sha1(route.encode()).hexdigest()[:8], 16)
    return parse_colour(LINE_PALETTE[h % len(LINE_PALETTE)])


__all__ = ["DEFAULT_LINE_COLOURS", "LINE_PALETTE", "RGB", "line_colour", "parse_colour"]
