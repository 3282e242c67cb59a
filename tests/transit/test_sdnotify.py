from __future__ import annotations

import os
import socket
from pathlib import Path

from transit.sdnotify import Notifier


def test_noop_outside_systemd(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled
    n.ready("x")
    n.watchdog()


def test_ready_and_watchdog_datagrams(tmp_path: Path, monkeypatch) -> None:
    path = str(tmp_path / "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    n = Notifier(path)
    assert n.watchdog_interval_s == 1.0
    n.ready("up")
    assert srv.recv(100) == b"READY=1\nSTATUS=up"
    n.watchdog(alive=False)  # loops not alive: no ping
    srv.setblocking(False)
    try:
        got = srv.recv(100)
    except BlockingIOError:
        got = b""
    assert got == b""
    srv.settimeout(2)
    n.watchdog(alive=True)
    assert srv.recv(100) == b"WATCHDOG=1"
    n.stopping()
    assert srv.recv(100) == b"STOPPING=1"
    n.close()
    srv.close()
