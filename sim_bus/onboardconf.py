"""The ``onboard.yaml`` written next to a recording: the onboard unit configured to replay it.

Follows ``data/config/onboard-train-920.yaml`` (parsed by ``onboard/service/config.py``): GNSS from the recorded
NMEA file, CAN from the candump log, GPIO from ``gpio.csv``, the scenario's doors and beams for
counting, and the assignment of its trips on its service day. Paths to the recording are relative to
the file; the feed and operator file are absolute (a recording directory can live anywhere). Written
with a fixed key order so the same seed gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import yaml

from sim_bus.engine import Simulation


def _operator_type(sim: Simulation) -> str | None:
    """The vehicle type key: the scenario's, else the operator's usual type for the line."""
    v = sim.scenario.vehicle
    if v.operator_type is not None or sim.scenario.operator is None:
        return v.operator_type
    from transit.operator import load_operator

    # the operator file was checked when the scenario loaded; a ConfigError here is a real error
    return load_operator(sim.scenario.operator).line_vehicle_types.get(sim.plans[0].route)


def onboard_config(sim: Simulation) -> dict[str, Any]:
    sc = sim.scenario
    v = sc.vehicle
    unit: dict[str, Any] = {"id": f"sim-{v.id}", "vehicle": v.id}
    if sc.operator is not None:
        unit["operator"] = str(sc.operator)
    unit["state_dir"] = "state"
    unit["timezone"] = "Europe/Copenhagen"
    cfg: dict[str, Any] = {"unit": unit, "feed": str(sc.feed)}
    vtype = _operator_type(sim)
    if vtype is not None:
        cfg["vehicle"] = {"type": vtype}
    cfg["counting"] = {
        "doors": [{"index": d.index, "beams": [list(b) for b in d.beams], "gate": "can"} for d in v.doors],
        "blocked_level": 1,
    }
    whole_block = sc.block is not None and sc.block_from is None and sc.block_max_trips is None
    cfg["assignment"] = ({"block": sc.block, "service_day": sc.service_day.isoformat()} if whole_block
                         else {"trips": [p.trip_id for p in sim.plans],
                               "service_day": sc.service_day.isoformat()})
    cfg["gnss"] = {"backend": "file", "path": "gnss.nmea", "speed": 0}
    cfg["can"] = {"backend": "replay", "channel": sc.can.channel, "bitrate": sc.can.bitrate,
                  "file": "can.log", "speed": 0, "doors": len(v.doors)}
    cfg["gpio"] = {"backend": "replay", "file": "gpio.csv"}
    return cfg


def onboard_yaml(sim: Simulation) -> str:
    head = (f"# Onboard unit replaying this recording (python -m sim_bus record, scenario "
            f"{sim.scenario.name}, seed {sim.scenario.seed}).\n"
            f"# Keys: docs/config.md. Recorded files are relative to this file.\n")
    return head + yaml.safe_dump(onboard_config(sim), sort_keys=False, allow_unicode=True,
                                 default_flow_style=None, width=110)
