"""The month's report in its formats: HTML in Danish for people (and paper), CSV that Danish Excel
opens as it is (``;``, decimal comma, UTF-8 BOM) and plain CSV, JSON for machines, Markdown for a
terminal. Functions of a :class:`~central.reports.month.MonthReport`.

JSON and CSV are written to a stream row by row (:func:`write_json`, :func:`write_csv`): a fleet's
month has tens of thousands of late arrivals, and one indented string of all of them (the standard
library's pure-Python indenting encoder) took more memory and time than computing the month.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, TextIO

from central.reports.month import Item, MonthReport, StraekningResult, Tally
from transit.operator import round_pct
from transit.timeutil import COPENHAGEN

MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december")
WEEKDAYS_DA = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
KIND_DA = {"punctual": "rettidig", "late": "forsinket", "not_observed": "ikke observeret", "missing": "mangler",
           "cancelled": "aflyst"}
COUNT_DA = {"late": "tæller som forsinket", "exclude": "udelades af opgørelsen", "punctual": "tæller som rettidig"}
DAYTYPE_DA = {"mon-thu": "mandag–torsdag", "friday": "fredag", "saturday": "lørdag", "sunday": "søn- og helligdage"}
HTML_LIST_ROWS = 300  # longer lists are cut in the HTML (with a note); CSV and JSON have every row


# ---------------------------------------------------------------------------------------- numbers, dates
def num(x: float | int | None, decimals: int = 0, *, da: bool = True) -> str:
    """``1234.5`` → ``1.234,5`` (Danish) or ``1234.5`` (plain); ``None`` → empty."""
    if x is None:
        return ""
    v = round_pct(float(x), decimals) if decimals else round(float(x))
    text = f"{v:,.{decimals}f}"
    if not da:
        return text.replace(",", "")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def pct(x: float | None, decimals: int = 1) -> str:
    return "–" if x is None else f"{num(x, decimals)} %"


def signed_pct(x: float | None) -> str:
    return "–" if x is None else ("+" if x > 0 else "−" if x < 0 else "±") + f"{num(abs(x), 1)} %"


def da_date(d: date, weekday: bool = False) -> str:
    text = f"{d.day}. {MONTHS_DA[d.month - 1]} {d.year}"
    return f"{WEEKDAYS_DA[d.weekday()]} {text}" if weekday else text


def da_month(rep: MonthReport) -> str:
    return f"{MONTHS_DA[rep.first.month - 1]} {rep.first.year}"


def local(t: datetime | None, fmt: str = "%d.%m. %H:%M") -> str:
    return "" if t is None else t.astimezone(COPENHAGEN).strftime(fmt)


def minutes(dl: float | None, da: bool = True) -> str:
    return "" if dl is None else num(dl / 60.0, 1, da=da)


# ---------------------------------------------------------------------------------------- tables
def straekning_rows(rep: MonthReport) -> list[dict[str, Any]]:
    out = []
    for s in rep.straekninger:
        t = s.total
        out.append({"straekning": s.name, "lines": " + ".join(s.lines), **_tally_cols(t),
                    "target_pct": rep.policy["target_pct"], "below_target": s.below_target,
                    "bonus_pct": s.bonus_pct})
    return out


def _tally_cols(t: Tally) -> dict[str, Any]:
    reg, cov = t.regularity, t.coverage
    return {"scheduled": t.scheduled, "measured": t.measured, "punctual": t.n["punctual"], "late": t.n["late"],
            "not_observed": t.n["not_observed"], "missing": t.n["missing"], "cancelled": t.n["cancelled"],
            "counted": t.counted, "counted_punctual": t.punctual,
            "regularity_pct": None if reg is None else round_pct(reg), "coverage_pct": None if cov is None else round_pct(cov)}


def drill_rows(rep: MonthReport, by: str) -> list[dict[str, Any]]:
    out = []
    for s in rep.straekninger:
        table: dict[Any, Tally] = getattr(s, by)
        for key in sorted(table, key=lambda k: (str(type(k)), k)):
            label = key
            if by == "by_station":
                label = f"{s.station_names.get(key, key)} ({key})"
            elif by == "by_daytype":
                label = DAYTYPE_DA.get(key, key)
            elif by == "by_hour":
                label = f"{key:02d}–{(key + 1) % 24:02d}"
            out.append({"straekning": s.name, "key": label, **_tally_cols(table[key])})
    return out


def trainkm_rows(rep: MonthReport) -> list[dict[str, Any]]:
    return [{"straekning": s.name, "lines": " + ".join(s.lines), **s.trainkm.to_json()} for s in rep.straekninger]


def item_rows(items: list[Item]) -> Iterator[dict[str, Any]]:
    for i in items:
        yield {"oday": i.oday, "straekning": i.straekning, "line": i.route, "trip_id": i.trip_id, "start": i.start,
               "station": i.station, "station_name": i.station_name, "sched": local(i.sched, "%Y-%m-%d %H:%M"),
               "actual": local(i.actual, "%Y-%m-%d %H:%M:%S"),
               "minutes_late": None if i.dl is None else round(i.dl / 60.0, 1),
               "kind": i.kind, "veh": i.veh, "note": i.note}


ITEM_COLUMNS = ("oday", "straekning", "line", "trip_id", "start", "station", "station_name", "sched", "actual",
                "minutes_late", "kind", "veh", "note")
TABLES: dict[str, Callable[[MonthReport], Iterable[dict[str, Any]]]] = {
    "straekninger": straekning_rows,
    "lines": lambda r: drill_rows(r, "by_line"),
    "stations": lambda r: drill_rows(r, "by_station"),
    "daytypes": lambda r: drill_rows(r, "by_daytype"),
    "hours": lambda r: drill_rows(r, "by_hour"),
    "days": lambda r: drill_rows(r, "by_day"),
    "trainkm": trainkm_rows,
    "late": lambda r: item_rows(r.late),
    "rejsegaranti": lambda r: item_rows(r.rejsegaranti),
    "replacement": lambda r: item_rows(r.replacement),
    "unmeasured": lambda r: item_rows(r.unmeasured),
}


# ---------------------------------------------------------------------------------------- CSV, JSON
def write_csv(rep: MonthReport, table: str, out: TextIO, *, danish: bool = False) -> None:
    """Plain CSV (``,``, decimal point) or, ``danish=True``, what Excel with Danish settings opens
    directly: ``;`` between fields, decimal comma, a UTF-8 byte-order mark so æøå survive."""
    rows = iter(TABLES[table](rep))
    if danish:
        out.write("\ufeff")
    w = csv.writer(out, delimiter=";" if danish else ",", lineterminator="\r\n" if danish else "\n")
    first = next(rows, None)
    cols = list(first) if first is not None else list(ITEM_COLUMNS) if table in _ITEM_TABLES else ["straekning"]
    w.writerow(cols)
    if first is None:
        return
    for r in itertools.chain((first,), rows):
        cells = []
        for c in cols:
            v = r[c]
            if v is None:
                cells.append("")
            elif isinstance(v, bool):
                cells.append(("ja" if v else "nej") if danish else ("true" if v else "false"))
            elif isinstance(v, float):
                cells.append(str(v).replace(".", ",") if danish else str(v))
            else:
                cells.append(str(v))
        w.writerow(cells)


_ITEM_TABLES = frozenset({"late", "rejsegaranti", "replacement", "unmeasured"})


def render_csv(rep: MonthReport, table: str = "straekninger", *, danish: bool = False) -> str:
    buf = io.StringIO()
    write_csv(rep, table, buf, danish=danish)
    return buf.getvalue()


LISTS = ("late", "rejsegaranti", "replacement", "unmeasured")
_ITEM_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # the C encoder, made once


def _json_head(rep: MonthReport) -> dict[str, Any]:
    return {
        "month": rep.month, "operator": rep.operator_id, "operator_name": rep.operator_name,
        "authority": rep.authority, "deadline": rep.deadline.isoformat(),
        "public_holidays": {d.isoformat(): n for d, n in rep.holidays.items()}, "policy": rep.policy,
        "feed": rep.feed, "inputs": rep.inputs, "total": rep.total.to_json(),
        "straekninger": [{
            "id": s.straekning_id, "name": s.name, "lines": list(s.lines), **s.total.to_json(),
            "bonus_pct": s.bonus_pct, "below_target": s.below_target, "trainkm": s.trainkm.to_json(),
            "by_line": {k: v.to_json() for k, v in sorted(s.by_line.items())},
            "by_station": {k: dict(v.to_json(), name=s.station_names.get(k, k)) for k, v in sorted(s.by_station.items())},
            "by_daytype": {k: v.to_json() for k, v in sorted(s.by_daytype.items())},
            "by_hour": {str(k): v.to_json() for k, v in sorted(s.by_hour.items())},
            "by_day": {k: v.to_json() for k, v in sorted(s.by_day.items())},
        } for s in rep.straekninger],
    }


def to_json(rep: MonthReport) -> dict[str, Any]:
    """The whole report as one object (tests, small months; :func:`write_json` streams the same)."""
    out = _json_head(rep)
    for name in LISTS:
        out[name] = [i.to_json() for i in getattr(rep, name)]
    return out


def write_json(rep: MonthReport, out: TextIO) -> None:
    """The report as JSON: the figures indented, then the lists one item per line, written item by item
    (the same object as :func:`to_json`)."""
    head = json.dumps(_json_head(rep), ensure_ascii=False, indent=1)
    out.write(head[:-2])  # without the closing "\n}"
    for name in LISTS:
        items: list[Item] = getattr(rep, name)
        out.write(f',\n "{name}": [')
        encode = _ITEM_ENCODER.encode
        for n, i in enumerate(items):
            out.write(("\n  " if n == 0 else ",\n  ") + encode(i.to_json()))
        out.write("\n ]" if items else "]")
    out.write("\n}\n")


def render_json(rep: MonthReport) -> str:
    buf = io.StringIO()
    write_json(rep, buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------- text
def policy_lines(rep: MonthReport) -> list[str]:
    """The counting rules in Danish, printed in every format for people."""
    p = rep.policy
    thr = num(p["late_threshold_s"] / 60.0, 2)
    moment = "ankomst" if p["measure_on"] == "arrival" else "afgang"
    lines = [f"Forsinket: {moment} ved en registreringsstation {thr} minutter eller mere efter publikumskøreplanen."]
    if p.get("early_threshold_s"):
        lines.append(f"For tidlig: {moment} {num(p['early_threshold_s'] / 60.0, 2)} minutter eller mere før "
                     "køreplanen tæller heller ikke som rettidig.")
    lines.append(f"Krav: {num(p['target_pct'], 1)} % rettidige pr. strækning pr. kalendermåned. Bod/bonus lineært "
                 "mellem punkterne " + ", ".join(f"{num(x, 1)} % → {signed_pct(y)}" for x, y in p["bonus_points"])
                 + ", begrænset til yderpunkterne; beregnet af rettidigheden med én decimal.")
    lines.append("Registreringer uden måling: ikke observeret (toget kørte, men ankomsten blev ikke målt) "
                 f"{COUNT_DA[p['unmeasured']['not_observed']]}; mangler (ingen registrering modtaget) "
                 f"{COUNT_DA[p['unmeasured']['missing']]}; aflyst (turen ikke kørt, eller toget kørte igennem "
                 f"uden at standse) {COUNT_DA[p['unmeasured']['cancelled']]}.")
    lines.append(f"Rejsegaranti: mere end {p['rejsegaranti_min']} minutter forsinket. Erstatningstransport: mere end "
                 f"{p['replacement_transport_min']} minutter forsinket, eller passagererne mistede dagens sidste "
                 f"forbindelse (skiftetid {p['connection_transfer_min']} min).")
    lines.append(f"Afrapporteres senest {p['report_due_working_days']} arbejdsdage efter månedens udgang "
                 "(lørdage, søndage og helligdage tæller ikke).")
    return lines


def render_md(rep: MonthReport) -> str:
    out = [f"# Rettidighed og togkilometer, {rep.operator_name}, {da_month(rep)}", "",
           f"Afrapporteres til {rep.authority} senest {da_date(rep.deadline, weekday=True)}.", ""]
    out += [f"- {x}" for x in policy_lines(rep)]
    out += ["", "## Pr. strækning", "",
            "| Strækning | Linjer | Planlagt | Målt | Forsinket | Ikke obs. | Mangler | Aflyst | Rettidighed | Bod/bonus | Dækning |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in rep.straekninger:
        t = s.total
        out.append(f"| {s.name} | {' + '.join(s.lines)} | {t.scheduled} | {t.measured} | {t.n['late']} | "
                   f"{t.n['not_observed']} | {t.n['missing']} | {t.n['cancelled']} | {pct(t.regularity)}"
                   f"{' UNDER KRAV' if s.below_target else ''} | {signed_pct(s.bonus_pct)} | {pct(t.coverage)} |")
    out += ["", "## Pr. linje", "", "| Strækning | Linje | Planlagt | Målt | Forsinket | Rettidighed | Dækning |",
            "|---|---|---|---|---|---|---|"]
    for s in rep.straekninger:
        for line, t in sorted(s.by_line.items()):
            out.append(f"| {s.name} | {line} | {t.scheduled} | {t.measured} | {t.n['late']} | {pct(t.regularity)} | "
                       f"{pct(t.coverage)} |")
    out += ["", "## Pr. registreringsstation", "", "| Strækning | Station | Planlagt | Målt | Forsinket | Rettidighed |",
            "|---|---|---|---|---|---|"]
    for s in rep.straekninger:
        for st, t in sorted(s.by_station.items()):
            out.append(f"| {s.name} | {s.station_names.get(st, st)} ({st}) | {t.scheduled} | {t.measured} | "
                       f"{t.n['late']} | {pct(t.regularity)} |")
    out += ["", "## Togkilometer", "", "| Strækning | Planlagt km | Kørt km | Ikke kørt km | Uden data km | Standardår km |",
            "|---|---|---|---|---|---|"]
    for s in rep.straekninger:
        k = s.trainkm
        out.append(f"| {s.name} | {num(k.scheduled_km, 1)} | {num(k.run_km, 1)} | {num(k.not_run_km, 1)} | "
                   f"{num(k.no_data_km, 1)} | {num(k.standard_year_km)} |")
    out += ["", f"Forsinkede ankomster: {len(rep.late)}; rejsegaranti: {len(rep.rejsegaranti)}; "
            f"erstatningstransport: {len(rep.replacement)}; uden måling: {len(rep.unmeasured)} "
            "(lister: --format csv --table late|rejsegaranti|replacement|unmeasured).", ""]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10.5pt;color:#111;margin:1.5em}
h1{font-size:16pt;margin-bottom:.2em}h2{font-size:13pt;margin-top:1.6em;border-bottom:1px solid #999}
h3{font-size:11pt;margin-bottom:.3em}
table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #bbb;padding:2px 6px;vertical-align:top}
th{background:#eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.under td{background:#fde2e2}.note{color:#444;font-size:9.5pt}.big{font-size:12pt;font-weight:bold}
.policy li{margin:.15em 0}svg{display:block;margin:.3em 0 1em}
@media print{body{margin:0;font-size:9.5pt}h2{break-after:avoid}table,svg{break-inside:avoid}}
"""


def _td(v: Any, n: bool = False) -> str:
    return f'<td class="n">{html.escape(str(v))}</td>' if n else f"<td>{html.escape(str(v))}</td>"


def _tally_head() -> str:
    cols = ("Planlagte registreringer", "Målt", "heraf forsinket", "Ikke observeret", "Mangler", "Aflyst",
            "Indgår i opgørelsen", "Rettidighed", "Dækning")
    return "".join(f"<th>{c}</th>" for c in cols)


def _tally_tds(t: Tally) -> str:
    return "".join([_td(num(t.scheduled), True), _td(num(t.measured), True), _td(num(t.n["late"]), True),
                    _td(num(t.n["not_observed"]), True), _td(num(t.n["missing"]), True),
                    _td(num(t.n["cancelled"]), True), _td(num(t.counted), True), _td(pct(t.regularity), True),
                    _td(pct(t.coverage), True)])


def chart_svg(s: StraekningResult, rep: MonthReport) -> str:
    """Daily regularity of one strækning as bars on an honest 0–100 % axis with the target line."""
    days: list[date] = []
    d = rep.first
    while d <= rep.last:
        days.append(d)
        d = date.fromordinal(d.toordinal() + 1)
    w, h, left, right, top, bottom = 720, 210, 46, 12, 14, 34
    pw, ph = w - left - right, h - top - bottom
    bw = pw / len(days)
    target = float(rep.policy["target_pct"])

    def y(p: float) -> float:
        return round(top + ph * (1 - p / 100.0), 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="Rettidighed pr. dag, {html.escape(s.name)}">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>']
    for p in range(0, 101, 20):
        parts.append(f'<line x1="{left}" y1="{y(p)}" x2="{left + pw}" y2="{y(p)}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y(p) + 4}" font-size="10" text-anchor="end">{p} %</text>')
    for i, day in enumerate(days):
        t = s.by_day.get(day.isoformat())
        x = left + i * bw
        reg = None if t is None else t.regularity
        if reg is not None:
            colour = "#2b6cb0" if reg >= target else "#c53030"
            parts.append(f'<rect x="{x + 1:.1f}" y="{y(reg)}" width="{max(bw - 2, 1):.1f}" '
                         f'height="{round(top + ph - y(reg), 1)}" fill="{colour}"><title>{da_date(day)}: '
                         f'{pct(reg)}</title></rect>')
        else:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph - 3}" font-size="8" text-anchor="middle" '
                         'fill="#999">–</text>')
        if day.day == 1 or day.weekday() == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{h - bottom + 13}" font-size="9" '
                         f'text-anchor="middle">{day.day}.</text>')
    parts.append(f'<line x1="{left}" y1="{y(target)}" x2="{left + pw}" y2="{y(target)}" stroke="#000" '
                 f'stroke-width="1.5" stroke-dasharray="6 3"/><text x="{left + pw - 2}" y="{y(target) - 4}" '
                 f'font-size="10" text-anchor="end">krav {num(target, 0)} %</text>')
    parts.append(f'<text x="{left}" y="{h - 4}" font-size="10">Rettidighed pr. driftsdøgn, {html.escape(s.name)} '
                 f'({da_month(rep)}); mandage markeret; rød søjle: under kravet; – ingen registreringer</text>')
    parts.append("</svg>")
    return "".join(parts)


def _item_table(items: list[Item], kind: str) -> str:
    if not items:
        return '<p class="note">Ingen.</p>'
    head = ["Driftsdøgn", "Linje", "Tur", "Afgang", "Station", "Planlagt", "Faktisk", "Min. forsinket",
            "Vogn", "Bemærkning"] if kind != "unmeasured" else \
        ["Driftsdøgn", "Linje", "Tur", "Afgang", "Station", "Planlagt", "Art", "Vogn", "Bemærkning"]
    rows = []
    for i in items[:HTML_LIST_ROWS]:
        cells = [_td(i.oday), _td(i.route), _td(i.trip_id), _td(i.start), _td(f"{i.station_name} ({i.station})"),
                 _td(local(i.sched, "%H:%M"))]
        if kind != "unmeasured":
            cells += [_td(local(i.actual, "%H:%M:%S")), _td(minutes(i.dl), True)]
        else:
            cells += [_td(KIND_DA[i.kind])]
        cells += [_td(i.veh or "ukendt"), _td(i.note)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(items) > HTML_LIST_ROWS:
        more = (f'<p class="note">Viser de første {HTML_LIST_ROWS} af {num(len(items))}. Hele listen: '
                f'<code>python -m central report punctuality ... --format csv-da --table {kind}</code>.</p>')
    return ("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>" + "".join(rows) + "</table>" + more)


def render_html(rep: MonthReport) -> str:
    e = html.escape
    out = ['<!DOCTYPE html>', '<html lang="da"><head><meta charset="utf-8">',
           f"<title>Rettidighed {e(da_month(rep))} – {e(rep.operator_name)}</title><style>{CSS}</style></head><body>",
           f"<h1>Rettidighed og togkilometer – {e(rep.operator_name)} – {e(da_month(rep))}</h1>",
           f'<p class="big">Afrapporteres til {e(rep.authority)} senest {e(da_date(rep.deadline, weekday=True))}.</p>',
           f'<p class="note">Driftsdøgn {e(da_date(rep.first))} – {e(da_date(rep.last))}. Køreplan: {e(rep.feed)}.'
           + (" Helligdage i måneden: " + ", ".join(f"{e(n)} {e(da_date(d))}" for d, n in rep.holidays.items()) + "."
              if rep.holidays else "") + "</p>",
           "<h2>Opgørelsesregler</h2><ul class=\"policy\">"]
    out += [f"<li>{e(x)}</li>" for x in policy_lines(rep)]
    out.append("</ul>")
    out.append("<h2>Kontrakttal pr. strækning</h2><table><tr><th>Strækning</th><th>Linjer</th>" + _tally_head()
               + "<th>Krav</th><th>Bod/bonus af fast vederlag</th></tr>")
    for s in rep.straekninger:
        cls = ' class="under"' if s.below_target else ""
        out.append(f"<tr{cls}>" + _td(s.name) + _td(" + ".join(s.lines)) + _tally_tds(s.total)
                   + _td(pct(rep.policy["target_pct"]), True) + _td(signed_pct(s.bonus_pct), True) + "</tr>")
    out.append("</table>")
    out.append('<p class="note">Rettidighed = rettidige ÷ registreringer, der indgår i opgørelsen. Dækning = andel af '
               "køreplanens registreringer, som en enhed har meldt (målt, ikke observeret eller aflyst): en lav "
               "dækning betyder, at måneden ikke er fuldt registreret endnu.</p>")
    for s in rep.straekninger:
        out.append(f"<h3>{e(s.name)}</h3>" + chart_svg(s, rep))
    out.append("<h2>Togkilometer</h2><table><tr><th>Strækning</th><th>Planlagte ture</th><th>Planlagt km</th>"
               "<th>Kørte ture</th><th>Kørt km</th><th>heraf erstatning km</th><th>Ikke kørt km</th>"
               "<th>Uden data km</th><th>Produktion</th><th>Køreplan pr. standardår km</th></tr>")
    for s in rep.straekninger:
        k = s.trainkm
        out.append("<tr>" + _td(s.name) + _td(num(k.scheduled_trips), True) + _td(num(k.scheduled_km, 1), True)
                   + _td(num(k.run_trips), True) + _td(num(k.run_km, 1), True) + _td(num(k.replacement_km, 1), True)
                   + _td(num(k.not_run_km, 1), True) + _td(num(k.no_data_km, 1), True) + _td(pct(k.production_pct), True)
                   + _td(num(k.standard_year_km), True) + "</tr>")
    out.append("</table><p class=\"note\">Km af køreplanlagte passagerture (shape mellem første og sidste "
               "betjente stop); tomkørsel indgår ikke. Kørt: en enhed har meldt positioner eller stophændelser for "
               "turen. Ikke kørt: enheden meldte turen ikke kørt. Uden data: ingen melding. Standardår: månedens "
               "gennemsnit pr. dagtype × 251 hverdage, 52 lørdage og 62 søn- og helligdage.</p>")
    out.append("<h2>Pr. linje, station, dagtype og time</h2>")
    for s in rep.straekninger:
        out.append(f"<h3>{e(s.name)}</h3><table><tr><th></th>" + _tally_head() + "</tr>")
        groups: list[tuple[str, list[tuple[str, Tally]]]] = [
            ("Linje", [(k, v) for k, v in sorted(s.by_line.items())]),
            ("Station", [(f"{s.station_names.get(k, k)} ({k})", v) for k, v in sorted(s.by_station.items())]),
            ("Dagtype", [(DAYTYPE_DA[k], s.by_daytype[k]) for k in DAYTYPE_DA if k in s.by_daytype]),
            ("Time", [(f"kl. {k:02d}–{(k + 1) % 24:02d}", v) for k, v in sorted(s.by_hour.items())])]
        for title, rows in groups:
            out.append(f'<tr><th colspan="10">{title}</th></tr>')
            for label, tally in rows:
                out.append("<tr>" + _td(label) + _tally_tds(tally) + "</tr>")
        out.append("</table>")
    out.append(f"<h2>Forsinkede ankomster ({num(len(rep.late))})</h2>" + _item_table(rep.late, "late"))
    out.append(f"<h2>Rejsegaranti: mere end {rep.policy['rejsegaranti_min']} minutter ({num(len(rep.rejsegaranti))})</h2>"
               + _item_table(rep.rejsegaranti, "rejsegaranti"))
    out.append(f"<h2>Erstatningstransport ({num(len(rep.replacement))})</h2>" + _item_table(rep.replacement, "replacement"))
    out.append(f"<h2>Registreringer uden måling ({num(len(rep.unmeasured))})</h2>"
               + _item_table(rep.unmeasured, "unmeasured"))
    inp = rep.inputs
    src = (f"enhedernes logfiler ({len(inp.get('files', []))} filer, {num(inp.get('records', 0))} poster"
           + (f", {inp['torn_last_lines']} afrevne sidste linjer sprunget over" if inp.get("torn_last_lines") else "")
           + ")") if inp.get("source") == "logs" else \
        f"databasen {inp.get('database', '')} ({num(inp.get('rejected_messages', 0))} afviste beskeder i alt)"
    out.append(f'<h2>Grundlag</h2><p class="note">Data: {e(src)}. Registreringer uden for køreplanen: '
               f"{num(inp.get('records_outside_timetable', 0))}; på stationer, der ikke er registreringsstationer for "
               f"turen: {num(inp.get('records_not_registrations', 0))}; informationsmålinger, der ikke indgår "
               f"(afgang fra udgangsstation): {num(inp.get('records_not_counted', 0))}; registreringer meldt mere end "
               f"én gang: {num(inp.get('registrations_with_several_records', 0))}. Lavet af rettid.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


__all__ = ["TABLES", "da_date", "num", "policy_lines", "render_csv", "render_html", "render_json", "render_md",
           "to_json", "write_csv", "write_json"]
