"""Benchmark registry: each area adds a module ``bench/bench_<area>.py`` with functions decorated by
:func:`benchmark`. A benchmark returns a list of :class:`Metric`; the runner prints one JSON object per
metric per line and a summary line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

BenchFn = Callable[[], "list[Metric]"]
_REGISTRY: dict[str, BenchFn] = {}


@dataclass(frozen=True)
class Metric:
    metric: str
    value: float | int
    unit: str
    target: str  # human-readable target, e.g. ">= 1.5" or "<= 15"
    ok: bool
    extra: dict[str, object] = field(default_factory=dict)  # reference values, ratios, sample sizes

    def to_json(self) -> str:
        d: dict[str, object] = {"metric": self.metric, "value": self.value, "unit": self.unit,
                                "target": self.target, "ok": self.ok}
        d.update(self.extra)
        return json.dumps(d, ensure_ascii=False)


def at_least(metric: str, value: float, target: float, unit: str, **extra: object) -> Metric:
    return Metric(metric, value, unit, f">= {target}", value >= target, dict(extra))


def at_most(metric: str, value: float, target: float, unit: str, **extra: object) -> Metric:
    return Metric(metric, value, unit, f"<= {target}", value <= target, dict(extra))


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    """Register a benchmark function under ``name`` (used by ``python -m bench NAME``)."""

    def deco(fn: BenchFn) -> BenchFn:
        if name in _REGISTRY:
            raise ValueError(f"benchmark '{name}' registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def registered() -> dict[str, BenchFn]:
    return dict(_REGISTRY)
