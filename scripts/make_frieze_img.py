"""Make the frieze pictures of docs/passenger-info.md: every state of onboard.passinfo.showcase (the same
views the display tests' reference images are rendered from), written through the PNG display sink; the
LED strip at 4x so its pixels can be seen.

    python scripts/make_frieze_img.py [--out docs/img]   (make frieze-img)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.display.png import PngSink  # noqa: E402
from onboard.passinfo.frieze import render_frieze  # noqa: E402
from onboard.passinfo.showcase import STATES, state_view  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder (default docs/img)")
    args = ap.parse_args()
    for s in STATES:
        path = args.out / (s.name.replace("_", "-") + ".png")
        PngSink(path, scale=4 if s.panel.compact else 1).show(render_frieze(state_view(s), s.panel))
        sys.stdout.write(f"{path}  {s.doc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
