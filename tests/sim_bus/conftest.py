"""Fixtures for the simulator tests: a short scenario on the shipped sample feed."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FEED = REPO / "data" / "gtfs" / "lokaltog-sample"
SCENARIOS = REPO / "data" / "scenarios"

#: 910 Jægersborg -> Nærum (7.4 km, 13 min, passes Nørgaardsvej): small enough for every test.
SHORT = f"""\
name: test-910
feed: {FEED}
operator: {REPO / "data" / "operators" / "lokaltog.yaml"}
service_day: 2026-11-23
trips: [910_MT_0_0715]
seed: 5
vehicle:
  id: test-unit
  kind: train
  operator_type: regiosprinter
  length_m: 24.7
  seats: 72
  capacity: 160
  max_speed_kmh: 60
  doors:
    - {{index: 1, beams: [[5, 6]]}}
    - {{index: 2, beams: [[13, 19], [16, 20]]}}
motion: {{hold_at: all, lead_s: 30}}
dwell: {{min_open_s: 6}}
signal_stops:
  - {{before: brede, distance_m: 200, wait_s: 20}}
gnss:
  rate_hz: 1
  baud: 38400
  ttff_s: 5
  noise: {{sigma_m: 1.5, outlier_rate: 0.01}}
  outages:
    - {{name: cutting, from_m: 2500, to_m: 2800}}
  corrupt: {{count: 5}}
can: {{background_fps: 60}}
passengers:
  default: {{board: 3, alight: 2}}
  stops:
    jaegersborg: {{board: 20}}
"""


@pytest.fixture
def short_scenario(tmp_path: Path) -> Path:
    p = tmp_path / "test-910.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return p
