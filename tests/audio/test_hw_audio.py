"""hw.audio: espeak-ng renders Danish speech to WAV (checked with sox), the file sink keeps it, the ALSA
sink plays it through a real ``aplay`` (ALSA's ``null`` device: no sound card needed), and every failure
is a DeviceError or a configuration error naming file, line and key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hw.audio.espeak import Espeak, EspeakConfig
from hw.audio.filesink import FileSink
from hw.audio.players import AlsaSink, PulseSink
from hw.audio.sink import open_audio, wav_duration
from tests.audio.sox import stat, trimmed_length
from tests.conftest import require_binary
from transit.errors import BackendError, ConfigError, DeviceError
from transit.yamlconf import parse_yaml

TEXT = "Næste station: Hillerød Station. Ændret spor: toget ankommer til spor 3."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binary("espeak-ng")
    return Espeak().synthesize(TEXT, tmp_path_factory.mktemp("speech") / "s.wav")


def test_espeak_ng_speaks_danish_to_a_wav_that_sox_finds_loud_and_tight(speech: Path, tmp_path: Path) -> None:
    s = stat(speech)
    assert 3.0 < s.length_s < 9.0, s  # ~70 characters at 150 words/min
    assert s.rms > 0.03 and s.max_amplitude > 0.3, s  # speech, not silence
    assert abs(wav_duration(speech) - s.length_s) < 0.01  # our reader agrees with sox
    sound = trimmed_length(speech, tmp_path / "trim.wav")
    assert s.length_s - sound < 0.8, (s.length_s, sound)  # no long silence before or after the words


def test_speed_and_volume_change_the_sound(speech: Path, tmp_path: Path) -> None:
    fast = Espeak(EspeakConfig(speed=300)).synthesize(TEXT, tmp_path / "fast.wav")
    quiet = Espeak(EspeakConfig(volume=30)).synthesize(TEXT, tmp_path / "quiet.wav")
    assert stat(fast).length_s < 0.7 * stat(speech).length_s
    assert stat(quiet).rms < 0.5 * stat(speech).rms
    # a text starting with "-" is spoken, not taken for an option (it goes on stdin)
    dash = Espeak().synthesize("-5 grader på perronen.", tmp_path / "dash.wav")
    assert stat(dash).length_s > 1.0


def test_espeak_problems_and_failures(tmp_path: Path) -> None:
    require_binary("espeak-ng")
    assert Espeak().problems() == []
    assert "da" in Espeak().voices() and "+f3" in Espeak().voices()
    assert Espeak(EspeakConfig(voice="da+f3")).problems() == []
    assert "no voice 'xx-nowhere'" in Espeak(EspeakConfig(voice="xx-nowhere")).problems()[0]
    assert "no variant 'nosuch'" in Espeak(EspeakConfig(voice="da+nosuch")).problems()[0]
    with pytest.raises(DeviceError, match="without speech"):
        Espeak(EspeakConfig(voice="xx-nowhere")).synthesize("hej", tmp_path / "x.wav")
    with pytest.raises(DeviceError, match="not found"):
        Espeak(EspeakConfig(program="no-such-espeak")).synthesize("hej", tmp_path / "x.wav")
    assert "not found" in Espeak(EspeakConfig(program="no-such-espeak")).problems()[0]
    with pytest.raises(DeviceError, match="empty"):
        Espeak().synthesize("  ", tmp_path / "x.wav")


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("voice: 'da; rm -rf /'\n", "announce.voice: 'da; rm -rf /' is no espeak-ng voice name"),
    ("speed: 20\n", "announce.speed"),
    ("volume: 300\n", "announce.volume"),
    ("pich: 40\n", "unknown key"),
])
def test_speech_configuration_errors_name_file_line_and_key(yaml_text: str, message: str) -> None:
    root = parse_yaml("announce:\n" + "".join("  " + ln + "\n" for ln in yaml_text.splitlines()), "onboard.yaml")
    with pytest.raises(ConfigError, match="onboard.yaml:2") as exc:
        EspeakConfig.from_node(root.child("announce"))
    assert message in str(exc.value)


def test_file_sink_keeps_the_wavs_bounded_and_paces_like_a_device(speech: Path, tmp_path: Path) -> None:
    sink = open_audio(parse_yaml(f"backend: file\ndir: {tmp_path / 'out'}\nkeep: 2\npace: 20\n", "a.yaml"))
    assert isinstance(sink, FileSink)
    for k in range(3):
        sink.play(speech, f"a{k}.wav")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a1.wav", "a2.wav"]  # the oldest went
    again = FileSink(tmp_path / "out", keep=2)  # a restarted unit counts what the last run left
    again.play(speech, "b0.wav")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a2.wav", "b0.wav"]
    dur = wav_duration(speech)
    for p in sink.log:  # "played" for duration / pace, one after the other
        assert p.end - p.start >= dur / 20 - 0.01
    assert stat(tmp_path / "out" / "a2.wav").length_s == pytest.approx(dur, abs=0.01)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(DeviceError, match="cannot write"):
        FileSink(blocker / "sub").play(speech, "x.wav")


def test_alsa_sink_plays_through_aplay(speech: Path) -> None:
    require_binary("aplay")
    sink = open_audio(parse_yaml("backend: alsa\ndevice: 'null'\n", "a.yaml"))
    assert isinstance(sink, AlsaSink)
    sink.play(speech, "s.wav")
    assert sink.played == 1
    with pytest.raises(DeviceError, match="aplay exited 1 on device no_such_card"):
        AlsaSink("no_such_card").play(speech, "s.wav")


def test_player_missing_or_hanging_is_a_device_error(speech: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DeviceError, match="'no-such-paplay' not found"):
        PulseSink(program="no-such-paplay").play(speech, "s.wav")
    # a player that never returns (a stuck device) is killed, with what it started, after the WAV's
    # length plus a margin
    import hw.audio.players as players

    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 60\necho never\n")
    hang.chmod(0o755)
    monkeypatch.setattr(players, "PLAY_MARGIN_S", 0.2)
    t0 = time.monotonic()
    with pytest.raises(DeviceError, match="did not finish"):
        AlsaSink(program=str(hang)).play(speech, "s.wav")
    assert time.monotonic() - t0 < wav_duration(speech) + 5


def test_unknown_audio_backend_names_the_choices() -> None:
    with pytest.raises(BackendError, match="unknown audio backend 'jack' \\(known: alsa, file, pulse\\)"):
        open_audio(parse_yaml("backend: jack\n", "a.yaml"))
    with pytest.raises(ConfigError, match="unknown key"):
        open_audio(parse_yaml("backend: alsa\ndevise: hw:1\n", "a.yaml"))


def test_check_config_asks_espeak_for_the_voice_and_looks_for_the_sound_card(tmp_path: Path) -> None:
    import io

    from onboard.cli.cmd_check_config import check_onboard
    from tests.cli.test_check_config import _onboard

    require_binary("espeak-ng")
    good = _onboard(tmp_path / "good", announce={"voice": "da+f3", "sink": {"backend": "file", "dir": str(tmp_path)}})
    out = io.StringIO()
    assert check_onboard(good, out=out) == 0, out.getvalue()
    assert "espeak-ng voice da+f3" in out.getvalue()
    bad = _onboard(tmp_path / "bad", announce={"voice": "xx-nowhere",
                                               "sink": {"backend": "alsa", "device": "plughw:7,0"}})
    out = io.StringIO()
    assert check_onboard(bad, out=out) == 2
    text = out.getvalue()
    assert "espeak-ng has no voice 'xx-nowhere'" in text, text
    assert "announce.sink.device" in text and "/dev/snd/controlC7 does not exist" in text, text
