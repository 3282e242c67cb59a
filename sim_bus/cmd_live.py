"""``rettid-sim live SCENARIO [--time-warp X] [--pty-link PATH] [--can ...] [--gpio ...]``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sim_bus.engine import build
from sim_bus.live import (
    CanSink,
    FileGpioSink,
    GpioSink,
    LiveStats,
    MockPinSink,
    PtyWriter,
    SlcanPtySink,
    VirtualCanSink,
    play,
)
from sim_bus.scenario import load_scenario
from transit.cli import Progress, add_time_arguments
from transit.errors import ConfigError

EXAMPLES = """\
rettid-sim live data/scenarios/920R-weekday.yaml --time-warp 10 --pty-link /tmp/gnss0 --can slcan:/tmp/can0
rettid-onboard run --config onboard-live.yaml --clock gnss --time-warp 10   # in another terminal
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML (data/scenarios/*.yaml)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    add_time_arguments(p)
    p.add_argument("--pty-link", type=Path, default=None,
                   help="make this symlink point at the NMEA pty (e.g. /tmp/gnss0)")
    p.add_argument("--can", default="virtual:vcan0",
                   help="virtual[:CHANNEL] (python-can, in-process), slcan[:LINK] (SLCAN adapter "
                        "emulated on a pty, symlinked to LINK), or none (default virtual:vcan0)")
    p.add_argument("--gpio", default="none",
                   help="mock (gpiozero MockFactory pins, in-process), file:PATH (t,pin,level lines, "
                        "also a FIFO), or none (default)")
    p.add_argument("--start", type=float, default=0.0, help="skip this many simulated seconds")
    p.add_argument("--duration", type=float, default=None, help="stop after this many simulated seconds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--stats", type=Path, default=None,
                   help="keep the counts sent so far (NMEA bytes, CAN frames and the needed ones, GPIO edges, "
                        "monotonic time) in this JSON file, rewritten every simulated second")


def _can(spec: str) -> tuple[CanSink | None, str]:
    kind, _, arg = spec.partition(":")
    if kind == "none":
        return None, "none"
    if kind == "virtual":
        return VirtualCanSink(arg or "vcan0"), f"python-can virtual channel {arg or 'vcan0'}"
    if kind == "slcan":
        sink = SlcanPtySink(Path(arg) if arg else None)
        return sink, f"SLCAN adapter on {sink.path}" + (f" (link {arg})" if arg else "")
    raise ConfigError(f"expected virtual[:CHANNEL], slcan[:LINK] or none, got '{spec}'", key="--can")


def _gpio(spec: str, pins: list[int]) -> tuple[GpioSink | None, str]:
    kind, _, arg = spec.partition(":")
    if kind == "none":
        return None, "none"
    if kind == "mock":
        return MockPinSink(pins), f"gpiozero MockFactory pins {pins}"
    if kind == "file" and arg:
        return FileGpioSink(Path(arg)), f"file {arg}"
    raise ConfigError(f"expected mock, file:PATH or none, got '{spec}'", key="--gpio")


def run(args: argparse.Namespace) -> int:
    sc = load_scenario(args.scenario)
    sim = build(sc, seed=args.seed)
    pins = sorted(p for d in sim.scenario.vehicle.doors for b in d.beams for p in b)
    pty = PtyWriter(args.pty_link)
    can_sink, can_desc = _can(args.can)
    gpio_sink, gpio_desc = _gpio(args.gpio, pins)
    print(f"NMEA pty: {pty.path}" + (f" (link {args.pty_link})" if args.pty_link else "")
          + f"  {sc.gnss.baud} baud x {args.time_warp:g}", flush=True)
    print(f"CAN: {can_desc}", flush=True)
    print(f"GPIO: {gpio_desc}", flush=True)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    total = (sim.t_end - sim.t_start - args.start) if args.duration is None else args.duration
    bar = None if args.no_progress else Progress(max(total, 1.0), label=f"sim_bus live x{args.time_warp:g}")
    stats = LiveStats()

    def progress(s: float) -> None:
        if bar is not None:
            bar.update(s)
        if args.stats is not None:
            _write_stats(args.stats, stats)

    try:
        play(sim, speed=args.time_warp, nmea=pty, can_sink=can_sink, gpio_sink=gpio_sink, start_s=args.start,
             duration_s=args.duration, stop=stop, stats=stats, on_progress=progress)
    except KeyboardInterrupt:
        stop.set()
        return 130
    finally:
        if args.stats is not None:
            _write_stats(args.stats, stats)
        if bar is not None:
            bar.close()
        pty.close()
        if can_sink is not None:
            can_sink.close()
        if gpio_sink is not None:
            gpio_sink.close()
    print(f"done: {stats.sim_s:.0f} s simulated, {stats.nmea_bytes} NMEA bytes ({pty.dropped} unread), "
          f"{stats.can_frames} CAN frames, {stats.gpio_edges} GPIO edges, worst lag "
          f"{stats.late_max_s * 1000:.0f} ms", file=sys.stderr)
    return 0


def _write_stats(path: Path, stats: LiveStats) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stats.as_dict()), encoding="utf-8")
    os.replace(tmp, path)  # readers never see half a file
