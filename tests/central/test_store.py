"""The record store contract, on both backends (SQLite file, real PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from central.records import (
    R_COUNTED,
    R_DL,
    R_ID,
    R_ODAY,
    R_STATION,
    R_STATUS,
    R_TRIP,
    R_VEH,
    REG_ROW,
    Rejected,
    StoredRecord,
    to_stored,
)
from central.store import RecordStore, backend_for_url, migrations, open_store
from tests.central.records import TRIP, as_dict, punct, vp
from transit.errors import BackendError, ConfigError, DecodeError
from transit.records import Record, TripRef, decode_record


def stored(rec: Record | dict[str, Any]) -> StoredRecord:
    """As the collector stores it: a dict (a damaged record) goes through the one decoder first."""
    if isinstance(rec, dict):
        rec = decode_record(json.dumps(rec))
    return to_stored(rec, f"rettid/v1/record/{rec.event}/train/lokaltog/{rec.veh}/x")


NOV = (date(2026, 11, 1), date(2026, 11, 30))


def test_put_is_idempotent_by_id(store: RecordStore) -> None:
    recs = [vp(i) for i in range(50)] + [punct("hilleroed", 30.0), punct("hundested", 200.0)]
    assert store.put([stored(r) for r in recs]) == 52
    assert store.put([stored(r) for r in recs[:10] + recs[-1:]]) == 0  # a re-delivery: nothing new
    assert store.put([stored(recs[0]), stored(recs[0])]) == 0  # twice in one batch
    assert store.count() == 52 and store.count("punctuality") == 2
    assert set(store.ids()) == {r.id for r in recs}
    regs = list(store.registrations(*NOV))
    assert sorted(r.station for r in regs) == ["hilleroed", "hundested"]
    late = next(r for r in regs if r.station == "hundested")
    assert late.dl == 200.0 and late.status == "measured" and late.counted is True and late.oday == "2026-11-23"


def test_queries_by_operating_day(store: RecordStore) -> None:
    dec = TripRef("920R-0655", "2026-12-01", "920R", 0, "06:55")
    store.put([stored(punct("hilleroed", 10.0)), stored(punct("hilleroed", 20.0, trip=dec))])
    assert [r.oday for r in store.registrations(*NOV)] == ["2026-11-23"]
    assert [r["oday"] for r in store.records(*NOV, events=["punctuality"])] == ["2026-11-23"]
    assert list(store.records(date(2026, 12, 1), date(2026, 12, 31)))[0]["trip_id"] == "920R-0655"


def test_trip_runs_observed_wins(store: RecordStore) -> None:
    not_driven = punct("hilleroed", None, reason="trip not driven (cancelled)")
    store.put([stored(not_driven)])
    assert [(r.trip_id, r.observed) for r in store.trip_runs(*NOV)] == [(TRIP.trip_id, False)]
    store.put([stored(vp(1))])
    store.put([stored(punct("hundested", None, reason="trip not driven (cancelled)"))])
    assert [(r.trip_id, r.veh, r.observed) for r in store.trip_runs(*NOV)] == [(TRIP.trip_id, "2051", True)]


def test_the_month_reports_queries(store: RecordStore) -> None:
    dec = TripRef("920R-0655", "2026-12-01", "920R", 0, "06:55")
    late = punct("hundested", 200.0)
    store.put([stored(punct("hilleroed", 10.0, counted=False)), stored(late), stored(punct("hilleroed", 20.0, trip=dec)),
               stored(punct("frederiksvaerk", None, reason="no position"))])
    rows = list(store.month_registrations(*NOV))
    assert all(type(r) is tuple and len(r) == len(REG_ROW) for r in rows)
    by_station = {r[R_STATION]: r for r in rows}
    assert sorted(by_station) == ["frederiksvaerk", "hilleroed", "hundested"]
    h = by_station["hundested"]
    assert (h[R_ODAY], h[R_TRIP], h[R_STATUS], h[R_COUNTED], h[R_DL], h[R_VEH], h[R_ID]) == \
        ("2026-11-23", TRIP.trip_id, "measured", True, 200.0, "2051", late.id)
    assert not by_station["hilleroed"][R_COUNTED] and by_station["frederiksvaerk"][R_DL] is None
    assert store.registration_months() == ["2026-11", "2026-12"]
    other = msgspec.structs.replace(punct("naerum", 30.0), oper="movia-rbus")  # a database holds every
    # operator's records; a month is one operator's
    store.put([stored(other)])
    assert len(list(store.month_registrations(*NOV))) == 4
    assert [r[R_STATION] for r in store.month_registrations(*NOV, "movia-rbus")] == ["naerum"]
    assert len(list(store.month_registrations(*NOV, "lokaltog"))) == 3
    assert store.registration_operators(*NOV) == ["lokaltog", "movia-rbus"]
    assert store.registration_operators(date(2027, 1, 1), date(2027, 1, 31)) == []


def test_rejected_are_kept(store: RecordStore) -> None:
    store.put([], [Rejected("rettid/v1/record/punctuality/train/lokaltog/2051/x", b"{bad", "not JSON")])
    assert store.rejected() == [Rejected("rettid/v1/record/punctuality/train/lokaltog/2051/x", b"{bad",
                                         "not JSON")]
    assert store.count() == 0 and store.rejected_count() == 1


def test_schema_is_migrated_once(store: RecordStore) -> None:
    assert store.schema_version() == len(migrations(store.backend)) >= 1


def test_reopen_keeps_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite"
    with open_store(url) as s:
        s.put([stored(vp(1))])
    with open_store(url) as s:
        assert s.count() == 1 and s.schema_version() == 1


def test_backend_by_url() -> None:
    assert backend_for_url("sqlite:///x") == "sqlite"
    assert backend_for_url("/var/lib/x.sqlite") == "sqlite"
    assert backend_for_url("postgres://u@h/db") == "postgresql"
    with pytest.raises(BackendError, match="choices: postgresql, sqlite"):
        open_store("mysql://u@h/db")


def test_postgres_url_with_password_is_refused(postgres: object) -> None:
    with pytest.raises(ConfigError, match="must not contain a password"):
        open_store("postgresql://rettid:secret@127.0.0.1:1/rettid")


def test_postgres_wrong_password_is_one_clear_error(postgres: object, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL"):
        open_store(postgres.url, password_file=pw)  # type: ignore[attr-defined]


@pytest.mark.parametrize("change, match", [
    ({"dl": None, "status": "measured"}, "needs a number 'dl'"),  # central.records: the report needs it
    ({"trip_id": None}, "'trip_id' is missing"),
    ({"route": None}, "'route' is missing"),
    ({"oday": None}, "'oday' is missing"),
    ({"oday": "23-11-2026"}, r"\$\.oday"),  # the one decoder (transit.records) refuses the rest
    ({"status": "weird"}, r"\$\.status"),
    ({"status": None, "dl": None}, r"\$\.status"),
    ({"status": None}, r"\$\.status"),  # a delay does not make a record without status measured
    ({"station": None}, r"\$\.station"),
    ({"measured": None}, r"\$\.measured"),
    ({"counted": None}, r"\$\.counted"),
])
def test_punctuality_records_a_report_cannot_count_are_refused(change: dict, match: str) -> None:
    rec = as_dict(punct("hilleroed", 30.0))
    rec.update(change)
    with pytest.raises(DecodeError, match=match):
        stored(rec)
