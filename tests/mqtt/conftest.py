"""Fixtures for MQTT tests: a real Mosquitto on a free 127.0.0.1 port with a generated config, the test CA
from scripts/make-test-ca.sh, and a collecting subscriber that plays the central consumer."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.conftest import REPO, require_binary
from transit.localbroker import LocalBroker

ACL_FILE = REPO / "systemd" / "mosquitto" / "aclfile"


SHIPPED_CONF = REPO / "systemd" / "mosquitto" / "rettid.conf"
#: directives of the shipped broker configuration the tests run with (not its paths and listener)
_SHIPPED = ("autosave_interval", "autosave_on_changes", "persistent_client_expiration", "max_queued_messages",
            "max_inflight_messages", "message_size_limit")
_SHIPPED_TLS = ("use_identity_as_username", "use_username_as_clientid")


def shipped_directives(*, tls: bool) -> list[str]:
    """The lines of systemd/mosquitto/rettid.conf that decide durability and identity, so the tests
    check the configuration that is deployed (identity ones only with TLS: without a certificate there is
    no user name to take the client id from)."""
    keep = _SHIPPED + (_SHIPPED_TLS if tls else ())
    out = []
    for line in SHIPPED_CONF.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] in keep:
            out.append(" ".join(words))
    return out


class Mosquitto(LocalBroker):
    """The broker tests' Mosquitto: persistent (restarts keep sessions and queued messages) with the
    shipped durability and identity settings; the test fails under CI when the program is missing."""

    def __init__(self, workdir: Path, *, tls_dir: Path | None = None, acl_file: Path | None = None) -> None:
        super().__init__(workdir, require_binary("mosquitto"), persistence=True, tls_dir=tls_dir,
                         acl_file=acl_file, extra=shipped_directives(tls=tls_dir is not None))

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to save."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binary("openssl")
    out = tmp_path_factory.mktemp("ca")
    subprocess.run(["bash", str(REPO / "scripts" / "make-test-ca.sh"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


@pytest.fixture
def tls_broker(tmp_path: Path, test_ca: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "tlsbroker", tls_dir=test_ca, acl_file=ACL_FILE)
    b.start()
    yield b
    b.stop()


class Collector:
    """The central consumer: persistent session (clean_start False), QoS 1, keeps every message."""

    def __init__(self, port: int, topic: str, *, client_id: str = "collector",
                 tls: tuple[Path, Path, Path] | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.expiries: list[int | None] = []  # MQTT 5 message expiry left, per message
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.topic = topic
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv5)
        if tls:
            c.tls_set(ca_certs=str(tls[0]), certfile=str(tls[1]), keyfile=str(tls[2]))
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.reconnect_delay_set(0.05, 0.5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", port, keepalive=10, clean_start=False, properties=props)
        self.client = c
        c.loop_start()
        assert self.subscribed.wait(10), "collector did not subscribe"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        expiry = getattr(msg.properties, "MessageExpiryInterval", None) if msg.properties else None
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.expiries.append(expiry)

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for _, p, _ in self.messages if p]

    def ids(self) -> list[str]:
        return [p["id"] for p in self.payloads() if "id" in p]

    def wait_for_ids(self, expected: set[str], timeout_s: float) -> set[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            missing = expected - set(self.ids())
            if not missing:
                return missing
            time.sleep(0.1)
        return expected - set(self.ids())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
