"""GPIO interface contract on gpiozero's MockFactory (always) and on real pins when RETTID_GPIO_CHIP
is set; beam patterns driven on mock pins through the onboard counting core."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from hw.gpio import open_gpio
from hw.gpio.inputs import GpiozeroInputs, ReplayInputs, parse_edge
from hw.gpio.recorder import EdgeCsvWriter
from onboard.counting.passengers import CountingConfig, DoorConfig, PassengerCounter
from tests.counting.patterns import PATTERNS
from tests.typed import typed
from transit.errors import ConfigError, DecodeError, DeviceError
from transit.timeutil import from_epoch, iso_utc_ms
from transit.yamlconf import parse_yaml

PINS = {"A": 17, "B": 27, "A2": 22, "B2": 23}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_795_000_000.0

    def __call__(self) -> float:
        return self.t


def test_mock_backend_delivers_edges_with_pin_level_and_time() -> None:
    clock = FakeClock()
    src = open_gpio(parse_yaml("backend: mock\npins: [17, 27]\n"), clock=clock)
    assert isinstance(src, GpiozeroInputs)
    got: list[tuple[float, int, int]] = []
    src.start(lambda t, p, lvl: got.append((t, p, lvl)))
    src.factory.pin(17).drive_high()
    clock.t += 0.5
    src.factory.pin(27).drive_high()
    src.factory.pin(17).drive_low()
    assert got == [(1_795_000_000.0, 17, 1), (1_795_000_000.5, 27, 1), (1_795_000_000.5, 17, 0)]
    assert src.levels() == {17: 0, 27: 1}
    src.close()


def test_mock_backend_uses_factory_ticks_without_clock() -> None:
    src = open_gpio(parse_yaml("backend: mock\npins: [5]\n"))
    got: list[float] = []
    src.start(lambda t, p, lvl: got.append(t))
    before = time.monotonic()
    src.factory.pin(5).drive_high()
    after = time.monotonic()
    assert before - 0.5 <= got[0] <= after + 0.5
    src.close()


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_on_mock_pins(name: str) -> None:
    clock = FakeClock()
    cfg = CountingConfig((DoorConfig(1, ((17, 27), (22, 23)), gate="none"),))
    counter = PassengerCounter(cfg, None, veh="v1", oper="op")
    src = open_gpio(parse_yaml("backend: mock\n"), pins=(17, 27, 22, 23), clock=clock)
    src.start(counter.on_edge)
    t0 = clock.t
    events, expected = PATTERNS[name]
    for t, beam, level in sorted(events, key=lambda e: e[0]):
        clock.t = t0 + t / 1000.0
        pin = src.factory.pin(PINS[beam])  # type: ignore[attr-defined]
        pin.drive_high() if level else pin.drive_low()
    recs = counter.on_stop_event(typed({"event": "dep", "tst": iso_utc_ms(from_epoch(t0 + 30)), "trip_id": "T",
                                        "stop_id": "S", "seq": 1, "oday": "2026-11-18", "route": "910", "dir": 0,
                                        "start": "07:55"}))
    recs = [r for r in recs + counter.finish() if r.event == "apc"]
    assert all(r.countquality == "regular" and r.stop_id == "S" for r in recs)
    got: Counter[tuple[str, str]] = Counter()
    for r in recs:
        got[("in", r.class_)] += r.in_
        got[("out", r.class_)] += r.out
    assert +got == Counter(expected)
    src.close()


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="backend"):
        open_gpio(parse_yaml("backend: wiringpi\n", "onboard.yaml"))
    with pytest.raises(ConfigError, match="file"):
        open_gpio(parse_yaml("backend: replay\n", "onboard.yaml"))


def test_replay_backend_reads_csv_and_survives_bad_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "gpio.csv"
    f.write_text("t,pin,level\n1.0,17,1\nbroken line\n1.5,17,0\n2.0,17,7\n\n2.5,27,1\n")
    src = open_gpio(parse_yaml(f"backend: replay\nfile: {f}\n"))
    assert isinstance(src, ReplayInputs)
    assert list(src.edges()) == [(1.0, 17, 1), (1.5, 17, 0), (2.5, 27, 1)]
    assert src.bad_lines == 2
    assert "bad line" in caplog.text
    with pytest.raises(DecodeError):
        parse_edge("1,2")


def test_recorder_output_replays(tmp_path: Path) -> None:
    w = EdgeCsvWriter(tmp_path / "rec" / "gpio.csv")
    w(1795000000.123456, 17, 1)
    w.write(1795000000.2, 17, 0)
    w.close()
    assert list(ReplayInputs(tmp_path / "rec" / "gpio.csv").edges()) == [(1795000000.123456, 17, 1),
                                                                         (1795000000.2, 17, 0)]


def test_missing_replay_file_is_a_device_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceError):
        open_gpio(parse_yaml(f"backend: replay\nfile: {tmp_path / 'none.csv'}\n"))


@pytest.mark.skipif(not os.environ.get("RETTID_GPIO_CHIP"), reason="set RETTID_GPIO_CHIP (and "
                    "RETTID_GPIO_PINS=17,27, optionally RETTID_GPIO_LOOPBACK=OUT:IN) to test real pins")
def test_real_pins() -> None:  # pragma: no cover - needs a Raspberry Pi
    chip = int(os.environ["RETTID_GPIO_CHIP"])
    pins = [int(p) for p in os.environ.get("RETTID_GPIO_PINS", "17,27").split(",")]
    src = open_gpio(parse_yaml(f"backend: lgpio\nchip: {chip}\npins: {pins}\n"))
    got: list[tuple[float, int, int]] = []
    src.start(lambda t, p, lvl: got.append((t, p, lvl)))
    assert set(src.levels()) == set(pins)
    loop = os.environ.get("RETTID_GPIO_LOOPBACK")
    if loop:
        out_pin, in_pin = (int(x) for x in loop.split(":"))
        from gpiozero import OutputDevice

        out = OutputDevice(out_pin, pin_factory=src.factory)  # type: ignore[attr-defined]
        out.on()
        time.sleep(0.05)
        out.off()
        time.sleep(0.05)
        out.close()
        assert [lvl for _t, p, lvl in got if p == in_pin][-2:] == [1, 0]
    src.close()
