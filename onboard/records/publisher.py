"""MQTT publisher: drains the outbox to the broker (paho-mqtt 2.x, MQTT 5, QoS 1, persistent session).

One thread owns the paho client and does everything network-related: connecting with exponential
backoff and jitter, reading rows from the outbox into a bounded publish window, and turning PUBACKs into
outbox deletions. We drive ``client.loop()`` ourselves instead of ``loop_start()`` because paho's own
reconnect has no jitter (a fleet returning from a broker outage would reconnect in lock-step) and because
a single thread means no locking around the window.

Order and at-least-once: rows are published in ``seq`` order; unacknowledged messages stay in paho's
session state and are resent first after a reconnect (``clean_start=False``), and after a restart the
window starts again at the lowest ``seq`` left in the outbox. Duplicates are possible, losses are not; a
central consumer drops duplicates by record ``id`` (docs/messages.md).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onboard.records.outbox import Outbox, OutboxRow
from transit.deviations import deviation_filter
from transit.errors import ConfigError, DecodeError, OutboxError
from transit.messages import (
    DEFAULT_PREFIX,
    Assignment,
    Delivery,
    assignment_topic,
    decode_assignment,
    deliveries_for_record,
    prediction_filter,
    status_payload,
    status_topic,
)
from transit.mqttclient import configure_auth
from transit.ratelimit import RateLimitedLog
from transit.records import Encoded, Record
from transit.sections import sections_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    """Connection settings. Same fields as ``transit.config.MqttConfig`` (url, client_id, username,
    password_file, tls ca/cert/key, keepalive, topic_prefix); :meth:`from_config` adapts that object."""

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = ""
    username: str | None = None
    password_file: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    keepalive: int = 30
    topic_prefix: str = DEFAULT_PREFIX
    session_expiry_s: int = 7 * 86400

    @classmethod
    def from_config(cls, cfg: Any) -> MqttSettings:
        """Adapt a config object with the MqttConfig fields (duck-typed: tls may be nested or flat)."""
        tls = getattr(cfg, "tls", None)

        def tls_field(name: str) -> str | None:
            v = getattr(tls, name, None) if tls is not None else getattr(cfg, name, None)
            if v is None and tls is not None:
                v = getattr(cfg, name, None)
            return None if v is None else str(v)

        return cls(url=str(cfg.url), client_id=str(getattr(cfg, "client_id", "") or ""),
                   username=getattr(cfg, "username", None),
                   password_file=(str(cfg.password_file) if getattr(cfg, "password_file", None) else None),
                   ca=tls_field("ca"), cert=tls_field("cert"), key=tls_field("key"),
                   keepalive=int(getattr(cfg, "keepalive", 30) or 30),
                   topic_prefix=str(getattr(cfg, "topic_prefix", DEFAULT_PREFIX) or DEFAULT_PREFIX),
                   session_expiry_s=int(getattr(cfg, "session_expiry_s", 7 * 86400) or 7 * 86400))

    def endpoint(self) -> tuple[str, int, bool]:
        """``(host, port, tls)`` from ``mqtt://host:port`` or ``mqtts://host:port``."""
        u = urlsplit(self.url)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ConfigError(f"MQTT url must be mqtt://HOST:PORT or mqtts://HOST:PORT, not {self.url!r}",
                              key="mqtt.url")
        tls = u.scheme == "mqtts"
        return u.hostname, u.port or (8883 if tls else 1883), tls


@dataclass
class PublisherCounters:
    published: int = 0
    acked: int = 0
    refused: int = 0  # PUBACK with a failure reason code (e.g. not authorised): moved to dead letters
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    assignments: int = 0
    assignments_rejected: int = 0
    max_inflight_seen: int = 0
    expired: int = 0  # predictions whose expiry had passed (by data time) before they could be sent


class Backoff:
    """Exponential backoff with "equal jitter": the n-th delay is uniform in [d/2, d] with
    d = min(max_s, base_s * 2**n), so a fleet does not reconnect in lock-step after a broker outage."""

    def __init__(self, base_s: float = 0.5, max_s: float = 60.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        d = min(self.max_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return float(d / 2 + self._rng.uniform(0, d / 2))

    def reset(self) -> None:
        self.attempt = 0


def _hand_on(what: str, handler: Callable[..., None], *args: Any) -> None:
    """A received message to the service's handler: the consumer's bug must not stop publishing."""
    try:
        handler(*args)
    except Exception:
        log.exception("%s handler failed", what)


class Publisher:
    """Publishes outbox rows to the broker in order, at most ``window`` unacknowledged at a time."""

    def __init__(self, outbox: Outbox, settings: MqttSettings, *, oper: str, veh: str, mode: str = "bus",
                 window: int = 100, backoff: Backoff | None = None,
                 on_assignment: Callable[[Assignment], None] | None = None,
                 on_deviation: Callable[[str, bytes, float | None], None] | None = None,
                 on_prediction: Callable[[str, bytes], None] | None = None,
                 on_sections: Callable[[str, bytes], None] | None = None) -> None:
        self.outbox = outbox
        self.settings = settings
        self.oper = oper
        self.veh = veh
        self.mode = mode
        self.window = max(1, window)
        self.backoff = backoff or Backoff()
        self.on_assignment = on_assignment
        # the control rooms' deviations (topic, payload, MQTT expiry left) of every operator: this one's
        # apply to the vehicle's own trips, the others' to the connections their trips offer. Retained, so
        # a reconnect brings them all again; the service decodes them (transit.deviations.DeviationStore)
        self.on_deviation = on_deviation
        # other vehicles' stop predictions at the stops the service watches (its trip's stations: the state
        # of the frieze's connections); subscribed per stop, not to every prediction of the network
        self.on_prediction = on_prediction
        # the operator's recent running per section (transit.sections, retained, from the collector): the
        # sections this trip has not driven yet, as other vehicles drove them
        self.on_sections = on_sections
        self._watch_lock = threading.Lock()
        self._watch_want: frozenset[str] = frozenset()
        self._watch_have: frozenset[str] = frozenset()
        self._watch_dirty = False
        self.counters = PublisherCounters()
        self.client_id = settings.client_id or f"rettid-{oper}-{veh}"
        self.host, self.port, self.tls = settings.endpoint()
        self._ratelog = RateLimitedLog(log, 30.0, clock=time.monotonic)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._connected = False
        self._session_started = False
        self._next_attempt = 0.0
        self._effective_window = self.window
        self._inflight: dict[int, int] = {}  # paho mid -> outbox seq
        self._buffer: deque[OutboxRow] = deque()
        self._cursor = 0  # highest seq handed to paho (or buffered)
        self._acked: list[int] = []
        self._dead: list[tuple[int, str]] = []
        self._volatile: dict[str, Delivery] = {}  # topic -> latest message to send without the outbox
        self._volatile_lock = threading.Lock()
        self._last_ack_flush = time.monotonic()
        self._status_topic = status_topic(settings.topic_prefix, mode, oper, veh)
        self._assign_topic = assignment_topic(settings.topic_prefix, mode, oper, veh)
        self._deviation_filter = deviation_filter(settings.topic_prefix)
        self._deviation_head = settings.topic_prefix.rstrip("/") + "/deviation/"
        self._stop_head = settings.topic_prefix.rstrip("/") + "/stop/"
        self._sections_topic = sections_topic(settings.topic_prefix, oper)

    # ---------------------------------------------------------------------------------- public API
    def start(self) -> None:
        """Start the network thread (idempotent)."""
        if self._thread is not None:
            return
        self._client = self._make_client()
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def publish_volatile(self, d: Delivery) -> None:
        """Send ``d`` without storing it (the latest per topic, lost if the process ends first): for the
        retained health message when the outbox cannot store anything because the disk is full."""
        with self._volatile_lock:
            self._volatile[d.topic] = d
        self._wake.set()

    def notify(self) -> None:
        """New rows are in the outbox: wake the network thread."""
        self._wake.set()

    def watch_predictions(self, stop_ids: set[str] | frozenset[str]) -> None:
        """Receive other vehicles' predictions for these stops (``stop/<id>/eta/+/+``) instead of the
        previous set; applied by the network thread (now when connected, else at the next connect)."""
        with self._watch_lock:
            self._watch_want = frozenset(stop_ids)
            self._watch_dirty = True
        self._wake.set()

    def _sync_watch(self, client: Any, *, reconnected: bool = False) -> None:
        if self.on_prediction is None or not self._connected:
            return
        with self._watch_lock:
            if not self._watch_dirty and not reconnected:
                return
            want, have = self._watch_want, (frozenset() if reconnected else self._watch_have)
            self._watch_dirty = False
        p = self.settings.topic_prefix
        gone = [prediction_filter(p, s) for s in sorted(have - want)]
        new = [(prediction_filter(p, s), 1) for s in sorted(want - have)]
        if gone:
            client.unsubscribe(gone)
        if new:
            client.subscribe(new)
        self._watch_have = want

    @property
    def connected(self) -> bool:
        return self._connected

    def wait_drained(self, timeout_s: float) -> bool:
        """Block until the outbox is empty (everything acknowledged) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.outbox) == 0 and not self._inflight and not self._acked:
                return True
            time.sleep(0.02)
        return len(self.outbox) == 0

    def stop(self, timeout_s: float = 5.0) -> None:
        """Publish ``offline`` status (a clean DISCONNECT does not fire the will), flush acks, stop."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._thread = None

    # ---------------------------------------------------------------------------------- paho client
    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt  # imported when the MQTT backend is used
        from paho.mqtt.enums import CallbackAPIVersion

        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv5)
        # paho must never queue more than our window: the window is what bounds memory on a slow link.
        c.max_inflight_messages_set(self.window + 1)
        c.max_queued_messages_set(0)
        configure_auth(c, username=self.settings.username, password_file=self.settings.password_file,
                       tls=self.tls, ca=self.settings.ca, cert=self.settings.cert, key=self.settings.key)
        c.will_set(self._status_topic, status_payload("offline", oper=self.oper, veh=self.veh,
                                                      client_id=self.client_id), qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        return c

    def _connect_properties(self) -> Any:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        return props

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.counters.connect_failures += 1
            self._ratelog.warn("connack", "broker %s:%d refused the connection: %s", self.host, self.port,
                               reason_code)
            return
        self._connected = True
        self.counters.connects += 1
        self.backoff.reset()
        # Respect the broker's Receive Maximum: exceeding it is a protocol error that drops the link.
        rm = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        # paho allows window + 1 in flight (set before connecting); one slot is for the status message.
        self._effective_window = max(1, min(self.window, int(rm) - 1)) if rm else self.window
        log.info("connected to %s:%d as %s (session present: %s, window %d)", self.host, self.port,
                 self.client_id, getattr(flags, "session_present", None), self._effective_window)
        client.publish(self._status_topic, status_payload("online", oper=self.oper, veh=self.veh,
                                                          client_id=self.client_id), qos=1, retain=True)
        client.subscribe(self._assign_topic, qos=1)
        if self.on_deviation is not None:
            client.subscribe(self._deviation_filter, qos=1)
        if self.on_sections is not None:
            client.subscribe(self._sections_topic, qos=1)
        self._sync_watch(client, reconnected=True)
        self._wake.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        if self._connected and not self._stop.is_set():
            self.counters.disconnects += 1
            self._ratelog.warn("disconnect", "lost connection to %s:%d (%s); %d message(s) unacknowledged, "
                               "%d in the outbox", self.host, self.port, reason_code, len(self._inflight),
                               len(self.outbox))
        self._connected = False

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        seq = self._inflight.pop(mid, None)
        if seq is None:  # status message or a resend already accounted for
            return
        if getattr(reason_code, "is_failure", False):
            self.counters.refused += 1
            self._dead.append((seq, str(reason_code)))
            self._ratelog.warn("refused", "broker refused message seq %d: %s (kept as dead letter)", seq,
                               reason_code)
        else:
            self.counters.acked += 1
            self._acked.append(seq)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if self.on_deviation is not None and msg.topic.startswith(self._deviation_head):
            expiry = getattr(msg.properties, "MessageExpiryInterval", None) if msg.properties else None
            _hand_on("deviation", self.on_deviation, msg.topic, bytes(msg.payload), expiry)
            return
        if self.on_prediction is not None and msg.topic.startswith(self._stop_head):
            _hand_on("prediction", self.on_prediction, msg.topic, bytes(msg.payload))
            return
        if self.on_sections is not None and msg.topic == self._sections_topic:
            _hand_on("section times", self.on_sections, msg.topic, bytes(msg.payload))
            return
        if msg.topic != self._assign_topic:
            return
        try:
            a = decode_assignment(msg.payload, oper=self.oper, veh=self.veh)
        except DecodeError as exc:
            self.counters.assignments_rejected += 1
            self._ratelog.warn("assignment", "rejected assignment message on %s: %s", msg.topic, exc)
            return
        self.counters.assignments += 1
        if self.on_assignment is not None:
            try:
                self.on_assignment(a)
            except Exception:  # the consumer's bug must not stop publishing
                log.exception("assignment handler failed")

    # ---------------------------------------------------------------------------------- the loop
    def _run(self) -> None:
        c = self._client
        first = True
        connecting_since = 0.0
        while not self._stop.is_set():
            try:
                if not self._connected and not connecting_since:
                    now = time.monotonic()
                    if now < self._next_attempt:
                        self._flush_acks(force=True)
                        self._wake.wait(min(0.2, self._next_attempt - now))
                        self._wake.clear()
                        continue
                    try:
                        if first:
                            c.connect(self.host, self.port, keepalive=self.settings.keepalive,
                                      clean_start=False, properties=self._connect_properties())
                            first = False
                        else:
                            c.reconnect()
                        connecting_since = time.monotonic()
                    except (OSError, ssl.SSLError) as exc:
                        self._connect_failed(exc)
                        continue
                if self._watch_dirty:
                    self._sync_watch(c)
                busy = self._connected and (bool(self._buffer) or self._cursor_behind())
                rc = c.loop(timeout=0.005 if busy else 0.1)
                if self._connected:
                    connecting_since = 0.0
                if rc != 0:
                    self._connected = False
                    connecting_since = 0.0
                    self._connect_failed(f"paho rc {rc}")
                    continue
                if connecting_since and time.monotonic() - connecting_since > 15.0:
                    connecting_since = 0.0
                    self._connect_failed("no CONNACK within 15 s")
                    continue
                if self._connected:
                    self._pump(c)
                self._flush_acks()
                if not busy and not self._inflight and self._connected:
                    self._wake.wait(0.05)
                    self._wake.clear()
            except (OSError, ssl.SSLError) as exc:
                self._connected = False
                connecting_since = 0.0
                self._connect_failed(exc)
            except OutboxError as exc:  # disk full, I/O error: keep the connection, retry shortly
                self._ratelog.warn("outbox", "outbox error in the publisher: %s", exc)
                self._stop.wait(1.0)
            except Exception:  # a bug must not end publishing silently: log it and keep going
                log.exception("unexpected error in the MQTT publisher loop")
                self._stop.wait(1.0)
        self._shutdown(c)

    def _connect_failed(self, why: object) -> None:
        self.counters.connect_failures += 1
        delay = self.backoff.next_delay()
        self._next_attempt = time.monotonic() + delay
        self._ratelog.warn("connect", "cannot reach broker %s:%d (%s); retrying in %.1f s (%d in outbox)",
                           self.host, self.port, why, delay, len(self.outbox))
        try:
            self._client._sock_close()  # make sure a half-open socket does not linger
        except Exception as exc:  # best effort; paho's private helper may change
            log.debug("closing the half-open socket failed: %r", exc)

    def _cursor_behind(self) -> bool:
        return len(self._inflight) < self._effective_window and len(self.outbox) > len(self._inflight)

    def _pump(self, c: Any) -> None:
        """Hand rows to paho until the window is full."""
        if self._volatile:
            with self._volatile_lock:
                msgs, self._volatile = list(self._volatile.values()), {}
            for d in msgs:  # not tracked: its PUBACK finds no outbox row (see _on_publish)
                c.publish(d.topic, d.payload, qos=d.qos, retain=d.retain)
                self.counters.published += 1
        free = self._effective_window - len(self._inflight)
        while free > 0:
            if not self._buffer:
                rows = self.outbox.fetch(self._cursor, max(200, self._effective_window))
                if not rows:
                    return
                self._buffer.extend(rows)
                self._cursor = rows[-1].seq
            row = self._buffer.popleft()
            props = None
            if row.expiry_s is not None:
                # Expiry counts from the data time, not from when a backlog finally gets out: a prediction
                # made before an outage must not be shown as live afterwards. "Now" is the data time of
                # the newest message stored (no wall clock on a unit that may have booted in 1970).
                age_s = max(0, self.outbox.newest_tst_ms - row.tst_ms) // 1000
                left = row.expiry_s - age_s
                if left <= 0:
                    self.counters.expired += 1
                    self._acked.append(row.seq)
                    continue
                from paho.mqtt.packettypes import PacketTypes
                from paho.mqtt.properties import Properties

                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.MessageExpiryInterval = int(left)
            info = c.publish(row.topic, row.payload, qos=row.qos, retain=row.retain, properties=props)
            if row.qos == 0:
                self._acked.append(row.seq)
            else:
                self._inflight[info.mid] = row.seq
            self.counters.published += 1
            free -= 1
        if len(self._inflight) > self.counters.max_inflight_seen:
            self.counters.max_inflight_seen = len(self._inflight)

    def _flush_acks(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._dead:
            for seq, reason in self._dead:
                self.outbox.dead_letter(seq, reason)
            self._dead.clear()
        if self._acked and (force or len(self._acked) >= 500 or now - self._last_ack_flush > 0.1
                            or not self._inflight):
            self.outbox.ack(self._acked)
            self._acked.clear()
            self._last_ack_flush = now

    def _shutdown(self, c: Any) -> None:
        try:
            if self._connected:
                info = c.publish(self._status_topic, status_payload(
                    "offline", oper=self.oper, veh=self.veh, client_id=self.client_id), qos=1, retain=True)
                deadline = time.monotonic() + 2.0
                while not info.is_published() and time.monotonic() < deadline and self._connected:
                    c.loop(timeout=0.05)
                c.disconnect()
                c.loop(timeout=0.05)
        except (OSError, ssl.SSLError) as exc:
            log.warning("error while disconnecting: %s", exc)
        try:
            self._flush_acks(force=True)
        except OutboxError as exc:  # the rows stay and are sent again next time: a duplicate, not a loss
            log.warning("could not record the last acknowledgements: %s", exc)
        self._connected = False


class RecordSink:
    """What the onboard service hands its records to: store them in the outbox (one group commit per
    call, before anything is sent) and wake the publisher. A bad record is counted and logged
    (rate-limited) and the good ones of the same call are still stored."""

    def __init__(self, outbox: Outbox, publisher: Publisher | None, *, prefix: str = DEFAULT_PREFIX,
                 mode: str = "bus") -> None:
        self.outbox = outbox
        self.publisher = publisher
        self.prefix = prefix
        self.mode = mode
        self.bad = 0
        self._ratelog = RateLimitedLog(log, 60.0, clock=time.monotonic)

    def write(self, records: Sequence[Record | Encoded], meta: dict[str, str] | None = None) -> int:
        """Store ``records`` (an :class:`Encoded` record's bytes become the payload as they are) and
        ``meta`` (the trip state they leave behind, ``onboard.service.checkpoint``) in one transaction;
        returns how many messages were committed."""
        deliveries = []
        for r in records:
            try:
                deliveries.extend(deliveries_for_record(r, prefix=self.prefix, mode=self.mode))
            except DecodeError as exc:
                self.bad += 1
                self._ratelog.warn("bad_record", "not publishing a malformed record: %s", exc)
        n = self.outbox.put(deliveries, meta=meta)
        if self.publisher is not None and deliveries:
            self.publisher.notify()
        return n
