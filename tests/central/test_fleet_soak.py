"""A short fleet soak (issue 17; the hour with 500 vehicles is ``python -m bench fleet_500``): lightweight
vehicles (``bench.fleet``: real records, topics, payloads and publisher sessions) through a real
Mosquitto into ``python -m central run`` — part at the real 1 Hz rate, the rest time-compressed — and
every record id sent is in the store, nothing else is. Then the same into PostgreSQL with two collectors
sharing the stream through an MQTT 5 shared subscription, as docs/scaling.md grows the central side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.fleet import FleetPlan, iter_plan_records, run_soak
from tests.central.conftest import Mosquitto
from transit.localpostgres import LocalPostgres

pytestmark = [pytest.mark.broker, pytest.mark.slow]
_STORED = re.compile(r"(\d+) received, (\d+) stored, (\d+) duplicates, (\d+) rejected, (\d+) mismatched")


def _expected(plan: FleetPlan) -> tuple[int, dict[str, int]]:
    """What the plan's vehicles send, worked out here without any MQTT: records (not the eta, which travel
    as retained stop predictions) and how many of each event."""
    events: dict[str, int] = {}
    n = 0
    for rec in iter_plan_records(plan):
        if rec.event == "eta":
            continue
        n += 1
        events[rec.event] = events.get(rec.event, 0) + 1
    return n, events


def _counters(line: str) -> tuple[int, int, int, int, int]:
    m = _STORED.search(line)
    assert m is not None, line
    a, b, c, d, e = (int(x) for x in m.groups())
    return a, b, c, d, e


def test_fleet_soak_into_sqlite(broker: Mosquitto, tmp_path: Path) -> None:
    plan = FleetPlan(vehicles=50, seconds=120, real_s=10, warp=5.0)
    n, events = _expected(plan)
    # 1 Hz positions, a stop's arrival and departure every 140 s, a registration at every third stop
    assert events["vp"] == 50 * 120 and events["arr"] > 0 and events["dep"] > 0 and events["punctuality"] > 0
    res = run_soak(plan, broker, tmp_path / "soak", processes=2)
    assert res.sent_records == n
    assert (res.lost, res.unexpected, res.stored) == (0, 0, n)
    received, stored, dups, rejected, mismatched = _counters(res.collector_counters[0])
    assert (stored, dups, rejected, mismatched) == (n, 0, 0, 0)
    assert received == res.sent_messages  # records and the retained stop predictions the collector follows
    assert res.collector_cpu_fraction_real > 0 and res.broker_cpu_fraction_real > 0
    assert res.collector_rss_mb[0] > 0 and res.broker_rss_mb > 0


@pytest.mark.postgres
def test_two_collectors_share_the_stream_into_postgresql(broker: Mosquitto, postgres: LocalPostgres,
                                                         tmp_path: Path) -> None:
    plan = FleetPlan(vehicles=30, seconds=90, real_s=10, warp=5.0, oper="shared")
    n, _ = _expected(plan)
    res = run_soak(plan, broker, tmp_path / "soak", db_url=postgres.url, db_password_file=postgres.password_file,
                   db_schema="fleet_soak", collectors=2, share_group="central", processes=1)
    assert (res.lost, res.unexpected, res.stored) == (0, 0, n)
    shares = [_counters(line) for line in res.collector_counters]
    # each record reached one of the two (a shared subscription), both took part, nothing twice
    assert sum(s[1] for s in shares) == n and all(s[1] > 0 for s in shares)
    assert all(s[2:] == (0, 0, 0) for s in shares)
