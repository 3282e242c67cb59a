"""Reference-image comparison for layouts.

``assert_golden(img, name)`` compares with ``tests/display/golden/<name>.png`` with a small tolerance
(FreeType versions anti-alias a little differently). On a mismatch it writes ``<name>.actual.png`` and
``<name>.diff.png`` next to the reference for a person to look at. ``RETTID_UPDATE_GOLDEN=1`` rewrites the
references instead (look at them before committing).
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageChops

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
CHANNEL_TOLERANCE = 64      # a pixel differs when a channel is off by more than this
MAX_DIFF_FRACTION = 0.004   # at most 0.4 % of the pixels may differ ...
MAX_DIFF_PIXELS = 48        # ... and never more than this many (one changed digit "10:31" -> "10:32" is ~128)


def assert_golden(img: Image.Image, name: str) -> None:
    ref_path = GOLDEN_DIR / f"{name}.png"
    img = img.convert("RGB")
    if os.environ.get("RETTID_UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        img.save(ref_path)
        return
    assert ref_path.exists(), f"no reference {ref_path}; run with RETTID_UPDATE_GOLDEN=1 and look at it"
    ref = Image.open(ref_path).convert("RGB")
    actual_path = GOLDEN_DIR / f"{name}.actual.png"
    if ref.size != img.size:
        img.save(actual_path)
        raise AssertionError(f"{name}: size {img.size} != reference {ref.size}; actual in {actual_path}")
    diff = ImageChops.difference(ref, img)
    r, g, b = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(r, g), b)  # the largest channel difference per pixel
    bad = sum(worst.point(lambda v: 1 if v > CHANNEL_TOLERANCE else 0).histogram()[1:2])
    frac = bad / (img.width * img.height)
    if frac > MAX_DIFF_FRACTION or bad > MAX_DIFF_PIXELS:
        img.save(actual_path)
        diff.point(lambda v: min(255, v * 4)).save(GOLDEN_DIR / f"{name}.diff.png")
        raise AssertionError(f"{name}: {bad} pixels ({frac:.2%}) differ (limits {MAX_DIFF_PIXELS}, "
                             f"{MAX_DIFF_FRACTION:.2%}); "
                             f"actual in {actual_path}")
    actual_path.unlink(missing_ok=True)
