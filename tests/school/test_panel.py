"""The driver's school panel: Danish texts for the warning and the alarm, drawn to a display sink once per
change of text."""

from __future__ import annotations

from datetime import UTC, datetime

from PIL import Image

from hw.display.memory import MemorySink
from onboard.school.monitor import PanelState
from onboard.school.panel import PanelDriver, PanelLayout, panel_lines, render_panel
from signage.text import missing_glyphs
from transit.records import Alarm, PickupNotice, RideTime, TripRef

REF = TripRef("r12-morgen", "2026-11-24", "12", 0, "07:02")
KW = {"veh": "skolebus-12", "oper": "viborg-skolebus", "trip": REF}
T = datetime(2026, 11, 24, 6, 51, tzinfo=UTC)


def state(**over: object) -> PanelState:
    warn = RideTime.make(T, stop_id="hvam_by", kind="warning", boarded="2026-11-24T06:01:00.000Z",
                         board_stop_name="Hvam By", pupils=4, ride_s=3840.0, limit_s=3600.0,
                         end_stop="vestfjendsskolen", end="2026-11-24T07:05:00.000Z", exceeded=True, **KW)
    alarm = Alarm.make(T, stop_id="sdr_rind", alarm="capacity", vehicleload=36, capacity=35, excess=1, **KW)
    notice = PickupNotice.make(T, stop_id="kobberup", stop_name="Kobberup", eta="2026-11-24T07:01:00.000Z",
                               minutes=10, ref=None, resend=False, **KW)
    base = {"route": "12", "headsign": "Vestfjendsskolen", "next_stop": "Ålsted", "load": 36, "capacity": 35,
            "ride_min": 50.0, "limit_min": 60.0, "ride_warning": warn, "capacity_alarm": alarm,
            "alarm_stop": "Søndre Rind", "alarm_since": "2026-11-24T06:47:00.000Z", "notices": (notice,),
            "clock": "07:51"}
    base.update(over)
    return PanelState(**base)  # type: ignore[arg-type]


def test_texts_say_it_in_danish() -> None:
    lines = panel_lines(state())
    assert lines["warn1"] == "KØRETID: 4 elever fra Hvam By"
    assert lines["warn2"] == "når 60 min kl. 08:01 - ved skolen ca. 08:05 (64 min)"
    assert lines["alarm1"] == "OVERBELASTET: 36 om bord, godkendt til 35"
    assert lines["alarm2"] == "1 for mange, siden Søndre Rind kl. 07:47"
    assert lines["notice0"] == "Varslet 07:51: Kobberup, ankomst ca. 08:01"
    for text in lines.values():
        assert not missing_glyphs(text, "sans-bold") and not missing_glyphs(text, "sans")
    quiet = panel_lines(state(ride_warning=None, capacity_alarm=None, notices=()))
    assert "warn1" not in quiet and "alarm1" not in quiet and quiet["load"] == "Passagerer: 36 / 35 godkendt"


def _count(img: Image.Image, rgb: tuple[int, int, int]) -> int:
    return sum(n for n, c in (img.getcolors(1 << 20) or []) if c == rgb)


def test_warning_and_alarm_are_drawn_red() -> None:
    img = render_panel(state(), PanelLayout(800, 480))
    assert img.size == (800, 480)
    red = _count(img, (198, 40, 40))
    assert red > 800 * 120  # two red blocks of about 770 x 84
    calm = render_panel(state(ride_warning=None, capacity_alarm=None, ride_min=20.0))
    assert _count(calm, (198, 40, 40)) == 0


def test_driver_shows_a_frame_per_change_only() -> None:
    sink = MemorySink()
    drv = PanelDriver([sink], PanelLayout(480, 272))
    assert drv.update(state())
    assert not drv.update(state())
    assert drv.update(state(clock="07:52"))
    assert not drv.update(None)
    assert len(sink.frames) == 2 and sink.frames[-1].size == (480, 272)
