"""A missing ``/dev/fb0`` (HDMI unplugged, driver not loaded yet) must not stop a unit: docs/deploy.md
promises a retry every 30 s. It exited 2 instead (sysfs has no geometry for a device that is not there,
which read as a configuration error), and systemd restarted it in a loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.run import derive_scenario, live_onboard_config, station_config, write_yaml
from hw.display.framebuffer import FramebufferSink
from onboard.service.config import OnboardConfig
from onboard.service.unit import OnboardService, ServiceOptions
from station.config import StationConfig
from station.service import StationOptions, StationService
from transit.errors import ConfigError, DeviceError
from transit.yamlconf import load_yaml

FB = {"backend": "framebuffer", "device": "/dev/fb-rettid-missing"}  # as the shipped configs: no geometry


def test_missing_framebuffer_is_a_device_error_not_a_config_error(tmp_path: Path) -> None:
    node = load_yaml(write_yaml({"s": FB}, tmp_path / "d.yaml")).child("s")
    with pytest.raises(DeviceError, match="fb-rettid-missing"):
        FramebufferSink.from_node(node)
    # a device that exists but has no sysfs geometry still needs format/width/height: a config error
    dev = tmp_path / "fb7"
    dev.write_bytes(b"")
    node = load_yaml(write_yaml({"s": {**FB, "device": str(dev), "sysfs": str(tmp_path / "none")}},
                                tmp_path / "e.yaml")).child("s")
    with pytest.raises(ConfigError, match="set format, width and height"):
        FramebufferSink.from_node(node)


def test_onboard_unit_starts_and_retries_the_display(tmp_path: Path) -> None:
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg = OnboardConfig.load(write_yaml(live_onboard_config(
        scenario, gnss_url="loop://", can_channel=None, gpio_file=None, state_dir=tmp_path / "state",
        display=FB), tmp_path / "onboard.yaml"))
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", publish=False, health_interval_s=3600))
    svc.start()  # raised ConfigError before: exit 2, restart loop
    try:
        assert "frieze" in svc._display_failed and "frieze" not in svc._displays
    finally:
        svc.stop()


def test_station_starts_and_retries_the_display(tmp_path: Path) -> None:
    doc = station_config(state_dir=tmp_path / "state", png=tmp_path / "c.png")
    doc["sink"] = FB
    cfg = StationConfig.load(write_yaml(doc, tmp_path / "s.yaml"))
    svc = StationService(cfg, StationOptions(clock="data"))
    svc.start()
    try:
        assert svc.sink is None and svc._sink_failed_at is not None
    finally:
        svc.stop()
