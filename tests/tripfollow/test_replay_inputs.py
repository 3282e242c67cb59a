"""The replay's readers keep going over bad input, count it, and lose no good data."""

from __future__ import annotations

from pathlib import Path

import can

from hw.can.fms import FmsEncoder
from onboard.service.replay import CanInput, read_gpio


def test_can_log_with_noise(tmp_path: Path) -> None:
    enc = FmsEncoder()
    msgs = [enc.ccvs1(v, False, timestamp=1795414380.0 + 0.1 * i) for i, v in enumerate((0.0, 1.0, 2.5))]
    path = tmp_path / "can.log"
    with can.CanutilsLogWriter(str(path), channel="can0") as w:
        for m in msgs:
            w.on_message_received(m)
    good = path.read_text().splitlines()
    noise = ["(garbage", "(1795414380.150000) can0 18FEF1ZZ#00112233", "", "# comment",
             "(1795414380.160000) can0 0CF00400#FFFF",  # EEC1: a PGN the tracker does not ask for
             "(1795414380.170000) can0 18FEF121#00"]  # CCVS1 with a short payload
    path.write_text("\n".join([good[0], *noise, good[1], good[2]]) + "\n" + "(1795414380.3) can0 18FE")
    cin = CanInput(path)
    states = list(cin.states())
    assert [round(s.speed_mps or 0.0, 2) for s, _sp in states] == [0.0, 1.0, 2.5]
    assert all(sp for _s, sp in states)
    assert cin.bad_lines >= 2 and cin.tracker.stats()["bad_frames"] == 1


def test_gpio_csv_with_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "gpio.csv"
    p.write_text("t,pin,level\n1795414380.100,5,1\nnot,a,row\n1795414380.200,5\n1795414380.300,5,0\n")
    assert list(read_gpio(p)) == [(1795414380.1, 5, 1), (1795414380.3, 5, 0)]
