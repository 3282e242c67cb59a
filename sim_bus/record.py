"""Write a recording and its ground truth (``python -m sim_bus record``, see :mod:`sim_bus.cmd_record`).

Files (see docs/simulator.md): ``gnss.nmea`` (CRLF, as the receiver sent it), ``can.log`` (candump
``-l``), ``gpio.csv`` (``t,pin,level``), ``truth.jsonl`` and ``onboard.yaml``. Same seed, same bytes:
all times come from the simulation, floats are formatted explicitly, records keep a fixed key order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sim_bus.engine import Simulation, build
from sim_bus.onboardconf import onboard_yaml
from sim_bus.scenario import load_scenario
from transit.cli import Progress

log = logging.getLogger(__name__)

FILES = ("gnss.nmea", "can.log", "gpio.csv", "truth.jsonl", "onboard.yaml")


def record(sc_path: str | Path, out: Path, seed: int | None = None, scenario: object | None = None,
           show_progress: bool = True) -> Simulation:
    """Build the simulation and write all files into ``out``."""
    from sim_bus.scenario import Scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(sc_path)
    bar = Progress(1.0, label="sim_bus record") if show_progress else None

    def stage(name: str, frac: float) -> None:
        if bar is not None:
            bar.update(frac * 0.4, name)

    sim = build(sc, seed=seed, progress=stage)
    out.mkdir(parents=True, exist_ok=True)
    write_recording(sim, out, bar)
    if bar is not None:
        bar.close()
    return sim


def write_recording(sim: Simulation, out: Path, bar: Progress | None = None) -> None:
    with open(out / "gnss.nmea", "wb") as f:
        f.write("".join(line + "\r\n" for line in sim.nmea.lines).encode("ascii", "replace"))
    span = max(sim.t_end - sim.t_start, 1e-9)
    channel = sim.scenario.can.channel
    with open(out / "can.log", "w", encoding="ascii", newline="\n") as f:
        buf: list[str] = []
        for fr in sim.can_frames():
            buf.append(fr.candump(channel))
            if len(buf) >= 20000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
                if bar is not None:
                    bar.update(0.4 + 0.55 * (fr.t_us / 1e6 - sim.t_start) / span, "can.log")
        if buf:
            f.write("\n".join(buf) + "\n")
    with open(out / "gpio.csv", "w", encoding="ascii", newline="\n") as f:
        f.write("t,pin,level\n")
        f.writelines(f"{t:.3f},{pin},{level}\n" for t, pin, level in sim.gpio)
    with open(out / "truth.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for rec in sim.truth():
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (out / "onboard.yaml").write_text(onboard_yaml(sim), encoding="utf-8")
