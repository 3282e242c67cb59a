"""Passengers at a door and the IR beam edges they cause (the simulator's door-beam model).

Physics, so the counter is tested against what beams really see and not against its own rules:
each body is a segment of depth ``L`` moving along the walking axis through the door; a beam at
position ``p`` is blocked while the body covers ``p``. Beam A (outer) is at 0, beam B (inner) at
``beam_spacing_m``; inward is +x. Bodies in one lane move in platoons (a leader and followers keeping a
gap, which gives back-to-back crossings and groups); platoons in one lane never overlap. Turn-backs walk
in to some depth and back; lingerers stand still inside the zone; prams, wheelchairs and bicycles are
long bodies moving slowly. Wide doors have one lane per beam pair and a wide body may straddle two.
Sensor bounce (fast toggles after a transition) and short glitches are added at the end.

Edges are ``(t, pin, level)`` with ``t`` in epoch seconds and level 1 = beam blocked.
"""

from __future__ import annotations

import bisect
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from transit.yamlconf import Node

log = logging.getLogger(__name__)

Knots = list[tuple[float, float]]  # (t, centre position along the walking axis, walker coordinates)


@dataclass(frozen=True)
class DoorSpec:
    index: int  # 1-based, front to back
    beams: tuple[tuple[int, int], ...]  # (pin_outer_A, pin_inner_B) per beam pair; wide doors have 2


@dataclass(frozen=True)
class PassengerProfile:
    """How people behave at the doors (the scenario's ``passengers.profile``). Shares are per passenger
    unless said otherwise."""

    back_to_back_share: float = 0.35  # a passenger follows the previous one closely (queue)
    group_share: float = 0.10  # a passenger brings 1-3 companions walking right behind
    turnback_rate: float = 0.04  # turn-backs per passenger (someone steps into the door and back)
    deep_turnback_share: float = 0.05  # of turn-backs: clear the first beam before turning
    linger_share: float = 0.04  # stands still inside the door for a while
    bulky_share: float = 0.04  # pram, wheelchair or bicycle
    child_share: float = 0.08
    straddle_share: float = 0.08  # on wide doors: walks between the lanes, blocking both
    early_board_share: float = 0.05  # boarding platoon not waiting for the alighting to finish
    speed_mps: float = 1.1  # mean walking speed of adults
    speed_sd_mps: float = 0.25
    bounce_prob: float = 0.3  # per beam transition: a short burst of toggles
    glitch_rate_hz: float = 0.05  # per beam: isolated blips of a few ms
    beam_spacing_m: float = 0.10  # distance between beams A and B (must be below body depth)

    _FIELDS = ("back_to_back_share", "group_share", "turnback_rate", "deep_turnback_share",
               "linger_share", "bulky_share", "child_share", "straddle_share", "early_board_share",
               "speed_mps", "speed_sd_mps", "bounce_prob", "glitch_rate_hz", "beam_spacing_m")

    @classmethod
    def from_node(cls, node: Node | None) -> PassengerProfile:
        """Parse ``passengers.profile``; every key optional, shares within 0..1."""
        if node is None:
            return cls()
        node.reject_unknown(set(cls._FIELDS))
        kw: dict[str, float] = {}
        for name in cls._FIELDS:
            n = node.opt(name)
            if n is None:
                continue
            if name == "speed_mps":
                kw[name] = n.as_float(min=0.3, max=3.0)
            elif name == "speed_sd_mps":
                kw[name] = n.as_float(min=0.0, max=1.0)
            elif name == "glitch_rate_hz":
                kw[name] = n.as_float(min=0.0, max=10.0)
            elif name == "beam_spacing_m":
                kw[name] = n.as_float(min=0.02, max=0.14)
            else:
                kw[name] = n.as_float(min=0.0, max=1.0)
        return cls(**kw)

    @classmethod
    def varied(cls, rng: random.Random) -> PassengerProfile:
        """A random but plausible profile (benchmarks must not be tuned to one parameter set)."""
        return cls(back_to_back_share=rng.uniform(0.1, 0.6), group_share=rng.uniform(0.0, 0.25),
                   turnback_rate=rng.uniform(0.0, 0.08), deep_turnback_share=rng.uniform(0.0, 0.1),
                   linger_share=rng.uniform(0.0, 0.08), bulky_share=rng.uniform(0.0, 0.1),
                   child_share=rng.uniform(0.0, 0.2), straddle_share=rng.uniform(0.0, 0.15),
                   early_board_share=rng.uniform(0.0, 0.15), speed_mps=rng.uniform(0.8, 1.4),
                   speed_sd_mps=rng.uniform(0.1, 0.35), bounce_prob=rng.uniform(0.0, 0.6),
                   glitch_rate_hz=rng.uniform(0.0, 0.2), beam_spacing_m=rng.uniform(0.06, 0.12))


@dataclass
class StopPassengers:
    edges: list[tuple[float, int, int]] = field(default_factory=list)  # (t, pin, level), sorted
    truth: list[dict[str, Any]] = field(default_factory=list)
    t_done: float = 0.0  # every body has left the beams (the door may close)


@dataclass
class _Body:
    kind: str  # person, child, pram, wheelchair, bicycle
    length: float
    knots: Knots  # centre trajectory in walker coordinates (0 = first beam on its path)


_BULKY = {"pram": (1.2, 1.7), "wheelchair": (1.1, 1.3), "bicycle": (1.6, 1.9)}


def _draw_body(rng: random.Random, prof: PassengerProfile) -> tuple[str, float, float]:
    """(kind, depth m, speed m/s)."""
    if rng.random() < prof.bulky_share:
        kind = rng.choices(["pram", "wheelchair", "bicycle"], weights=[0.5, 0.15, 0.35])[0]
        lo, hi = _BULKY[kind]
        return kind, rng.uniform(lo, hi), rng.uniform(0.45, 0.85)
    v = min(2.2, max(0.45, rng.gauss(prof.speed_mps, prof.speed_sd_mps)))
    if rng.random() < prof.child_share:
        return "child", rng.uniform(0.15, 0.22), v
    return "person", rng.uniform(0.2, 0.36), v


def _leader_path(rng: random.Random, prof: PassengerProfile, t0: float, length: float, v: float,
                 tail: float, linger: bool, turnback: str | None) -> Knots:
    """Centre path of a platoon leader starting with its front 0.3 m before the first beam."""
    s = prof.beam_spacing_m
    h = length / 2
    c0 = -h - 0.3
    knots: Knots = [(t0, c0)]
    if turnback is not None:
        if turnback == "deep":  # clears the first beam, covers only the second, then goes back
            c_turn = rng.uniform(h + 0.01, h + s - 0.01) if s > 0.03 else h + s / 2
        elif turnback == "ab":
            c_turn = rng.uniform(s - h + 0.01, h - 0.01)
        else:  # first beam only
            c_turn = rng.uniform(-h + 0.02, min(s - h - 0.01, h - 0.02))
        t1 = t0 + (c_turn - c0) / v
        t2 = t1 + rng.uniform(0.0, 1.5)
        knots += [(t1, c_turn), (t2, c_turn), (t2 + (c_turn - c0) / v, c0)]
        return knots
    c_end = s + h + 0.3 + tail
    if linger:
        if rng.random() < 0.8:  # at the threshold, on the first beam only
            c_l = rng.uniform(-h + 0.02, min(s - h - 0.01, h - 0.02))
        else:
            c_l = rng.uniform(-h + 0.02, s + h - 0.02)
        t1 = t0 + (c_l - c0) / v
        t2 = t1 + rng.uniform(1.0, 6.0)
        knots += [(t1, c_l), (t2, c_l), (t2 + (c_end - c_l) / v, c_end)]
    else:
        knots.append((t0 + (c_end - c0) / v, c_end))
    return knots


def _intervals(knots: Knots, p: float, h: float) -> list[tuple[float, float]]:
    """Times when a body of half-depth ``h`` following ``knots`` covers position ``p``."""
    pts: list[float] = []
    for (ta, ca), (tb, cb) in zip(knots, knots[1:], strict=False):
        pts.append(ta)
        if cb != ca:
            for edge in (p - h, p + h):
                f = (edge - ca) / (cb - ca)
                if 0.0 < f < 1.0:
                    pts.append(ta + f * (tb - ta))
    pts.append(knots[-1][0])
    pts.sort()

    def pos(t: float) -> float:
        for (ta, ca), (tb, cb) in zip(knots, knots[1:], strict=False):
            if ta <= t <= tb:
                return ca if tb == ta else ca + (cb - ca) * (t - ta) / (tb - ta)
        return knots[-1][1]

    out: list[tuple[float, float]] = []
    for a, b in zip(pts, pts[1:], strict=False):
        if b - a <= 1e-9:
            continue
        if abs(pos((a + b) / 2) - p) <= h:
            if out and abs(out[-1][1] - a) < 1e-9:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def _cross_time(knots: Knots, x: float) -> float | None:
    for (ta, ca), (tb, cb) in zip(knots, knots[1:], strict=False):
        if (ca - x) * (cb - x) <= 0 and cb != ca:
            return ta + (x - ca) / (cb - ca) * (tb - ta)
    return None


def _union(iv: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _make_platoons(rng: random.Random, n: int, direction: str, prof: PassengerProfile,
                   lanes: int) -> list[tuple[list[tuple[str, float, float, float]], bool]]:
    """Split ``n`` passengers into platoons: lists of (kind, depth, speed, gap before) + linger flag."""
    out: list[tuple[list[tuple[str, float, float, float]], bool]] = []
    i = 0
    while i < n:
        members = [(*_draw_body(rng, prof), 0.0)]
        i += 1
        if rng.random() < prof.group_share:
            for _ in range(rng.randint(1, 3)):
                if i >= n:
                    break
                members.append((*_draw_body(rng, prof), rng.uniform(0.12, 0.35)))
                i += 1
        while i < n and rng.random() < prof.back_to_back_share:
            members.append((*_draw_body(rng, prof), rng.uniform(0.15, 0.6)))
            i += 1
        out.append((members, rng.random() < prof.linger_share))
    return out


def simulate_stop(rng: random.Random, *, t_open: float, doors: Sequence[DoorSpec], boardings: int,
                  alightings: int, profile: PassengerProfile) -> StopPassengers:
    """Beam edges and ground truth for one stop: ``alightings`` leave and ``boardings`` enter through
    ``doors`` after the doors open at ``t_open`` (epoch s). Alighting comes first, mostly."""
    res = StopPassengers(t_done=t_open)
    if not doors:
        return res
    n_in = [0] * len(doors)
    n_out = [0] * len(doors)
    for _ in range(boardings):
        n_in[rng.randrange(len(doors))] += 1
    for _ in range(alightings):
        n_out[rng.randrange(len(doors))] += 1
    all_edges: list[tuple[float, int, int]] = []
    for d, door in enumerate(doors):
        edges, truth, t_done = _simulate_door(rng, t_open, door, n_in[d], n_out[d], profile)
        all_edges.extend(edges)
        res.truth.extend(truth)
        res.t_done = max(res.t_done, t_done)
    all_edges.sort(key=lambda e: (e[0], e[1]))
    res.edges = all_edges
    res.truth.sort(key=lambda r: r["t"])
    return res


def _simulate_door(rng: random.Random, t_open: float, door: DoorSpec, n_in: int, n_out: int,
                   prof: PassengerProfile) -> tuple[list[tuple[float, int, int]], list[dict[str, Any]], float]:
    s = prof.beam_spacing_m
    nl = len(door.beams)
    lane_free = [t_open + rng.uniform(0.3, 1.2)] * nl
    truth: list[dict[str, Any]] = []
    # Per lane and beam (0 = A, 1 = B): blocked intervals in world time.
    blocked: list[list[list[tuple[float, float]]]] = [[[], []] for _ in range(nl)]
    offsets = [(rng.uniform(-0.004, 0.004), rng.uniform(-0.004, 0.004)) for _ in range(nl)]

    plan: list[tuple[str, list[tuple[str, float, float, float]], bool, str | None]] = []
    for members, linger in _make_platoons(rng, n_out, "out", prof, nl):
        plan.append(("out", members, linger, None))
    boarding: list[tuple[str, list[tuple[str, float, float, float]], bool, str | None]] = []
    for members, linger in _make_platoons(rng, n_in, "in", prof, nl):
        boarding.append(("in", members, linger, None))
    n_tb = sum(1 for _ in range(n_in + n_out + 1) if rng.random() < prof.turnback_rate)
    for _ in range(n_tb):
        depth = "deep" if rng.random() < prof.deep_turnback_share else rng.choice(["a", "ab"])
        direction = "in" if rng.random() < 0.7 else "out"
        item = (direction, [(*_draw_body(rng, prof), 0.0)], False, depth)
        seq = boarding if direction == "in" else plan
        seq.insert(rng.randint(0, len(seq)), item)
    alight_end = t_open
    t_done = t_open
    for phase, seq in (("alight", plan), ("board", boarding)):
        for direction, members, linger, turnback in seq:
            straddle = nl > 1 and rng.random() < prof.straddle_share
            lanes = tuple(range(nl)) if straddle else (rng.randrange(nl),)
            start = max(lane_free[ln] for ln in lanes) + rng.uniform(0.2, 2.0)
            if phase == "board" and not (rng.random() < prof.early_board_share):
                start = max(start, alight_end + rng.uniform(0.3, 1.5))
            kind, length, v, _gap = members[0]
            tail = sum(m[1] + m[3] for m in members[1:])
            lead = _leader_path(rng, prof, start, length, v, tail, linger, turnback)
            bodies = [_Body(kind, length, lead)]
            shift = length / 2
            for kind_f, length_f, _vf, gap in members[1:]:
                shift += gap + length_f / 2
                sh = shift
                bodies.append(_Body(kind_f, length_f, [(t, c - sh) for t, c in lead]))
                shift += length_f / 2
            end = start
            for b in bodies:
                h = b.length / 2
                for ln in lanes:
                    oa, ob = offsets[ln]
                    # Walker coordinates: the first beam on the path is at 0, the second at s.
                    first, second = (0 + oa, s + ob) if direction == "in" else (0 - ob, s - oa)
                    iv_first = _intervals(b.knots, first, h)
                    iv_second = _intervals(b.knots, second, h)
                    a_iv, b_iv = (iv_first, iv_second) if direction == "in" else (iv_second, iv_first)
                    blocked[ln][0].extend(a_iv)
                    blocked[ln][1].extend(b_iv)
                    for _a, z in a_iv + b_iv:
                        end = max(end, z)
                cls = "bulky" if b.kind in _BULKY else "adult"
                if turnback is None:
                    tc = _cross_time(b.knots, s / 2)
                    truth.append({"kind": "crossing", "door": door.index, "direction": direction,
                                  "class": cls, "object": b.kind, "t": tc if tc is not None else start,
                                  "lanes": list(lanes), "linger": linger and b is bodies[0]})
                else:
                    truth.append({"kind": "turnback", "door": door.index, "direction": direction,
                                  "class": cls, "object": b.kind, "t": start, "depth": turnback})
            for ln in lanes:
                lane_free[ln] = end
            t_done = max(t_done, end)
            if phase == "alight":
                alight_end = max(alight_end, end)
    edges: list[tuple[float, int, int]] = []
    for ln in range(nl):
        for beam in (0, 1):
            pin = door.beams[ln][beam]
            ivs = _union(blocked[ln][beam])
            edges.extend(_noisy_edges(rng, prof, pin, ivs, t_open, t_done))
    return edges, truth, t_done + 0.5


def _noisy_edges(rng: random.Random, prof: PassengerProfile, pin: int, ivs: list[tuple[float, float]],
                 t_from: float, t_to: float) -> list[tuple[float, int, int]]:
    """Edges of one beam from its blocked intervals, with bounce bursts and isolated glitches."""
    ev: list[tuple[float, int]] = []
    for a, b in ivs:
        for t, lvl in ((a, 1), (b, 0)):
            ev.append((t, lvl))
            if rng.random() < prof.bounce_prob:
                tt = t
                for _ in range(rng.randint(1, 4)):
                    tt += rng.uniform(0.0003, 0.003)
                    ev.append((tt, 1 - lvl))
                    tt += rng.uniform(0.0003, 0.003)
                    ev.append((tt, lvl))
    starts = [a for a, _ in ivs]
    edges_t = sorted(t for iv in ivs for t in iv)
    n_gl = _poisson(rng, prof.glitch_rate_hz * max(0.0, t_to - t_from))
    for _ in range(n_gl):
        t = rng.uniform(t_from, t_to)
        j = bisect.bisect_left(edges_t, t - 0.01)
        if j < len(edges_t) and edges_t[j] <= t + 0.01:
            continue  # a blip right at a real transition is just more bounce; keep the truth clean
        k = bisect.bisect_right(starts, t) - 1
        lvl = 1 if k >= 0 and ivs[k][0] <= t < ivs[k][1] else 0
        w = rng.uniform(0.0005, 0.005)
        ev.append((t, 1 - lvl))
        ev.append((t + w, lvl))
    ev.sort()
    out: list[tuple[float, int, int]] = []
    level = 0
    for t, lvl in ev:  # overlapping noise may repeat a level: keep the sequence alternating
        if lvl != level:
            out.append((t, pin, lvl))
            level = lvl
    if level != 0 and ivs:  # never leave the beam blocked because of noise at the very end
        out.append((max(ivs[-1][1], out[-1][0]) + 0.001, pin, 0))
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit = math.exp(-lam)
    k = 0
    p = rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
