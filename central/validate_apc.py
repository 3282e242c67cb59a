"""``python -m central validate-apc COUNTS REFERENCE``: VDV 457-style accuracy check of automatic
passenger counts against reference (manual or video) counts.

VDV 457 judges an APC system by its *systematic* error (bias), not by single-stop deviations: the bias
is the ratio estimate ``(sum counted - sum reference) / sum reference`` over samples (one sample =
boardings or alightings at one door of one stop visit), with a confidence interval from the spread of
the per-sample deviations. The system passes the equivalence test (two one-sided tests at level alpha)
when the whole ``1 - 2 alpha`` interval lies inside ``±delta`` (default ±1 %).

COUNTS: an events.jsonl with ``apc`` records, or a CSV. REFERENCE: a CSV. CSV columns:
``trip_id, seq`` (or ``stop_id``), ``door``, ``in``, ``out`` and optionally ``oday``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transit.errors import ConfigError
from transit.jsonl import JsonlCounts, read_jsonl

log = logging.getLogger(__name__)

Key = tuple[str, str, str, int]  # oday, trip_id, stop (seq or stop_id), door


def t_quantile(p: float, df: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5): good to about
    1e-3 for df >= 3, which is all a validation needs, and saves a SciPy dependency."""
    z = statistics.NormalDist().inv_cdf(p)
    if df <= 0:
        return math.inf
    v = float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


@dataclass(frozen=True)
class BiasResult:
    n: int  # samples
    reference: int
    counted: int
    bias_pct: float
    ci_low_pct: float  # 1 - 2 alpha interval (90 % for alpha 0.05)
    ci_high_pct: float
    delta_pct: float
    equivalent: bool


def bias(samples: list[tuple[int, int]], delta_pct: float = 1.0, alpha: float = 0.05) -> BiasResult:
    """Ratio estimate of the relative systematic error with its TOST interval. ``samples`` are
    (counted, reference) pairs."""
    n = len(samples)
    sc = sum(c for c, _ in samples)
    sr = sum(r for _, r in samples)
    if n == 0 or sr == 0:
        return BiasResult(n, sr, sc, math.nan, math.nan, math.nan, delta_pct, False)
    ratio = (sc - sr) / sr
    if n > 1:
        resid = [(c - r) - ratio * r for c, r in samples]
        s2 = sum(e * e for e in resid) / (n - 1)
        se = math.sqrt(s2 / n) / (sr / n)
        half = t_quantile(1 - alpha, n - 1) * se
    else:
        half = math.inf
    lo, hi = 100 * (ratio - half), 100 * (ratio + half)
    return BiasResult(n, sr, sc, 100 * ratio, lo, hi, delta_pct, -delta_pct <= lo and hi <= delta_pct)


def _int(v: Any) -> int:
    return int(float(v)) if v not in (None, "") else 0


def stop_key_of(path: str | Path) -> str:
    """Which column names the stop in a reference CSV: ``seq`` when its header has it, else ``stop_id``."""
    p = Path(path)
    if p.suffix in (".jsonl", ".json") or not p.is_file():
        return "auto"
    with p.open(encoding="utf-8-sig", errors="replace") as fh:
        header = [c.strip() for c in next(csv.reader(fh), [])]
    return "seq" if "seq" in header else "stop_id"


def read_counts(path: str | Path, stop_key: str = "auto") -> dict[Key, list[int]]:
    """Counted or reference values per (oday, trip, stop, door): [in, out], classes summed.

    The stop is ``seq`` (``auto``: when the row has one, else ``stop_id``) or the column ``stop_key``
    names: counts are keyed like the reference they are compared with, which may name stops either way.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no such file", file=str(p))
    out: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    bad = 0
    rows: Iterable[dict[str, Any]]
    if p.suffix in (".jsonl", ".json"):
        def jrows() -> Iterable[dict[str, Any]]:
            nonlocal bad
            counts = JsonlCounts()
            for r in read_jsonl(p, counts):
                if r.get("event") == "apc":
                    yield r
            bad += counts.bad
        rows = jrows()
    else:
        # a row with fewer or more cells than the header is damaged (DictReader fills None / key None)
        rows = [r if None not in r and None not in r.values() else {}
                for r in csv.DictReader(p.read_text(encoding="utf-8-sig", errors="replace").splitlines())]
    for r in rows:
        try:
            if stop_key == "auto":
                stop = r.get("seq") if r.get("seq") not in (None, "") else r.get("stop_id")
            else:
                stop = r[stop_key]
                if stop in (None, ""):
                    raise KeyError(stop_key)
            key = (str(r.get("oday") or ""), str(r["trip_id"]), str(stop), int(r["door"]))
            n_in, n_out = _int(r.get("in")), _int(r.get("out"))  # both or neither
        except (KeyError, ValueError, TypeError, OverflowError):  # OverflowError: int(float("inf"))
            bad += 1
            continue
        out[key][0] += n_in
        out[key][1] += n_out
    if bad:
        log.warning("%s: %d unusable line(s) skipped", p, bad)
    return dict(out)


def _match(counts: dict[Key, list[int]], ref: dict[Key, list[int]]) -> tuple[list[tuple[Key, list[int], list[int]]], int]:
    """Pairs by key; a reference without ``oday`` matches counts of any day (manual sheets often lack it)."""
    by_loose: dict[tuple[str, str, int], list[Key]] = defaultdict(list)
    for k in counts:
        by_loose[(k[1], k[2], k[3])].append(k)
    pairs = []
    missing = 0
    for k, rv in sorted(ref.items()):
        if k in counts:
            pairs.append((k, counts[k], rv))
        elif not k[0] and len(by_loose.get((k[1], k[2], k[3]), [])) == 1:
            ck = by_loose[(k[1], k[2], k[3])][0]
            pairs.append((ck, counts[ck], rv))
        else:
            missing += 1
            pairs.append((k, [0, 0], rv))  # no count where people were counted by hand: a real miss
    return pairs, missing


def validate(counts: dict[Key, list[int]], ref: dict[Key, list[int]], delta_pct: float = 1.0,
             alpha: float = 0.05) -> dict[str, Any]:
    pairs, missing = _match(counts, ref)
    samples_all: list[tuple[int, int]] = []
    per_door: dict[int, list[tuple[int, int]]] = defaultdict(list)
    per_dir: dict[str, list[tuple[int, int]]] = defaultdict(list)
    stops = []
    for k, c, r in pairs:
        for i, name in ((0, "in"), (1, "out")):
            samples_all.append((c[i], r[i]))
            per_door[k[3]].append((c[i], r[i]))
            per_dir[name].append((c[i], r[i]))
        stops.append({"oday": k[0], "trip_id": k[1], "stop": k[2], "door": k[3], "in": c[0], "out": c[1],
                      "ref_in": r[0], "ref_out": r[1]})
    return {"overall": bias(samples_all, delta_pct, alpha),
            "per_door": {d: bias(s, delta_pct, alpha) for d, s in sorted(per_door.items())},
            "per_direction": {d: bias(s, delta_pct, alpha) for d, s in sorted(per_dir.items())},
            "stops": stops, "missing_in_counts": missing, "alpha": alpha}


def render(res: dict[str, Any]) -> str:
    def row(name: str, b: BiasResult) -> str:
        return (f"| {name} | {b.n} | {b.reference} | {b.counted} | {b.bias_pct:+.2f} % | "
                f"[{b.ci_low_pct:+.2f} %, {b.ci_high_pct:+.2f} %] | {'yes' if b.equivalent else 'NO'} |")

    ov: BiasResult = res["overall"]
    conf = 100 * (1 - 2 * res["alpha"])
    out = ["# APC validation (VDV 457-style equivalence test)", "",
           f"Samples: boardings and alightings per door and stop visit. Bias = (counted - reference) / "
           f"reference; {conf:g} % confidence interval; equivalent when inside ±{ov.delta_pct:g} %.", "",
           "| scope | samples | reference | counted | bias | CI | equivalent |", "|---|---:|---:|---:|---:|---|---|",
           row("all", ov)]
    out += [row(f"door {d}", b) for d, b in res["per_door"].items()]
    out += [row(f"{d}", b) for d, b in res["per_direction"].items()]
    diffs = [s for s in res["stops"] if (s["in"], s["out"]) != (s["ref_in"], s["ref_out"])]
    out += ["", f"Stop visits compared: {len(res['stops'])}; with a difference: {len(diffs)}; reference rows "
            f"without counts: {res['missing_in_counts']}."]
    if diffs:
        out += ["", "| day | trip | stop | door | in (ref) | out (ref) |", "|---|---|---|---:|---|---|"]
        for s in diffs[:200]:
            out.append(f"| {s['oday']} | {s['trip_id']} | {s['stop']} | {s['door']} | {s['in']} ({s['ref_in']}) "
                       f"| {s['out']} ({s['ref_out']}) |")
    out += ["", f"Verdict: {'PASS' if ov.equivalent else 'FAIL'}"]
    return "\n".join(out) + "\n"


EXAMPLES = """\
rettid-central validate-apc out/rec/events.jsonl reference-counts.csv
rettid-central validate-apc counts.csv reference.csv --delta 1.0 --alpha 0.05 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("counts", help="events.jsonl with apc records, or a CSV (trip_id,seq,door,in,out)")
    parser.add_argument("reference", help="reference counts CSV (trip_id,seq|stop_id,door,in,out[,oday])")
    parser.add_argument("--delta", type=float, default=1.0, help="equivalence bound in %% (default 1.0)")
    parser.add_argument("--alpha", type=float, default=0.05, help="test level (default 0.05: 90 %% CI)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # key the counts the way the reference names its stops (seq or stop_id): mixed keys match nothing
    res = validate(read_counts(args.counts, stop_key_of(args.reference)), read_counts(args.reference),
                   args.delta, args.alpha)
    if args.json:
        def enc(o: Any) -> Any:
            return o.__dict__ if isinstance(o, BiasResult) else str(o)
        sys.stdout.write(json.dumps({k: v for k, v in res.items() if k != "stops"}, default=enc) + "\n")
    else:
        sys.stdout.write(render(res))
    return 0 if res["overall"].equivalent else 1
