"""The one place the simulator calls the passenger/door-beam model (``sim_bus.passengers``).

The model is written by the passenger-counting engineer; this adapter turns the scenario's doors and
``passengers.profile`` into its arguments and its result into :class:`~sim_bus.motion.StopPassengers`.
"""

from __future__ import annotations

import random

from sim_bus import passengers as model
from sim_bus.motion import PassengerFn, StopPassengers
from sim_bus.scenario import Scenario


def passenger_fn(sc: Scenario) -> PassengerFn:
    """A closure over the vehicle's doors and the scenario's passenger profile."""
    doors = [model.DoorSpec(d.index, d.beams) for d in sc.vehicle.doors]
    profile = model.PassengerProfile.from_node(sc.passengers.profile)

    def run(rng: random.Random, t_open: float, boardings: int, alightings: int) -> StopPassengers:
        if boardings + alightings == 0:
            return StopPassengers([], [], t_open)
        res = model.simulate_stop(rng, t_open=t_open, doors=doors, boardings=boardings,
                                  alightings=alightings, profile=profile)
        return StopPassengers([(float(t), int(p), int(v)) for t, p, v in res.edges],
                              [_ms(c) for c in res.truth], float(res.t_done))

    return run


def _ms(rec: dict[str, object]) -> dict[str, object]:
    """Truth times are epoch seconds rounded to the millisecond, like every other record."""
    return {k: round(v, 3) if k.startswith("t") and isinstance(v, float) else v for k, v in rec.items()}
