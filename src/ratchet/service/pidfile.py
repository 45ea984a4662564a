"""One daemon per run directory: an OS lock (flock) held for the process's lifetime, and a
pid file for people and `ratchet stop`. The lock dies with the process, even on kill -9,
so a pid file whose lock is free is stale and is replaced."""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ratchet.atomic import atomic_write_json
from ratchet.errors import RatchetError, StoreError

LOCK_NAME = "ratchet.lock"
PID_NAME = "ratchet.pid"


class AlreadyRunning(RatchetError):
    def __init__(self, run_dir: Path, pid: int | None):
        self.pid = pid
        super().__init__(f"a ratchet daemon is already running on {run_dir} (pid {pid}); "
                         f"stop it with 'ratchet stop --run-dir {run_dir}'")


@dataclass(frozen=True)
class PidInfo:
    pid: int
    started_at: float
    mode: str


def read_pid(run_dir: Path) -> PidInfo | None:
    try:
        data = json.loads((run_dir / PID_NAME).read_text())
        return PidInfo(int(data["pid"]), float(data["started_at"]), str(data.get("mode", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_pid(run_dir: Path) -> PidInfo | None:
    """The live daemon's pid info, or None (clearing a stale pid file)."""
    lock_path = run_dir / LOCK_NAME
    if not lock_path.exists():
        return None
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_pid(run_dir) or PidInfo(-1, 0.0, "")
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        (run_dir / PID_NAME).unlink(missing_ok=True)  # stale: its process is gone
        return None
    finally:
        os.close(fd)


class PidLock:
    """Held by the process that runs the loop (`run` or the daemon)."""

    def __init__(self, run_dir: Path, mode: str = "foreground"):
        self.run_dir = run_dir
        self.mode = mode
        self.fd: int | None = None
        self.stale_replaced = False

    def acquire(self) -> PidLock:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot use run directory {self.run_dir}: {exc.strerror}") \
                from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            info = read_pid(self.run_dir)
            raise AlreadyRunning(self.run_dir, info.pid if info else None) from None
        self.fd = fd
        self.stale_replaced = (self.run_dir / PID_NAME).exists()
        atomic_write_json(self.run_dir / PID_NAME, {"pid": os.getpid(), "mode": self.mode,
                                                   "started_at": time.time()})
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        info = read_pid(self.run_dir)
        if info is not None and info.pid == os.getpid():
            (self.run_dir / PID_NAME).unlink(missing_ok=True)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> PidLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
