"""``python -m central report punctuality EVENTS.jsonl... [--month YYYY-MM] [--format md|csv|html]``.

Per line and calendar month (DOMAIN.md, rettidighed): arrivals measured, late, missing, regularity %,
the bonus/penalty % from the operator's points (linear, capped; shown to one decimal, half away from
zero, as the contract's table), a flag below the target (93 %), arrivals more than 20 min late
(rejsegaranti) and more than 60 min late (replacement transport). Regularity counts a ``missing``
registration (not served, cut short, cancelled) as not punctual: a gap in the data never raises the
figure; the report lists the missing ones separately so they can be argued. Records marked
``counted: false`` (the other measurement where the policy's does not exist: a rail trip's origin
departure, a bus trip's terminus arrival) are not in the figure. Records are de-duplicated
by id, so the append-only log and events files may be given together.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transit.jsonl import read_records
from transit.operator import bonus_pct, round_pct
from transit.records import Punctuality, Record

DEFAULT_POINTS = ((86.0, -2.3), (93.0, 0.0), (100.0, 2.3))
OPERATORS = Path(__file__).resolve().parent.parent / "data" / "operators"


@dataclass
class LineMonth:
    line: str
    month: str
    oper: str = ""
    measured: int = 0
    late: int = 0
    early: int = 0
    missing: int = 0
    rejsegaranti: int = 0
    replacement: int = 0
    stations: set[str] = field(default_factory=set)
    station_names: dict[str, str] = field(default_factory=dict)
    daily: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # day->[ok, all]

    @property
    def counted(self) -> int:
        return self.measured + self.missing

    @property
    def punctual(self) -> int:
        return self.measured - self.late - self.early

    @property
    def regularity(self) -> float | None:
        return None if self.counted == 0 else round_pct(100.0 * self.punctual / self.counted)


def bonus_for(regularity_pct: float, points: Any = DEFAULT_POINTS) -> float:
    """Bonus (+) / penalty (-) % of the monthly fee, shown to one decimal as the contract does."""
    return round_pct(bonus_pct(regularity_pct, points))


def summarise(records: Iterable[Record], month: str | None = None) -> list[LineMonth]:
    """Per line and month from ``punctuality`` records (others are ignored); a duplicate id counts once."""
    seen: set[str] = set()
    rows: dict[tuple[str, str], LineMonth] = {}
    for r in records:
        if not isinstance(r, Punctuality):
            continue
        rid = r.id
        if rid in seen:
            continue
        seen.add(rid)
        oday = r.oday or ""
        m = oday[:7]
        if month is not None and m != month:
            continue
        line = r.route or "?"
        row = rows.setdefault((m, line), LineMonth(line, m, r.oper))
        sid = r.station or str(r.stop_id)
        row.stations.add(sid)
        if isinstance(r.station_name, str) and r.station_name:
            row.station_names[sid] = r.station_name
        if r.counted is False:
            continue  # a departure at a rail trip's origin, an arrival at a bus trip's end: information
        day = row.daily[oday]
        day[1] += 1
        if r.status in ("missing", "not_observed"):
            row.missing += 1  # not observed (the unit was blind there) counts like missing: never punctual
            continue
        row.measured += 1
        dl = r.dl or 0.0
        if r.late:
            row.late += 1
        elif r.early is True:
            row.early += 1
        else:
            day[0] += 1
        if r.rejsegaranti is True:
            row.rejsegaranti += 1
        if r.replacement is True or dl > 3600:
            row.replacement += 1
    return [rows[k] for k in sorted(rows)]


def table(rows: list[LineMonth], points: Any, target: float,
          per_oper: dict[str, tuple[Any, float]] | None = None) -> list[dict[str, Any]]:
    """Report rows; ``per_oper`` maps an operator id to its (bonus points, target) when they differ."""
    out = []
    for r in rows:
        reg = r.regularity
        pts, tgt = (per_oper or {}).get(r.oper, (points, target))
        out.append({
            "month": r.month, "line": r.line, "stations": _station_list(r),
            "measured": r.measured, "late": r.late, "early": r.early, "missing": r.missing,
            "regularity_pct": reg, "bonus_pct": None if reg is None else bonus_for(reg, pts),
            "below_target": reg is not None and reg < tgt,
            "over_20_min": r.rejsegaranti, "over_60_min": r.replacement,
        })
    return out


def _station_list(r: LineMonth) -> str:
    """Staff read names; the id stays beside each because configuration and the feed use ids."""
    return ", ".join(f"{r.station_names[s]} ({s})" if s in r.station_names else s for s in sorted(r.stations))


COLUMNS = ("month", "line", "stations", "measured", "late", "early", "missing", "regularity_pct", "bonus_pct",
           "below_target", "over_20_min", "over_60_min")
HEAD = ("Month", "Line", "Registration stations", "Arrivals measured", "Late", "Early", "Missing",
        "Regularity %", "Bonus/penalty %", "Below target", "> 20 min (rejsegaranti)", "> 60 min (replacement)")


def _cell(k: str, v: Any) -> str:
    if v is None:
        return "-"
    if k == "bonus_pct":
        return f"{v:+.1f}"
    if k == "regularity_pct":
        return f"{v:.1f}"
    if k == "below_target":
        return "BELOW 93 %" if v else ""
    return str(v)


def render_md(t: list[dict[str, Any]], target: float) -> str:
    lines = ["# Punctuality (rettidighed) per line", "",
             f"Late: at or above the operator's threshold; target {target:.1f} % per line and month.", "",
             "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for row in t:
        lines.append("| " + " | ".join(_cell(k, row[k]) for k in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render_csv(t: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in t:
        w.writerow(["" if row[k] is None else row[k] for k in COLUMNS])
    return buf.getvalue()


def _svg(rows: list[LineMonth], target: float) -> str:
    """Daily regularity per line, one polyline each (inline SVG, no script, no external files)."""
    days = sorted({d for r in rows for d in r.daily})
    if not days:
        return ""
    w, h, pad = 720, 260, 40
    lo = 80.0
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")

    def xy(i: int, pct: float) -> tuple[float, float]:
        x = pad + (w - 2 * pad) * (i / max(len(days) - 1, 1))
        y = h - pad - (h - 2 * pad) * (max(pct, lo) - lo) / (100.0 - lo)
        return round(x, 1), round(y, 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="daily regularity per line">',
             f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>']
    ty = xy(0, target)[1]
    parts.append(f'<line x1="{pad}" y1="{ty}" x2="{w - pad}" y2="{ty}" stroke="#999" stroke-dasharray="4"/>'
                 f'<text x="{w - pad + 2}" y="{ty + 4}" font-size="10">{target:.0f} %</text>')
    for pct in (80, 90, 100):
        y = xy(0, pct)[1]
        parts.append(f'<text x="4" y="{y + 4}" font-size="10">{pct} %</text>')
    for n, r in enumerate(rows):
        c = colours[n % len(colours)]
        pts = []
        for i, d in enumerate(days):
            ok, allc = r.daily.get(d, (0, 0))
            if allc:
                pts.append(xy(i, 100.0 * ok / allc))
        if pts:
            parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                         + " ".join(f"{x},{y}" for x, y in pts) + '"/>')
            parts.extend(f'<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>' for x, y in pts)
        parts.append(f'<text x="{pad + 80 * n}" y="14" font-size="11" fill="{c}">'
                     f'{html.escape(r.line)} {html.escape(r.month)}</text>')
    parts.append(f'<text x="{pad}" y="{h - 8}" font-size="10">{html.escape(days[0])}</text>'
                 f'<text x="{w - pad - 60}" y="{h - 8}" font-size="10">{html.escape(days[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(t: list[dict[str, Any]], rows: list[LineMonth], target: float) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEAD)
    body = []
    for row in t:
        cls = ' class="below"' if row["below_target"] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(_cell(k, row[k]))}</td>" for k in COLUMNS) + "</tr>")
    return ("<!DOCTYPE html>\n<html lang=\"da\"><head><meta charset=\"utf-8\"><title>Rettidighed</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
            "tr.below td{background:#fdd}</style></head><body>\n<h1>Punctuality (rettidighed) per line</h1>\n"
            f"<table><tr>{head}</tr>\n" + "\n".join(body) + "</table>\n<h2>Daily regularity per line</h2>\n"
            + _svg(rows, target) + "\n</body></html>\n")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", nargs="+", type=Path, help="events.jsonl / punctuality.jsonl file(s)")
    p.add_argument("--month", help="only this calendar month (YYYY-MM) of operating days")
    p.add_argument("--format", choices=("md", "csv", "html"), default="md")
    p.add_argument("--operator", type=Path, help="operator file with the bonus points and target "
                   "(default: data/operators/<oper>.yaml of the records' operator)")
    p.add_argument("--out", "-o", type=Path, help="write here instead of standard output")


def run(args: argparse.Namespace) -> int:
    records = list(read_records(args.events, "punctuality"))
    points: Any = DEFAULT_POINTS
    target = 93.0
    per_oper: dict[str, tuple[Any, float]] = {}
    from transit.operator import load_operator
    if args.operator is not None:
        pol = load_operator(args.operator).punctuality
        points, target = pol.bonus_points, pol.target_pct
    else:
        # each line with its own operator's points and target (data/operators/<oper>.yaml)
        for oper in sorted({r.oper for r in records}):
            cand = OPERATORS / f"{oper}.yaml"
            if cand.exists():
                pol = load_operator(cand).punctuality
                per_oper[oper] = (pol.bonus_points, pol.target_pct)
    rows = summarise(records, args.month)
    t = table(rows, points, target, per_oper)
    text = render_md(t, target) if args.format == "md" else render_csv(t) if args.format == "csv" else \
        render_html(t, rows, target)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if not records:
        sys.stderr.write("no punctuality records in the input\n")
    return 0
