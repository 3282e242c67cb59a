"""``sim_bus month``: the synthetic fleet month behind docs/img/report-2026-11.png. Seeded (same seed, same
records), records as units make them, and the month report accounts for every registration of it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from central.reports.month import Tally, build_month
from central.sources import load_logs
from sim_bus.month import MonthModel, synthetic_month, write_logs
from tests.conftest import REPO
from transit.operator import load_operator
from transit.records import ENCODER, decode_record
from transit.timetable import Timetable

OP = REPO / "data" / "operators" / "lokaltog.yaml"


def test_a_seeded_fleet_month_that_the_report_accounts_for(tmp_path: Path) -> None:
    op = load_operator(OP)
    tt = Timetable.load(op.feed)
    first, last = date(2026, 11, 2), date(2026, 11, 4)
    model = MonthModel(seed=7, disruptions=1)
    recs, c = synthetic_month(tt, op, first, last, model)
    again, _ = synthetic_month(tt, op, first, last, model)
    assert {v: [r.id for r in rs] for v, rs in recs.items()} == {v: [r.id for r in rs] for v, rs in again.items()}
    flat = [r for rs in recs.values() for r in rs]
    assert all(decode_record(ENCODER.encode(r)) == r for r in flat)  # valid as the decoder at the edge sees it
    assert len({r.id for r in flat}) == len(flat) == c.records and 15 <= c.vehicles <= 40
    rep = build_month(load_logs(write_logs(recs, tmp_path)), tt, op, "2026-11")
    t = Tally(rep.straekninger[0].rules)
    for s in rep.straekninger:
        for d in ("2026-11-02", "2026-11-03", "2026-11-04"):
            t.merge(s.by_day[d])
    assert t.measured == c.measured and t.n["late"] == c.late and t.n["not_observed"] == c.not_observed
    assert t.n["missing"] == c.lost > 0 and t.n["cancelled"] > 0
    assert rep.inputs["records_outside_timetable"] == rep.inputs["records_not_registrations"] == 0
    assert 97.0 < (t.coverage or 0) < 100.0
