"""Configuration readers (unit files, operator files, scenarios) meet any damaged value with a
ConfigError naming file, line and key, never another exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboard.service.config import OnboardConfig
from sim_bus.scenario import scenario_from_node
from station.config import StationConfig
from tests.conftest import REPO
from transit.errors import ConfigError, ScenarioError
from transit.operator import parse_operator
from transit.yamlconf import Node, parse_yaml

HOSTILE = ["", "-1", "0", "1e999", ".nan", "-.inf", "[1, 2]", "{a: 1}", "null", "yes", "'x'", "99999999999999999999",
           "2026-13-45", "25:99", "!!binary AAAA", "*nothing", "&a b", "\"\\u0000\"", "[[[]]]", "-", "?", "é" * 70,
           "'../../../../etc/passwd'", "0x1F", "1_000", "!!python/object:os.system ls", "{", "]"]
VALUE_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w-]*:)\s*(\S.*)$")


def _loaders() -> list[tuple[Path, type[Exception], object]]:
    def onboard(root: Node, path: Path) -> object:
        return OnboardConfig.from_node(root)

    def station(root: Node, path: Path) -> object:
        return StationConfig.from_node(root)

    def scenario(root: Node, path: Path) -> object:
        return scenario_from_node(root, path.parent)

    return [(REPO / "data/config/onboard-train-920.yaml", ConfigError, onboard),
            (REPO / "data/config/onboard-bus-rbus.yaml", ConfigError, onboard),
            (REPO / "data/config/station-hilleroed.yaml", ConfigError, station),
            (REPO / "data/operators/lokaltog.yaml", ConfigError, parse_operator),
            (REPO / "data/operators/movia-rbus.yaml", ConfigError, parse_operator),
            (REPO / "data/scenarios/920R-weekday.yaml", ScenarioError, scenario),
            (REPO / "data/scenarios/910-rush.yaml", ScenarioError, scenario)]


LOADERS = _loaders()


@pytest.mark.parametrize("path,error,load", LOADERS, ids=[p.name for p, _, _ in LOADERS])
def test_the_shipped_files_load(path: Path, error: type[Exception], load: object) -> None:
    assert load(parse_yaml(path.read_text(encoding="utf-8"), str(path), error), path) is not None  # type: ignore[operator]


@pytest.mark.parametrize("path,error,load", LOADERS, ids=[p.name for p, _, _ in LOADERS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_one_damaged_value_is_a_config_error(path: Path, error: type[Exception], load: object,
                                             data: st.DataObject) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    candidates = [i for i, line in enumerate(lines) if VALUE_LINE.match(line) and not line.lstrip().startswith("#")]
    i = data.draw(st.sampled_from(candidates), label="line")
    how = data.draw(st.sampled_from(["value", "delete", "dedent"]), label="how")
    if how == "value":
        m = VALUE_LINE.match(lines[i])
        assert m is not None
        lines[i] = f"{m.group(1)} {data.draw(st.sampled_from(HOSTILE) | st.text(max_size=12), label='value')}"
    elif how == "delete":
        del lines[i]
    else:
        lines[i] = lines[i].lstrip()
    text = "\n".join(lines) + "\n"
    try:
        load(parse_yaml(text, str(path), error), path)  # type: ignore[operator]
    except ConfigError as exc:
        assert isinstance(exc, error)
        assert exc.file is not None and str(exc)  # the message names the file


def test_relative_paths_in_a_config_named_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    from transit.operator import load_operator

    monkeypatch.chdir(REPO)
    op = load_operator("data/operators/lokaltog.yaml")
    assert Path(op.feed) == (REPO / "data/gtfs/lokaltog-sample").resolve()
    cfg = StationConfig.load("data/config/station-hilleroed.yaml")
    assert cfg.feed.resolve() == (REPO / "data/gtfs/lokaltog-sample").resolve()
    assert OnboardConfig.load("data/config/onboard-train-920.yaml").operator.feed == op.feed


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", ".NaN"])
def test_non_finite_numbers_are_refused_where_a_number_is_expected(text: str) -> None:
    node = parse_yaml(f"speed: {text}\n", "x.yaml")
    with pytest.raises(ConfigError, match="x.yaml:1: speed: expected a finite number"):
        node.get_float("speed", 1.0, min=0.0)
