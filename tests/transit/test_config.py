"""Shared config sections (unit, mqtt) and every error message they give, with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from transit.config import MqttConfig, UnitConfig, backend_section, load_operator_for
from transit.errors import ConfigError
from transit.yamlconf import parse_yaml, resolve_path


def unit(text: str, role: str | None = None, file: str = "/etc/rettid/onboard.yaml") -> UnitConfig:
    return UnitConfig.from_node(parse_yaml(text, file).child("unit"), role=role)


def mqtt(text: str) -> MqttConfig:
    return MqttConfig.from_node(parse_yaml(text, "/etc/rettid/unit.yaml").child("mqtt"),
                                default_client_id="unit-1")


UNIT = """\
unit:
  id: onboard-2091
  vehicle: "2091"
  operator: ../operators/lokaltog.yaml
  state_dir: state
"""


def test_unit_parses_and_resolves_paths_relative_to_the_file() -> None:
    u = unit(UNIT, "onboard", file="/srv/cfg/onboard.yaml")
    assert u.unit_id == "onboard-2091" and u.vehicle_id == "2091" and u.stop_display_id is None
    assert u.operator_file == Path("/srv/operators/lokaltog.yaml")
    assert u.state_dir == Path("/srv/cfg/state")
    assert u.timezone == "Europe/Copenhagen" and str(u.tz) == "Europe/Copenhagen"


def test_unit_defaults() -> None:
    u = unit("unit:\n  id: s1\n  stop_display: hil-1\n  operator: /x/op.yaml\n", "station")
    assert u.state_dir == Path("/var/lib/rettid")
    assert u.stop_display_id == "hil-1"


@pytest.mark.parametrize(("text", "role", "expected"), [
    (UNIT.replace("  vehicle: \"2091\"\n", ""), "onboard",
     "/etc/rettid/onboard.yaml:2: unit.vehicle: missing required key (the vehicle id, e.g. the fleet number)"),
    (UNIT, "station",
     "/etc/rettid/onboard.yaml:2: unit.stop_display: missing required key (the stop display id)"),
    (UNIT + "  stop_display: x\n", "onboard",
     "/etc/rettid/onboard.yaml:6: unit.stop_display: an onboard unit has a vehicle, not a stop_display"),
    (UNIT.replace("vehicle", "stop_display") + "  vehicle: v1\n", "station",
     "/etc/rettid/onboard.yaml:6: unit.vehicle: a stop display has a stop_display id, not a vehicle"),
    (UNIT.replace("id: onboard-2091", "id: onboard/2091"), "onboard",
     "/etc/rettid/onboard.yaml:2: unit.id: unit id 'onboard/2091' must be 1-64 letters, digits, '.', '_' or "
     "'-' (it is used in MQTT topics and file names)"),
    (UNIT.replace('vehicle: "2091"', 'vehicle: "20 91"'), "onboard",
     "/etc/rettid/onboard.yaml:3: unit.vehicle: vehicle id '20 91' must be 1-64 letters, digits, '.', '_' "
     "or '-' (it is used in MQTT topics and file names)"),
    (UNIT.replace("  id: onboard-2091\n", ""), "onboard",
     "/etc/rettid/onboard.yaml:2: unit.id: missing required key"),
    (UNIT.replace("operator: ../operators/lokaltog.yaml", 'operator: ""'), "onboard",
     "/etc/rettid/onboard.yaml:4: unit.operator: expected a path, got an empty string"),
    (UNIT + "  timezone: Europe/Kobenhavn\n", "onboard",
     "/etc/rettid/onboard.yaml:6: unit.timezone: unknown time zone 'Europe/Kobenhavn' (e.g. Europe/Copenhagen)"),
    (UNIT + "  vehicel: x\n", "onboard",
     "/etc/rettid/onboard.yaml:6: unit.vehicel: unknown key (allowed: id, operator, state_dir, stop_display, "
     "timezone, vehicle)"),
    (UNIT.replace('vehicle: "2091"', "vehicle: [1, 2]"), "onboard",
     "/etc/rettid/onboard.yaml:3: unit.vehicle: expected a string, got a list"),
])
def test_unit_errors(text: str, role: str, expected: str) -> None:
    with pytest.raises(ConfigError) as ei:
        unit(text, role)
    assert str(ei.value) == expected


def test_mqtt_defaults_and_full() -> None:
    m = mqtt("mqtt: {}\n")
    assert m.url == "mqtt://127.0.0.1:1883" and m.client_id == "unit-1" and m.keepalive == 30
    assert (m.host, m.port, m.use_tls) == ("127.0.0.1", 1883, False)
    assert m.topic_prefix == "rettid/v1"
    full = mqtt("""\
mqtt:
  url: mqtts://broker.example
  client_id: bus-7412
  username: bus-7412
  password_file: secrets/pw
  tls: {ca: tls/ca.crt, cert: tls/c.crt, key: /abs/c.key}
  keepalive: 60
  topic_prefix: test/rettid/v1
""")
    assert (full.host, full.port, full.use_tls) == ("broker.example", 8883, True)
    assert full.password_file == Path("/etc/rettid/secrets/pw")
    assert full.tls.ca == Path("/etc/rettid/tls/ca.crt") and full.tls.key == Path("/abs/c.key")
    assert full.client_id == "bus-7412" and full.topic_prefix == "test/rettid/v1"


def test_mqtt_config_feeds_the_publisher_settings() -> None:
    from onboard.records.publisher import MqttSettings

    m = mqtt("mqtt:\n  url: mqtts://b:8883\n  username: u\n  password_file: pw\n  tls: {ca: ca.crt}\n")
    s = MqttSettings.from_config(m)
    assert s.endpoint() == ("b", 8883, True)
    assert s.ca == "/etc/rettid/ca.crt" and s.password_file == "/etc/rettid/pw" and s.client_id == "unit-1"


@pytest.mark.parametrize(("body", "line", "key", "message"), [
    ("  url: http://broker:1883\n", 2, "mqtt.url",
     "MQTT url must start with mqtt:// or mqtts://, got 'http://broker:1883'"),
    ("  url: mqtt://:1883\n", 2, "mqtt.url", "MQTT url 'mqtt://:1883' has no host (e.g. mqtt://127.0.0.1:1883)"),
    ("  url: mqtt://broker:99999\n", 2, "mqtt.url", "bad MQTT url 'mqtt://broker:99999': Port out of range 0-65535"),
    ("  url: mqtt://broker:0\n", 2, "mqtt.url", "MQTT url 'mqtt://broker:0': port 0 is not a port"),
    ("  url: mqtt://user:pw@broker:1883\n", 2, "mqtt.url",
     "MQTT url 'mqtt://user:pw@broker:1883' must be only scheme://host:port (username and password_file are "
     "separate keys)"),
    ("  url: mqtt://broker:1883\n  tls: {ca: ca.crt}\n", 3, "mqtt.tls",
     "TLS files need an mqtts:// url (e.g. mqtts://broker:8883)"),
    ("  url: mqtts://broker\n  tls: {ca: ca.crt, cert: c.crt}\n", 3, "mqtt.tls",
     "cert and key go together: 'key' is missing"),
    ("  url: mqtts://broker\n  tls: {ca: ca.crt, key: c.key}\n", 3, "mqtt.tls",
     "cert and key go together: 'cert' is missing"),
    ("  url: mqtts://broker\n  tls: {ca: ca.crt, crl: x}\n", 3, "mqtt.tls.crl",
     "unknown key (allowed: ca, cert, key)"),
    ("  password_file: pw\n", 2, "mqtt.password_file", "a password_file needs a username"),
    ("  client_id: a/b\n", 2, "mqtt.client_id", "client_id must be 1-64 characters without '/', '+', '#' or spaces"),
    ("  topic_prefix: rettid/#\n", 2, "mqtt.topic_prefix",
     "topic_prefix must be a topic like 'rettid/v1': no wildcards, spaces or leading/trailing '/'"),
    ("  topic_prefix: /rettid\n", 2, "mqtt.topic_prefix",
     "topic_prefix must be a topic like 'rettid/v1': no wildcards, spaces or leading/trailing '/'"),
    ("  keepalive: 2\n", 2, "mqtt.keepalive", "must be at least 5, got 2"),
    ("  keepalive: soon\n", 2, "mqtt.keepalive", "expected a whole number, got text 'soon'"),
    ("  session_expiry_s: -1\n", 2, "mqtt.session_expiry_s", "must be at least 0, got -1"),
    ("  host: broker\n", 2, "mqtt.host",
     "unknown key (allowed: client_id, keepalive, password_file, session_expiry_s, tls, topic_prefix, "
     "url, username)"),
])
def test_mqtt_errors(body: str, line: int, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as ei:
        mqtt("mqtt:\n" + body)
    assert str(ei.value) == f"/etc/rettid/unit.yaml:{line}: {key}: {message}"
    assert (ei.value.line, ei.value.key, ei.value.message) == (line, key, message)


def test_backend_section_errors() -> None:
    root = parse_yaml("gnss: [serial]\ncan:\n  channel: can0\n", "u.yaml")
    with pytest.raises(ConfigError, match=r"^u\.yaml:1: gnss: expected a mapping with a 'backend' key$"):
        backend_section(root.child("gnss"))
    with pytest.raises(ConfigError, match=r"^u\.yaml:3: can\.backend: missing required key$"):
        backend_section(root.child("can"))
    assert backend_section(None) is None


def test_operator_file_must_exist(tmp_path: Path) -> None:
    root = parse_yaml("unit:\n  operator: nope.yaml\n", str(tmp_path / "u.yaml"))
    node = root.child("unit").child("operator")
    with pytest.raises(ConfigError) as ei:
        load_operator_for(node, resolve_path(node))
    assert str(ei.value) == f"{tmp_path}/u.yaml:2: unit.operator: operator file {tmp_path}/nope.yaml does not exist"


def test_docs_name_every_key() -> None:
    from onboard.service.config import TOP_KEYS as ONBOARD_KEYS
    from onboard.service.config import FriezeConfig
    from station.config import STOPS_KEYS
    from station.config import TOP_KEYS as STATION_KEYS
    from tests.conftest import REPO

    doc = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    keys = (set(ONBOARD_KEYS) | set(STATION_KEYS) | set(STOPS_KEYS) | set(UnitConfig.KEYS)
            | set(MqttConfig.KEYS) | set(FriezeConfig.KEYS) | {"index", "beams", "gate", "block", "trips", "service_day"})
    missing = sorted(k for k in keys if f"`{k}`" not in doc and f"`{k}." not in doc and f".{k}`" not in doc)
    assert missing == []


def test_missing_tls_file_error_names_the_path(tmp_path: Path) -> None:
    """Issue 12 item 9: a missing CA file gave ssl's "[Errno 2] No such file or directory" without
    the path; now the error names the file and the key."""
    from transit.mqttclient import configure_auth

    class Client:
        def tls_set(self, **kw: object) -> None:
            raise AssertionError("must not be reached with a missing file")

    ca = tmp_path / "tls" / "ca.crt"
    with pytest.raises(ConfigError, match=rf"TLS ca file {ca}: no such file") as err:
        configure_auth(Client(), username=None, password_file=None, tls=True, ca=ca)
    assert err.value.key == "mqtt.tls.ca" and err.value.file == str(ca)
