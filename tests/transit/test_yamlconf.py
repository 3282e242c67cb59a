from __future__ import annotations

import pytest

from transit.errors import ConfigError, ScenarioError
from transit.yamlconf import parse_yaml


def test_error_names_file_line_and_key_path() -> None:
    n = parse_yaml("a: 1\ndoors:\n  - pins: [1, 2]\n  - pins: x\n", "onboard.yaml")
    with pytest.raises(ConfigError) as ei:
        n.child("doors").as_list()[1].child("pins").as_list()
    assert str(ei.value) == "onboard.yaml:4: doors[1].pins: expected a list"


def test_invalid_date_is_config_error_not_traceback() -> None:
    with pytest.raises(ConfigError) as ei:
        parse_yaml("a:\n  b: 2026-02-30\n", "x.yaml")
    assert str(ei.value).startswith("x.yaml:2: a.b: cannot read value '2026-02-30'")


def test_syntax_error_and_duplicate_key_have_lines() -> None:
    with pytest.raises(ConfigError, match=r"^x.yaml:2: YAML syntax"):
        parse_yaml("a: [1,\nb: }\n", "x.yaml")
    with pytest.raises(ConfigError, match=r"^x.yaml:2: a: duplicate key"):
        parse_yaml("a: 1\na: 2\n", "x.yaml")


def test_range_choice_unknown_and_error_class() -> None:
    n = parse_yaml("hz: 0\nmode: fast\nextra: 1\n", "s.yaml", ScenarioError)
    with pytest.raises(ScenarioError, match=r"^s.yaml:1: hz: must be at least 1"):
        n.get_int("hz", min=1)
    with pytest.raises(ScenarioError, match=r"^s.yaml:2: mode: expected one of a, b, got 'fast'"):
        n.child("mode").choice(("a", "b"))
    with pytest.raises(ScenarioError, match=r"^s.yaml:3: extra: unknown key"):
        n.reject_unknown({"hz", "mode"})
    with pytest.raises(ScenarioError, match=r"^s.yaml:1: missing: missing required key"):
        n.child("missing")
    assert n.get_float("absent", 2.5) == 2.5


def test_a_path_of_an_unknown_users_home_is_a_config_error() -> None:
    """``~0`` (a fuzz find): pathlib raised a bare RuntimeError for a user the system does not have."""
    from transit.yamlconf import resolve_path

    node = parse_yaml("ca: ~no_such_user_rettid/ca.pem\n", "x.yaml").child("ca")
    with pytest.raises(ConfigError, match="no such user"):
        resolve_path(node)
