"""The collector's configuration file: the shipped example loads; errors name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.config import load_collector_config
from tests.conftest import REPO
from transit.errors import ConfigError


def test_the_example_loads() -> None:
    cfg = load_collector_config(REPO / "data" / "config" / "central.yaml")
    assert cfg.mqtt.client_id == "rettid-central-1" and cfg.database.url.startswith("sqlite:///")
    assert cfg.http_listen == ("127.0.0.1", 8080) and cfg.stale_s == 90
    assert cfg.operators == ((REPO / "data" / "operators" / "lokaltog.yaml").resolve(),)


@pytest.mark.parametrize("text, words", [
    ("collector: {operators: [nowhere.yaml]}\n", "no such operator file"),
    ("collector: {operators: x.yaml}\n", "expected a list"),
    ("collector: {batch_mx: 10}\n", "unknown key"),
    ("database: {url: 'postgresql://u:secret@h/db'}\n", "must not contain a password"),
])
def test_errors_name_the_place(tmp_path: Path, text: str, words: str) -> None:
    p = tmp_path / "central.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as exc:
        load_collector_config(p)
    assert "central.yaml" in str(exc.value)
