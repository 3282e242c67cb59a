"""``make demo``: the whole system in simulation, and the helpers the end-to-end test and the benchmark
share (a local Mosquitto, unit configurations that point the services at the simulator's devices).

The demo drives the *recorded-input path*, which runs the same onboard core as the live service but as
fast as the CPU allows (a live run of a morning at a time-warp would be paced by the slowest link, the
byte-by-byte SLCAN reader):

1. ``sim_bus record`` per vehicle (920E and 920R on Frederiksværkbanen, R-bus 330R through Hillerød
   St.; three trips of each one's Monday block, a morning), in parallel;
2. ``onboard replay --broker`` per vehicle: the onboard core over the recording, every record
   through the outbox to a local Mosquitto, while a subscriber (the "central system") collects what
   the broker delivers;
3. the Hillerød St. countdown display at simulated instants, fed the prediction messages exactly as
   the broker delivered them (``station.predictions.PredictionStore``, retained-message semantics and
   120 s expiry), rendered with ``station.layout.compose``; the friezes of each vehicle from its
   records (``onboard.passinfo.frieze.FriezeTracker``);
4. the punctuality and occupancy reports (``python -m central report ... --format html``) and a summary.

Orchestration only: it starts programs and reads their files; all logic lives in the packages.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from transit.errors import DeviceError, RettidError
from transit.jsonl import read_records
from transit.localbroker import LocalBroker
from transit.records import Eta, Record

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "data" / "scenarios"
STATION_CONFIG = REPO / "data" / "config" / "station-hilleroed.yaml"
#: (scenario, block, first trip, trips): each vehicle drives part of its Monday block, a morning from
#: about 06:00 to 09:30 local time, through Hillerød St.
DEMO_VEHICLES = (
    ("920E-express", "920_MT_04", "920E_MT_0_0630", 3),     # 06:30 out, 07:30 back, 08:30 out
    ("330R-bus-multipath", "bus_MT_03", "330R_MT_0_0635", 3),  # 06:35, 07:20 back, 08:05
    ("920R-weekday", "920_MT_02", "920R_MT_1_0615", 3),     # 06:15 in to Hillerød, 07:15 out, 08:12 in
)
# A morning is not all on time: the 920R train loses minutes at Frederiksværk (a door fault, a crowd
# off a late bus), so the punctuality report has late arrivals at the registration stations to show.
DEMO_DELAYS: dict[str, dict[str, Any]] = {
    "920R-weekday": {"origin_s": 0, "fixed": {"skaevinge": 75, "frederiksvaerk": 230},
                     "random": {"probability": 0.15, "mean_s": 25, "max_s": 120}},
}


# ------------------------------------------------------------------------------------------ broker
class Collector:
    """The central system's side: subscribes to everything under the prefix and keeps
    ``(topic, payload, retain)`` in arrival order (paho thread; read after :meth:`stop`)."""

    def __init__(self, url: str, topic: str = "rettid/v1/#") -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        host, _, port = url.removeprefix("mqtt://").partition(":")
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self._c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"collector-{os.getpid()}",
                              protocol=mqtt.MQTTv5)
        self._topic = topic

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe(self._topic, qos=1)

        def on_subscribe(c: Any, u: Any, mid: Any, rcs: Any, p: Any) -> None:
            self.subscribed.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self._lock:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

        self._c.on_connect = on_connect
        self._c.on_subscribe = on_subscribe
        self._c.on_message = on_message
        self._c.connect(host, int(port or 1883))
        self._c.loop_start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.subscribed.wait(timeout)

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def records(self) -> list[dict[str, Any]]:
        """Decoded JSON payloads of journey/record messages (not predictions or status)."""
        out = []
        for topic, payload, _ in self.snapshot():
            if ("/journey/" in topic or "/record/" in topic) and payload:
                try:
                    out.append(json.loads(payload))
                except ValueError:
                    log.warning("collector: undecodable payload on %s", topic)
        return out

    def stop(self) -> None:
        self._c.disconnect()
        self._c.loop_stop()


# ------------------------------------------------------------------------------------ configurations
def _abs(base: Path, p: str) -> str:
    q = Path(p)
    return str(q if q.is_absolute() else (base / q).resolve())


def derive_scenario(name_or_path: str | Path, out: Path, **overrides: Any) -> Path:
    """A copy of a scenario with absolute feed/operator paths and top-level sections replaced, merged
    (``can={"background_fps": 0}`` merges into ``can``) or removed (``trips=None``)."""
    src = Path(name_or_path)
    if not src.suffix:
        src = SCENARIOS / f"{src}.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    for key in ("feed", "operator"):
        if doc.get(key):
            doc[key] = _abs(src.parent, doc[key])
    for k, v in overrides.items():
        if v is None:
            doc.pop(k, None)
        elif isinstance(v, dict) and isinstance(doc.get(k), dict):
            doc[k].update(v)
        else:
            doc[k] = v
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def live_onboard_config(scenario: Path, *, gnss_url: str, can_channel: str | None, gpio_file: Path | None,
                        state_dir: Path, frieze_png: Path | None = None, baudrate: int | None = None,
                        frieze: dict[str, Any] | None = None, display: dict[str, Any] | None = None
                        ) -> dict[str, Any]:
    """``onboard.yaml`` for a unit attached to ``sim_bus live`` of ``scenario``: NMEA on a pty (serial
    backend), CAN through the emulated SLCAN adapter, door beams from the simulator's GPIO FIFO
    (replay backend: edges with their simulated times), the scenario's vehicle, doors and trips."""
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    v = doc["vehicle"]
    cfg: dict[str, Any] = {
        "unit": {"id": f"sim-{v['id']}", "vehicle": str(v["id"]), "operator": _abs(scenario.parent, doc["operator"]),
                 "state_dir": str(state_dir), "timezone": "Europe/Copenhagen"},
        "feed": _abs(scenario.parent, doc["feed"]),
        "vehicle": {"type": v["operator_type"]},
        "assignment": ({"trips": list(doc["trips"]), "service_day": str(doc["service_day"])} if doc.get("trips")
                       else {"block": doc["block"], "service_day": str(doc["service_day"])}),
        "gnss": {"backend": "serial", "url": gnss_url,
                 "baudrate": int(baudrate or (doc.get("gnss") or {}).get("baud", 38400))},
    }
    if can_channel is not None:
        cfg["can"] = {"backend": "slcan", "channel": can_channel, "bitrate": 250000, "sleep_after_open": 0.1,
                      "doors": len(v.get("doors") or [])}
    if gpio_file is not None and v.get("doors"):
        cfg["counting"] = {"doors": [{"index": d["index"], "beams": d["beams"], "gate": "can"} for d in v["doors"]],
                           "blocked_level": 1}
        cfg["gpio"] = {"backend": "replay", "file": str(gpio_file)}
    if display is not None:  # any hw.display sink section, e.g. a framebuffer
        cfg["displays"] = {"frieze": display}
    elif frieze_png is not None:
        cfg["displays"] = {"frieze": {"backend": "png", "path": str(frieze_png)}}
    if frieze:
        cfg["frieze"] = frieze
    return cfg


def station_config(*, state_dir: Path, png: Path, scale: int = 1, base: Path = STATION_CONFIG) -> dict[str, Any]:
    """The Hillerød St. display configuration with a PNG sink and our state dir (broker given on the
    command line)."""
    doc: dict[str, Any] = yaml.safe_load(base.read_text(encoding="utf-8"))
    doc["unit"]["operator"] = _abs(base.parent, doc["unit"]["operator"])
    doc["unit"]["state_dir"] = str(state_dir)
    if doc.get("feed"):
        doc["feed"] = _abs(base.parent, doc["feed"])
    doc["sink"] = {"backend": "png", "path": str(png), "scale": scale}
    doc.pop("mqtt", None)
    return doc


def write_yaml(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


# ------------------------------------------------------------------------------------------ the demo
@dataclass
class VehicleRun:
    scenario: str
    rec: Path
    events: Path
    veh: str = ""
    route: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    truth_in: int = 0
    truth_out: int = 0


def _run_parallel(cmds: Sequence[tuple[str, list[str], Path]], bar: Any, label: str, frac0: float,
                  frac1: float) -> None:
    """Run commands at once (logs to files); fail with the tail of the log of the one that failed."""
    procs = []
    for name, cmd, logf in cmds:
        fh = open(logf, "wb")  # noqa: SIM115 - closed below
        procs.append((name, subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO), fh, logf))
    t0 = time.monotonic()
    while any(p.poll() is None for _, p, _, _ in procs):
        done = sum(p.poll() is not None for _, p, _, _ in procs)
        bar.update(frac0 + (frac1 - frac0) * done / len(procs), f"{label} ({time.monotonic() - t0:.0f} s)")
        time.sleep(0.3)
    for name, p, fh, logf in procs:
        fh.close()
        if p.returncode != 0:
            tail = logf.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise RettidError(f"{label} {name} failed (exit {p.returncode}):\n{tail}")


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in (json.loads(line) for line in fh if line.strip()) if isinstance(d, dict)]


def run_demo(out: Path, *, vehicles: Iterable[tuple[str, str, str, int]] = DEMO_VEHICLES,
             frame_step_s: float = 60.0, keep_work: bool = False) -> dict[str, Any]:
    """Run the demo into ``out``; returns the summary (also printed by ``python -m demo``)."""
    from transit.cli import Progress

    t_start = time.monotonic()
    out = out.resolve()  # the steps run in their own working directory
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rettid-demo-"))
    bar = Progress(1.0, label="demo")
    runs = []
    for name, block, first, n in vehicles:
        extra = {"delays": DEMO_DELAYS[name]} if name in DEMO_DELAYS else {}
        derive_scenario(name, work / f"{name}.yaml", trips=None, **extra,
                        block={"id": block, "from_trip": first, "max_trips": n})
        runs.append(VehicleRun(name, work / f"rec-{name}", out / "vehicles" / f"{name}.events.jsonl"))
    summary: dict[str, Any] = {"out": str(out), "path": "recorded inputs: sim_bus record -> onboard replay "
                               "--broker -> Mosquitto -> collector and station display"}
    broker = LocalBroker(work / "mosquitto").start()
    collector: Collector | None = None
    try:
        # 1. the simulator records each vehicle's inputs
        _run_parallel([(r.scenario, python_cmd("-m", "sim_bus", "record", str(work / f"{r.scenario}.yaml"),
                                                "--out", str(r.rec), "--no-progress"), work / f"record-{r.scenario}.log")
                       for r in runs], bar, "sim_bus record", 0.0, 0.45)
        # 2. the onboard core on each recording, publishing through its outbox to the broker
        collector = Collector(broker.url)
        if not collector.wait_ready():
            raise DeviceError("the collector could not subscribe to the local broker")
        (out / "vehicles").mkdir(parents=True, exist_ok=True)
        _run_parallel([(r.scenario, python_cmd(
            "-m", "onboard", "replay", "--config", str(r.rec / "onboard.yaml"), "--nmea", str(r.rec / "gnss.nmea"),
            "--can", str(r.rec / "can.log"), "--gpio", str(r.rec / "gpio.csv"), "--out", str(r.events),
            "--state-dir", str(work / f"state-{r.scenario}"), "--broker", broker.url),
            work / f"replay-{r.scenario}.log") for r in runs], bar, "onboard replay --broker", 0.45, 0.8)
        time.sleep(0.5)  # the last acknowledged messages reach the subscriber
        collector.stop()
        messages = collector.snapshot()
        received = collector.records()
        for r in runs:
            r.records = _load_jsonl(r.events)
            head: dict[str, Any] = next((x for x in r.records if x.get("route")), {})
            r.veh, r.route = str(head.get("veh", "?")), str(head.get("route", "?"))
            for t in _load_jsonl(r.rec / "truth.jsonl"):
                if t.get("kind") == "crossing":
                    if t.get("direction") == "in":
                        r.truth_in += 1
                    elif t.get("direction") == "out":
                        r.truth_out += 1
        bar.update(0.82, "events.jsonl")
        merged = sorted((x for r in runs for x in r.records), key=lambda x: (x["tst"], x["veh"], x["event"]))
        with (out / "events.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n" for x in merged)
        with (out / "received.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n" for x in received)
        # 3. displays
        bar.update(0.84, "countdown frames")
        # The outbox coalesces unsent predictions per topic (only the latest estimate matters), so a
        # replay that publishes its backlog at the end delivers the last prediction per stop only;
        # the display's timeline is rebuilt from the eta records, message by message.
        typed = {r.scenario: list(read_records(r.events)) for r in runs}  # validated, as every reader does
        merged_typed = sorted((x for t in typed.values() for x in t), key=lambda x: (x.tst, x.veh, x.event))
        countdown = render_countdown_frames(prediction_messages(merged_typed), out / "countdown",
                                            frame_step_s=frame_step_s)
        bar.update(0.92, "frieze frames")
        friezes = {r.scenario: render_frieze_frames(typed[r.scenario], out / "frieze", r.scenario) for r in runs}
        # 4. reports
        bar.update(0.95, "reports")
        subprocess.run(python_cmd("-m", "central", "report", "occupancy", str(out / "events.jsonl"), "--format",
                                  "html", "-o", str(out / "occupancy.html")), check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)
        # the contract month is one operator's (its feed, policy and strækninger): one report each
        for oper in sorted({x["oper"] for x in merged if x.get("event") == "punctuality"}):
            subprocess.run(python_cmd("-m", "central", "report", "punctuality", str(out / "events.jsonl"),
                                      "--operator", str(REPO / "data" / "operators" / f"{oper}.yaml"),
                                      "--format", "html", "-o", str(out / f"punctuality-{oper}.html")),
                           check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        bar.close()
        summary.update(_summarise(runs, received, messages, countdown, friezes))
    finally:
        if collector is not None:
            try:
                collector.stop()
            except Exception as exc:  # already stopped
                log.debug("collector stop: %s", exc)
        broker.stop()
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - t_start, 1)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary


def prediction_messages(records: Iterable[Record], prefix: str = "rettid/v1"
                        ) -> list[tuple[datetime, str, bytes]]:
    """``(data time, topic, payload)`` of every retained prediction message the vehicles' ``eta``
    records become (the bytes the publisher sends; an empty payload clears), in data-time order."""
    from transit.messages import encode_prediction, prediction_topic, predictions_from_record
    from transit.timeutil import parse_iso

    out: list[tuple[datetime, str, bytes]] = []
    for rec in records:
        if not isinstance(rec, Eta):
            continue
        tst = parse_iso(rec.tst)
        for stop_id, p in predictions_from_record(rec):
            topic = prediction_topic(prefix, stop_id, rec.oper, rec.veh)
            out.append((tst, topic, b"" if p is None else encode_prediction(p)))
    out.sort(key=lambda x: x[0])
    return out


def render_countdown_frames(timeline: Sequence[tuple[datetime, str, bytes]], folder: Path, *,
                            frame_step_s: float = 60.0, scale: int = 3) -> dict[str, Any]:
    """The Hillerød St. countdown at simulated instants, fed the prediction messages in data-time order
    through the display's own store (retained semantics, expiry 120 s from their data time), as PNGs
    and an animated GIF."""
    from PIL import Image

    from station.config import StationConfig
    from station.departures import BoardOptions, build_board, scheduled_for, stops_watched
    from station.layout import compose
    from station.predictions import PredictionStore
    from transit.messages import PREDICTION_EXPIRY_S
    from transit.timetable import Timetable
    from transit.timeutil import COPENHAGEN
    from transit.yamlconf import parse_yaml

    folder.mkdir(parents=True, exist_ok=True)
    doc = station_config(state_dir=folder, png=folder / "unused.png")
    cfg = StationConfig.from_node(parse_yaml(yaml.safe_dump(doc, allow_unicode=True), str(STATION_CONFIG)))
    tt = Timetable.load(cfg.feed)
    watched = sorted(stops_watched(tt, cfg.stops.ids))
    mine = tuple(f"/stop/{s}/" for s in watched)
    timeline = [m for m in timeline if any(x in m[1] for x in mine)]
    if not timeline:
        return {"frames": 0}
    first, last = timeline[0][0], timeline[-1][0]
    start = first.replace(second=0, microsecond=0) - timedelta(minutes=5)
    c = cfg.stops
    opts = BoardOptions(minutes_limit=c.minutes_limit, max_rows=c.max_rows, horizon_s=c.horizon_min * 60,
                        stale_after_s=c.stale_after_s, show_terminating=c.show_terminating)
    store = PredictionStore(watched, prefix="rettid/v1")
    images = []
    realtime_frames = 0
    i = 0
    at = start
    n = 0
    while at <= last + timedelta(minutes=5):
        while i < len(timeline) and timeline[i][0] <= at:
            tst, topic, payload = timeline[i]
            store.handle(topic, payload, tst, PREDICTION_EXPIRY_S)
            i += 1
        preds = [p for sid in watched for p in store.predictions(sid, at)]
        board = build_board(scheduled_for(tt, c.ids, at, timedelta(minutes=c.horizon_min)), preds, at, opts)
        frame = compose(board, cfg.panel, at)
        img = frame.image.resize((frame.image.width * scale, frame.image.height * scale), 0)
        img.save(folder / f"countdown-{at.astimezone(COPENHAGEN):%H%M}.png")
        images.append(img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
        realtime_frames += board.realtime_rows > 0
        n += 1
        at += timedelta(seconds=frame_step_s)
    images[0].save(folder.parent / "countdown.gif", save_all=True, append_images=images[1:], duration=400, loop=0)
    return {"frames": n, "frames_with_realtime": realtime_frames, "predictions_received": len(timeline),
            "stop": cfg.stops.title}


def render_frieze_frames(records: Sequence[Record], folder: Path, name: str, *,
                         step_s: float = 300.0) -> int:
    """Frieze frames of one vehicle every ``step_s`` of its trip and at each arrival, from its records."""
    from onboard.passinfo.frieze import FriezePanel, FriezeTracker, render_frieze
    from transit.timetable import Timetable
    from transit.timeutil import COPENHAGEN, parse_iso

    folder.mkdir(parents=True, exist_ok=True)
    with_trip = [r for r in records if r.trip_id]
    if not with_trip:
        return 0
    feed = REPO / "data" / "gtfs" / "lokaltog-sample"
    tt = Timetable.load(feed)
    tracker = FriezeTracker(tt)
    panel = FriezePanel(width=1280, height=240)
    next_t = parse_iso(with_trip[0].tst)
    n = 0
    for r in records:
        tst = parse_iso(r.tst)
        tracker.on_record(r)
        if tst >= next_t or r.event == "ars":
            img = render_frieze(tracker.view(tst), panel)
            img.save(folder / f"{name}-{tst.astimezone(COPENHAGEN):%H%M%S}-{r.event}.png")
            n += 1
            next_t = tst + timedelta(seconds=step_s)
    return n


def _summarise(runs: Sequence[VehicleRun], received: Sequence[dict[str, Any]],
               messages: Sequence[tuple[str, bytes, bool]], countdown: dict[str, Any],
               friezes: dict[str, int]) -> dict[str, Any]:
    vehicles = []
    for r in runs:
        ev: dict[str, int] = {}
        for x in r.records:
            ev[x["event"]] = ev.get(x["event"], 0) + 1
        punct = [x for x in r.records if x["event"] == "punctuality"]
        apc_in = sum(int(x.get("in", 0)) for x in r.records if x["event"] == "apc")
        apc_out = sum(int(x.get("out", 0)) for x in r.records if x["event"] == "apc")
        vehicles.append({
            "scenario": r.scenario, "veh": r.veh, "route": r.route, "records": len(r.records),
            "stop_events": sum(ev.get(k, 0) for k in ("arr", "ars", "dep", "pas")),
            "punctuality": [{"station": p.get("station"), "measured": p.get("measured"), "dl_s": p.get("dl"),
                             "punctual": p.get("punctual")} for p in punct],
            "counted_in": apc_in, "counted_out": apc_out, "truth_in": r.truth_in, "truth_out": r.truth_out,
            "frieze_frames": friezes.get(r.scenario, 0),
        })
    by_event: dict[str, int] = {}
    for x in received:
        by_event[x.get("event", "?")] = by_event.get(x.get("event", "?"), 0) + 1
    return {"vehicles": vehicles, "broker_messages": len(messages), "received_records": by_event,
            "countdown": countdown}


def print_summary(s: dict[str, Any]) -> None:
    """The terminal summary (CLI use)."""
    out = sys.stdout
    out.write(f"\nrettid demo: {s['path']}\n")
    for v in s["vehicles"]:
        out.write(f"  {v['route']:>5} vehicle {v['veh']:<12} {v['records']:6d} records, {v['stop_events']:3d} stop "
                  f"events, passengers in/out counted {v['counted_in']}/{v['counted_out']} "
                  f"(simulated {v['truth_in']}/{v['truth_out']})\n")
        for p in v["punctuality"]:
            dl = p["dl_s"]
            out.write(f"        punctuality {p['station']:<16} {p['measured'] or '-':<9} "
                      f"{'-' if dl is None else f'{dl:+.0f} s':>8}  {'on time' if p['punctual'] else 'LATE'}\n")
    rec = ", ".join(f"{k} {n}" for k, n in sorted(s["received_records"].items()))
    out.write(f"  broker delivered {s['broker_messages']} messages to the central subscriber: {rec}\n")
    c = s["countdown"]
    out.write(f"  countdown {c.get('stop', '')}: {c.get('frames', 0)} frames ({c.get('frames_with_realtime', 0)} "
              f"with realtime rows) from {c.get('predictions_received', 0)} predictions\n")
    out.write(f"  files in {s['out']}: events.jsonl, received.jsonl, punctuality-<operator>.html, "
              f"occupancy.html, "
              f"countdown.gif, countdown/*.png, frieze/*.png, vehicles/*.events.jsonl, summary.json\n")
    out.write(f"  done in {s['seconds']:.0f} s\n")


__all__ = ["Collector", "LocalBroker", "derive_scenario", "live_onboard_config", "print_summary", "run_demo",
           "station_config", "write_yaml"]
