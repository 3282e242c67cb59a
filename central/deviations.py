"""The control room's side of the deviations channel: publish, list and withdraw retained deviations.

A deviation (``transit.deviations``) goes out retained, QoS 1, with an MQTT 5 message expiry that ends
shortly after its ``valid_to``; withdrawing it is an empty retained payload on its topic. The broker takes
them only from the control room's identities (``controlroom``, ``controlroom-rt`` in
``systemd/mosquitto/aclfile``): a refusal comes back as a PUBACK with a failure reason (MQTT 5) and is an
error here, never a silent success. Each call is one short connection (the CLI, the GTFS-Realtime ingest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from transit.config import MqttConfig
from transit.deviations import (
    AnyDeviation,
    Deviation,
    DeviationStore,
    decode_deviation,
    deviation_filter,
    deviation_topic,
    encode_deviation,
    expiry_s,
)
from transit.errors import BackendError, ConfigError, DecodeError
from transit.mqttclient import configure_auth

log = logging.getLogger(__name__)


class BrokerRefusedError(BackendError):
    """The broker did not accept a deviation (not authorised, or unreachable)."""


class DeviationClient:
    """One MQTT 5 connection for publishing and reading deviations (use as a context manager)."""

    def __init__(self, mqtt: MqttConfig, *, client_id: str | None = None, timeout_s: float = 10.0) -> None:
        self.mqtt = mqtt
        self.timeout_s = timeout_s
        self.client_id = client_id or mqtt.client_id or "rettid-controlroom"
        self._client: Any = None
        self._connected = threading.Event()
        self._refused: str | None = None
        self._acks: dict[int, Any] = {}
        self._ack_cv = threading.Condition()
        self._messages: list[tuple[str, bytes, float | None]] = []

    def __enter__(self) -> DeviationClient:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv5)
        configure_auth(c, username=self.mqtt.username, password_file=self.mqtt.password_file, tls=self.mqtt.use_tls,
                       ca=self.mqtt.tls.ca, cert=self.mqtt.tls.cert, key=self.mqtt.tls.key)
        c.on_connect = self._on_connect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        try:
            c.connect(self.mqtt.host, self.mqtt.port, keepalive=30)
        except OSError as exc:
            raise BrokerRefusedError(f"cannot reach the broker {self.mqtt.url}: {exc}") from None
        c.loop_start()
        self._client = c
        if not self._connected.wait(self.timeout_s) or self._refused:
            self.close()
            raise BrokerRefusedError(f"broker {self.mqtt.url} refused the connection: {self._refused or 'timeout'}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
        self._connected.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._ack_cv:
            self._acks[mid] = reason_code
            self._ack_cv.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        exp = getattr(msg.properties, "MessageExpiryInterval", None) if msg.properties else None
        self._messages.append((msg.topic, bytes(msg.payload), exp))

    def _publish(self, topic: str, payload: bytes, expiry: int | None) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = None
        if expiry is not None:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.MessageExpiryInterval = expiry
        with self._ack_cv:
            info = self._client.publish(topic, payload, qos=1, retain=True, properties=props)
            ok = self._ack_cv.wait_for(lambda: info.mid in self._acks, self.timeout_s)
            rc = self._acks.pop(info.mid, None)
        if not ok:
            raise BrokerRefusedError(f"no acknowledgement for {topic} within {self.timeout_s:.0f} s")
        if getattr(rc, "is_failure", False):
            raise BrokerRefusedError(f"broker refused {topic}: {rc} (is this the control room's identity?)")

    def publish(self, d: Deviation, now: datetime) -> int:
        """Publish ``d`` retained with its expiry; returns the expiry in seconds."""
        exp = expiry_s(d, now)
        if exp is None:
            raise ConfigError(f"deviation {d.id} ended at {d.valid_to.isoformat()}: nothing to publish",
                              key="--until")
        self._publish(deviation_topic(self.mqtt.topic_prefix, d.oper, d.id), encode_deviation(d), exp)
        return exp

    def withdraw(self, oper: str, dev_id: str) -> None:
        """An empty retained payload: the broker forgets the deviation and subscribers drop it."""
        self._publish(deviation_topic(self.mqtt.topic_prefix, oper, dev_id), b"", None)

    def retained(self, oper: str | None = None, wait_s: float = 1.0) -> list[AnyDeviation]:
        """The deviations the broker holds now (retained messages arrive right after subscribing)."""
        self._messages.clear()
        self._client.subscribe(deviation_filter(self.mqtt.topic_prefix, oper), qos=1)
        deadline = time.monotonic() + wait_s
        last = -1
        while time.monotonic() < deadline:  # until a quiet spell: the retained burst has arrived
            time.sleep(0.1)
            if len(self._messages) == last and last >= 0:
                break
            last = len(self._messages)
        self._client.unsubscribe(deviation_filter(self.mqtt.topic_prefix, oper))
        out: list[AnyDeviation] = []
        for topic, payload, _exp in list(self._messages):
            if not payload:
                continue
            try:
                out.append(decode_deviation(payload))
            except DecodeError as exc:
                log.warning("unreadable deviation on %s: %s", topic, exc)
        return sorted(out, key=lambda d: (d.valid_from, d.id))


def store_from(devs: Iterable[AnyDeviation], prefix: str) -> DeviationStore:
    """A :class:`DeviationStore` holding ``devs`` (for applying them to a report or a listing)."""
    s = DeviationStore(prefix=prefix)
    for d in devs:
        s.handle(deviation_topic(prefix, d.oper, d.id), encode_deviation(d), None)
    return s


__all__ = ["BrokerRefusedError", "DeviationClient", "store_from"]
