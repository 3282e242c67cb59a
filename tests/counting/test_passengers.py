"""The simulator's passenger and door-beam model (sim_bus.passengers): physical consistency of edges
and truth, the scenario profile, determinism."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from sim_bus.passengers import DoorSpec, PassengerProfile, simulate_stop
from transit.errors import ConfigError
from transit.yamlconf import parse_yaml

DOORS = (DoorSpec(1, ((2, 3),)), DoorSpec(2, ((4, 5), (6, 7))))
QUIET = PassengerProfile(bounce_prob=0.0, glitch_rate_hz=0.0, turnback_rate=0.0, linger_share=0.0,
                         bulky_share=0.0, straddle_share=0.0)


def test_truth_matches_demand_and_edges_are_consistent() -> None:
    rng = random.Random(3)
    for _ in range(30):
        prof = PassengerProfile.varied(rng)
        b, a = rng.randint(0, 25), rng.randint(0, 25)
        sp = simulate_stop(rng, t_open=1000.0, doors=DOORS, boardings=b, alightings=a, profile=prof)
        cross = [r for r in sp.truth if r["kind"] == "crossing"]
        assert sum(1 for r in cross if r["direction"] == "in") == b
        assert sum(1 for r in cross if r["direction"] == "out") == a
        assert all(r["kind"] in ("crossing", "turnback") for r in sp.truth)
        assert [e[0] for e in sp.edges] == sorted(e[0] for e in sp.edges)
        level: dict[int, int] = defaultdict(int)
        for t, pin, lvl in sp.edges:
            assert lvl != level[pin], "levels of a pin must alternate"
            assert 1000.0 <= t <= sp.t_done
            level[pin] = lvl
        assert all(v == 0 for v in level.values()), "every beam is clear at the end"


def test_single_boarding_is_a_clean_path() -> None:
    sp = simulate_stop(random.Random(1), t_open=0.0, doors=(DoorSpec(1, ((2, 3),)),), boardings=1,
                       alightings=0, profile=QUIET)
    assert [(p, lvl) for _t, p, lvl in sp.edges] == [(2, 1), (3, 1), (2, 0), (3, 0)]
    sp = simulate_stop(random.Random(1), t_open=0.0, doors=(DoorSpec(1, ((2, 3),)),), boardings=0,
                       alightings=1, profile=QUIET)
    assert [(p, lvl) for _t, p, lvl in sp.edges] == [(3, 1), (2, 1), (3, 0), (2, 0)]


def test_alighting_first_when_not_early() -> None:
    prof = PassengerProfile(early_board_share=0.0, turnback_rate=0.0)
    sp = simulate_stop(random.Random(7), t_open=0.0, doors=(DoorSpec(1, ((2, 3),)),), boardings=10,
                       alightings=10, profile=prof)
    t_in = [r["t"] for r in sp.truth if r["direction"] == "in"]
    t_out = [r["t"] for r in sp.truth if r["direction"] == "out"]
    assert min(t_in) > max(t_out)


def test_straddling_body_blocks_both_lanes() -> None:
    prof = PassengerProfile(straddle_share=1.0, bounce_prob=0.0, glitch_rate_hz=0.0, turnback_rate=0.0)
    sp = simulate_stop(random.Random(2), t_open=0.0, doors=(DoorSpec(1, ((4, 5), (6, 7))),), boardings=3,
                       alightings=0, profile=prof)
    by_pin: dict[int, int] = defaultdict(int)
    for _t, pin, _l in sp.edges:
        by_pin[pin] += 1
    assert by_pin[4] == by_pin[6] and by_pin[5] == by_pin[7] and by_pin[4] > 0


def test_same_seed_same_edges() -> None:
    def run() -> list[tuple[float, int, int]]:
        return simulate_stop(random.Random(11), t_open=5.0, doors=DOORS, boardings=8, alightings=4,
                             profile=PassengerProfile()).edges
    assert run() == run()


def test_profile_from_node() -> None:
    assert PassengerProfile.from_node(None) == PassengerProfile()
    p = PassengerProfile.from_node(parse_yaml("back_to_back_share: 0.5\nspeed_mps: 1.3\n"))
    assert p.back_to_back_share == 0.5 and p.speed_mps == 1.3
    with pytest.raises(ConfigError, match="unknown key"):
        PassengerProfile.from_node(parse_yaml("backtoback: 0.5\n", "sc.yaml"))
    with pytest.raises(ConfigError, match="at most 1"):
        PassengerProfile.from_node(parse_yaml("bulky_share: 3\n"))
    with pytest.raises(ConfigError, match="beam_spacing_m"):
        PassengerProfile.from_node(parse_yaml("beam_spacing_m: 0.5\n"))
