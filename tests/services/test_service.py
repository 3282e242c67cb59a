"""The onboard service in-process (no threads feeding it): clock discipline in the wiring, health,
status. Inputs are put on the service's queue the way its input threads do."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demo.run import derive_scenario, live_onboard_config, write_yaml
from hw.can.state import VehicleState
from hw.gnss.fix import Fix, FixMode
from onboard.service.config import OnboardConfig
from onboard.service.unit import MONO_BASE, OnboardService, ServiceOptions
from tests.conftest import REPO
from transit.health import read_health

T_FIX = datetime(2026, 11, 23, 6, 13, 30, tzinfo=UTC)  # the 920R stands at Hillerød track 8
HILLEROED_8 = (55.926794, 12.311226)


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg_path = write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                                              state_dir=tmp_path / "state"), tmp_path / "onboard.yaml")
    cfg = OnboardConfig.load(cfg_path)
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", publish=False, events=tmp_path / "events.jsonl",
                                             hold_s=0.0, health_interval_s=3600))
    svc.start()
    yield svc
    svc.stop()


def _can(mono: float, doors_open: bool) -> tuple[str, float, tuple[VehicleState, bool]]:
    # what the CAN thread puts on the queue: the tracker's state stamped monotonic (+ MONO_BASE)
    st = VehicleState(datetime.fromtimestamp(mono + MONO_BASE, UTC), speed_mps=0.0, parking_brake=True,
                      doors_any_open=doors_open)
    return ("can", mono, (st, True))


def _fixes_until(service: OnboardService, mono: float) -> None:
    """The receiver's 1 Hz epochs up to T_FIX at monotonic ``mono``: the time-sanity filter believes a
    receiver's time once three epochs agree (issue 12 item 2), so a clock starts from these."""
    for k in (2, 1, 0):
        fix = Fix(T_FIX - timedelta(seconds=k), *HILLEROED_8, speed=0.0, mode=FixMode.FIX_3D, quality=1,
                  sats_used=12)
        service._accept("fix", mono - k, fix)


def _records(tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]


def test_door_events_before_the_first_fix_wait_and_get_gnss_derived_times(service: OnboardService,
                                                                          tmp_path: Path) -> None:
    # doors open at monotonic 1000.0 and close at 1004.5, long before any GNSS time
    for item in (_can(1000.0, False), _can(1000.0, True), _can(1004.5, False)):
        service._accept(*item)
    service._drain_inputs(final=False)
    assert service.core is None and service.clock.pending == 3  # nothing stamped, nothing built
    assert not (tmp_path / "events.jsonl").read_text()
    # the first fixes: receiver time T_FIX received at monotonic 1010.0 (and the two epochs before it)
    _fixes_until(service, 1010.0)
    service._drain_inputs(final=True)
    recs = _records(tmp_path)
    doors = {r["event"]: r["tst"] for r in recs if r["event"] in ("doo", "doc")}
    # 10.0 s and 5.5 s before the fix: times from the monotonic offsets, not 1970, not the wall clock
    assert doors == {"doo": "2026-11-23T06:13:20.000Z", "doc": "2026-11-23T06:13:24.500Z"}
    assert service.clock.state().source == "gnss" and service.clock.pending == 0


def test_health_file_and_status_command(service: OnboardService, tmp_path: Path) -> None:
    service._health(service._t_started + 1.0)
    h = read_health(tmp_path / "state")
    assert h["unit"] == "sim-lint41-2061" and h["clock"]["source"] == "none" and not h["ok"]
    assert "no clock source" in h["problems"]
    assert h["outbox"]["depth"] == 0 and h["loops"]["gnss"] is True
    out = subprocess.run([sys.executable, "-m", "onboard", "status", "--state-dir", str(tmp_path / "state")],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1  # problems reported
    assert "no clock source" in out.stdout and "gnss" in out.stdout


def test_status_without_a_health_file(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "onboard", "status", "--state-dir", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "is the onboard service running" in out.stdout


def test_health_is_a_retained_message_per_unit(service: OnboardService) -> None:
    from transit.health import health_delivery

    payload = service.health()
    a = health_delivery(payload, T_FIX.timestamp(), prefix="rettid/v1", mode="train")
    b = health_delivery(payload, T_FIX.timestamp() + 30, prefix="rettid/v1", mode="train")
    assert a.retain and a.topic == b.topic == a.coalesce  # one topic all day, latest replaces
    assert a.topic.startswith("rettid/v1/record/health/train/lokaltog/lint41-2061")
    body = json.loads(a.payload)
    assert body["event"] == "health" and body["tst"] == "2026-11-23T06:13:30.000Z"
    assert {"version", "uptime_s", "gnss", "can", "doors", "outbox", "clock"} <= set(body)


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "onboard.yaml"
    bad.write_text("unit: {id: x}\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "onboard", "run", "--config", str(bad)], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "onboard.yaml:1" in out.stderr and "vehicle" in out.stderr


def test_inputs_from_different_threads_reach_the_core_in_data_time_order(service: OnboardService,
                                                                           tmp_path: Path) -> None:
    _fixes_until(service, 1010.0)  # clock: T_FIX at monotonic 1010
    # the CAN thread's items arrive after the fix but belong before it, and in swapped order
    service._accept(*_can(1009.5, False))
    service._accept(*_can(1008.5, True))
    fed: list[float] = []
    real_feed = service._feed
    service._feed = lambda it: (fed.append(it.t), real_feed(it))  # type: ignore[method-assign]
    service._drain_inputs(final=True)
    assert fed == sorted(fed) and len(fed) == 5


def test_systemd_notifications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from transit.sdnotify import Notifier

    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg = OnboardConfig.load(write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None,
                                                            gpio_file=None, state_dir=tmp_path / "state"),
                                        tmp_path / "onboard.yaml"))
    svc = OnboardService(cfg, ServiceOptions(clock="gnss", publish=False), notifier=Notifier(path))
    try:
        svc.start()
        assert sock.recv(4096).decode().startswith("READY=1")
        svc.step(0.0)
        got = set()
        for _ in range(4):
            got.add(sock.recv(4096).decode().split("\n")[0].split("=")[0])
            if "WATCHDOG" in got:
                break
        assert "WATCHDOG" in got
        # a loop that hangs (its body never comes round again): no more pings
        from onboard.service.unit import _Loop

        hung = _Loop("hung", lambda stop: stop.wait(), svc.stop_event)
        hung.thread.start()
        hung.beat -= 60
        svc.loops.append(hung)
        svc.notifier._last_ping = 0.0
        assert not svc.loops_alive()
        svc.step(0.0)
        sock.settimeout(0.3)
        msgs = []
        try:
            while True:
                msgs.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
        assert not any(m.startswith("WATCHDOG") for m in msgs)
    finally:
        svc.stop()
        sock.settimeout(2.0)
        assert any(sock.recv(4096).decode().startswith("STOPPING") for _ in range(3))
        sock.close()


def test_first_frieze_frame_of_a_unit_in_service_is_its_trip(tmp_path: Path) -> None:
    """The assigned 920R stands at Hillerød: the first frame the frieze shows is that trip ("Afgang fra
    Hillerød St."), not "Ikke i drift" while the first prediction is still to come."""
    import time

    from onboard.passinfo.frieze import not_in_service, render_frieze

    scenario = derive_scenario("920R-weekday", tmp_path / "scenario.yaml")
    cfg_path = write_yaml(live_onboard_config(scenario, gnss_url="loop://", can_channel=None, gpio_file=None,
                                              state_dir=tmp_path / "state", frieze_png=tmp_path / "frieze.png"),
                          tmp_path / "onboard.yaml")
    svc = OnboardService(OnboardConfig.load(cfg_path), ServiceOptions(clock="gnss", publish=False, hold_s=0.0,
                                                                      health_interval_s=3600))
    svc.start()
    try:
        _fixes_until(svc, time.monotonic())
        svc.step(0.0)
        assert svc._frames >= 1, "no frame rendered"
        view = svc._frieze_view(T_FIX)
        assert view.state == "in_service" and view.at_origin and view.route == "920R"
        assert view.next_stop is not None and view.next_stop.name.startswith("Hillerød")
        from PIL import Image, ImageChops

        with Image.open(tmp_path / "frieze.png") as im:
            first = im.convert("RGB")
        parked = render_frieze(not_in_service(T_FIX), svc._panel)
        assert ImageChops.difference(first, parked).getbbox() is not None  # not the "Ikke i drift" frame
    finally:
        svc.stop()


def test_replacement_transport_is_flagged_through_the_outbox(service: OnboardService, tmp_path: Path) -> None:
    """An eta of the unit's trip more than the operator's 60 min late becomes a ``replacement`` record,
    stored like every record that matters (events file, outbox), once."""
    from transit.records import Eta, EtaStop
    from transit.timetable import Timetable
    from transit.timeutil import iso_utc_ms

    tt = Timetable.load(REPO / "data" / "gtfs" / "lokaltog-sample")
    trip = "920R_MT_0_0715"
    sched = tt.trip_schedule(trip, T_FIX.date())
    late = timedelta(minutes=70)
    stops = [EtaStop(stop_id=s.stop_id, seq=s.stop_sequence, sched_arr=iso_utc_ms(s.arrival),
                     sched_dep=iso_utc_ms(s.departure), eta_arr=iso_utc_ms(s.arrival + late),
                     eta_dep=iso_utc_ms(s.departure + late)) for s in sched[2:]]
    eta = Eta.build(iso_utc_ms(sched[1].departure + late), veh=service.cfg.vehicle_id, oper="lokaltog",
                    oday=T_FIX.date().isoformat(), route="920R", dir=0, start="07:15", trip_id=trip,
                    headsign="Hundested Havn St.", occu=None, dl=late.total_seconds(), stops=stops)
    service._emit([eta])
    service._emit([eta])
    flags = [r for r in _records(tmp_path) if r["event"] == "replacement"]
    assert len(flags) == 1 and flags[0]["reason"] == "delay" and flags[0]["threshold_min"] == 60
    assert [d["stop_id"] for d in flags[0]["departures"]] == [s.stop_id for s in sched[2:]]


def test_another_operators_cancellation_reaches_the_connections_and_nothing_of_ours(
        service: OnboardService) -> None:
    """Movia's control room cancels a 330R bus leaving Hillerød: the 920R standing there shows that
    connection "cancelled" (the unit reads every operator's deviations); its own predictions, messages and
    registrations take only its own operator's."""
    import time

    from transit.deviations import TrackChange, TripCancellation, deviation_topic, encode_deviation

    _fixes_until(service, time.monotonic())
    service.step(0.0)
    before = {c.trip_id: c.state for c in service._frieze_view(T_FIX).connections}
    assert before.get("330R_MT_0_0705") == "departs"
    t = T_FIX - timedelta(minutes=5)
    bus = TripCancellation(id="m1", oper="movia", tst=t, valid_from=t, valid_to=t + timedelta(hours=2),
                           trip_id="330R_MT_0_0705", oday="2026-11-23", text="Aflyst")
    topic = deviation_topic(service._prefix, "movia", "m1")
    service._on_deviation(topic, encode_deviation(bus), None)
    after = {c.trip_id: c.state for c in service._frieze_view(T_FIX).connections}
    assert after["330R_MT_0_0705"] == "cancelled"
    assert {k: v for k, v in after.items() if k != "330R_MT_0_0705"} == \
        {k: v for k, v in before.items() if k != "330R_MT_0_0705"}
    assert service.deviations.current(T_FIX) == [] and service.deviations.counters.rejected == 0
    assert service.connecting.counters.accepted == 1
    service._on_deviation(deviation_topic(service._prefix, "movia", "m2"), b"{not json", None)  # refused, counted
    core = service.health()["core"]
    assert core["other_deviations_accepted"] == 1 and core["other_deviations_rejected"] == 1
    assert "deviations_rejected" not in core  # nothing of ours refused (zero: not shown)
    # our own operator's still lands in our own store
    track = TrackChange(id="l1", oper="lokaltog", tst=t, valid_from=t, valid_to=t + timedelta(hours=2),
                        trip_id="920R_MT_0_0715", oday="2026-11-23", stop_id="hilleroed", platform="7")
    service._on_deviation(deviation_topic(service._prefix, "lokaltog", "l1"), encode_deviation(track), None)
    assert [d.id for d in service.deviations.current(T_FIX)] == ["l1"]
    # withdrawn: the bus departs again
    service._on_deviation(topic, b"", None)
    assert {c.trip_id: c.state for c in service._frieze_view(T_FIX).connections}["330R_MT_0_0705"] == "departs"
