"""Shared domain of rettid: timetable (GTFS), time, geometry, configuration, messages."""

__version__ = "0.1.0"
