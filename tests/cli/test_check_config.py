"""``check-config`` (issue 14: there was none): every problem of a unit's set-up listed at once, nothing
started; exit 0 when all is well, 2 when not."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from demo.run import derive_scenario, live_onboard_config, station_config, write_yaml
from onboard.cli.cmd_check_config import check_onboard
from station.cmd_check_config import check_station
from tests.conftest import REPO, require_binary
from tests.transit.test_feedcheck import SAMPLE, copy_feed, read_rows, write_rows


def _onboard(tmp_path: Path, **kw) -> Path:  # type: ignore[no-untyped-def]
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    doc = live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                              state_dir=tmp_path / "state", frieze_png=tmp_path / "frieze.png")
    for k, v in kw.items():
        doc[k] = v
    return write_yaml(doc, tmp_path / "onboard.yaml")


def _certs(tmp_path: Path) -> dict[str, Path]:
    openssl = require_binary("openssl")
    out = {}
    for name in ("a", "b"):
        key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(crt), "-days", "2", "-subj", f"/CN={name}"], check=True, capture_output=True, timeout=60)
        out[f"{name}.key"], out[f"{name}.crt"] = key, crt
    return out


def test_a_good_onboard_setup_is_exit_0(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_onboard(_onboard(tmp_path), out=out) == 0, out.getvalue()
    assert "PROBLEM" not in out.getvalue() and "all" in out.getvalue()


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    feed = copy_feed(SAMPLE, tmp_path)
    rows = read_rows(feed / "stop_times.txt")
    rows[5][rows[0].index("arrival_time")] = "25:6x:00"  # a bad row: the service would drop it, a rollout not
    write_rows(feed / "stop_times.txt", rows)
    certs = _certs(tmp_path)
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    cfg = _onboard(tmp_path, feed=str(feed),
                   mqtt={"url": "mqtts://127.0.0.1:8883", "tls": {"ca": str(tmp_path / "garbage.pem"),
                                                                   "cert": str(certs["a.crt"]),
                                                                   "key": str(certs["b.key"])}},
                   can={"backend": "socketcan", "channel": "rettidcan9"},
                   displays={"frieze": {"backend": "framebuffer", "device": "/dev/fb-rettid-none"}})
    doc = cfg.read_text().replace("url: loop://", f"url: {tmp_path}/ttyNONE")
    cfg.write_text(doc)
    out = io.StringIO()
    assert check_onboard(cfg, out=out) == 2
    text = out.getvalue()
    for needle in ("stop_times.txt:6: arrival_time", "mqtt.tls.ca", "mqtt.tls.cert/key", "ttyNONE",
                   "rettidcan9", "fb-rettid-none"):
        assert needle in text, (needle, text)
    assert "check-config: 6 problem(s)" in text, text


def test_good_certificates_pass(tmp_path: Path) -> None:
    certs = _certs(tmp_path)
    cfg = _onboard(tmp_path, mqtt={"url": "mqtts://127.0.0.1:8883", "tls": {
        "ca": str(certs["a.crt"]), "cert": str(certs["a.crt"]), "key": str(certs["a.key"])}})
    out = io.StringIO()
    assert check_onboard(cfg, out=out) == 0, out.getvalue()
    assert "ok       certificates: TLS files load" in out.getvalue()


def test_a_config_that_does_not_load_is_one_clear_problem(tmp_path: Path) -> None:
    cfg = _onboard(tmp_path)
    cfg.write_text(cfg.read_text().replace("vehicle:", "vehicel:", 1))
    r = subprocess.run([sys.executable, "-m", "onboard", "check-config", "--config", str(cfg)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "PROBLEM  configuration" in r.stdout and "onboard.yaml:" in r.stdout


@pytest.mark.parametrize("broken", [False, True])
def test_station(tmp_path: Path, broken: bool) -> None:
    doc = station_config(state_dir=tmp_path / "state", png=tmp_path / "c.png")
    if broken:
        doc["sink"] = {"backend": "framebuffer", "device": "/dev/fb-rettid-none"}
        doc["stops"]["ids"] = ["no_such_stop"]
    cfg = write_yaml(doc, tmp_path / "station.yaml")
    out = io.StringIO()
    assert check_station(cfg, out=out) == (2 if broken else 0), out.getvalue()
    if broken:
        assert "no_such_stop" in out.getvalue() and "fb-rettid-none" in out.getvalue()
