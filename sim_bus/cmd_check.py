"""``python -m sim_bus check SCENARIO...``: validate scenarios and show what they would drive."""

from __future__ import annotations

import argparse

from sim_bus.engine import load_timetable
from sim_bus.plan import build_plans
from sim_bus.scenario import estimate_bytes_per_second, load_scenario
from transit.timeutil import local

EXAMPLES = """\
rettid-sim check data/scenarios/*.yaml
rettid-sim check data/scenarios/920R-weekday.yaml --stops
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="+", help="scenario YAML files")
    p.add_argument("--stops", action="store_true", help="list every stop with its chainage and times")


def run(args: argparse.Namespace) -> int:
    for path in args.scenarios:
        sc = load_scenario(path)
        plans = build_plans(sc, load_timetable(sc))
        g = sc.gnss
        print(f"{path}: {sc.name} (seed {sc.seed}), service day {sc.service_day}, vehicle {sc.vehicle.id} "
              f"({sc.vehicle.kind}, {len(sc.vehicle.doors)} doors)")
        print(f"  GNSS {g.talker} {'/'.join(g.constellations)} {g.rate_hz} Hz {','.join(g.sentences)} at "
              f"{g.baud} baud (~{estimate_bytes_per_second(g):.0f} of {g.baud // 10} bytes/s), "
              f"{len(g.outages)} outage zone(s), {g.corrupt_count} corrupt; CAN {sc.can.bitrate} bit/s, "
              f"{sc.can.background_fps:g} background frames/s")
        for p in plans:
            served = p.served
            dep = local(p.first_departure).strftime("%H:%M")
            arr = served[-1].arrival_or_departure()
            print(f"  trip {p.trip_id} ({p.route} dir {p.direction}) {dep} -> {local(arr):%H:%M} "
                  f"{served[0].name} -> {served[-1].name}: {p.shape.length_m / 1000:.1f} km, "
                  f"{len(served)} stops, {len(p.stops) - len(served)} passed")
            if args.stops:
                for s in p.stops:
                    when = local(s.arrival_or_departure()).strftime("%H:%M:%S") if s.stops_here else "pass"
                    print(f"    {s.chainage_m:9.0f} m  {when:>8}  {s.stop_id:<28} {s.name}")
    return 0
