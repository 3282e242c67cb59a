"""A Mosquitto process of our own on 127.0.0.1: for the demo, the benchmarks and the broker tests.

One launcher for all three, so the rules live in one place: a free loopback port (we never touch
another address), a temporary configuration, `user root` when run as root (Mosquitto would otherwise
drop to a user who cannot read our temporary directory), optional persistence (to test restarts with
queued QoS 1 messages), TLS with client certificates and an ACL file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from transit.errors import DeviceError


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


class LocalBroker:
    """Start, stop (SIGTERM, so persistence is saved) and start again on the same port."""

    def __init__(self, workdir: Path, binary: str | None = None, *, persistence: bool = False,
                 tls_dir: Path | None = None, acl_file: Path | None = None,
                 extra: Iterable[str] = ()) -> None:
        self.binary = binary or find_mosquitto()
        if self.binary is None:
            raise DeviceError("mosquitto is not installed (apt-get install mosquitto; `make sysdeps`)")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_dir = tls_dir
        self.conf = workdir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "max_queued_messages 1000000",
                 f"log_dest file {workdir}/mosquitto.log", "log_type error", "log_type warning",
                 "log_type notice"]
        lines += (["persistence true", f"persistence_location {workdir}/"] if persistence
                  else ["persistence false"])
        if os.geteuid() == 0:
            lines.append("user root")
        if tls_dir is not None:
            lines += [f"cafile {tls_dir}/ca.crt", f"certfile {tls_dir}/broker.crt",
                      f"keyfile {tls_dir}/broker.key", "require_certificate true",
                      "use_identity_as_username true", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if acl_file is not None:
            lines.append(f"acl_file {acl_file}")
        lines += list(extra)
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls_dir else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> LocalBroker:
        assert self.binary is not None
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeviceError(f"mosquitto exited at start: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise DeviceError(f"mosquitto did not listen on port {self.port} within 10 s")

    def log_tail(self, n: int = 500) -> str:
        p = self.workdir / "mosquitto.log"
        return p.read_text(encoding="utf-8", errors="replace")[-n:] if p.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["LocalBroker", "find_mosquitto", "free_port"]
