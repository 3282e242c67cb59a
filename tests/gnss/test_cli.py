"""``python -m hw.gnss decode FILE`` (acceptance: one fix per epoch on the F9P log)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from transit.yamlconf import parse_yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "gpsd-regress"
REPO = Path(__file__).resolve().parents[2]


def decode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hw.gnss", "decode", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_decode_f9p_one_fix_per_epoch() -> None:
    log = DATA / "ublox-zed-f9p-nmea.log"
    p = decode(str(log))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    epochs = sorted({ln.split(",")[1] for ln in log.read_text().splitlines() if ln[3:6] == "RMC"})
    assert len(rows) == len(epochs) == 29
    assert rows[0] == {"time": "2019-04-12T00:39:56.000Z", "mode": 3, "lat": -45.877567167,
                       "lon": 170.500111333, "altMSL": 14.2, "speed": 0.013, "eph": 4.188}
    assert all(set(r) >= {"time", "lat", "lon", "altMSL", "speed", "mode"} for r in rows)
    counters = json.loads(p.stderr.strip().splitlines()[-1])
    assert counters["printed"] == 29 and counters["comment_lines"] == 12 and counters["good"] == 1015


def test_decode_options_and_errors(tmp_path: Path) -> None:
    old = DATA / "triton400.log"  # 2013: before the default rollover guard date
    p = decode(str(old), "--not-before", "1990-01-01")
    assert p.returncode == 0 and json.loads(p.stdout.splitlines()[0])["time"].startswith("2013-")
    p = decode(str(DATA / "hp58534a.log"), "--no-checksum-ok")
    assert p.returncode == 0 and len(p.stdout.splitlines()) > 0
    p = decode(str(tmp_path / "missing.nmea"))
    assert p.returncode == 2 and "cannot open NMEA file" in p.stderr


def test_yaml_date_for_not_before() -> None:
    from hw.gnss.config import GnssConfig

    cfg = GnssConfig.from_node(parse_yaml("backend: file\npath: x\nnot_before: 2024-01-01\n"))
    assert str(cfg.nmea.not_before) == "2024-01-01" and cfg.path == "x"


def test_file_path_relative_to_the_config_file(tmp_path: Path) -> None:
    from hw.gnss.source import open_gnss
    from transit.yamlconf import load_yaml

    (tmp_path / "gnss.nmea").write_bytes((DATA / "ublox-zed-f9p-nmea.log").read_bytes())
    (tmp_path / "onboard.yaml").write_text("gnss: {backend: file, path: gnss.nmea, speed: 0}\n")
    with open_gnss(load_yaml(tmp_path / "onboard.yaml").child("gnss")) as src:
        fixes = []
        while not src.finished:
            fixes += src.read()
    assert len(fixes) == 29


def test_not_before_in_the_future_is_refused() -> None:
    """Issue 12 item 9: ``not_before: 2027-01-01`` (after the data's real date) was accepted and moved
    every date 1024 weeks ahead (records stamped 2046). A guard date after today is a config error
    naming the key; the GPS epoch is the lower bound."""
    from datetime import UTC, datetime, timedelta

    from hw.gnss.config import SOFTWARE_DATE, GnssConfig
    from transit.errors import ConfigError

    future = max(datetime.now(UTC).date(), SOFTWARE_DATE) + timedelta(days=26)
    with pytest.raises(ConfigError, match=r"<string>:3: not_before: .* is in the future .*1024 weeks"):
        GnssConfig.from_node(parse_yaml(f"backend: file\npath: x\nnot_before: {future}\n"))
    with pytest.raises(ConfigError, match="before the GPS epoch"):
        GnssConfig.from_node(parse_yaml("backend: file\npath: x\nnot_before: 1979-12-31\n"))
    ok = GnssConfig.from_node(parse_yaml(f"backend: file\npath: x\nnot_before: {SOFTWARE_DATE}\n"))
    assert ok.nmea.not_before == SOFTWARE_DATE
