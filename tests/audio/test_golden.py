"""Golden announcements: the texts the pure functions make for typical and bad-day states, spoken by
espeak-ng (Danish, 150 words/min), measured by sox. The text must be the reference's; the WAV's length
within ``TOLERANCE`` of the reference (espeak-ng versions differ a little in timing); and the sound must
be speech — loud enough, no long silence at either end, no pause longer than a sentence break.
``RETTID_UPDATE_GOLDEN=1`` rewrites ``golden/announcements.json`` (listen to the WAVs before committing:
they are kept in the test's tmp dir)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hw.audio.espeak import Espeak
from onboard.passinfo.announce import Announcer, connections_text, deviation_text, speech_text, stop_text
from onboard.passinfo.connections import Connection
from onboard.passinfo.frieze import FriezeStop, FriezeView
from tests.audio.sox import longest_pause, stat, trimmed_length
from tests.conftest import require_binary

GOLDEN = Path(__file__).resolve().parent / "golden" / "announcements.json"
TOLERANCE = 0.12  # of the reference length
NOW = datetime(2026, 11, 23, 6, 31, 0, tzinfo=UTC)  # 07:31 in Copenhagen


def _stop(sid: str, name: str, minutes: int, platform: str | None = None, changed: bool = False) -> FriezeStop:
    t = NOW + timedelta(minutes=minutes)
    return FriezeStop(sid, name, t, t, platform, platform_changed=changed)


BASE = FriezeView(NOW, "in_service", "920R", "Hundested Havn St.", ("Frederiksværk",),
                  _stop("hilleroed_8", "Hillerød St.", 3, "8"), (), delay_s=25 * 60, delay_threshold_s=120,
                  connections=(Connection("930R", "Helsingør St.", NOW + timedelta(minutes=9), "5"),
                               Connection("330R", "Fredensborg St.", NOW + timedelta(minutes=14), "A", mode="bus"),
                               Connection("960R", "Tisvildeleje St.", NOW + timedelta(minutes=29), "10",
                                          state="cancelled")))


def _texts() -> dict[str, str]:
    """Every golden case, made by the same functions the service uses."""
    made = stop_text(BASE)
    assert made is not None
    conn = connections_text(BASE, limit=3)
    assert conn is not None
    bus = stop_text(replace(BASE, mode="bus", next_stop=_stop("hilleroed_b", "Hillerød St.", 3, "B", changed=True)))
    assert bus is not None
    dev = deviation_text(replace(BASE, next_stop=_stop("hilleroed_9", "Hillerød St.", 3, "9", changed=True),
                                 messages=("Toget kører kun til Frederiksværk St. Aflyst herfra til Hundested Havn.",
                                           "Toget standser ikke ved Ølsted St.",
                                           "Signalfejl ved Kregme. Togbus 920B kører fra Frederiksværk."),
                                 rejsegaranti="Mere end 20 minutter forsinket: Du kan have ret til rejsegaranti."))
    assert dev is not None
    said = Announcer().update(FriezeView(NOW, "terminus", "920R", "Hundested Havn St.", (),
                                         _stop("hundested_havn", "Hundested Havn St.", 0), (), True))
    return {"next_stop_late": made[1], "connections": conn, "bus_stand_changed": bus[1], "deviation": dev,
            "terminus": said[0].text}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path]]:
    require_binary("espeak-ng")
    out = tmp_path_factory.mktemp("golden-wav")
    eng = Espeak()
    return {name: (text, eng.synthesize(speech_text(text), out / f"{name}.wav")) for name, text in _texts().items()}


def test_golden_announcement_texts_and_wav_lengths(rendered: dict[str, tuple[str, Path]], tmp_path: Path) -> None:
    measured = {name: {"text": text, "length_s": round(stat(wav).length_s, 3)} for name, (text, wav) in rendered.items()}
    if os.environ.get("RETTID_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps({"voice": "da", "speed": 150, "tolerance": TOLERANCE, "cases": measured},
                                     ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    ref = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]
    assert sorted(ref) == sorted(measured)
    for name, m in measured.items():
        assert m["text"] == ref[name]["text"], name
        want = ref[name]["length_s"]
        assert abs(m["length_s"] - want) <= TOLERANCE * want, f"{name}: {m['length_s']} s, reference {want} s"
    print({n: m["length_s"] for n, m in measured.items()})


def test_golden_announcements_are_speech_not_silence(rendered: dict[str, tuple[str, Path]], tmp_path: Path) -> None:
    for name, (_text, wav) in rendered.items():
        s = stat(wav)
        assert s.rms > 0.04 and s.max_amplitude > 0.3, (name, s)
        sound = trimmed_length(wav, tmp_path / f"{name}-trim.wav")
        assert s.length_s - sound < 0.8, (name, s.length_s, sound)  # no dead air before or after
        # no pause inside longer than 1.2 s (espeak-ng's sentence break is ~0.4 s at this speed)
        assert longest_pause(wav, tmp_path / name, pause_s=1.2) == 1, name
