"""``rettid-onboard replay --config CFG --nmea FILE --can FILE [--gpio FILE] -o EVENTS.jsonl``.

Runs the onboard core over recorded inputs as fast as the CPU allows (progress bar on a terminal).
Punctuality records go to the append-only log under ``--state-dir`` before anything else; with
``--broker`` the records then go through the outbox to the broker.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from transit.cli import Progress, add_mqtt_arguments, add_output_arguments, add_unit_arguments, mqtt_from_args
from transit.records import Encoded, Record

log = logging.getLogger(__name__)


EXAMPLES = """\
rettid-sim record data/scenarios/920R-weekday.yaml -o out/rec
rettid-onboard replay --config out/rec/onboard.yaml --nmea out/rec/gnss.nmea --can out/rec/can.log \\
    --gpio out/rec/gpio.csv -o out/events.jsonl
rettid-onboard replay ... --state-dir out/state --broker mqtt://127.0.0.1:1883
rettid-onboard replay ... --school data/school/viborg-rute-12.yaml   # a school run: ride time, notices
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_unit_arguments(p, config_help="onboard.yaml (unit file or sim_bus record's)", state_dir=False)
    p.add_argument("--nmea", required=True, type=Path, help="recorded NMEA (gnss.nmea)")
    p.add_argument("--can", type=Path, help="CAN log: candump -l (can.log), or any python-can log format "
                   "(.asc, .blf, .trc, .csv, ...)")
    p.add_argument("--gpio", type=Path, help="door beam edges (gpio.csv): passenger counting too")
    add_output_arguments(p, required=True, help="events.jsonl to write (one JSON object a line)")
    p.add_argument("--operator", type=Path, help="operator file (default: the config's, or the one beside "
                   "the feed that measures the line)")
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="append-only punctuality log (and outbox with --broker)")
    add_mqtt_arguments(p, broker_help="publish the records through the outbox: mqtt://HOST:PORT")
    p.add_argument("--vp-interval", type=float, default=1.0, help="position records every N s (0: none)")
    p.add_argument("--school", type=Path, action="append", default=[], metavar="RUNFILE",
                   help="school run file (docs/school-buses.md): ride time, school arrival and notice records "
                   "for its runs (repeatable)")


def run(args: argparse.Namespace) -> int:
    from onboard.records.punctuality import PunctualityLog
    from onboard.service.replay import load_setup, replay
    from transit.errors import ConfigError

    if args.broker and not args.state_dir:
        raise ConfigError("--broker needs --state-dir (the outbox lives there)", key="--state-dir")
    mqtt = mqtt_from_args(args) if args.broker else None

    for name in ("config", "nmea", "can", "gpio", "operator"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"{path}: no such file", key=f"--{name}")
    setup = load_setup(args.config, args.operator)
    school = None
    if args.school:
        from onboard.school.stage import build_monitor
        school = build_monitor(args.school, operator=setup.operator, capacity=setup.capacity, feed=setup.feed)
    plog = PunctualityLog(args.state_dir) if args.state_dir else None
    records: list[Encoded] = []
    counts: dict[str, int] = {}
    bar = Progress(1.0, label="replay")
    t_span: list[float] = []

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        def emit(rec: Record) -> None:
            write(rec)
            if school is not None:
                for r in school.on_record(rec):
                    write(r)

        def write(rec: Record) -> None:
            enc = Encoded.of(rec)  # encoded once: the punctuality log, events file and payload share it
            if plog is not None and rec.event == "punctuality":
                plog.append(enc)  # the durable log first
            out.write(enc.line)
            counts[rec.event] = counts.get(rec.event, 0) + 1
            if mqtt is not None:
                records.append(enc)

        def progress(t: float) -> None:
            if not t_span:
                t_span.append(t)
            bar.update(0.5, f"{t - t_span[0]:.0f} s of data")

        diag = replay(setup, args.nmea, args.can, args.gpio, emit, vp_interval_s=args.vp_interval,
                      progress=progress)
        if school is not None:
            for r in school.finish():
                write(r)
    bar.close()
    if plog is not None:
        plog.close()
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("diagnostics: " + ", ".join(f"{k}={v}" for k, v in sorted(diag.items()) if v))
    if mqtt is not None:
        from onboard.cli.cmd_publish import publish_records
        from onboard.records.publisher import MqttSettings

        s = publish_records(records, state_dir=args.state_dir, settings=MqttSettings.from_config(mqtt),
                            mode=setup.mode, source_key=f"replay:{args.out.resolve()}")
        print(f"published {s.published}, acknowledged {s.acked}, left in outbox {s.left_in_outbox}")
        return 0 if s.drained else 1
    return 0
