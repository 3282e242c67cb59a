"""Real peer as referee: the Debian gpsd reads NMEA from a pty, our gpsd backend reads gpsd's JSON, and
the fixes agree with what our own decoder makes of the same sentences."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import tty
from pathlib import Path

import pytest

from hw.gnss.decoder import NmeaConfig
from hw.gnss.fix import Fix
from hw.gnss.source import open_gnss
from hw.gnss.stream import NmeaStream
from tests.conftest import free_port, require_binary
from transit.yamlconf import parse_yaml

LOG = Path(__file__).resolve().parent.parent / "data" / "gpsd-regress" / "ublox-zed-f9p-nmea.log"


@pytest.mark.gpsd
def test_gpsd_on_a_pty_agrees_with_our_decoder(tmp_path: Path) -> None:
    gpsd = require_binary("gpsd")
    lines = [x for x in LOG.read_bytes().splitlines(keepends=True) if not x.startswith(b"#")]
    s = NmeaStream(NmeaConfig())
    ours = {f.time: f for f in s.feed(b"".join(lines)) + s.flush()}

    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    port = free_port()
    proc = subprocess.Popen([gpsd, "-N", "-n", "-b", "-S", str(port), "-F", str(tmp_path / "gpsd.sock"),
                             path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    src = None
    try:
        src = open_gnss(parse_yaml(f"gnss: {{backend: gpsd, port: {port}, hold_s: 0.2, "
                                   "reconnect_min_s: 0.05}").child("gnss"))
        deadline = time.monotonic() + 5
        while src.stats()["connects"] == 0 and time.monotonic() < deadline:
            src.read(timeout=0.1)  # gpsd needs a moment to listen
        time.sleep(0.5)  # ... and to open the pty

        def writer() -> None:  # about 3 s for 29 epochs: a 10 Hz receiver's pace
            for line in lines:
                os.write(master, line)
                time.sleep(0.003)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        got: list[Fix] = []
        end = time.monotonic() + 15
        while time.monotonic() < end and t.is_alive():
            got += src.read(timeout=0.3)
        got += src.read(timeout=1.0)
    finally:
        if src is not None:
            src.close()
        proc.terminate()
        proc.wait(5)
        os.close(master)
        os.close(slave)
    # gpsd needs a few sentences to recognise the device; after that it reports every epoch.
    assert len(got) >= 15, f"gpsd reported {len(got)} of 29 fixes"
    for f in got:
        mine = ours[f.time]
        assert f.lat is not None and mine.lat is not None and abs(f.lat - mine.lat) < 1e-7
        assert f.lon is not None and mine.lon is not None and abs(f.lon - mine.lon) < 1e-7
        assert f.alt_msl == pytest.approx(mine.alt_msl, abs=1e-3)
        assert f.speed is not None and mine.speed is not None and abs(f.speed - mine.speed) < 0.01
        assert f.mode == mine.mode
