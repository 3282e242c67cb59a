"""Door counter: two IR beams per lane (outer A, inner B) -> counted crossings.

Runs unchanged on the RP2040 door node (MicroPython) and on the onboard computer (CPython), so it uses
a small subset: plain classes, lists, ints/floats, no dataclasses, typing or f-strings with format specs.

Times are numbers in milliseconds (any origin, increasing). Levels are logical: 1 = beam blocked.

Physical reasoning, not tuning:

* **Stable-time debounce** per beam: a raw change becomes real only after the raw level has held for
  ``debounce_ms``; it is then dated at the raw edge that started the stable run. Bounce bursts and short
  glitches (sunlight, reflections) never reach the path logic; the A/B order of real transitions is kept.
* **Path tracking**: the beams are closer together than a body is deep, so every body in the sensor zone
  covers A only, both, or B only, and at most two bodies are in the zone (one on A, one on B). Each body
  remembers the side it came from. It is counted only when it leaves on the *other* side (a complete
  path 0->A->AB->B->0 is a boarding, the reverse an alighting). Leaving on the side it came from is a
  turn-back; standing still in a beam (lingering) changes nothing until the body leaves.
* **Back-to-back and groups**: when a beam is newly blocked next to a body that is already moving away
  from it, that is a new body following (momentum), not the first turning back.
* **Bulky class**: a body that kept both beams blocked for at least ``bulky_ms`` is long (pram,
  wheelchair, bicycle with its rider) and is counted in class ``bulky``.
* **Several beam pairs per door** (wide doors): each lane has its own tracker; one wide body that
  blocks two lanes at once gives near-identical timings on both and is merged into one crossing.

Known limits of two beams (documented, not hidden): a body that fully clears the first beam and then
turns back looks like a back-to-back crossing plus a turn-back; two people shoulder to shoulder inside
one lane with less than ``debounce_ms`` between them merge into one.
"""

IN = "in"
OUT = "out"
ADULT = "adult"
BULKY = "bulky"

# Body positions in the zone.
_POS_A = 1
_POS_AB = 3
_POS_B = 2


class Crossing:
    """One counted crossing: ``direction`` 'in' (boarding) or 'out', ``cls`` 'adult' or 'bulky',
    ``t0``/``t1`` first and last beam transition (ms), ``lane`` index of the beam pair."""

    __slots__ = ("direction", "cls", "t0", "t1", "lane", "t_ab")

    def __init__(self, direction: str, cls: str, t0: float, t1: float, lane: int, t_ab: float) -> None:
        self.direction = direction
        self.cls = cls
        self.t0 = t0
        self.t1 = t1
        self.lane = lane
        self.t_ab = t_ab

    def __repr__(self) -> str:
        return "Crossing(%s, %s, %.1f..%.1f, lane=%d)" % (self.direction, self.cls, self.t0, self.t1,
                                                          self.lane)


class _Body:
    __slots__ = ("origin", "pos", "t0", "ab_since", "ab_ms")

    def __init__(self, origin: str, pos: int, t0: float) -> None:
        self.origin = origin  # 'out' = came from outside (A first), 'in' = from inside (B first)
        self.pos = pos
        self.t0 = t0
        self.ab_since: float | None = None
        self.ab_ms = 0.0


class _Debounced:
    """Stable-time debounce of one beam."""

    __slots__ = ("stable", "raw", "raw_t", "since")

    def __init__(self) -> None:
        self.stable = 0
        self.raw = 0
        self.raw_t = 0.0
        self.since = 0.0  # time the stable level began


class LaneCounter:
    """Path tracker for one beam pair (A outer, B inner)."""

    def __init__(self, lane: int = 0, debounce_ms: float = 15.0, bulky_ms: float = 800.0,
                 stuck_ms: float = 60000.0) -> None:
        self.lane = lane
        self.debounce_ms = debounce_ms
        self.bulky_ms = bulky_ms
        self.stuck_ms = stuck_ms
        self.beams = [_Debounced(), _Debounced()]  # 0 = A (outer), 1 = B (inner)
        self.on_a: _Body | None = None  # body covering A only, or both
        self.on_b: _Body | None = None  # body covering B only (None when on_a covers both)
        self.out: list[Crossing] = []
        # Diagnostics (the onboard side turns them into counters and log lines).
        self.turnbacks = 0
        self.inconsistent = 0
        self.glitches = 0

    # -- input ---------------------------------------------------------------------------------
    def edge(self, t: float, beam: int, level: int) -> list[Crossing]:
        """Raw level of beam 0 (A) or 1 (B) changed at ``t`` ms. Returns finished crossings."""
        self._commit(t)
        b = self.beams[beam]
        level = 1 if level else 0
        if level == b.raw:
            return self._take()
        if level == b.stable:
            self.glitches += 1  # the raw level went back before it was stable
        b.raw = level
        b.raw_t = t
        return self._take()

    def advance(self, t: float) -> list[Crossing]:
        """Commit debounced changes whose stable time has passed by ``t``; return finished crossings."""
        self._commit(t)
        return self._take()

    def _commit(self, t: float) -> None:
        # In the order of their raw edges, so the A/B order survives the debounce delay.
        while True:
            best = -1
            best_t = 0.0
            for i in (0, 1):
                b = self.beams[i]
                if b.raw != b.stable and b.raw_t + self.debounce_ms <= t:
                    if best < 0 or b.raw_t < best_t:
                        best = i
                        best_t = b.raw_t
            if best < 0:
                return
            b = self.beams[best]
            b.stable = b.raw
            b.since = b.raw_t
            self._transition(best, b.stable, b.raw_t)

    def stuck(self, t: float) -> bool:
        """True when a beam has been blocked for ``stuck_ms`` or longer (dirt, obstruction, fault)."""
        for b in self.beams:
            if b.stable == 1 and t - b.since >= self.stuck_ms:
                return True
        return False

    def blocked(self) -> tuple[int, int]:
        return (self.beams[0].stable, self.beams[1].stable)

    def _take(self) -> list[Crossing]:
        out = self.out
        self.out = []
        return out

    # -- path logic ----------------------------------------------------------------------------
    def _transition(self, beam: int, level: int, t: float) -> None:
        if beam == 0:
            if level:
                self._a_on(t)
            else:
                self._a_off(t)
        else:
            if level:
                self._b_on(t)
            else:
                self._b_off(t)

    def _enter_ab(self, body: _Body, t: float) -> None:
        body.pos = _POS_AB
        body.ab_since = t

    def _leave_ab(self, body: _Body, pos: int, t: float) -> None:
        body.pos = pos
        if body.ab_since is not None:
            body.ab_ms += t - body.ab_since
        body.ab_since = None

    def _a_on(self, t: float) -> None:
        if self.on_a is not None:  # A was already covered: lost an edge; resynchronise
            self._resync()
        cand = self.on_b
        if cand is not None and cand.origin == IN:
            # A body coming from inside reaches the outer beam.
            self.on_b = None
            self.on_a = cand
            self._enter_ab(cand, t)
        else:
            # Nothing there, or the body on B is moving inwards: a new body from outside.
            self.on_a = _Body(OUT, _POS_A, t)

    def _b_on(self, t: float) -> None:
        a = self.on_a
        if a is not None and a.pos == _POS_AB or self.on_b is not None:
            self._resync()
            a = self.on_a
        if a is not None and a.origin == OUT:
            self._enter_ab(a, t)  # the body from outside reaches the inner beam
        else:
            self.on_b = _Body(IN, _POS_B, t)

    def _a_off(self, t: float) -> None:
        a = self.on_a
        if a is None:
            self.inconsistent += 1
            return
        self.on_a = None
        if a.pos == _POS_AB:
            self._leave_ab(a, _POS_B, t)
            if self.on_b is not None:
                self._resync()
            self.on_b = a
        else:
            self._leave(a, OUT, t)

    def _b_off(self, t: float) -> None:
        b = self.on_b
        if b is not None:
            self.on_b = None
            self._leave(b, IN, t)
            return
        a = self.on_a
        if a is not None and a.pos == _POS_AB:
            self._leave_ab(a, _POS_A, t)
            return
        self.inconsistent += 1

    def _leave(self, body: _Body, side: str, t: float) -> None:
        """``body`` left the zone towards ``side`` ('in' = inside the vehicle)."""
        if body.origin == side:
            self.turnbacks += 1
            return
        cls = BULKY if body.ab_ms >= self.bulky_ms else ADULT
        self.out.append(Crossing(side, cls, body.t0, t, self.lane, body.ab_ms))

    def _resync(self) -> None:
        self.inconsistent += 1
        self.on_a = None
        self.on_b = None


class DoorCounter:
    """All beam pairs of one door; merges one wide body seen by two lanes into one crossing.

    ``pairs`` is a list of (pin_A, pin_B). Crossings are released ``merge_ms`` after they end, so a
    twin on the other lane can still be matched.
    """

    def __init__(self, door: int, pairs: list[tuple[int, int]] | tuple[tuple[int, int], ...],
                 debounce_ms: float = 15.0, bulky_ms: float = 800.0, stuck_ms: float = 60000.0,
                 merge_ms: float = 40.0) -> None:
        self.door = door
        self.pairs = list(pairs)
        self.merge_ms = merge_ms
        self.lanes: list[LaneCounter] = []
        self.pin_map: dict[int, tuple[int, int]] = {}
        for i in range(len(self.pairs)):
            pa, pb = self.pairs[i]
            self.lanes.append(LaneCounter(i, debounce_ms, bulky_ms, stuck_ms))
            self.pin_map[pa] = (i, 0)
            self.pin_map[pb] = (i, 1)
        self.pending: list[Crossing] = []
        self.merged = 0

    def edge(self, t: float, pin: int, level: int) -> list[Crossing]:
        """A raw edge on one of this door's pins. Returns crossings that are final by ``t``."""
        lane, beam = self.pin_map[pin]
        for i in range(len(self.lanes)):
            if i != lane:
                self._add(self.lanes[i].advance(t))
        self._add(self.lanes[lane].edge(t, beam, level))
        return self._release(t)

    def advance(self, t: float) -> list[Crossing]:
        """Let time pass to ``t`` (no edge): commits debounced levels, releases crossings."""
        for lane in self.lanes:
            self._add(lane.advance(t))
        return self._release(t)

    def flush(self, t: float) -> list[Crossing]:
        """Release everything (end of data)."""
        out = self.advance(t)
        out.extend(self.pending)
        self.pending = []
        return out

    def stuck(self, t: float) -> bool:
        for lane in self.lanes:
            if lane.stuck(t):
                return True
        return False

    def counters(self) -> dict[str, int]:
        """Diagnostic totals: turn-backs, inconsistent sequences, rejected glitches, merged twins."""
        tb = 0
        inc = 0
        gl = 0
        for lane in self.lanes:
            tb += lane.turnbacks
            inc += lane.inconsistent
            gl += lane.glitches
        return {"turnbacks": tb, "inconsistent": inc, "glitches": gl, "merged": self.merged}

    def _add(self, crossings: list[Crossing]) -> None:
        for c in crossings:
            twin = None
            for p in self.pending:
                if (p.lane != c.lane and p.direction == c.direction
                        and abs(p.t0 - c.t0) <= self.merge_ms and abs(p.t1 - c.t1) <= self.merge_ms):
                    twin = p
                    break
            if twin is None:
                self.pending.append(c)
            else:
                self.merged += 1
                if c.t_ab > twin.t_ab:  # the lane that saw more of the body classifies it
                    twin.cls = c.cls
                    twin.t_ab = c.t_ab

    def _release(self, t: float) -> list[Crossing]:
        keep = []
        out = []
        for p in self.pending:
            if p.t1 + self.merge_ms < t:
                out.append(p)
            else:
                keep.append(p)
        self.pending = keep
        return out
