"""The HTML report as a picture (``--format png``): headless Chromium renders the page and saves the
top of it, as a person sees it on screen — for documentation (``docs/img/report-*.png``, ``make
docs-img``) and for sending a glance at the month by mail.

Chromium, not a Python HTML renderer: the report is printed and read in a browser, so the picture is
what people get (fonts, the SVG charts, the table layout). The browser comes from Debian's ``chromium``
package (``SYSPKGS``) or ``RETTID_CHROMIUM``; without it this is one clear error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from transit.errors import BackendError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    env = os.environ.get("RETTID_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_png(html: str, out: Path, *, width: int = 1250, height: int = 1800, timeout_s: float = 120.0) -> None:
    """Render ``html`` in a ``width`` x ``height`` window and write the PNG to ``out``."""
    exe = find_chromium()
    if exe is None:
        raise BackendError("no Chromium to render the picture (apt-get install chromium, or set RETTID_CHROMIUM)")
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="rettid-png-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        shot = Path(tmp) / "shot.png"
        cmd = [exe, "--headless", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
               f"--user-data-dir={tmp}/profile", f"--window-size={width},{height}", f"--screenshot={shot}",
               page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise BackendError(f"Chromium did not render the report within {timeout_s:.0f} s") from None
        if r.returncode != 0 or not shot.is_file() or shot.stat().st_size == 0:
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise BackendError(f"Chromium could not render the report (exit {r.returncode}): {last[:200]}")
        shutil.move(str(shot), out)


__all__ = ["find_chromium", "html_to_png"]
