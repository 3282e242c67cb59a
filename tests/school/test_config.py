"""School configuration: the operator file's ``school:`` rules and ``onboard.yaml``'s ``school:`` section,
errors with file, line and key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from onboard.school.stage import SchoolConfig
from transit.errors import ConfigError
from transit.operator import load_operator
from transit.schoolrules import SchoolRules
from transit.yamlconf import parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_operator_file_carries_the_rules() -> None:
    op = load_operator(ROOT / "data" / "operators" / "viborg-skolebus.yaml")
    assert op.school == SchoolRules()
    assert (op.school.window_start, op.school.window_end) == (time(7, 45), time(8, 15))
    assert op.vehicle_types["midibus"].approved_capacity == 35
    assert load_operator(ROOT / "data" / "operators" / "lokaltog.yaml").school == SchoolRules()


@pytest.mark.parametrize(("text", "where"), [
    ("window: [\"08:15\", \"07:45\"]", "op.yaml:2: school.window[1]: the window ends before it starts"),
    ("window: [7:45, \"08:15\"]", "op.yaml:2: school.window[0]: expected a time 'HH:MM' in quotes"),
    ("ride_limit_min: 30\n  warn_lead_min: 30", "op.yaml:3: school.warn_lead_min: the warning lead 30"),
    ("notice: 10", "op.yaml:2: school.notice: unknown key"),
])
def test_rule_errors(text: str, where: str) -> None:
    node = parse_yaml(f"school:\n  {text}\n", "op.yaml")
    with pytest.raises(ConfigError) as ei:
        SchoolRules.from_node(node.child("school"))
    assert str(ei.value).startswith(where), str(ei.value)


def test_unit_school_section(tmp_path: Path) -> None:
    run = ROOT / "data" / "school" / "viborg-rute-12.yaml"
    cfg = SchoolConfig.from_node(parse_yaml(f"school:\n  runs: [{run}]\n  panel: {{backend: memory, width: 480, "
                                            "height: 272}\n", str(tmp_path / "onboard.yaml")).child("school"))
    assert cfg is not None and cfg.runs == (run,) and (cfg.width, cfg.height) == (480, 272)
    with pytest.raises(ConfigError, match=r"onboard.yaml:2: school.runs: run file not found"):
        SchoolConfig.from_node(parse_yaml("school:\n  runs: nowhere.yaml\n",
                                          str(tmp_path / "onboard.yaml")).child("school"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(run.read_text(encoding="utf-8").replace('time: "07:14"', "time: 7:14"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: runs\[0\].stops\[2\].time: expected a time"):
        SchoolConfig.from_node(parse_yaml(f"school:\n  runs: {bad}\n", "onboard.yaml").child("school"))
