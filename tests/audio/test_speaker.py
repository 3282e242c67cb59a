"""onboard.passinfo.speaker: the announcement queue with real espeak-ng and the file sink pacing like a
device (``pace``: it takes the WAV's duration / pace to "play"), so overlaps, order, staleness, quiet hours
and failures are seen in the sink's own start/end times and files."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hw.audio.espeak import Espeak, EspeakConfig
from hw.audio.filesink import FileSink
from hw.audio.sink import AudioSink
from onboard.passinfo.announce import Announcement, QuietHours, speech_text, wav_name
from onboard.passinfo.speaker import Speaker
from tests.audio.sox import stat
from tests.conftest import require_binary
from transit.errors import DeviceError

DAY_T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Copenhagen


def ann(kind: str, text: str, *, tst: datetime = DAY_T, key: str = "k", slot: str | None = None,
        stop: str = "skaevinge") -> Announcement:
    return Announcement(tst, kind, stop, text, speech_text(text), key,  # type: ignore[arg-type]
                        slot or ("deviation" if kind == "deviation" else "stop"))


@pytest.fixture
def espeak() -> Espeak:
    require_binary("espeak-ng")
    return Espeak()


def _speaker(espeak: Espeak, sink: AudioSink, **kw: object) -> Speaker:
    sp = Speaker(espeak, lambda: sink, **kw)  # type: ignore[arg-type]
    sp.start()
    return sp


def _busy_with_first(sp: Speaker, first: Announcement) -> None:
    """Offer ``first`` and wait until the worker has taken it (it is being rendered or played)."""
    assert sp.offer(first)
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while sp.pending and datetime.now(UTC) < deadline:
        threading.Event().wait(0.005)
    assert sp.pending == 0 and not sp.idle()


def test_announcements_offered_from_many_threads_never_overlap(espeak: Espeak, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out", pace=8.0)
    sp = _speaker(espeak, sink, max_queue=32)
    texts = [f"Næste station: Stop nummer {k}." for k in range(8)]

    def producer(k: int) -> None:
        sp.offer(ann("next_stop", texts[k], tst=DAY_T + timedelta(seconds=k), key=f"k{k}", slot=f"car{k}"))

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sp.wait_idle(60)
    sp.close()
    plays = sorted(sink.log, key=lambda p: p.start)
    assert len(plays) == 8 and sp.counters.spoken == 8
    for a, b in zip(plays, plays[1:], strict=False):
        assert a.end <= b.start, f"{a.name} ({a.start:.3f}-{a.end:.3f}) overlaps {b.name} ({b.start:.3f})"
    for p in plays:  # each took as long as its sound (paced), so an overlap could not hide in zero time
        assert p.end - p.start >= p.duration_s / 8.0 - 0.01 and p.duration_s > 1.0
    assert len(list((tmp_path / "out").glob("*.wav"))) == 8


def test_deviations_first_then_stops_then_connections_and_stale_stops_dropped(espeak: Espeak, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out", pace=5.0)
    sp = _speaker(espeak, sink)
    _busy_with_first(sp, ann("next_stop", "Næste station: Grimstrup St.", key="grimstrup", stop="grimstrup",
                             tst=DAY_T))
    # while Grimstrup is being said: Skævinge is next and its connections, then Ølsted comes next before
    # either was said (a short run between stops), then a deviation
    t1 = DAY_T + timedelta(seconds=1)
    assert sp.offer(ann("next_stop", "Næste station: Skævinge St.", tst=t1, key="skaevinge"))
    assert sp.offer(ann("connections", "Skift ved Skævinge St.: linje 950R mod Gilleleje St.", tst=t1,
                        key="skaevinge"))
    t2 = DAY_T + timedelta(seconds=2)
    assert sp.offer(ann("connections", "Skift ved Ølsted St.: linje 330R mod Frederikssund St.", tst=t2,
                        key="oelsted", stop="oelsted"))
    assert sp.offer(ann("next_stop", "Næste station: Ølsted St.", tst=t2, key="oelsted", stop="oelsted"))
    assert sp.offer(ann("deviation", "Vigtig meddelelse. Toget standser ikke ved Kregme St.", tst=t2, key="d1",
                        stop="oelsted"))
    assert sp.counters.superseded == 2  # Skævinge and its connections: never said late
    assert sp.wait_idle(60)
    sp.close()
    order = [p.name.split("_", 1)[1] for p in sorted(sink.log, key=lambda p: p.start)]
    assert order == ["next_stop_grimstrup.wav", "deviation_oelsted.wav", "next_stop_oelsted.wav",
                     "connections_oelsted.wav"]


def test_a_stop_announcement_whose_turn_comes_too_late_in_data_time_is_dropped(espeak: Espeak,
                                                                                 tmp_path: Path) -> None:
    data_now = [DAY_T.timestamp()]  # the unit's data time (GNSS), not the wall clock
    sink = FileSink(tmp_path / "out")
    sp = _speaker(espeak, sink, clock=lambda: data_now[0], max_delay_s=20.0)
    assert sp.offer(ann("next_stop", "Næste station: Skævinge St.", tst=DAY_T - timedelta(seconds=5)))
    assert sp.wait_idle(30)
    data_now[0] += 60.0
    assert sp.offer(ann("next_stop", "Næste station: Grimstrup St.", tst=DAY_T, key="g"))
    assert sp.offer(ann("deviation", "Vigtig meddelelse. Sporarbejde.", tst=DAY_T, key="d"))  # still true
    assert sp.wait_idle(30)
    sp.close()
    assert (sp.counters.spoken, sp.counters.stale) == (2, 1)
    assert sorted(p.name.split("_", 1)[1] for p in sink.log) == ["deviation_skaevinge.wav", "next_stop_skaevinge.wav"]


def test_quiet_hours_mute_by_the_data_time_of_the_announcement(espeak: Espeak, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out")
    sp = _speaker(espeak, sink, quiet=QuietHours.parse("23:00-06:00"))
    night = ann("next_stop", "Næste station: Skævinge St.", tst=datetime(2026, 11, 23, 23, 10, tzinfo=UTC))  # 00:10
    morning = ann("next_stop", "Næste station: Grimstrup St.", tst=datetime(2026, 11, 24, 5, 0, tzinfo=UTC),
                  key="g", stop="grimstrup")  # 06:00 local: the quiet ends
    assert not sp.offer(night)
    assert sp.offer(morning)
    assert sp.wait_idle(30)
    sp.close()
    assert (sp.counters.muted, sp.counters.spoken) == (1, 1)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [wav_name(morning)]
    s = stat(tmp_path / "out" / wav_name(morning))
    assert s.length_s > 1.0 and s.rms > 0.03


def test_full_queue_drops_the_least_urgent(espeak: Espeak, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out", pace=5.0)
    sp = _speaker(espeak, sink, max_queue=2)
    _busy_with_first(sp, ann("next_stop", "Næste station: Grimstrup St.", key="a", slot="a"))
    assert sp.offer(ann("connections", "Skift ved Grimstrup St.: linje 950R.", key="b", slot="b"))
    assert sp.offer(ann("next_stop", "Næste station: Ølsted St.", key="c", slot="c", stop="oelsted"))
    assert sp.offer(ann("deviation", "Vigtig meddelelse. Sporarbejde.", key="d"))  # the connections go
    assert not sp.offer(ann("connections", "Skift ved Ølsted St.: linje 330R.", key="e", slot="e"))
    assert sp.counters.overflow == 2
    assert sp.wait_idle(60)
    sp.close()
    assert [p.name.split("_", 1)[1] for p in sorted(sink.log, key=lambda p: p.start)] == [
        "next_stop_skaevinge.wav", "deviation_skaevinge.wav", "next_stop_oelsted.wav"]


class _FlakySink(AudioSink):
    """Fails to open the first time and to play the second time (a USB sound card that comes and goes)."""

    def __init__(self, real: FileSink) -> None:
        super().__init__()
        self.real = real
        self.calls = 0

    def play(self, wav: Path, name: str) -> None:
        self.calls += 1
        if self.calls == 2:
            raise DeviceError("aplay exited 1 on device plughw:1,0: No such device")
        self.real.play(wav, name)


def test_engine_and_device_failures_are_counted_logged_rate_limited_and_survived(
        espeak: Espeak, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="onboard.passinfo.speaker")
    # no speech engine: every announcement counted, one log line, the worker still alive
    broken = _speaker(Espeak(EspeakConfig(program="no-such-espeak-ng")), FileSink(tmp_path / "none"))
    for k in range(5):
        broken.offer(ann("next_stop", f"Næste station: {k}.", key=f"k{k}", slot=f"s{k}"))
    assert broken.wait_idle(10)
    assert broken.counters.speech_errors == 5 and broken._thread.is_alive()
    assert sum("speech engine failed" in r.getMessage() for r in caplog.records) == 1
    broken.close()
    # the device: cannot be opened at first, then fails once while playing; reopened after retry_s
    real = FileSink(tmp_path / "out")
    flaky = _FlakySink(real)
    opens = [0]

    def open_sink() -> AudioSink:
        opens[0] += 1
        if opens[0] == 1:
            raise DeviceError("no sound card")
        return flaky

    sp = Speaker(espeak, open_sink, retry_s=0.05)
    sp.start()
    results = []
    for k in range(5):
        sp.offer(ann("next_stop", f"Næste station: nummer {k}.", tst=DAY_T + timedelta(seconds=k), key=f"k{k}",
                     slot=f"s{k}"))
        assert sp.wait_idle(30)
        results.append(sp.counters.spoken)
        threading.Event().wait(0.06)  # past retry_s
    sp.close()
    assert results == [0, 1, 1, 2, 3]  # open failed, played, play failed, played (reopened), played
    assert sp.counters.sink_errors == 2 and opens[0] == 3
    assert len(list((tmp_path / "out").glob("*.wav"))) == 3
    assert sp.stats()["sink_errors"] == 2 and sp.stats()["voice"] == "da"
