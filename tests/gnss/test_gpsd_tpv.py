"""gpsd TPV report → Fix, pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hw.gnss.fix import FixMode
from hw.gnss.gpsd_source import tpv_to_fix


def test_tpv_fields_and_rtk_status() -> None:
    f = tpv_to_fix({"class": "TPV", "mode": 3, "status": 3, "time": "2026-11-23T06:55:00.250Z",
                    "lat": 55.9, "lon": 12.3, "altMSL": 40.5, "alt": 99.0, "speed": 12.5, "track": 271.0,
                    "eph": 0.02})
    assert f is not None
    assert f.time == datetime(2026, 11, 23, 6, 55, 0, 250000, tzinfo=UTC)
    assert (f.lat, f.lon, f.alt_msl, f.speed, f.track, f.eph) == (55.9, 12.3, 40.5, 12.5, 271.0, 0.02)
    assert f.mode is FixMode.FIX_3D and f.quality == 4  # gpsd status 3 = RTK fixed


def test_tpv_without_time_or_with_odd_values() -> None:
    assert tpv_to_fix({"class": "TPV", "mode": 1}) is None
    f = tpv_to_fix({"class": "TPV", "mode": 7, "time": "2026-11-23T06:55:00Z", "lat": "55.9",
                    "alt": 12.0, "speed": float("nan")})
    assert f is not None and f.mode is FixMode.UNKNOWN and f.lat is None and f.speed is None
    assert f.alt_msl == 12.0 and f.quality == 0  # older gpsd: "alt" only
    with pytest.raises(ValueError):
        tpv_to_fix({"class": "TPV", "mode": 2, "time": "yesterday"})
