"""Hand-made departures and predictions for the display tests (independent of the sample feed, so the
reference images do not change when the feed is regenerated)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from msgspec.structs import replace

from station.departures import Scheduled
from transit.messages import StopPrediction

NOW = datetime(2026, 11, 23, 6, 55, 0, tzinfo=UTC)  # 07:55 in Copenhagen, a Monday
DAY = date(2026, 11, 23)


def sched(trip: str, route: str, headsign: str, minutes: float, platform: str | None = None,
          stop: str = "hilleroed_8", last: bool = False) -> Scheduled:
    return Scheduled(trip, DAY, route, headsign, stop, NOW + timedelta(minutes=minutes), platform, last)


def pred(s: Scheduled, delay_s: float = 0.0, age_s: float = 10.0, status: str = "SCHEDULED",
         occu: str | None = None, veh: str = "lint-01", platform: str | None = None) -> StopPrediction:
    return StopPrediction(
        stop_id=s.stop_id, trip_id=s.trip_id, route=s.route, headsign=s.headsign, direction=0,
        oday=s.service_day.isoformat(), start="07:40", veh=veh, oper="lokaltog", seq=1,
        sched_arr=s.departure, sched_dep=s.departure, eta_arr=s.departure + timedelta(seconds=delay_s),
        eta_dep=s.departure + timedelta(seconds=delay_s), tst=NOW - timedelta(seconds=age_s), status=status,
        platform=platform, occu=occu, loc="GPS")


def normal_board_inputs() -> tuple[list[Scheduled], list[StopPrediction]]:
    s = [sched("t920", "920R", "Hundested Havn St.", 0.5, "8"),
         sched("t950", "950R", "Gilleleje St.", 4, "9"),
         sched("t930", "930R", "Helsingør St.", 9, "5"),
         sched("t960", "960R", "Tisvildeleje St.", 25, "10"),
         sched("t330", "330R", "Fredensborg St.", 31, "A")]
    p = [pred(s[1], delay_s=20, occu="MANY_SEATS_AVAILABLE"), pred(s[2], delay_s=0, occu="FEW_SEATS_AVAILABLE")]
    return s, p


def with_delay(p: StopPrediction, delay_s: float) -> StopPrediction:
    assert p.sched_dep is not None
    return replace(p, eta_dep=p.sched_dep + timedelta(seconds=delay_s),
                   eta_arr=p.sched_dep + timedelta(seconds=delay_s))
