"""systemd readiness and watchdog notifications (``Type=notify``, ``WatchdogSec=``).

Hand-written rather than a dependency: the protocol is one datagram on the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (see sd_notify(3)), and the python-systemd bindings need a compiled libsystemd.
Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so services run the same by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY=1, STATUS=..., WATCHDOG=1 and STOPPING=1 to systemd when run under it."""

    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        self._sock: socket.socket | None = None
        if self._addr:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        self.watchdog_interval_s: float | None = None
        if usec.isdigit() and (not pid or pid == str(os.getpid())):
            # Ping at half the configured interval, as sd_watchdog_enabled(3) recommends.
            self.watchdog_interval_s = int(usec) / 2e6
        self._last_ping = 0.0

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *fields: str) -> bool:
        if self._sock is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode(), self._addr)
            return True
        except OSError as exc:  # systemd gone (shutdown) or socket not reachable: not fatal
            log.warning("sd_notify failed: %s", exc)
            return False

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *( [f"STATUS={status}"] if status else []))

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self, alive: bool = True) -> None:
        """Ping the watchdog, but only when the caller's loops are alive (``alive``) and at most at the
        recommended rate; a service whose loops hang stops pinging and systemd restarts it."""
        if not alive or self.watchdog_interval_s is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval_s:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
