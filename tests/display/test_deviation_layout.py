"""The countdown under the control room's deviations: "Aflyst" in place of minutes (timetable rows and
vehicle predictions alike), a changed track shown inverted, and a message line paged by whole words."""

from __future__ import annotations

from datetime import timedelta

from station.departures import Row, build_board
from station.layout import CountdownPanel, message_pages, render_countdown
from tests.display.factories import NOW, normal_board_inputs
from tests.display.golden import assert_golden
from transit.deviations import (
    DepartureRef,
    DeviationStore,
    Effect,
    Notice,
    TrackChange,
    TripCancellation,
    deviation_topic,
    effect,
    encode_deviation,
)

LARGE = CountdownPanel(width=480, height=272, rows=5, title="Hillerød St.", qr_url="https://rettid.example/s/hil")
T0 = NOW - timedelta(minutes=5)
LONG = ("Sporarbejde mellem Hillerød og Frederiksværk fra fredag kl. 20 til mandag kl. 4: togbusser kører "
        "fra busterminalen, stoppested D. Regn med 25 minutters længere rejsetid.")


def _base(**kw):
    d = {"oper": "lokaltog", "tst": T0, "valid_from": T0, "valid_to": NOW + timedelta(hours=2)}
    d.update(kw)
    return d


def _rows(devs):
    def apply(row: Row) -> Effect:
        assert row.service_day is not None
        when = row.scheduled or row.expected
        return effect(devs, DepartureRef(row.trip_id, row.service_day.isoformat(), row.route, row.stop_id, when,
                                         "hilleroed"))
    return apply


def _store(*devs) -> DeviationStore:
    s = DeviationStore(prefix="rettid/v1")
    for d in devs:
        assert s.handle(deviation_topic("rettid/v1", d.oper, d.id), encode_deviation(d), NOW)
    return s


def test_golden_cancelled_by_the_control_room_on_timetable_and_realtime_rows() -> None:
    s, p = normal_board_inputs()
    devs = [TripCancellation(**_base(id="c1", trip_id="t950", oday="2026-11-23", text="950R kl. 07.59 er aflyst.")),
            TripCancellation(**_base(id="c2", trip_id="t960", oday="2026-11-23"))]
    b = build_board(s, p, NOW, deviations=_rows(devs))
    rows = {r.trip_id: r for r in b.rows}
    assert rows["t950"].text == "Aflyst" and rows["t950"].cancelled  # had a live prediction
    assert rows["t960"].text == "Aflyst" and not rows["t960"].realtime  # timetable row
    assert rows["t930"].text == "9 min"
    assert [m.text for m in b.messages] == ["950R kl. 07.59 er aflyst."]
    assert_golden(render_countdown(b, CountdownPanel()), "countdown_dev_cancelled")
    assert_golden(render_countdown(b, LARGE), "countdown_dev_cancelled_large")


def test_golden_track_change() -> None:
    s, p = normal_board_inputs()
    devs = [TrackChange(**_base(id="t1", trip_id="t930", oday="2026-11-23", stop_id="hilleroed", platform="2",
                                text="930R mod Helsingør kører fra spor 2."))]
    b = build_board(s, p, NOW, deviations=_rows(devs))
    row = next(r for r in b.rows if r.trip_id == "t930")
    assert row.platform == "2" and row.platform_changed and row.text == "9 min"
    assert not any(r.platform_changed for r in b.rows if r.trip_id != "t930")
    assert_golden(render_countdown(b, CountdownPanel()), "countdown_dev_track")
    assert_golden(render_countdown(b, LARGE), "countdown_dev_track_large")


def test_golden_long_message_is_paged_by_whole_words_not_scrolled() -> None:
    s, p = normal_board_inputs()
    store = _store(Notice(**_base(id="n1", stops=("hilleroed",), text=LONG, priority="warning")),
                   Notice(**_base(id="n2", routes=("920R",), text="Elevatoren er ude af drift.", priority="info")))
    msgs = store.messages({"hilleroed", "hilleroed_8"}, {"920R", "950R"}, NOW)
    b = build_board(s, p, NOW, messages=msgs)
    panel = CountdownPanel()
    pages = message_pages(b, panel, 200, 12)
    texts = [t for prio, t, _ in pages if prio == "warning"]
    assert len(texts) >= 3 and " ".join(texts) == LONG  # every word, in order, none cut
    assert pages[-1][1] == "Elevatoren er ude af drift."  # severity order: warning before info
    first = render_countdown(b, panel, NOW)
    second = render_countdown(b, panel, NOW + timedelta(seconds=panel.page_s))
    assert first.tobytes() != second.tobytes()  # the page turns by data time
    assert render_countdown(b, panel, NOW).tobytes() == first.tobytes()  # and is reproducible
    assert_golden(first, "countdown_dev_message_p1")
    assert_golden(second, "countdown_dev_message_p2")
    assert_golden(render_countdown(b, LARGE, NOW), "countdown_dev_message_large")


def test_message_line_also_under_no_departures() -> None:
    store = _store(Notice(**_base(id="n1", stops=("hilleroed",), text="Stationen er lukket i dag.",
                                  priority="severe")))
    b = build_board([], [], NOW, messages=store.messages({"hilleroed"}, set(), NOW))
    assert b.state == "no_departures" and b.messages
    assert_golden(render_countdown(b, CountdownPanel()), "countdown_dev_no_departures")
