"""Run a program under a resource limit standing in for a small unit (issue 17: a Pi Zero 2 W).

Whichever of these this machine offers, in this order (the one used is returned and logged, so a test
says what it measured under):

- ``systemd-run``: a transient scope with ``CPUQuota=`` and ``MemoryMax=`` (systemd as PID 1);
- ``cgroup2``: a child of the unified hierarchy with ``cpu.max`` and ``memory.max`` (when its
  controllers can be enabled for children here);
- ``cgroup1``: children of the v1 ``cpu`` and ``memory`` hierarchies with ``cpu.cfs_quota_us`` and
  ``memory.limit_in_bytes`` (a Debian 12 container on a host with the legacy hierarchy);
- ``prlimit``: ``prlimit --as`` (address space: no RSS limit exists without cgroups) + ``taskset`` to one
  core + a duty-cycle limiter stopping and continuing the process (SIGSTOP/SIGCONT) so it runs
  ``cpu_quota`` of each 100 ms, as ``cpulimit`` does.

The cgroup variants place the child in its cgroup before it runs anything (``preexec_fn``), so every
thread and child process it starts is limited too.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CG = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _writable_v1() -> bool:
    return all((CG / c / "cgroup.procs").exists() and os.access(CG / c, os.W_OK) for c in ("cpu", "memory"))


def _v2_root() -> Path | None:
    if (CG / "cgroup.controllers").exists():
        ctl = set((CG / "cgroup.controllers").read_text().split())
        if {"cpu", "memory"} <= ctl and os.access(CG, os.W_OK):
            return CG
    return None


def detect() -> str:
    """The way this machine can limit a process: systemd-run, cgroup2, cgroup1 or prlimit."""
    if Path("/run/systemd/system").is_dir() and shutil.which("systemd-run"):
        probe = subprocess.run(["systemd-run", "--scope", "--quiet", "-p", "CPUQuota=25%", "-p", "MemoryMax=256M",
                                "true"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return "systemd-run"
    root = _v2_root()
    if root is not None:
        try:
            (root / "cgroup.subtree_control").write_text("+cpu +memory")
            return "cgroup2"
        except OSError as exc:  # processes in the root of a namespaced hierarchy: cannot delegate here
            log.info("cgroup v2 controllers cannot be enabled for children here (%s)", exc)
    if _writable_v1():
        return "cgroup1"
    return "prlimit"


class Limited:
    """A process under ``cpu_quota`` (fraction of one core) and ``memory_max`` bytes: ``Popen`` plus
    what the limit saw (peak memory, throttling, OOM kills) where the mechanism reports it."""

    def __init__(self, cmd: Sequence[str], *, cpu_quota: float, memory_max: int, how: str | None = None,
                 **popen: Any) -> None:
        self.how = how or detect()
        self.cpu_quota = cpu_quota
        self.memory_max = memory_max
        self._dirs: list[Path] = []
        self._stop = threading.Event()
        self._limiter: threading.Thread | None = None
        name = f"rettid-limit-{uuid.uuid4().hex[:8]}"
        log.info("limiting %s with %s: CPU %.0f %% of a core, memory %d MiB", cmd[0], self.how,
                 cpu_quota * 100, memory_max >> 20)
        if self.how == "systemd-run":
            full = ["systemd-run", "--scope", "--quiet", f"--unit={name}", "-p", f"CPUQuota={cpu_quota * 100:.0f}%",
                    "-p", f"MemoryMax={memory_max}", "-p", "MemorySwapMax=0", "--", *cmd]
            self.proc = subprocess.Popen(full, **popen)
        elif self.how == "cgroup2":
            d = CG / name
            d.mkdir()
            self._dirs.append(d)
            (d / "cpu.max").write_text(f"{int(cpu_quota * PERIOD_US)} {PERIOD_US}")
            (d / "memory.max").write_text(str(memory_max))
            if (d / "memory.swap.max").exists():
                (d / "memory.swap.max").write_text("0")
            self.proc = subprocess.Popen(list(cmd), preexec_fn=_join([d / "cgroup.procs"]), **popen)
        elif self.how == "cgroup1":
            cpu, mem = CG / "cpu" / name, CG / "memory" / name
            for d in (cpu, mem):
                d.mkdir()
                self._dirs.append(d)
            (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(int(cpu_quota * PERIOD_US)))
            (mem / "memory.limit_in_bytes").write_text(str(memory_max))
            if (mem / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                try:
                    (mem / "memory.memsw.limit_in_bytes").write_text(str(memory_max))
                except OSError as exc:
                    log.info("swap accounting not settable (%s): memory limit without swap limit", exc)
            self.proc = subprocess.Popen(list(cmd), preexec_fn=_join([cpu / "cgroup.procs", mem / "cgroup.procs"]),
                                         **popen)
        elif self.how == "prlimit":
            # the address space is not the resident set: Python's thread stacks and mapped libraries count
            # there, so the limit is four times the memory budget (a program that needs more RSS than the
            # budget still fails, later); the CPU share is enforced by duty cycle below
            full = [shutil.which("prlimit") or "prlimit", f"--as={memory_max * 4}", "--",
                    shutil.which("taskset") or "taskset", "-c", "0", *cmd]
            self.proc = subprocess.Popen(full, **popen)
            self._limiter = threading.Thread(target=self._duty_cycle, daemon=True)
            self._limiter.start()
        else:
            raise ValueError(f"unknown limiter {self.how!r}")

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def _duty_cycle(self) -> None:
        on, off = self.cpu_quota * PERIOD_US / 1e6, (1 - self.cpu_quota) * PERIOD_US / 1e6
        while not self._stop.is_set() and self.proc.poll() is None:
            time.sleep(on)
            try:
                os.kill(self.proc.pid, signal.SIGSTOP)
                time.sleep(off)
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                return

    def report(self) -> dict[str, Any]:
        """Peak memory, CPU throttling and OOM kills as the cgroup counted them (empty otherwise)."""
        out: dict[str, Any] = {"how": self.how}
        if self.how == "cgroup1":
            cpu, mem = self._dirs
            out["memory_peak_mb"] = int((mem / "memory.max_usage_in_bytes").read_text()) / 2**20
            out["memory_failcnt"] = int((mem / "memory.failcnt").read_text())
            oom = dict(x.split() for x in (mem / "memory.oom_control").read_text().splitlines() if " " in x)
            out["oom_kill"] = int(oom.get("oom_kill", 0))
            st = dict(x.split() for x in (cpu / "cpu.stat").read_text().splitlines())
            out["cpu_periods"], out["cpu_throttled_periods"] = int(st["nr_periods"]), int(st["nr_throttled"])
        elif self.how == "cgroup2":
            (d,) = self._dirs
            if (d / "memory.peak").exists():
                out["memory_peak_mb"] = int((d / "memory.peak").read_text()) / 2**20
            ev = dict(x.split() for x in (d / "memory.events").read_text().splitlines())
            out["oom_kill"] = int(ev.get("oom_kill", 0))
            st = dict(x.split() for x in (d / "cpu.stat").read_text().splitlines())
            out["cpu_periods"], out["cpu_throttled_periods"] = int(st.get("nr_periods", 0)), int(
                st.get("nr_throttled", 0))
        return out

    def close(self) -> None:
        """After the process ended: stop the limiter, remove the cgroups."""
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for d in self._dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:  # the kernel empties it a moment after the last process ends
                    time.sleep(0.1)


def _join(procs_files: list[Path]) -> Any:
    def enter() -> None:
        for f in procs_files:
            with open(f, "w") as fh:
                fh.write(str(os.getpid()))
    return enter
