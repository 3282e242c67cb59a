"""The service's SLCAN reader against the simulator's emulated adapter on a pty: frames the unit needs
become vehicle states stamped on the monotonic clock; other identifiers are dropped in the reader
and counted."""

from __future__ import annotations

import time
from pathlib import Path

from hw.can.config import CanConfig
from hw.can.fms import FmsEncoder
from onboard.service import MONO_BASE, _LiveCanReader
from sim_bus.canbus import Frame
from sim_bus.live import SlcanPtySink
from transit.yamlconf import parse_yaml


def test_chunked_slcan_reader_filters_and_restamps(tmp_path: Path) -> None:
    link = tmp_path / "can"
    sink = SlcanPtySink(link)
    cfg = CanConfig.from_node(parse_yaml(f"backend: slcan\nchannel: {link}\nbitrate: 250000\n"
                                         "sleep_after_open: 0\ndoors: 2\n", "<test>"))
    reader = _LiveCanReader(cfg, restamp=True)
    try:
        _ = reader.bus  # opens the adapter (S/O commands answered by the emulation)
        deadline = time.monotonic() + 5
        while not sink.is_open and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.is_open
        enc = FmsEncoder(0x21)
        speeds = [0.0, 5.0, 10.0, 15.0]
        t0 = time.monotonic()
        for i, v in enumerate(speeds):
            for n in range(20):  # unrelated traffic (proprietary PGN 0xFF00 from another ECU)
                sink.send(Frame(0, 0, 0x18FF0000 | n, bytes(8)))
            m = enc.ccvs1(v, False)
            sink.send(Frame(i, 1, m.arbitration_id, bytes(m.data)))
        states = []
        deadline = time.monotonic() + 5
        while len(states) < len(speeds) and time.monotonic() < deadline:
            st = reader.poll(0.2)
            if st is not None:
                states.append(st)
        t1 = time.monotonic()
        assert [s.speed_mps for s in states] == speeds
        for s in states:  # stamped on arrival with the monotonic clock (+ MONO_BASE), not the wall clock
            assert t0 - 0.01 <= s.t.timestamp() - MONO_BASE <= t1 + 0.01
        stats = reader.stats()
        assert stats["filtered_in_reader"] == 80 and stats["frames"] == len(speeds)
    finally:
        reader.close()
        sink.close()
