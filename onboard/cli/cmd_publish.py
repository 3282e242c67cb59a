"""``rettid-onboard publish EVENTS.jsonl... --broker mqtt://HOST:PORT --state-dir DIR``: publish
recorded onboard records through the outbox exactly as the live service does (store, commit, publish,
delete on PUBACK). Killed at any point and started again, it resumes where it stopped: how many lines of
each file are already stored is committed in the same transaction as the rows.

:func:`publish_records` is the library entry point (``onboard replay --publish`` calls it).
"""

from __future__ import annotations

import argparse
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from onboard.records.outbox import Outbox
from onboard.records.publisher import MqttSettings, Publisher
from transit import jsonl
from transit.cli import Progress, add_mqtt_arguments, mqtt_from_args
from transit.config import MqttConfig
from transit.errors import ConfigError, DecodeError, OutboxError
from transit.messages import Delivery, deliveries_for_record
from transit.ratelimit import RateLimitedLog
from transit.records import Encoded, Record

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class PublishSummary:
    read: int = 0
    skipped_resumed: int = 0
    stored: int = 0
    bad: int = 0
    published: int = 0
    acked: int = 0
    left_in_outbox: int = 0
    drained: bool = False


def publish_records(records: Iterable[Record | Encoded | None], *, state_dir: str | Path,
                    settings: MqttSettings, oper: str | None = None, veh: str | None = None,
                    mode: str = "bus", source_key: str | None = None, drain_timeout_s: float = 300.0,
                    window: int = 100, progress: Progress | None = None,
                    on_ready: Callable[[], None] | None = None) -> PublishSummary:
    """Store ``records`` in the outbox under ``state_dir`` (group commits of :data:`BATCH`) while the
    publisher drains it; then wait until everything is acknowledged or ``drain_timeout_s`` passes.

    ``oper``/``veh`` name the unit (status topic, last will, assignment subscription); by default they
    come from the first record. With ``source_key`` the number of records already stored is remembered,
    so a restarted run skips them instead of storing them twice. ``None`` stands for a bad line of a file
    (:func:`transit.jsonl.iter_records` placeholders): counted and logged (rate-limited), never fatal;
    records read from a file are published as the bytes they were read as. ``on_ready`` is called once
    the outbox is open (the command sends systemd's READY=1 there, which is also what a test waits for
    before it kills the process).
    """
    summary = PublishSummary()
    ratelog = RateLimitedLog(log, 30.0, clock=time.monotonic)
    outbox = Outbox.in_state_dir(state_dir)
    if on_ready is not None:
        on_ready()
    publisher: Publisher | None = None
    done_before = int(outbox.get_meta(source_key) or 0) if source_key else 0
    consumed = 0
    batch: list[Delivery] = []

    def ensure_publisher(first: Record | None) -> Publisher:
        nonlocal publisher
        if publisher is None:
            o = oper or (first.oper if first is not None else None)
            v = veh or (first.veh if first is not None else None)
            if not o or not v:
                raise OutboxError("cannot tell the unit's operator and vehicle: give oper/veh")
            publisher = Publisher(outbox, settings, oper=o, veh=v, mode=mode, window=window)
            publisher.start()
        return publisher

    def flush() -> None:
        meta = {source_key: str(consumed)} if source_key else None
        summary.stored += outbox.put(batch, meta=meta)
        batch.clear()
        if publisher is not None:
            publisher.notify()

    try:
        if len(outbox) and oper and veh:  # a previous run left messages: start draining them at once
            ensure_publisher(None)
        for item in records:
            consumed += 1
            summary.read += 1
            rec = item.record if isinstance(item, Encoded) else item
            if consumed <= done_before:
                summary.skipped_resumed += 1
                if publisher is None and len(outbox) and rec is not None:
                    ensure_publisher(rec)
                continue
            if item is None or rec is None:
                summary.bad += 1
                ratelog.warn("bad_record", "skipping line %d: not a valid record", consumed)
            else:
                try:
                    batch.extend(deliveries_for_record(item, prefix=settings.topic_prefix, mode=mode))
                    ensure_publisher(rec)
                except DecodeError as exc:
                    summary.bad += 1
                    ratelog.warn("bad_record", "skipping record %d: %s", consumed, exc)
            if len(batch) >= BATCH or (consumed % BATCH == 0):
                flush()
            if progress is not None and consumed % BATCH == 0:
                progress.update(consumed)
        flush()
        pub = publisher
        if pub is None and len(outbox) and oper and veh:
            pub = ensure_publisher(None)
        if pub is not None:
            summary.drained = pub.wait_drained(drain_timeout_s)
        else:
            summary.drained = len(outbox) == 0
    finally:
        if publisher is not None:
            publisher.stop()
            summary.published = publisher.counters.published
            summary.acked = publisher.counters.acked
        summary.left_in_outbox = len(outbox)
        outbox.close()
    return summary


def read_jsonl(path: Path) -> Iterator[Encoded | None]:
    """Records from an events file, validated; a line that is not a valid record is logged and yielded as
    ``None`` (which :func:`publish_records` counts as bad) so the resume position stays aligned with lines."""
    return jsonl.iter_records(path, placeholders=True)


EXAMPLES = """\
rettid-onboard publish events.jsonl --config /etc/rettid/onboard.yaml
rettid-onboard publish events.jsonl --broker mqtt://127.0.0.1:1883 --state-dir /tmp/st --mode train
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", nargs="+", type=Path, help="events.jsonl file(s) from the onboard core")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="onboard.yaml: mqtt section, operator, vehicle, its mode and state dir")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="where outbox.sqlite lives (default: the "
                   "config's unit.state_dir)")
    add_mqtt_arguments(p, tls=True, broker_help="broker, mqtt://HOST:PORT or mqtts://HOST:PORT (default: "
                       "the config's mqtt.url)")
    p.add_argument("--oper", help="operator id (default: from config or the records)")
    p.add_argument("--veh", help="vehicle id (default: from config or the records)")
    p.add_argument("--mode", choices=("train", "bus"),
                   help="transport mode in topics (default: the config's vehicle mode; needed without --config)")
    p.add_argument("--window", type=int, default=100, help="max unacknowledged messages (default 100)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the drain")


def run(args: argparse.Namespace) -> int:
    oper, veh, state_dir, mode = args.oper, args.veh, args.state_dir, args.mode
    mqtt = MqttConfig()
    if args.config:
        from onboard.service.config import OnboardConfig

        cfg = OnboardConfig.load(args.config)
        mqtt = cfg.mqtt
        oper, veh = oper or cfg.operator_id, veh or cfg.vehicle_id
        state_dir, mode = state_dir or cfg.unit.state_dir, mode or cfg.mode
    if state_dir is None:
        raise ConfigError("give --state-dir or --config (unit.state_dir)", key="--state-dir")
    if mode is None:  # the topics must carry the vehicle's one mode, as its live service publishes them
        raise ConfigError("give --mode train|bus or --config (the vehicle's mode)", key="--mode")
    settings = MqttSettings.from_config(mqtt_from_args(args, mqtt))
    from transit.sdnotify import Notifier

    notifier = Notifier()
    all_drained = True
    for path in args.events:
        lines = 0
        for part in jsonl.expand_rotated(path):  # x.jsonl.N ... x.jsonl.1, x.jsonl: the records in order
            try:
                with jsonl.open_text(part) as f:
                    lines += sum(1 for _ in f)
            except OSError as exc:
                raise ConfigError(f"cannot read events file: {exc}", file=str(part)) from exc
        progress = Progress(lines, label=path.name)
        s = publish_records(read_jsonl(path), state_dir=state_dir, settings=settings,
                            oper=oper, veh=veh, mode=mode, source_key=f"source:{path.resolve()}",
                            drain_timeout_s=args.timeout, window=args.window, progress=progress,
                            on_ready=functools.partial(notifier.ready, f"publishing {path.name}"))
        progress.close()
        msg = (f"{path}: {s.read} records read ({s.skipped_resumed} already stored by an earlier run), "
               f"{s.stored} stored, {s.bad} bad, {s.published} published, {s.acked} acknowledged, "
               f"{s.left_in_outbox} left in the outbox")
        print(msg)  # noqa: T201
        all_drained = all_drained and s.drained
    return 0 if all_drained else 1
