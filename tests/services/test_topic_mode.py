"""One MQTT topic mode per vehicle whatever the command (issue 14): ``replay --broker`` published
under ``auto``, ``publish`` under ``bus`` by default and ``run`` under ``train`` for the same train."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from onboard.service.config import OnboardConfig
from onboard.service.replay import load_setup
from tests.conftest import REPO
from transit.errors import ConfigError

CONFIGS = REPO / "data" / "config"


@pytest.mark.parametrize("name,mode", [("onboard-train-920.yaml", "train"), ("onboard-bus-rbus.yaml", "bus")])
def test_config_replay_and_publish_agree_on_the_mode(name: str, mode: str, tmp_path: Path) -> None:
    from onboard.cli import cmd_publish

    cfg = OnboardConfig.load(CONFIGS / name)
    assert cfg.mode == mode
    assert load_setup(CONFIGS / name).mode == mode  # replay's topics (was "auto")
    seen: dict[str, str] = {}

    def fake_publish(records, **kw):  # type: ignore[no-untyped-def]
        seen["mode"] = kw["mode"]
        return cmd_publish.PublishSummary(drained=True)

    events = tmp_path / "e.jsonl"
    events.write_text("")
    p = argparse.ArgumentParser()
    cmd_publish.add_arguments(p)
    args = p.parse_args([str(events), "--config", str(CONFIGS / name), "--state-dir", str(tmp_path)])
    orig = cmd_publish.publish_records
    cmd_publish.publish_records = fake_publish
    try:
        assert cmd_publish.run(args) == 0
    finally:
        cmd_publish.publish_records = orig
    assert seen["mode"] == mode  # publish's topics (was "bus" whatever the vehicle)


def test_vehicle_mode_overrides_the_policy(tmp_path: Path) -> None:
    text = (CONFIGS / "onboard-train-920.yaml").read_text().replace("../operators/", str(REPO / "data/operators") + "/")
    text = text.replace("vehicle:\n", "vehicle:\n  mode: bus\n", 1)
    (tmp_path / "o.yaml").write_text(text)
    assert OnboardConfig.load(tmp_path / "o.yaml").mode == "bus"
    (tmp_path / "o.yaml").write_text(text.replace("mode: bus", "mode: tram"))
    with pytest.raises(ConfigError, match="vehicle.mode"):
        OnboardConfig.load(tmp_path / "o.yaml")


def test_publish_without_config_must_name_the_mode(tmp_path: Path) -> None:
    from onboard.cli import cmd_publish

    p = argparse.ArgumentParser()
    cmd_publish.add_arguments(p)
    args = p.parse_args([str(tmp_path / "e.jsonl"), "--state-dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="--mode"):
        cmd_publish.run(args)
