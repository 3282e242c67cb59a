"""Fan-in at a stop display (issue 17): ``station run`` subscribed to 200 vehicles at 1 Hz.

Load: 200 vehicles, each publishing its prediction for one of the display's stops once a second (spread
over the second, as unsynchronised units are), retained, QoS 1, with the units' 120 s message expiry —
the topic and payload an onboard unit sends (``transit.messages``) — through a real Mosquitto to a real
``python -m station run`` process (Hillerød St., the memory sink so no PNG encoding is counted, its web
page on loopback, ``--clock data``: the display takes its time from the predictions, which run on a
service day the feed covers). Each vehicle is on one of the trips that really leave the display's stops
in the next two hours; the data time advances one second per second.

Measured from ``/proc/<pid>/stat`` of the station process: its CPU over a window with one vehicle (the
display has a clock and renders realtime rows: the reference of the same run), then over a window with
the 200 vehicles. ``station_200_vehicles_cpu_fraction`` is the loaded figure; the extra per message is
(loaded − one vehicle) / messages received. Beside it: a plain paho subscriber process receiving the
same messages and doing nothing (what the MQTT library alone costs), and, in this process, the store's
own cost per message (``PredictionStore.handle``) against a plain ``msgspec`` decode of the same payload.

The feed is the station configuration's (the sample feed) unless ``RETTID_BENCH_STATION_FEED`` names
another (a national feed or a unit's slice) and ``RETTID_BENCH_STATION_STOP`` the stop to show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.registry import Metric, at_most, benchmark

REPO = Path(__file__).resolve().parent.parent
VEHICLES = 200
IDLE_S = float(os.environ.get("RETTID_BENCH_STATION_IDLE_S", "15"))
PAHO_S = 20.0
LOADED_S = float(os.environ.get("RETTID_BENCH_STATION_LOADED_S", "40"))
#: the service day and local time the display runs at (a Monday the sample feed covers, morning traffic)
T0 = datetime(2026, 11, 23, 7, 10, tzinfo=UTC)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _health(state: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state / "health.json").read_text()))
    except (OSError, ValueError):
        return {}


def vehicle_predictions(tt: Any, stop: str, at: datetime, n: int, *, oper: str = "lokaltog") -> list[Any]:
    """``n`` vehicles' predictions for trips that leave ``stop`` (or its platforms) within two hours of
    ``at`` in the timetable ``tt``: one vehicle per departure, round-robin when there are fewer departures
    than vehicles (then several vehicles report the same trip, as a double-headed train's two units do)."""
    from station.departures import scheduled_for, stops_watched
    from transit.messages import StopPrediction

    sched = scheduled_for(tt, [stop], at, timedelta(hours=2))
    if not sched:
        raise RuntimeError(f"no departures from {stop} within two hours of {at.isoformat()} in {tt.source}")
    watched = stops_watched(tt, [stop])
    out = []
    for i in range(n):
        s = sched[i % len(sched)]
        assert s.stop_id in watched
        times = tt.stop_times(s.trip_id)
        seq = next(st.stop_sequence for st in times if st.stop_id == s.stop_id)
        trip = tt.trips[s.trip_id]
        start = tt.trip_start_s(s.trip_id)
        out.append(StopPrediction(
            stop_id=s.stop_id, trip_id=s.trip_id, route=s.route, headsign=s.headsign,
            direction=trip.direction_id or 0, oday=s.service_day.isoformat(),
            start=f"{start // 3600}:{start % 3600 // 60:02d}", veh=str(5000 + i), oper=oper, seq=seq,
            sched_arr=s.departure, sched_dep=s.departure, eta_arr=s.departure, eta_dep=s.departure, tst=at,
            status="SCHEDULED", platform=s.platform, occu=None, loc="GPS"))
    return out


class _Vehicles:
    """The 200 units' predictions, each re-sent once a second with the data time and a drifting delay."""

    def __init__(self, broker_port: int, preds: list[Any]) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.preds = preds
        self.sent = 0
        self._stop = threading.Event()
        self._c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-vehicles",
                              protocol=mqtt.MQTTv5)
        self._c.max_inflight_messages_set(1000)
        self._c.connect("127.0.0.1", broker_port)
        self._c.loop_start()
        self._th = threading.Thread(target=self._run, daemon=True)

    def start(self, data_t0: datetime) -> None:
        self._data_t0 = data_t0
        self._mono0 = time.monotonic()
        self._th.start()

    def _run(self) -> None:
        from msgspec.structs import replace
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from transit.messages import PREDICTION_EXPIRY_S, encode_prediction, prediction_topic

        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = PREDICTION_EXPIRY_S
        n = len(self.preds)
        k = 0
        while not self._stop.is_set():
            # vehicle i sends at i/n of every second: the second's messages evenly spread
            due = self._mono0 + k / n
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            p = self.preds[k % n]
            tst = self._data_t0 + timedelta(seconds=k / n)
            late = timedelta(seconds=30 + (k // n) % 60)
            q = replace(p, tst=tst, eta_arr=p.sched_arr + late, eta_dep=p.sched_dep + late)
            self._c.publish(prediction_topic("rettid/v1", q.stop_id, q.oper, q.veh), encode_prediction(q), qos=1,
                            retain=True, properties=props)
            self.sent += 1
            k += 1

    def stop(self) -> None:
        self._stop.set()
        if self._th.is_alive():
            self._th.join(5)
        self._c.disconnect()
        self._c.loop_stop()


def _per_message_us(preds: list[Any], stop_ids: list[str]) -> tuple[float, float]:
    """In this process: ``PredictionStore.handle`` per message, and a plain msgspec decode of the same
    payloads (the floor any validating store has to pay)."""
    import msgspec

    from station.predictions import PredictionStore
    from transit.messages import StopPrediction, encode_prediction, prediction_topic

    msgs = [(prediction_topic("rettid/v1", p.stop_id, p.oper, p.veh), encode_prediction(p)) for p in preds]
    store = PredictionStore(stop_ids)
    plain = msgspec.json.Decoder(StopPrediction)
    now = preds[0].tst
    best_store = best_plain = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for t, pl in msgs:
            store.handle(t, pl, now)
        best_store = min(best_store, (time.perf_counter() - t0) / len(msgs))
        t0 = time.perf_counter()
        for _t, pl in msgs:
            plain.decode(pl)
        best_plain = min(best_plain, (time.perf_counter() - t0) / len(msgs))
    if store.counters.rejected:
        raise RuntimeError(f"the store refused the bench's predictions: {store.counters.reasons}")
    return best_store * 1e6, best_plain * 1e6


_PLAIN_SUBSCRIBER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, seconds, topic = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
n = [0]
c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
c.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=0)
def on_message(c, u, m):
    n[0] += 1
c.on_message = on_message
c.connect("127.0.0.1", port)
c.loop_start()
time.sleep(3)
cpu, t, n0 = time.process_time(), time.monotonic(), n[0]
time.sleep(seconds)
print((time.process_time() - cpu) / (time.monotonic() - t), (n[0] - n0) / (time.monotonic() - t))
"""


def _plain_subscriber(port: int, seconds: float) -> float:
    """The MQTT library's own share, in the same run: a paho subscriber process that receives the same
    messages (the display's filter, QoS 0) and does nothing with them. Its CPU fraction."""
    r = subprocess.run([sys.executable, "-c", _PLAIN_SUBSCRIBER, str(port), str(seconds), "rettid/v1/stop/+/eta/+/+"],
                       capture_output=True, text=True, timeout=seconds + 60, check=True)
    return float(r.stdout.split()[0])


@benchmark("station_fanin")
def bench_station_fanin() -> list[Metric]:
    from demo.run import station_config, write_yaml
    from station.config import StationConfig
    from station.departures import stops_watched
    from transit.localbroker import LocalBroker, free_port
    from transit.slice import open_timetable

    work = Path(tempfile.mkdtemp(prefix="rettid-bench-station-"))
    proc: subprocess.Popen[bytes] | None = None
    vehicles: _Vehicles | None = None
    try:
        with LocalBroker(work / "broker") as broker:
            doc = station_config(state_dir=work / "state", png=work / "unused.png")
            doc["sink"] = {"backend": "memory"}
            doc["web"]["listen"] = f"127.0.0.1:{free_port()}"
            if os.environ.get("RETTID_BENCH_STATION_FEED"):
                doc["feed"] = os.environ["RETTID_BENCH_STATION_FEED"]
                doc["stops"]["ids"] = [os.environ.get("RETTID_BENCH_STATION_STOP", doc["stops"]["ids"][0])]
            stop = doc["stops"]["ids"][0]
            cfg = write_yaml(doc, work / "station.yaml")
            feed = StationConfig.load(cfg).feed
            tt = open_timetable(feed)  # a slice, as the station service opens it
            preds = vehicle_predictions(tt, stop, T0, VEHICLES)
            watched = sorted(stops_watched(tt, [stop]))
            del tt
            store_us, plain_us = _per_message_us(preds, watched)

            state = work / "state"
            cmd = [sys.executable, "-m", "station", "run", "--config", str(cfg), "--clock", "data",
                   "--broker", broker.url]
            proc = svc = subprocess.Popen(cmd, cwd=REPO, stdout=(work / "station.log").open("wb"),
                                          stderr=subprocess.STDOUT)
            t_start = time.monotonic()
            if not _wait(lambda: bool(_health(state).get("broker_connected")) or svc.poll() is not None, 120) \
                    or svc.poll() is not None:
                raise RuntimeError(f"station did not start: {(work / 'station.log').read_text()[-2000:]}")
            start_s = time.monotonic() - t_start
            # the reference: the same display with one vehicle (it has a clock and renders realtime rows)
            vehicles = _Vehicles(broker.port, preds[:1])
            vehicles.start(T0)
            if not _wait(lambda: (_health(state).get("predictions") or {}).get("accepted", 0) >= 3, 60):
                raise RuntimeError(f"station takes no predictions: {_health(state)}")
            c0, t0 = _cpu_s(svc.pid), time.monotonic()
            time.sleep(IDLE_S)
            one = (_cpu_s(svc.pid) - c0) / (time.monotonic() - t0)
            vehicles.stop()
            vehicles = _Vehicles(broker.port, preds)
            vehicles.start(T0 + timedelta(seconds=IDLE_S + 1))
            time.sleep(5.0)
            h0 = _health(state)["predictions"]
            c0, t0 = _cpu_s(svc.pid), time.monotonic()
            time.sleep(LOADED_S)
            c1, t1 = _cpu_s(svc.pid), time.monotonic()
            h1 = _health(state)
            hwm = _hwm_mb(svc.pid)
            paho = _plain_subscriber(broker.port, PAHO_S)
            vehicles.stop()
            vehicles = None
            svc.terminate()
            rc = svc.wait(30)
            proc = None
    finally:
        if vehicles is not None:
            vehicles.stop()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    loaded = (c1 - c0) / (t1 - t0)
    p1 = h1["predictions"]
    # the health file is written every 5 s: the rate over the whole-file interval it covers
    accepted = p1["accepted"] - h0["accepted"]
    rejected = p1["rejected"] - h0["rejected"]
    msgs_per_s = (accepted + rejected + p1["out_of_order"] - h0["out_of_order"]) / (t1 - t0)
    extra: dict[str, object] = {
        "feed": str(feed), "stop": stop, "vehicles": VEHICLES, "window_s": round(t1 - t0, 1),
        "messages_per_s": round(msgs_per_s, 1), "rejected": rejected, "exit": rc,
        "one_vehicle_cpu_fraction": round(one, 4), "one_vehicle_window_s": IDLE_S,
        "cpu_us_per_message": round((loaded - one) / (msgs_per_s - 1) * 1e6, 1) if msgs_per_s > 1 else None,
        "plain_paho_subscriber_cpu_fraction": round(paho, 4),
        "ratio_to_plain_paho_subscriber": round(loaded / paho, 2) if paho > 0 else None,
        "store_us_per_message": round(store_us, 2), "plain_msgspec_decode_us": round(plain_us, 2),
        "store_ratio_to_plain_decode": round(store_us / plain_us, 1),
        "station_rss_mb": round(hwm, 1), "station_ready_s": round(start_s, 2),
        "before_issue_17": "store 412 us/message at 76c6d44 (two decodes, msgspec.structs.fields per message)",
    }
    return [at_most("station_200_vehicles_cpu_fraction", round(loaded, 4), 0.05, "cpu_s/s", **extra)]
