"""One exception tree for the whole project.

Every error we raise derives from :class:`RettidError` and also from the matching built-in, so callers
that only know the built-ins (``ValueError``, ``OSError``) still catch them.
"""

from __future__ import annotations


class RettidError(Exception):
    """Root of all rettid errors."""


class ConfigError(RettidError, ValueError):
    """A configuration (or scenario, operator) file is invalid.

    ``str(err)`` reads ``file:line: key: message`` so an operator can jump to the spot.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ScenarioError(ConfigError):
    """A simulator scenario file is invalid."""


class FeedError(RettidError, ValueError):
    """A GTFS feed is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in GTFS feed:\n{lines}{more}")


class DecodeError(RettidError, ValueError):
    """Input from a device or a log could not be decoded (NMEA, CAN, UART frames, payloads)."""


class InvalidRecordError(DecodeError):
    """Well-formed JSON that is not a valid record: unknown kind, a field missing or of the wrong type."""


class DeviceError(RettidError, OSError):
    """A device (serial port, CAN interface, GPIO chip, display) is missing or failed."""


class BackendError(RettidError, LookupError):
    """An unknown or unavailable driver backend was named in configuration."""


class OutboxError(RettidError, RuntimeError):
    """The on-disk outbox cannot store or deliver records."""


class ClockNotSynchronisedError(RettidError, RuntimeError):
    """No trustworthy time source yet (no GNSS time, no NTP): records must wait."""
