"""A fleet of lightweight simulated vehicles for the soak of the central side (issue 17).

Not 500 simulators: each vehicle is a record stream with the real records (``transit.records``: ids,
data times, every field a unit fills) turned into the real topics and payloads
(``transit.messages.deliveries_for_record``), published the way the onboard publisher does
(``onboard.records.publisher``): one MQTT 5 client per vehicle identity (``rettid-<oper>-<veh>``), a
persistent session (``clean_start=False``), QoS 1, in order, at most :data:`WINDOW` unacknowledged, a
retained ``online`` status with an ``offline`` last will. What it leaves out is the unit's SQLite outbox
on disk (measured by the outbox's own benchmarks): here paho's session keeps what is not yet
acknowledged, and a message counts as sent only on its PUBACK.

Each vehicle drives a line of :data:`STOPS` stops, :data:`RUN_S` s apart with :data:`DWELL_S` s at each:
a position every second (the unit's 1 Hz ``vp``), an arrival and a departure at each stop with their
delay, a punctuality registration at every third stop, and every :data:`ETA_EVERY_S` s an ``eta`` with the
next stops (retained stop predictions, the withdrawn ones cleared) — the mix and rates of an onboard unit
(``eta_interval_s`` 30 s). Vehicles start at different points of the line so events are not in step; the
delay drifts per vehicle (seeded: the same plan gives the same records and ids).

Time compression: the records carry data time, and nothing central depends on when they arrive, so the
stream may run faster than real time (``warp``: data seconds per wall second); the first ``real_s`` data
seconds run at 1 Hz so the central side can be measured at the fleet's real rate.

``python -m bench.fleet publish ...`` is one publisher process (a share of the vehicles); :func:`run_soak`
starts the broker's peers: the collector(s) (``python -m central run``) and the publisher processes, and
counts what was stored against what was sent, by record id.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STOPS = 12
RUN_S = 110  # driving between stops (about 1.3 km at 12 m/s)
DWELL_S = 30
ETA_EVERY_S = 30
ETA_STOPS = 6  # remaining stops an eta record predicts (each a retained stop prediction)
SPEED = 12.0
WINDOW = 100  # unacknowledged messages per vehicle, as the onboard publisher's default window
PREFIX = "rettid/v1"


@dataclass(frozen=True)
class FleetPlan:
    """Who drives, from when, for how long, how fast the data time runs."""

    vehicles: int = 500
    seconds: int = 3600  # data seconds per vehicle
    start: str = "2026-11-23T05:00:00.000Z"  # data time of the first second (UTC)
    real_s: int = 60  # the first data seconds at 1 Hz (measured at the fleet's real rate)
    warp: float = 6.0  # data seconds per wall second after that
    oper: str = "fleet"
    mode: str = "bus"
    first_veh: int = 1000

    def veh(self, i: int) -> str:
        return str(self.first_veh + i)

    def data_s(self, wall_s: float) -> float:
        """Data seconds done ``wall_s`` after the start."""
        if wall_s <= self.real_s:
            return wall_s
        return self.real_s + (wall_s - self.real_s) * self.warp

    def wall_s(self) -> float:
        """Wall seconds the whole plan takes at its pace."""
        rest = max(0, self.seconds - self.real_s)
        return min(self.seconds, self.real_s) + rest / self.warp


class Vehicle:
    """One vehicle's record stream, second by second (data time)."""

    CYCLE = STOPS * (RUN_S + DWELL_S)

    def __init__(self, plan: FleetPlan, i: int) -> None:
        from transit.timeutil import parse_iso

        self.plan = plan
        self.veh = plan.veh(i)
        self.t0 = parse_iso(plan.start).timestamp()
        self.phase = (i * 97) % self.CYCLE  # where on the line it is at the start
        self.rng = random.Random(f"fleet-{plan.oper}-{self.veh}")
        self.delay = self.rng.uniform(-30, 120)
        self.route = f"{100 + i % 40}F"
        self._clear: list[str] = []

    def _trip(self, k: int) -> Any:
        from transit.records import TripRef
        from transit.timeutil import COPENHAGEN, from_epoch

        start = from_epoch(self.t0 - self.phase + k * self.CYCLE).astimezone(COPENHAGEN)
        return TripRef(f"{self.route}-{self.veh}-{start:%H%M}", start.date().isoformat(), self.route, k % 2,
                       f"{start:%H:%M}")

    def _stop(self, k: int, j: int) -> str:
        return f"F{self.route}S{j if k % 2 == 0 else STOPS - 1 - j}"

    def records(self, s: int) -> list[Any]:
        """The records of data second ``s`` (0-based) of the plan."""
        from transit.records import Arrival, Departure, Eta, EtaStop, Position, Punctuality
        from transit.timeutil import from_epoch, iso_utc_ms

        t = self.t0 + s
        x = s + self.phase
        k, into = divmod(x, self.CYCLE)
        j, at = divmod(into, RUN_S + DWELL_S)
        trip = self._trip(k)
        trip_t0 = self.t0 - self.phase + k * self.CYCLE
        self.delay = min(900.0, max(-60.0, self.delay + self.rng.gauss(0.0, 0.4)))
        dist = j * RUN_S * SPEED + max(0, at - DWELL_S) * SPEED
        odo = (x // 1) * SPEED * 0.8
        common = dict(veh=self.veh, oper=self.plan.oper, trip=trip)
        stop, seq = self._stop(k, j), j + 1
        moving = at >= DWELL_S
        out: list[Any] = [Position.make(t, **common, stop_id=stop, seq=seq, loc="GPS",
                                        lat=55.6 + dist * 9e-6, lon=12.3 + (k % 2) * 0.01,
                                        spd=SPEED if moving else 0.0, odo=odo, hdg=90.0, dist=dist,
                                        dl=round(self.delay, 1), drst=0 if moving else 1)]
        sched = from_epoch(trip_t0 + j * (RUN_S + DWELL_S))
        if at == 0:
            out.append(Arrival.make(t, **common, stop_id=stop, seq=seq, loc="GPS", odo=odo, drst=0,
                                    sched=iso_utc_ms(sched), dl=round(self.delay, 1)))
            if j % 3 == 2:
                out.append(Punctuality.make(
                    t, **common, stop_id=stop, seq=seq, loc="GPS", status="measured", station=stop,
                    measured="arrival", counted=True, sched=iso_utc_ms(sched), actual=iso_utc_ms(from_epoch(t)),
                    dl=round(self.delay, 1), late=self.delay >= 180, policy="bus"))
        elif at == DWELL_S:
            out.append(Departure.make(t, **common, stop_id=stop, seq=seq, loc="GPS", odo=odo, drst=0,
                                      sched=iso_utc_ms(sched + timedelta(seconds=DWELL_S)),
                                      dl=round(self.delay, 1)))
            self._clear.append(stop)
        if x % ETA_EVERY_S == 0 or (at == DWELL_S and j == STOPS - 1):
            ahead = []
            for jj in range(j + (1 if moving else 0), min(STOPS, j + 1 + ETA_STOPS)):
                arr = from_epoch(trip_t0 + jj * (RUN_S + DWELL_S))
                dep = arr + timedelta(seconds=DWELL_S)
                d = timedelta(seconds=round(self.delay))
                ahead.append(EtaStop(stop_id=self._stop(k, jj), seq=jj + 1, sched_arr=iso_utc_ms(arr),
                                     sched_dep=None if jj == STOPS - 1 else iso_utc_ms(dep),
                                     eta_arr=iso_utc_ms(arr + d),
                                     eta_dep=None if jj == STOPS - 1 else iso_utc_ms(dep + d), platform="1"))
            clear, self._clear = self._clear, []
            out.append(Eta.make(t, **common, stop_id=stop, seq=seq, loc="GPS", headsign=f"{self.route} endestation",
                                occu=None, dl=round(self.delay, 1), stops=ahead, clear=clear or None,
                                id_extra=",".join(clear)))
        return out


# ------------------------------------------------------------------------------------ publisher process
@dataclass
class PublisherStats:
    vehicles: int = 0
    records: int = 0  # records handed to the clients (not eta)
    messages: int = 0  # MQTT messages (records plus retained stop predictions)
    acked: int = 0
    connects: int = 0
    disconnects: int = 0
    behind_max_s: float = 0.0  # how far the stream fell behind its pace at worst (data s)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    done: bool = False


class _Client:
    """One vehicle's MQTT client: the onboard publisher's session semantics (see module docstring)."""

    def __init__(self, plan: FleetPlan, veh: str, port: int, stats: PublisherStats, lock: threading.Lock) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from transit.messages import status_payload, status_topic

        self.client_id = f"rettid-{plan.oper}-{veh}"
        self.stats = stats
        self.lock = lock
        self.pending: list[Any] = []  # MQTTMessageInfo of messages not yet acknowledged
        self.connected = threading.Event()
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(WINDOW)
        c.max_queued_messages_set(0)  # beyond the window paho queues in order (the outbox's role here)
        self.status = status_topic(PREFIX, plan.mode, plan.oper, veh)
        self.online = status_payload("online", oper=plan.oper, veh=veh, client_id=self.client_id)
        self.offline = status_payload("offline", oper=plan.oper, veh=veh, client_id=self.client_id)
        c.will_set(self.status, self.offline, qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 86400
        c.reconnect_delay_set(1, 30)
        c.connect_async("127.0.0.1", port, keepalive=60, clean_start=False, properties=props)
        c.loop_start()
        self.c = c

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            return
        with self.lock:
            self.stats.connects += 1
        client.publish(self.status, self.online, qos=1, retain=True)
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if self.connected.is_set():
            with self.lock:
                self.stats.disconnects += 1
        self.connected.clear()

    def settle(self) -> int:
        """Forget the acknowledged messages; returns how many are still unacknowledged."""
        left = [i for i in self.pending if not i.is_published()]
        self.stats.acked += len(self.pending) - len(left)
        self.pending = left
        return len(left)

    def publish(self, deliveries: list[Any]) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        for d in deliveries:
            props = None
            if d.expiry_s is not None:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.MessageExpiryInterval = d.expiry_s
            self.pending.append(self.c.publish(d.topic, d.payload, qos=d.qos, retain=d.retain, properties=props))

    def close(self) -> None:
        """``offline`` status (a clean DISCONNECT does not fire the will), then disconnect."""
        self.c.publish(self.status, self.offline, qos=1, retain=True).wait_for_publish(5)
        self.c.disconnect()
        self.c.loop_stop()


def publish_main(argv: list[str] | None = None) -> int:
    """One publisher process: vehicles ``first`` .. ``first+count-1`` of the plan."""
    ap = argparse.ArgumentParser(prog="python -m bench.fleet publish")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--plan", required=True, help="FleetPlan as JSON")
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--t0-mono", type=float, required=True, help="CLOCK_MONOTONIC of data second 0")
    ap.add_argument("--ids", type=Path, required=True, help="write the ids of the records sent here")
    ap.add_argument("--stats", type=Path, required=True)
    args = ap.parse_args(argv)
    from transit.messages import deliveries_for_record

    plan = FleetPlan(**json.loads(args.plan))
    stats = PublisherStats(vehicles=args.count)
    lock = threading.Lock()
    idx = range(args.first, args.first + args.count)
    vehicles = [Vehicle(plan, i) for i in idx]
    clients = [_Client(plan, v.veh, args.port, stats, lock) for v in vehicles]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cpu0 = time.process_time()
    done = 0  # data seconds published
    with args.ids.open("w", encoding="ascii", buffering=1 << 20) as ids:
        while done < plan.seconds and not stop.is_set():
            due = min(plan.seconds, int(plan.data_s(time.monotonic() - args.t0_mono)) + 1)
            if done >= due:
                time.sleep(min(0.05, max(0.001, (args.t0_mono + _wall_for(plan, done)) - time.monotonic())))
                continue
            stats.behind_max_s = max(stats.behind_max_s, float(due - done - 1))
            for v, c in zip(vehicles, clients, strict=True):
                for rec in v.records(done):
                    ds = deliveries_for_record(rec, prefix=PREFIX, mode=plan.mode)
                    c.publish(ds)
                    stats.messages += len(ds)
                    if rec.event != "eta":
                        stats.records += 1
                        ids.write(rec.id + "\n")
            done += 1
            if done % 10 == 0:
                for c in clients:
                    c.settle()
                _write_stats(args.stats, stats, cpu0, args.t0_mono)
    # everything acknowledged before leaving (a unit keeps its outbox until the broker has it)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and sum(c.settle() for c in clients) > 0:
        time.sleep(0.1)
    unacked = sum(c.settle() for c in clients)
    for c in clients:
        c.close()
    stats.done = unacked == 0 and done == plan.seconds
    _write_stats(args.stats, stats, cpu0, args.t0_mono)
    return 0 if stats.done else 1


def _wall_for(plan: FleetPlan, data_s: float) -> float:
    if data_s <= plan.real_s:
        return data_s
    return plan.real_s + (data_s - plan.real_s) / plan.warp


def _write_stats(path: Path, stats: PublisherStats, cpu0: float, t0: float) -> None:
    stats.cpu_s = time.process_time() - cpu0
    stats.wall_s = time.monotonic() - t0
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(stats)))
    tmp.replace(path)


# ------------------------------------------------------------------------------------------- the soak
def cpu_s(pid: int) -> float:
    """utime + stime of a process (``/proc/<pid>/stat``), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a running process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class SoakResult:
    plan: FleetPlan
    sent_records: int = 0
    sent_messages: int = 0
    stored: int = 0
    lost: int = 0  # record ids sent and acknowledged by the broker but not in the store
    unexpected: int = 0  # ids in the store that no vehicle sent
    collector_cpu_fraction_real: float = 0.0  # over the 1 Hz window
    collector_cpu_fraction_warp: float = 0.0  # over the compressed part
    collector_cpu_s_per_data_s: float = 0.0  # the compressed part's CPU per data second of the fleet
    broker_cpu_fraction_real: float = 0.0
    broker_cpu_fraction_warp: float = 0.0
    collector_rss_mb: list[float] = field(default_factory=list)
    broker_rss_mb: float = 0.0
    real_window_s: float = 0.0
    warp_window_s: float = 0.0
    warp_achieved: float = 0.0
    drain_s: float = 0.0
    publisher_cpu_s: float = 0.0
    publishers_behind_max_s: float = 0.0
    collector_counters: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d["plan"] = asdict(self.plan)
        return d


_STOPPED = re.compile(r"collector stopped: .*")


def run_soak(plan: FleetPlan, broker: Any, work: Path, *, db_url: str | None = None,
             db_password_file: Path | None = None, db_schema: str = "rettid", collectors: int = 1, share_group: str | None = None, processes: int = 5,
             count_store: Any = None) -> SoakResult:
    """The whole soak: ``collectors`` × ``python -m central run`` on ``broker`` (a started
    :class:`transit.localbroker.LocalBroker`), ``processes`` publisher processes sharing the vehicles,
    the collectors' and the broker's CPU over the 1 Hz window and over the compressed rest, then the store
    counted against the ids sent. ``db_url`` defaults to an SQLite file in ``work`` (PostgreSQL: with
    ``db_password_file`` and ``db_schema``); ``count_store`` opens the store for counting (default:
    :func:`central.store.open_store` on ``db_url``)."""
    import yaml

    from central.store import open_store

    work.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{work}/central.sqlite"
    database: dict[str, str] = {"url": db_url, "schema": db_schema}
    if db_password_file is not None:
        database["password_file"] = str(db_password_file)
    res = SoakResult(plan)
    cols: list[subprocess.Popen[bytes]] = []
    pubs: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(collectors):
            conf = work / f"central-{n + 1}.yaml"
            conf.write_text(yaml.safe_dump({
                "mqtt": {"url": broker.url, "client_id": f"rettid-central-{n + 1}"}, "database": database,
                "collector": {"share_group": share_group} if share_group else {}}), encoding="utf-8")
            cmd = [sys.executable, "-m", "central", "run", "--config", str(conf)]
            log = work / f"collector-{n + 1}.log"
            cols.append(subprocess.Popen(cmd, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT))
        for n, p in enumerate(cols):
            log = work / f"collector-{n + 1}.log"
            if not _wait_for(lambda log=log: "collector connected" in log.read_text(errors="replace"), 60) \
                    or p.poll() is not None:
                raise RuntimeError(f"collector {n + 1} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(1.0)  # subscribed
        t0 = time.monotonic() + 5.0  # every publisher connects its clients before data second 0
        per = -(-plan.vehicles // processes)
        for n in range(processes):
            first, count = n * per, min(per, plan.vehicles - n * per)
            if count <= 0:
                break
            cmd = [sys.executable, "-m", "bench.fleet", "publish", "--port", str(broker.port), "--plan",
                   json.dumps(asdict(plan)), "--first", str(first), "--count", str(count), "--t0-mono", str(t0),
                   "--ids", str(work / f"ids-{n}.txt"), "--stats", str(work / f"pub-{n}.json")]
            pubs.append(subprocess.Popen(cmd, cwd=REPO, stdout=(work / f"pub-{n}.log").open("wb"),
                                         stderr=subprocess.STDOUT))
        bpid = broker.proc.pid

        def sample() -> tuple[float, list[float], float]:
            return time.monotonic(), [cpu_s(p.pid) for p in cols], cpu_s(bpid)

        # the 1 Hz window: from data second 5 (connections settled) to the end of real_s
        real_end = t0 + min(plan.real_s, plan.seconds)
        _sleep_until(t0 + min(5.0, plan.real_s / 4))
        a = sample()
        _sleep_until(real_end)
        b = sample()
        res.real_window_s = b[0] - a[0]
        res.collector_cpu_fraction_real = sum(b[1]) / res.real_window_s - sum(a[1]) / res.real_window_s
        res.broker_cpu_fraction_real = (b[2] - a[2]) / res.real_window_s
        # the compressed rest, until the last publisher is done
        while any(p.poll() is None for p in pubs):
            time.sleep(0.2)
            if time.monotonic() - t0 > plan.wall_s() * 3 + 600:
                raise RuntimeError("publishers did not finish")
        c = sample()
        res.warp_window_s = c[0] - b[0]
        data_warp = max(0, plan.seconds - plan.real_s)
        if res.warp_window_s > 0 and data_warp:
            res.collector_cpu_fraction_warp = (sum(c[1]) - sum(b[1])) / res.warp_window_s
            res.broker_cpu_fraction_warp = (c[2] - b[2]) / res.warp_window_s
            res.collector_cpu_s_per_data_s = (sum(c[1]) - sum(b[1])) / data_warp
            res.warp_achieved = data_warp / res.warp_window_s
        bad = [n for n, p in enumerate(pubs) if p.returncode != 0]
        if bad:
            raise RuntimeError(f"publisher(s) {bad} failed: {(work / f'pub-{bad[0]}.log').read_text()[-2000:]}")
        for n in range(len(pubs)):
            st = json.loads((work / f"pub-{n}.json").read_text())
            res.sent_records += st["records"]
            res.sent_messages += st["messages"]
            res.publisher_cpu_s += st["cpu_s"]
            res.publishers_behind_max_s = max(res.publishers_behind_max_s, st["behind_max_s"])
        # every message is at the broker (acknowledged): wait until the collectors have committed them
        t_drain = time.monotonic()
        pg = {"password_file": db_password_file, "schema": db_schema} if db_url.startswith("postgres") else {}
        store = count_store() if count_store is not None else open_store(db_url, **pg)
        try:
            deadline = time.monotonic() + 600
            while store.count() < res.sent_records and time.monotonic() < deadline:
                time.sleep(0.5)
            res.drain_s = time.monotonic() - t_drain
            time.sleep(1.0)  # anything beyond the sent ids would show now
            res.collector_rss_mb = [round(hwm_mb(p.pid), 1) for p in cols]
            res.broker_rss_mb = round(hwm_mb(bpid), 1)
            res.stored = store.count()
            res.lost, res.unexpected = _compare_ids(work, store, len(pubs))
        finally:
            store.close()
    finally:
        for p in pubs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
        for p in cols:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for n in range(len(cols)):
            m = _STOPPED.findall((work / f"collector-{n + 1}.log").read_text(errors="replace"))
            res.collector_counters.append(m[-1] if m else "no summary")
    return res


def _compare_ids(work: Path, store: Any, n: int) -> tuple[int, int]:
    """(sent but not stored, stored but not sent), by record id, in a scratch SQLite file (two million
    ids do not belong in a Python set on a small machine)."""
    scratch = work / "ids.sqlite"
    db = sqlite3.connect(scratch)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("CREATE TABLE sent (id TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("CREATE TABLE stored (id TEXT PRIMARY KEY) WITHOUT ROWID")
        for k in range(n):
            with (work / f"ids-{k}.txt").open(encoding="ascii") as fh:
                db.executemany("INSERT OR IGNORE INTO sent VALUES (?)", ((x.strip(),) for x in fh))
        db.executemany("INSERT OR IGNORE INTO stored VALUES (?)", ((i,) for i in store.ids()))
        lost = db.execute("SELECT COUNT(*) FROM sent WHERE id NOT IN (SELECT id FROM stored)").fetchone()[0]
        extra = db.execute("SELECT COUNT(*) FROM stored WHERE id NOT IN (SELECT id FROM sent)").fetchone()[0]
        return int(lost), int(extra)
    finally:
        db.close()
        scratch.unlink(missing_ok=True)


def _wait_for(pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _sleep_until(mono: float) -> None:
    left = mono - time.monotonic()
    if left > 0:
        time.sleep(left)


def iter_plan_records(plan: FleetPlan) -> Iterator[Any]:
    """Every record of the plan in data-time order (tests: what the soak should have stored)."""
    vs = [Vehicle(plan, i) for i in range(plan.vehicles)]
    for s in range(plan.seconds):
        for v in vs:
            yield from v.records(s)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["publish"]:
        print("usage: python -m bench.fleet publish --port N --plan JSON --first I --count N --t0-mono T "
              "--ids FILE --stats FILE", file=sys.stderr)
        return 2
    return publish_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
