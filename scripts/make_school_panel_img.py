"""Make docs/img/school-panel-warning.png: the driver's school panel at the moment of the ride-time warning
in the simulated faulty morning run (scenario school-r12-late), written through the PNG display sink.

    python scripts/make_school_panel_img.py [-o docs/img/school-panel-warning.png]   (make school-img)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.display.sink import open_sink  # noqa: E402
from onboard.school.monitor import PanelState  # noqa: E402
from onboard.school.panel import PanelDriver  # noqa: E402
from onboard.school.stage import build_monitor  # noqa: E402
from onboard.service.replay import load_setup, replay  # noqa: E402
from sim_bus.record import record  # noqa: E402
from transit.records import Record, RideTime  # noqa: E402
from transit.yamlconf import parse_yaml  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "img" / "school-panel-warning.png")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        rec_dir = Path(tmp) / "rec"
        record(ROOT / "data" / "scenarios" / "school-r12-late.yaml", rec_dir)
        setup = load_setup(rec_dir / "onboard.yaml")
        mon = build_monitor([ROOT / "data" / "school" / "viborg-rute-12.yaml"], operator=setup.operator,
                            capacity=setup.capacity, feed=setup.feed)
        shot: list[PanelState] = []

        def emit(r: Record) -> None:
            out = mon.on_record(r)
            if not shot and any(isinstance(x, RideTime) and x.kind == "warning" for x in out):
                st = mon.panel()
                if st is not None:
                    shot.append(st)

        replay(setup, rec_dir / "gnss.nmea", rec_dir / "can.log", rec_dir / "gpio.csv", emit)
    if not shot:
        sys.stderr.write("no ride-time warning in the scenario: nothing drawn\n")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sink = open_sink(parse_yaml(f"backend: png\npath: '{args.out.resolve()}'\nwidth: 800\nheight: 480\n"))
    PanelDriver([sink]).update(shot[0])
    sink.close()
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
