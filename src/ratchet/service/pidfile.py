"""One daemon per run directory: an OS lock (flock) held for the process's lifetime.

The lock dies with the process, even on kill -9, so it is the truth about whether a run is
live. ``ratchet.pid`` is a plain integer for people, ``kill $(cat ratchet.pid)`` and
systemd's ``PIDFile=``; ``daemon.json`` records the holder's start time (psutil's
``create_time``), so a recycled or edited pid is never taken for the daemon. When both are
gone or wrong, the lock's holder is read from ``/proc/locks``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ratchet.core.atomic import atomic_write_bytes, atomic_write_json
from ratchet.core.errors import RatchetError, StoreError
from ratchet.core.rundir import RunDir


class AlreadyRunning(RatchetError):
    exit_code = 1

    def __init__(self, run_dir: Path, pid: int | None, message: str | None = None):
        self.pid = pid
        super().__init__(message or f"a ratchet daemon is already running on {run_dir} "
                         f"(pid {pid}); stop it with 'ratchet stop --run-dir {run_dir}'")


@dataclass(frozen=True)
class PidInfo:
    pid: int
    started_at: float
    mode: str
    ours: bool = True  # the daemon record matches the lock's holder; else a stranger

    def describe(self) -> str:
        """A stranger holding the lock, for a message: its pid and command line."""
        try:
            command = " ".join(psutil.Process(self.pid).cmdline())[:120]
        except (psutil.Error, ValueError):
            command = "unknown command"
        return f"pid {self.pid} ({command})"


def create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def flock_holders(path: Path) -> list[int]:
    """Pids holding a flock on ``path`` (Linux ``/proc/locks``); [] where unknown."""
    try:
        inode = os.stat(path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    holders = []
    for line in lines:
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            if int(fields[5].rsplit(":", 1)[1]) == inode:
                holders.append(int(fields[4]))
        except (IndexError, ValueError):
            continue
    return holders


def _recorded(run_dir: Path) -> PidInfo | None:
    try:
        data = json.loads(RunDir(run_dir).daemon.read_text())
        return PidInfo(int(data["pid"]), float(data["started_at"]), str(data.get("mode", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _clear(run_dir: Path) -> None:
    for path in (RunDir(run_dir).pid, RunDir(run_dir).daemon):
        path.unlink(missing_ok=True)


def running_pid(run_dir: Path) -> PidInfo | None:
    """The live daemon (the lock's holder), or None (clearing stale pid files). A holder
    that cannot be identified is PidInfo(-1, ...)."""
    lock_path = RunDir(run_dir).lock
    if not lock_path.exists():
        return None
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(run_dir, lock_path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        _clear(run_dir)  # stale: its process is gone
        return None
    finally:
        os.close(fd)


def _holder(run_dir: Path, lock_path: Path) -> PidInfo:
    """The lock's holder: the daemon when its record (pid, start time, run directory)
    matches a live holder; any other holder is a stranger (``ours=False``), reported but
    never signalled."""
    recorded = _recorded(run_dir)
    holders = flock_holders(lock_path)
    if recorded is not None:
        started = create_time(recorded.pid)
        same_process = started is not None and abs(started - recorded.started_at) < 1.0
        if same_process and (not holders or recorded.pid in holders) \
                and _recorded_dir(run_dir) in (None, str(run_dir.resolve())):
            return recorded
    for pid in holders:
        started = create_time(pid)
        if started is not None:  # its record lost or forged: is the holder ratchet's?
            mode = recorded.mode if recorded is not None else "unknown"
            return PidInfo(pid, started, mode, ours=_is_ratchet_run(pid))
    return PidInfo(-1, 0.0, "", ours=False)


def _is_ratchet_run(pid: int) -> bool:
    """A process started as ``ratchet run`` (``python -m ratchet run``, the ``ratchet``
    script): what `ratchet start` runs. A file named ratchet.lock in an argument is not."""
    try:
        argv = psutil.Process(pid).cmdline()
    except (psutil.Error, ValueError):
        return False
    names = [os.path.basename(a) for a in argv]
    return "run" in argv and ("ratchet" in names or "ratchet" in argv)


def _recorded_dir(run_dir: Path) -> str | None:
    try:
        return str(json.loads(RunDir(run_dir).daemon.read_text())["run_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class PidLock:
    """Held by the process that runs the loop (`run` or the daemon)."""

    def __init__(self, run_dir: Path, mode: str = "foreground"):
        self.run_dir = run_dir
        self.run = RunDir(run_dir)
        self.mode = mode
        self.fd: int | None = None
        self.stale_replaced = False

    def acquire(self) -> PidLock:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.run.lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot use run directory {self.run_dir}: {exc.strerror}") \
                from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            info = _holder(self.run_dir, self.run.lock)
            if not info.ours:
                held = info.describe() if info.pid > 0 else "a process that cannot be found"
                raise AlreadyRunning(self.run_dir, None, f"{self.run.lock} is held "
                                     f"by {held}, not a ratchet daemon of this run; nothing "
                                     "was signalled. End that process, then start again") \
                    from None
            raise AlreadyRunning(self.run_dir, info.pid if info.pid > 0 else None) from None
        self.fd = fd
        self.stale_replaced = (self.run.pid).exists()
        pid = os.getpid()
        atomic_write_json(self.run.daemon, {
            "pid": pid, "mode": self.mode, "started_at": create_time(pid) or time.time(),
            "run_dir": str(self.run_dir.resolve())})
        atomic_write_bytes(self.run.pid, f"{pid}\n".encode(), mode=0o644)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        recorded = _recorded(self.run_dir)
        if recorded is not None and recorded.pid == os.getpid():
            _clear(self.run_dir)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> PidLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
