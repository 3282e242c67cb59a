"""The field tables of ``docs/messages.md``, generated from the Structs (JSON Schema by msgspec).

The records (:mod:`transit.records`), the stop prediction and the assignment (:mod:`transit.messages`)
and the control room's deviations (:mod:`transit.deviations`) are the one definition of every payload; their field descriptions (``Meta(description=...)``) are the
documentation. ``python -m transit.msgdoc`` prints the generated part, ``--write docs/messages.md``
replaces it between the markers, and ``tests/transit/test_msgdoc.py`` fails when the file and the code
differ, so the two cannot drift. Hand-written here rather than a JSON Schema → Markdown package: the
tables are a few dozen lines and none of those packages knows msgspec's tags or our ``UNSET`` fields.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, get_args

import msgspec

from transit.deviations import AnyDeviation, Deviation, Replacement
from transit.messages import Assignment, StopPrediction
from transit.records import DAY_PATTERN, TIME_PATTERN, AffectedDeparture, AnyRecord, EtaStop, Position, Record

BEGIN = "<!-- BEGIN GENERATED: python -m transit.msgdoc -->"
END = "<!-- END GENERATED -->"


def _type_text(s: dict[str, Any]) -> str:
    if "$ref" in s:
        return f"`{s['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in s:
        return " \\| ".join(_type_text(x) for x in s["anyOf"])
    if "enum" in s:
        return " \\| ".join(f"`{v}`" for v in s["enum"])
    t = s.get("type")
    if t == "array":
        return f"list of {_type_text(s.get('items', {}))}"
    if t == "object":
        return "object"
    if t == "string" and (s.get("pattern") == TIME_PATTERN or s.get("format") == "date-time"):
        return "time"
    if t == "string" and s.get("pattern") == DAY_PATTERN:
        return "date"
    return str(t)


def _description(s: dict[str, Any]) -> str:
    if s.get("description"):
        return str(s["description"])
    return next((str(x["description"]) for x in s.get("anyOf", ()) if x.get("description")), "")


def _table(schema: dict[str, Any], skip: frozenset[str] = frozenset(), extra: dict[str, str] | None = None) -> list[str]:
    req = set(schema.get("required", ()))
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for key, s in schema["properties"].items():
        if key in skip:
            continue
        opt = "" if key in req else " (optional)"
        desc = (extra or {}).get(key) or _description(s)
        rows.append(f"| `{key}` | {_type_text(s)}{opt} | {desc} |")
    return rows


def _doc(t: type) -> str:
    return " ".join((t.__doc__ or "").split())


def schema_markdown() -> str:
    """The generated part of docs/messages.md, markers included."""
    kinds = list(get_args(AnyRecord))
    dev_kinds = list(get_args(AnyDeviation))
    _, defs = msgspec.json.schema_components([*kinds, EtaStop, AffectedDeparture, StopPrediction, Assignment, *dev_kinds, Replacement],
                                             ref_template="#/$defs/{name}")
    common = frozenset(f.encode_name for f in msgspec.structs.fields(Record))
    envelope = defs[Position.__name__]
    out = [BEGIN, "",
           "Generated from `transit/records.py`, `transit/messages.py` and `transit/deviations.py` by "
           "`python -m transit.msgdoc`; "
           "`tests/transit/test_msgdoc.py` fails when this differs from the code. A field marked *optional* "
           "is left out when it does not apply; *time* is ISO 8601 UTC with milliseconds "
           "(`2026-11-23T06:55:00.000Z`), *date* `YYYY-MM-DD`. Strings are at most 128 characters without "
           "control characters.", "",
           "### Every record", "",
           "On the wire (MQTT) each record is preceded by `\"v\":1`; in the JSON Lines files it is not.", "",
           "| field | type | meaning |", "|---|---|---|",
           "| `event` | string | the record kind, one of the tables below |"]
    out += _table({"properties": {k: v for k, v in envelope["properties"].items() if k in common},
                   "required": envelope.get("required", [])})[2:]
    for t in kinds:
        s = defs[t.__name__]
        out += ["", f"### `{t.__struct_config__.tag}` ({t.__name__})", "", _doc(t), ""]
        if set(s["properties"]) - common - {"event"}:
            out += _table(s, common | {"event"})
        else:
            out.append("The fields of every record only.")
    out += ["", "### `EtaStop` (each of `eta.stops`)", "", _doc(EtaStop), ""]
    out += _table(defs[EtaStop.__name__])
    out += ["", "### `AffectedDeparture` (each of `replacement.departures`)", "", _doc(AffectedDeparture), ""]
    out += _table(defs[AffectedDeparture.__name__])
    version = {"v": "schema version: 1 (a payload of another version is refused as such)"}
    out += ["", "### Stop prediction (`StopPrediction`)", "", _doc(StopPrediction), ""]
    out += _table(defs[StopPrediction.__name__], extra=version)
    out += ["", "### Assignment (`Assignment`)", "", _doc(Assignment), ""]
    out += _table(defs[Assignment.__name__], extra=version)
    dev_common = frozenset(f.encode_name for f in msgspec.structs.fields(Deviation))
    first = defs[dev_kinds[0].__name__]
    out += ["", "### Every deviation (`transit.deviations`)", "", _doc(Deviation), "",
            "| field | type | meaning |", "|---|---|---|",
            "| `kind` | string | which deviation, one of the tables below |"]
    out += _table({"properties": {k: v for k, v in first["properties"].items() if k in dev_common},
                   "required": first.get("required", [])}, extra=version)[2:]
    for t in dev_kinds:
        out += ["", f"### Deviation `{t.__struct_config__.tag}` ({t.__name__})", "", _doc(t), ""]
        out += _table(defs[t.__name__], dev_common | {"kind"})
    out += ["", "### `Replacement` (`planned.replacement`)", "", _doc(Replacement), ""]
    out += _table(defs[Replacement.__name__])
    out += ["", END]
    return "\n".join(out) + "\n"


def replace_generated(text: str, generated: str) -> str:
    """``text`` with the part between the markers replaced by ``generated`` (ValueError without markers)."""
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        raise ValueError(f"no {BEGIN!r} ... {END!r} block")
    return text[:a] + generated.rstrip("\n") + text[b + len(END):]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m transit.msgdoc", description=__doc__.split("\n\n")[0],
                                epilog="example: python -m transit.msgdoc --write docs/messages.md")
    p.add_argument("--write", type=Path, metavar="MD", help="replace the generated block in this file")
    args = p.parse_args(argv)
    gen = schema_markdown()
    if args.write is None:
        sys.stdout.write(gen)
        return 0
    try:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace_generated(text, gen), encoding="utf-8")
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"{args.write}: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
