"""onboard.passinfo.frieze (view model and layouts); the announcements are tested in tests/audio/."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from onboard.passinfo.frieze import (
    Connection,
    FriezePanel,
    FriezeStop,
    FriezeView,
    build_view,
    not_in_service,
    render_frieze,
)
from tests.conftest import REPO
from tests.display.golden import assert_golden
from transit.yamlconf import parse_yaml

NOW = datetime(2026, 11, 23, 9, 26, 30, tzinfo=UTC)  # 10:26:30 local
TFT = FriezePanel()
LED = FriezePanel(width=192, height=32, antialias=False)


def _stop(sid: str, name: str, minutes: int, delay_s: int = 0, terminus: bool = False,
          platform: str | None = None) -> FriezeStop:
    t = NOW + timedelta(minutes=minutes)
    return FriezeStop(sid, name, t, t + timedelta(seconds=delay_s), platform, terminus)


def view(delay_s: int = 0, **kw: object) -> FriezeView:
    base = FriezeView(
        now=NOW, state="in_service", route="920R", destination="Hundested Havn St.",
        via=("Frederiksværk",), next_stop=_stop("skaevinge", "Skævinge St.", 2, delay_s),
        following=(_stop("grimstrup", "Grimstrup St.", 5, delay_s), _stop("oelsted", "Ølsted St.", 8, delay_s),
                   _stop("kregme", "Kregme St.", 11, delay_s),
                   _stop("hundested_havn", "Hundested Havn St.", 32, delay_s, terminus=True)),
        delay_s=delay_s, delay_threshold_s=120,
        connections=(Connection("950R", "Gilleleje St.", NOW + timedelta(minutes=9), "2"),))
    return replace(base, **kw)  # type: ignore[arg-type]


def _page_time(v: FriezeView, page: int, panel: FriezePanel) -> datetime:
    """A data time that shows ``page`` of the right-hand area (pages of panel.page_s seconds)."""
    k = int(NOW.timestamp() // panel.page_s)
    for j in range(k, k + 10):
        if j % 2 == page:
            return datetime.fromtimestamp(j * panel.page_s, UTC)
    raise AssertionError


def test_golden_frieze_normal() -> None:
    v = view()
    v = replace(v, now=_page_time(v, 0, TFT))
    img = render_frieze(v, TFT)
    assert img.size == (1920, 360)
    assert_golden(img, "frieze_normal")


def test_golden_frieze_delayed_stop_requested() -> None:
    v = view(delay_s=270, stop_requested=True)
    assert v.show_delay
    assert_golden(render_frieze(replace(v, now=_page_time(v, 0, TFT)), TFT), "frieze_delayed")


def test_golden_frieze_connections_page() -> None:
    v = view()
    assert_golden(render_frieze(replace(v, now=_page_time(v, 1, TFT)), TFT), "frieze_connections")


def test_golden_frieze_last_stop() -> None:
    v = FriezeView(NOW, "terminus", "920R", "Hundested Havn St.", (),
                   _stop("hundested_havn", "Hundested Havn St.", 0, terminus=True), (), True)
    assert_golden(render_frieze(v, TFT), "frieze_last_stop")


def test_golden_frieze_not_in_service_and_led() -> None:
    assert_golden(render_frieze(not_in_service(NOW), TFT), "frieze_not_in_service")
    v = view(delay_s=270, stop_requested=True)
    assert_golden(render_frieze(v, LED), "led_normal")
    term = FriezeView(NOW, "terminus", "920R", "Hundested Havn St.", (),
                      _stop("hundested_havn", "Hundested Havn St.", 0, terminus=True), (), True)
    assert_golden(render_frieze(term, LED), "led_last_stop")


def test_delay_shown_only_from_threshold() -> None:
    assert not view(delay_s=119).show_delay
    assert view(delay_s=120).show_delay
    assert not replace(view(delay_s=170), delay_threshold_s=180).show_delay

    def amber_pixels(delay_s: int) -> int:
        v = view(delay_s=delay_s)
        img = render_frieze(replace(v, now=_page_time(v, 0, TFT)), TFT)
        return sum(n for n, c in img.getcolors(1 << 20) or [] if c == TFT.colours.accent)

    assert amber_pixels(119) == 0      # under the threshold: no delay chip, times not marked late
    assert amber_pixels(121) > 500     # "Forsinket 2 min" and the late times in amber


def test_led_pages_cycle_through_next_stop_delay_and_connection() -> None:
    v = view(delay_s=270)
    frames = {render_frieze(replace(v, now=NOW + timedelta(seconds=s)), LED).tobytes() for s in range(0, 60, 5)}
    assert len(frames) >= 3


def test_panel_from_config_objects() -> None:
    from onboard.service.config import FriezeConfig

    p = FriezePanel.from_config(FriezeConfig(width=192, height=32))
    assert p.compact and not p.antialias
    n = parse_yaml("width: 1920\nheight: 360\ncolours: {band: '#003366'}\n", "f.yaml")
    assert FriezePanel.from_node(n).colours.band == (0, 0x33, 0x66)


@pytest.fixture(scope="module")
def sample_tt():
    feed = REPO / "data" / "gtfs" / "lokaltog-sample"
    from transit.timetable import Timetable

    return Timetable.load(feed)


def _a_trip(tt, route: str, day: date) -> str:
    trips = sorted(t.trip_id for t in tt.trips_on(day) if t.route_id == route and t.direction_id == 0)
    assert trips, f"no {route} trip on {day}"
    return trips[len(trips) // 2]


def test_build_view_from_sample_timetable(sample_tt) -> None:
    day = date(2026, 11, 23)
    trip = _a_trip(sample_tt, "920R", day)
    sched = sample_tt.trip_schedule(trip, day)
    now = sched[3].arrival - timedelta(minutes=1)
    v = build_view(sample_tt, trip, day, 3, now, delay_s=180, stops_shown=4)
    assert v.state == "in_service" and v.route == "920R"
    assert v.next_stop is not None and v.next_stop.stop_id == sched[3].stop_id
    assert v.next_stop.expected == sched[3].arrival + timedelta(minutes=3)
    assert len(v.following) == 4 and v.following[-1].terminus and v.following[-1].stop_id == sched[-1].stop_id
    assert [s.stop_id for s in v.following[:3]] == [s.stop_id for s in sched[4:7]]
    with_via = build_view(sample_tt, trip, day, 3, now, via_stations=["hilleroed", "frederiksvaerk", "hundested"])
    assert with_via.via[0] == "Frederiksværk"  # registration stations ahead, before the destination
    assert "Hillerød" not in with_via.via
    end = build_view(sample_tt, trip, day, None, now)
    assert end.state == "terminus" and end.next_stop is not None and end.next_stop.stop_id == sched[-1].stop_id
    # connections at Hillerød: other lines leaving 2-30 min after arrival, never our own line
    back = _a_trip(sample_tt, "920R", day)
    trips_in = sorted(t.trip_id for t in sample_tt.trips_on(day) if t.route_id == "920R" and t.direction_id == 1)
    inbound = trips_in[len(trips_in) // 2]
    s_in = sample_tt.trip_schedule(inbound, day)
    last = len(s_in) - 1
    vin = build_view(sample_tt, inbound, day, last, s_in[-1].arrival - timedelta(minutes=2))
    assert vin.connections, "Hillerød has connections to other lines"
    arrive = s_in[-1].arrival
    for c in vin.connections:
        assert c.route != "920R"
        assert arrive + timedelta(minutes=2) <= c.departure < arrive + timedelta(minutes=30)
    assert back


def test_panel_too_small_for_a_name_degrades_instead_of_crashing(caplog: pytest.LogCaptureFixture) -> None:
    tiny = FriezePanel(width=64, height=16, antialias=False)
    img = render_frieze(view(), tiny)
    assert img.size == (64, 16) and img.getbbox() is not None
    assert "frieze layout" in caplog.text
