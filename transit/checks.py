"""``check-config``: every problem of a unit's set-up listed at once, nothing started.

A service stops at its first configuration error, which is right for a service and tedious for the
engineer installing it: fix, restart, read the next error. The checks here run each part on its own —
configuration, operator file, feed, certificates, state directory, devices — and collect what fails, so
one run lists everything. Exit status 0 when all is well, 2 when anything is wrong (the command-line
convention of :mod:`transit.cli`).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from transit.config import MqttConfig
from transit.errors import FeedError, RettidError

T = TypeVar("T")

#: Problems of a feed listed one by one; the rest are counted (feed-check lists them all).
MAX_FEED_PROBLEMS = 20


class CheckReport:
    """Collects ``ok``/``problem`` lines; :meth:`finish` prints the verdict and returns the exit status."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems: list[str] = []
        self.oks = 0

    def ok(self, what: str, detail: str = "") -> None:
        self.oks += 1
        self.out.write(f"ok       {what}{': ' + detail if detail else ''}\n")

    def problem(self, what: str, message: str) -> None:
        self.problems.append(f"{what}: {message}")
        self.out.write(f"PROBLEM  {what}: {message}\n")

    def note(self, what: str, message: str) -> None:
        self.out.write(f"note     {what}: {message}\n")

    def check(self, what: str, func: Callable[[], T], detail: Callable[[T], str] | None = None) -> T | None:
        """Run one check; a RettidError or OSError is a problem (each of a FeedError's problems)."""
        try:
            result = func()
        except FeedError as exc:
            errors = [p for p in exc.problems if getattr(p, "severity", "error") == "error"] or exc.problems
            for p in errors[:MAX_FEED_PROBLEMS]:
                self.problem(what, str(p))
            if len(errors) > MAX_FEED_PROBLEMS:
                self.problem(what, f"... and {len(errors) - MAX_FEED_PROBLEMS} more (rettid-feed feed-check "
                             "lists them all)")
            return None
        except (RettidError, OSError) as exc:
            self.problem(what, str(exc))
            return None
        self.ok(what, detail(result) if detail is not None else "")
        return result

    def finish(self, name: str) -> int:
        if self.problems:
            self.out.write(f"\n{name}: {len(self.problems)} problem(s), {self.oks} check(s) ok\n")
            return 2
        self.out.write(f"\n{name}: all {self.oks} check(s) ok\n")
        return 0


def certificate_problems(mqtt: MqttConfig, *, openssl: str | None = None) -> list[str]:
    """TLS files and the password file of an ``mqtt`` section: present, readable, parseable, the key
    matching the certificate, the certificate not expired (when the ``openssl`` tool is there)."""
    out: list[str] = []
    tls = mqtt.tls
    files = {"mqtt.tls.ca": tls.ca, "mqtt.tls.cert": tls.cert, "mqtt.tls.key": tls.key,
             "mqtt.password_file": mqtt.password_file}
    for key, path in files.items():
        if path is not None and not os.access(path, os.R_OK):
            out.append(f"{key}: {path} {'is not readable' if Path(path).exists() else 'does not exist'}")
    if out:
        return out
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls.ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(tls.ca))
        except (ssl.SSLError, OSError) as exc:
            out.append(f"mqtt.tls.ca: {tls.ca} is not a PEM CA certificate ({exc})")
    if tls.cert is not None and tls.key is not None:
        try:
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
        except (ssl.SSLError, OSError) as exc:
            out.append(f"mqtt.tls.cert/key: {tls.cert} and {tls.key} do not load as a pair ({exc})")
    exe = openssl if openssl is not None else shutil.which("openssl")
    for key, path in (("mqtt.tls.ca", tls.ca), ("mqtt.tls.cert", tls.cert)):
        if path is None or exe is None or out:
            continue
        r = subprocess.run([exe, "x509", "-noout", "-checkend", "0", "-enddate", "-in", str(path)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            when = r.stdout.strip().removeprefix("notAfter=") or r.stderr.strip()[:200]
            out.append(f"{key}: {path} has expired ({when})")
    if mqtt.password_file is not None and not Path(mqtt.password_file).read_text(encoding="utf-8").strip():
        out.append(f"mqtt.password_file: {mqtt.password_file} is empty")
    return out


def state_dir_problem(path: Path) -> str | None:
    """The state directory must be writable, or creatable where it does not exist yet."""
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    if not p.is_dir():
        return f"{p} is not a directory"
    if not os.access(p, os.W_OK | os.X_OK):
        return f"{path} is not writable by this user" + ("" if p == path else f" ({p} is not)")
    return None


__all__ = ["CheckReport", "certificate_problems", "state_dir_problem"]
