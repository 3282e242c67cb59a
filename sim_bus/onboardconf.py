"""The ``onboard.yaml`` written next to a recording: the onboard unit configured to replay it.

Follows the unit file format of ``data/config/onboard-train-920.yaml`` (``onboard/config.py``): GNSS from
the recorded NMEA file, CAN from the candump log, GPIO from ``gpio.csv``, the scenario's vehicle and the
assignment of its trips. Written with a fixed key order so the same seed gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import yaml

from sim_bus.engine import Simulation


def onboard_config(sim: Simulation) -> dict[str, Any]:
    sc = sim.scenario
    v = sc.vehicle
    first = sim.plans[0]
    unit: dict[str, Any] = {
        "unit": {"id": f"sim-{v.id}", "vehicle": v.id, "mode": v.kind},
        "timetable": {"gtfs": str(sc.feed)},
    }
    if sc.operator is not None:
        unit["operator"] = str(sc.operator)
    unit["vehicle"] = {
        "id": v.id,
        "type": v.type_name,
        "kind": v.kind,
        "length_m": v.length_m,
        "seats": v.seats,
        "folding_seats": v.folding_seats,
        "capacity": v.capacity,
        "antenna_offset_m": v.antenna_offset_m,
        "doors": [{"index": d.index, "beams": [list(b) for b in d.beams]} for d in v.doors],
    }
    unit["gnss"] = {"backend": "file", "path": "gnss.nmea", "speed": 0}
    unit["can"] = {"backend": "replay", "channel": sc.can.channel, "bitrate": sc.can.bitrate,
                   "file": "can.log", "speed": 0, "doors": len(v.doors)}
    unit["gpio"] = {"backend": "replay", "file": "gpio.csv",
                    "pins": sorted(p for d in v.doors for b in d.beams for p in b)}
    unit["assignment"] = {
        "service_day": sc.service_day.isoformat(),
        "route": first.route,
        "block": sc.block,
        "trips": [p.trip_id for p in sim.plans],
    }
    unit["output"] = {"events": "events.jsonl"}
    return unit


def onboard_yaml(sim: Simulation) -> str:
    head = (f"# onboard configuration for replaying this recording (python -m sim_bus record,\n"
            f"# scenario {sim.scenario.name}, seed {sim.scenario.seed}). Paths are relative to this file.\n")
    return head + yaml.safe_dump(onboard_config(sim), sort_keys=False, allow_unicode=True,
                                 default_flow_style=None, width=100)
