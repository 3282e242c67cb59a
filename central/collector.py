"""The central collector: every unit's records from the broker into the record store, once each.

- **Persistent session, QoS 1.** MQTT 5 with ``clean_start=False`` and a long session expiry: while the
  collector is down the broker queues what the units send.
- **Acknowledge after commit.** paho's manual acknowledgement (``manual_ack=True``): a message is
  PUBACKed only after the transaction holding it committed, so a SIGKILL at any moment loses nothing —
  unacknowledged messages are delivered again and the store's insert-if-absent by ``id`` makes the
  second copy a no-op (also for a restarted unit that re-emits records).
- **Batches.** Messages are committed in batches (``batch_max``, or whatever arrived within
  ``batch_ms``): an fsync per transaction, not per message. ``receive_maximum`` tells the broker how
  many unacknowledged messages it may have in flight to us, which bounds a batch and our memory.
- **Only a vehicle's own records.** The topic's ``<oper>/<veh>`` (which the broker ACL ties to the
  unit's certificate) must match the payload's; a mismatch, a malformed payload or a record a report
  could not count is kept in the store's ``rejected`` table with the reason, counted and logged
  (rate-limited), and acknowledged — never silently dropped, never retried forever.
- **Load sharing.** With ``share_group`` the record subscriptions are MQTT 5 shared subscriptions
  (``$share/<group>/...``): several collectors on one PostgreSQL split the stream.

After each commit the batch feeds the GTFS-Realtime state (``central.gtfsrt``) and the optional live
output (``central.hfp`` or the project's own schema on another broker).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from central.config import CollectorConfig, OutputConfig
from central.gtfsrt import LiveFeed
from central.hfp import HfpConverter
from central.records import Rejected, StoredRecord, to_stored
from central.store import RecordStore
from transit.deviations import (
    AnyDeviation,
    StopSkip,
    TripCancellation,
    decode_deviation,
    deviation_filter,
    parse_deviation_topic,
)
from transit.errors import DecodeError
from transit.messages import decode_prediction, parse_prediction_topic, parse_record_topic, topic_level
from transit.mqttclient import configure_auth
from transit.ratelimit import RateLimitedLog
from transit.records import DeviationReport, Eta, Record, decode_record
from transit.sections import SectionLearner, encode_sections, sections_topic
from transit.timeutil import iso_utc_ms

log = logging.getLogger(__name__)


@dataclass
class CollectorCounters:
    received: int = 0
    stored: int = 0  # new records committed
    duplicates: int = 0  # records already in the store (re-deliveries, re-emissions)
    rejected: int = 0  # malformed or unusable payloads (kept in the rejected table)
    mismatched: int = 0  # topic's vehicle differs from the payload's (kept in the rejected table)
    predictions: int = 0
    deviations: int = 0  # control-room cancellations stored as deviation records
    bad_predictions: int = 0
    batches: int = 0
    acked: int = 0
    connects: int = 0
    disconnects: int = 0
    output_published: int = 0
    sections_published: int = 0  # retained section-times messages sent to the units
    store_errors: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)


def subscriptions(prefix: str, share_group: str | None, predictions: bool) -> list[str]:
    """Record topics (shared when ``share_group`` is set) and, unshared, the stop predictions and the control
    room's deviations (retained: a shared subscription would not get them; every collector stores them,
    once each by id)."""
    p = prefix.rstrip("/")
    share = f"$share/{share_group}/" if share_group else ""
    subs = [f"{share}{p}/journey/#", f"{share}{p}/record/#", deviation_filter(p)]
    if predictions:
        subs.append(f"{p}/stop/+/eta/+/+")  # state for GTFS-RT: every collector needs all of it
    return subs


#: the ``veh`` of a record the collector stores for the control room (no unit sent it)
CONTROLROOM_VEH = "controlroom"


def controlroom_record(d: AnyDeviation) -> DeviationReport | None:
    """The control room's cancellation of a trip (``cancel``, or a ``skip`` of one trip's stop) as the
    ``deviation`` record the month's report reads (``source: controlroom``, ``veh: controlroom``), so a trip
    the control room cancelled and no vehicle ran counts as cancelled by the operator's policy, not as
    missing. Other kinds (track changes, messages, planned works of whole lines) make no record."""
    if isinstance(d, TripCancellation):
        what, frm, to, trip, oday, route = "cancelled", d.from_stop, d.to_stop, d.trip_id, d.oday, d.route
    elif isinstance(d, StopSkip) and d.trip_id is not None and d.oday is not None:
        what, frm, to, trip, oday, route = "cancelled", d.stop_id, d.stop_id, d.trip_id, d.oday, None
    else:
        return None
    return DeviationReport.build(iso_utc_ms(d.tst), veh=CONTROLROOM_VEH, oper=d.oper, oday=oday, route=route,
                                 trip_id=trip, what=what, from_stop=frm, to_stop=to,
                                 reason=(d.text.strip() or f"control room {d.id}")[:128], source="controlroom",
                                 id_extra=f"{d.id}|{d.kind}")


class Collector:
    """Owns the paho client (network thread) and the store (the caller's thread, :meth:`run`)."""

    def __init__(self, cfg: CollectorConfig, store: RecordStore, *, live: LiveFeed | None = None,
                 on_batch: Callable[[list[StoredRecord]], None] | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.live = live
        self.on_batch = on_batch
        self.counters = CollectorCounters()
        self.prefix = cfg.mqtt.topic_prefix.rstrip("/")
        self._queue: queue.Queue[tuple[int, int, str, bytes]] = queue.Queue()
        self._ratelog = RateLimitedLog(log, 60.0, clock=time.monotonic)
        self._client: Any = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._pending_subs: set[int] = set()
        self._output: _Output | None = None
        # recent running per section from the units' dep/ars, published to the units (transit.sections)
        self.sections = SectionLearner(window_s=cfg.sections_window_s)
        self._sections_dirty: set[str] = set()
        self._sections_due = 0.0

    # ------------------------------------------------------------------------------------ MQTT
    def start(self) -> None:
        import paho.mqtt.client as mqtt  # the collector's network edge
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        m = self.cfg.mqtt
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=m.client_id or "rettid-central",
                        protocol=mqtt.MQTTv5, manual_ack=True)
        configure_auth(c, username=m.username, password_file=m.password_file, tls=m.use_tls,
                       ca=m.tls.ca, cert=m.tls.cert, key=m.tls.key)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        c.reconnect_delay_set(1, 30)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = m.session_expiry_s
        props.ReceiveMaximum = self.cfg.receive_maximum
        c.connect_async(m.host, m.port, keepalive=m.keepalive, clean_start=False, properties=props)
        self._client = c
        if self.cfg.output is not None:
            self._output = _Output(self.cfg.output, self.prefix)
            self._output.start()
        c.loop_start()

    def wait_ready(self, timeout_s: float = 10.0) -> bool:
        """Connected and subscribed (tests, and the CLI's start-up message)."""
        return self._subscribed.wait(timeout_s)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._ratelog.warn("connack", "broker refused the collector: %s", reason_code)
            return
        self.counters.connects += 1
        self._connected.set()
        log.info("collector connected to %s:%d (session present: %s)", self.cfg.mqtt.host, self.cfg.mqtt.port,
                 getattr(flags, "session_present", None))
        subs = subscriptions(self.prefix, self.cfg.share_group, self.cfg.predictions and self.live is not None)
        rc, mid = client.subscribe([(s, 1) for s in subs])
        self._pending_subs.add(mid)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        bad = [str(rc) for rc in reason_codes if getattr(rc, "is_failure", False)]
        if bad:
            log.error("broker refused a subscription: %s (check the collector's ACL)", ", ".join(bad))
        self._subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if self._connected.is_set():
            self.counters.disconnects += 1
            self._ratelog.warn("disconnect", "collector lost the broker (%s); reconnecting", reason_code)
        self._connected.clear()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self._queue.put((msg.mid, msg.qos, msg.topic, bytes(msg.payload)))

    # ------------------------------------------------------------------------------------ the loop
    def run(self, stop: threading.Event) -> None:
        """Commit and acknowledge batches until ``stop`` is set; then the last batch, and disconnect."""
        if self._client is None:
            self.start()
        try:
            while not stop.is_set():
                self.process_batch(timeout_s=0.2)
            while self.process_batch(timeout_s=0.0):
                pass
        finally:
            self.close()

    def process_batch(self, timeout_s: float) -> int:
        """Take what arrived (up to ``batch_max``, waiting at most ``batch_ms`` for more), commit it,
        then acknowledge it. Returns how many messages were handled."""
        try:
            first = self._queue.get(timeout=timeout_s) if timeout_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            self.publish_sections()  # what waited out its interval
            return 0
        batch = [first]
        deadline = time.monotonic() + self.cfg.batch_ms / 1000.0
        while len(batch) < self.cfg.batch_max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=min(left, 0.005)))
                except queue.Empty:
                    if self._queue.empty() and left < self.cfg.batch_ms / 2000.0:
                        break
        self._handle(batch)
        self.publish_sections()
        return len(batch)

    def publish_sections(self) -> int:
        """Each operator whose sections changed, at most every ``sections_s``: its recent section times,
        retained (QoS 1), for the units' predictions. Returns how many messages were sent."""
        if self.cfg.sections_s <= 0 or not self._sections_dirty or self._client is None:
            return 0
        now = time.monotonic()
        if now < self._sections_due:
            return 0
        self._sections_due = now + self.cfg.sections_s
        n = 0
        for oper in sorted(self._sections_dirty):
            msg = self.sections.message(oper)
            if msg is not None:
                self._client.publish(sections_topic(self.prefix, oper), encode_sections(msg), qos=1, retain=True)
                n += 1
        self._sections_dirty.clear()
        self.counters.sections_published += n
        return n

    def _handle(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        records: list[StoredRecord] = []
        decoded: list[Record] = []
        rejected: list[Rejected] = []
        acks: list[tuple[int, int]] = []
        controlroom: list[StoredRecord] = []  # stored, but no unit's record: not passed on live
        stop_head = self.prefix + "/stop/"
        dev_head = self.prefix + "/deviation/"
        for mid, qos, topic, payload in batch:
            self.counters.received += 1
            acks.append((mid, qos))
            if topic.startswith(stop_head):
                self._prediction(topic, payload)
                continue
            if topic.startswith(dev_head):
                stored = self._deviation(topic, payload, rejected)
                if stored is not None:
                    controlroom.append(stored)
                continue
            try:
                rt = parse_record_topic(self.prefix, topic)
                rec = decode_record(payload)  # the one decoder (transit.records); "v" is not a field
                if isinstance(rec, Eta):
                    raise DecodeError("eta records travel as stop predictions, not as records")
                if topic_level(rec.veh) != rt.veh or topic_level(rec.oper) != rt.oper:
                    self.counters.mismatched += 1
                    self._ratelog.warn("mismatch", "record %s on %s claims vehicle %s/%s: not stored",
                                       rec.id, topic[:200], rec.oper[:40], rec.veh[:40])
                    rejected.append(Rejected(topic, payload, f"vehicle mismatch: payload {rec.oper}/{rec.veh}"))
                    self._count_reason("vehicle mismatch")
                    continue
                if rec.event != rt.event:
                    raise DecodeError(f"event {rec.event!r} on a {rt.event!r} topic")
                records.append(to_stored(rec, topic, payload))
                decoded.append(rec)
            except DecodeError as exc:
                self.counters.rejected += 1
                self._ratelog.warn("rejected", "message on %s not stored: %s", topic[:200], exc)
                rejected.append(Rejected(topic, payload, str(exc)[:500]))
                self._count_reason(str(exc).split(":")[0][:60])
        while True:
            try:
                new = self.store.put(records + controlroom, rejected)
                break
            except Exception as exc:  # the database is down or full: keep the messages unacknowledged
                self.counters.store_errors += 1
                self._ratelog.warn("store", "cannot commit %d record(s): %s; retrying", len(records), exc)
                time.sleep(1.0)
        self.counters.stored += new
        self.counters.duplicates += len(records) + len(controlroom) - new
        self.counters.batches += 1
        c = self._client
        for mid, qos in acks:
            if qos > 0:
                c.ack(mid, qos)
        self.counters.acked += len(acks)
        if self.live is not None:
            for obj in decoded:
                self.live.on_record(obj)
        if self.cfg.sections_s > 0:
            seen = self.sections.observations
            self.sections.on_records(decoded)
            if self.sections.observations != seen:
                self._sections_dirty.update(r.oper for r in decoded)
        if self._output is not None:
            self.counters.output_published += self._output.publish(records, decoded)
        if self.on_batch is not None:
            self.on_batch(records)

    def _deviation(self, topic: str, payload: bytes, rejected: list[Rejected]) -> StoredRecord | None:
        """A control-room deviation: a cancellation is stored as its ``deviation`` record (by id: the retained
        message arriving again at every reconnect is a duplicate); a withdrawal (empty payload) and other
        kinds store nothing; a malformed one is kept aside like a bad record."""
        if not payload:
            return None
        try:
            oper, _ = parse_deviation_topic(self.prefix, topic)
            d = decode_deviation(payload)
            if topic_level(d.oper) != oper:
                raise DecodeError(f"deviation of {d.oper!r} on another operator's topic")
        except DecodeError as exc:
            self.counters.rejected += 1
            self._ratelog.warn("deviation", "deviation on %s not stored: %s", topic[:200], exc)
            rejected.append(Rejected(topic, payload, str(exc)[:500]))
            self._count_reason("deviation")
            return None
        rec = controlroom_record(d)
        if rec is None:
            return None
        self.counters.deviations += 1
        # the control room ran no trip: no trip run (train-km count it as not reported, like before)
        return to_stored(rec, topic)._replace(run=None)

    def _prediction(self, topic: str, payload: bytes) -> None:
        if self.live is None or not payload:
            return  # an empty retained payload clears a prediction: the staleness rule covers it
        try:
            parse_prediction_topic(self.prefix, topic)
            self.live.on_prediction(decode_prediction(payload))
            self.counters.predictions += 1
        except DecodeError as exc:
            self.counters.bad_predictions += 1
            self._ratelog.warn("prediction", "bad prediction on %s: %s", topic[:200], exc)

    def _count_reason(self, reason: str) -> None:
        self.counters.reject_reasons[reason] = self.counters.reject_reasons.get(reason, 0) + 1

    def close(self) -> None:
        self._connected.clear()  # a clean disconnect is not a lost broker
        if self._client is not None:
            try:
                self._client.disconnect()
            except (OSError, ssl.SSLError) as exc:
                log.warning("error while disconnecting: %s", exc)
            self._client.loop_stop()
            self._client = None
        if self._output is not None:
            self._output.stop()
            self._output = None


class _Output:
    """Live records passed on to another broker: our schema under another prefix, or HSL HFP v2."""

    def __init__(self, cfg: OutputConfig, prefix: str) -> None:
        self.cfg = cfg
        self.prefix = prefix
        self.hfp = HfpConverter(cfg.prefix) if cfg.format == "hfp" else None
        self._client: Any = None

    def start(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from transit.config import MqttConfig

        u = MqttConfig(url=self.cfg.url)
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id,
                        protocol=mqtt.MQTTv5)
        configure_auth(c, username=None, password_file=None, tls=u.use_tls, ca=self.cfg.tls.get("ca"),
                       cert=self.cfg.tls.get("cert"), key=self.cfg.tls.get("key"))
        c.max_queued_messages_set(100_000)  # live data: past this, newest are dropped (counted by paho)
        c.reconnect_delay_set(1, 30)
        c.connect_async(u.host, u.port, keepalive=30)
        c.loop_start()
        self._client = c

    def publish(self, records: list[StoredRecord], decoded: list[Record]) -> int:
        n = 0
        for r, rec in zip(records, decoded, strict=True):
            if self.hfp is not None:
                msg = self.hfp.convert(rec, mode=parse_record_topic(self.prefix, r.topic).mode)
                if msg is None:
                    continue
                topic, payload = msg
            else:
                topic, payload = self.cfg.prefix.rstrip("/") + r.topic[len(self.prefix):], r.payload
            self._client.publish(topic, payload, qos=0)
            n += 1
        return n

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()


__all__ = ["CONTROLROOM_VEH", "Collector", "CollectorCounters", "controlroom_record", "subscriptions"]
