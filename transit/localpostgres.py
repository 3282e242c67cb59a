"""A PostgreSQL server of our own on 127.0.0.1, for the tests and the benchmarks of the central store.

Like :mod:`transit.localbroker`: Debian's ``postgresql`` package provides the programs (in
``/usr/lib/postgresql/<version>/bin``, not on ``PATH``); we ``initdb`` a cluster in a fresh temporary
directory with password authentication, start it on a free loopback port with its socket in that
directory, and remove it all on stop. PostgreSQL refuses to run as root, so as root the cluster belongs
to the ``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from transit.errors import DeviceError
from transit.localbroker import free_port


def find_pg_bin() -> Path | None:
    """The directory with ``initdb`` and ``pg_ctl``: Debian's newest version, else ``PATH``."""
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if cands:
        return Path(cands[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class LocalPostgres:
    """``start()`` → a server with database ``rettid``, user ``rettid`` and the password in
    :attr:`password_file`; :attr:`url` has no password in it (as configuration must not)."""

    def __init__(self, binary_dir: Path | None = None, *, user: str = "rettid") -> None:
        self.bin = binary_dir or find_pg_bin()
        if self.bin is None:
            raise DeviceError("PostgreSQL is not installed (apt-get install postgresql; `make sysdeps`)")
        self.user = user
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rettid-pg-"))
        self.data = self.dir / "data"
        self.password_file = self.dir / "password"
        self.password_file.write_text("rettid-test-password\n", encoding="utf-8")
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise DeviceError("running as root needs the 'postgres' user (Debian's postgresql package)") from exc
            os.chown(self.dir, self._owner.pw_uid, self._owner.pw_gid)
            os.chown(self.password_file, self._owner.pw_uid, self._owner.pw_gid)
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/rettid"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.bin is not None
        cmd = [str(self.bin / args[0]), *args[1:]]
        kw: dict[str, object] = {}
        if self._owner is not None:
            uid, gid = self._owner.pw_uid, self._owner.pw_gid

            def demote() -> None:
                os.setgid(gid)
                os.setuid(uid)

            kw["preexec_fn"] = demote
        env = dict(os.environ, LC_ALL="C.UTF-8", PGPASSWORD=self.password_file.read_text().strip())
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.dir, check=False, **kw)  # type: ignore[call-overload]
        if check and res.returncode != 0:
            raise DeviceError(f"{args[0]} failed: {(res.stderr or res.stdout).strip()[-500:]}")
        return res  # type: ignore[no-any-return]

    def start(self) -> LocalPostgres:
        if self._started:
            return self
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=scram-sha-256",
                  f"--pwfile={self.password_file}", "-E", "UTF8", "--no-sync")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                "-c fsync=on -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts, "-w", "-t", "60",
                  "start")
        self._started = True
        deadline = time.monotonic() + 30
        while True:
            res = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres",
                            "-c", "CREATE DATABASE rettid", check=False)
            if res.returncode == 0 or "already exists" in res.stderr:
                return self
            if time.monotonic() > deadline:
                raise DeviceError(f"cannot create the test database: {res.stderr.strip()[-300:]}")
            time.sleep(0.2)

    def log_tail(self, n: int = 1000) -> str:
        p = self.dir / "server.log"
        return p.read_text(encoding="utf-8", errors="replace")[-n:] if p.exists() else ""

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["LocalPostgres", "find_pg_bin"]
