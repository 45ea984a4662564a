"""A registry of running benchmark processes, one file per child in a directory.

Benchmark children run in their own sessions (so a Ctrl+C meant for ratchet does not hit
them). The registry lets a stop terminate them within a bounded time, and lets the next
start kill the ones a ``kill -9`` of ratchet left behind. Each entry records the child's
start time, so a recycled pid is never killed by mistake.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

STOPPING_MARK = ".stopping"  # present while ratchet shuts down: no new child may start


def stopping(directory: Path) -> bool:
    return (directory / STOPPING_MARK).exists()


def begin_shutdown(directory: Path, grace_s: float = 3.0) -> int:
    """Forbid new children (in every process), then terminate the running ones."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STOPPING_MARK).touch()
    return terminate_all(directory, grace_s)


def reset(directory: Path) -> None:
    """At start: children may run again."""
    (directory / STOPPING_MARK).unlink(missing_ok=True)


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def register(directory: Path, pid: int, group: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    entry = directory / str(pid)
    entry.write_text(f"{_start_time(pid) or 0.0} {'group' if group else 'process'}\n")
    return entry


def unregister(entry: Path) -> None:
    entry.unlink(missing_ok=True)


def _live_entries(directory: Path) -> list[tuple[int, Path, bool]]:
    """Registered children that are still the processes we started (same start time):
    pid, entry, and whether it leads a process group of its own."""
    live: list[tuple[int, Path, bool]] = []
    if not directory.is_dir():
        return live
    for entry in directory.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            fields = entry.read_text().split()
            recorded = float(fields[0]) if fields else 0.0
        except (OSError, ValueError):
            fields, recorded = [], 0.0
        started = _start_time(pid)
        if started is not None and abs(started - recorded) < 1.0:
            live.append((pid, entry, fields[1:2] != ["process"]))
        else:
            entry.unlink(missing_ok=True)
    return live


def _signal(pid: int, group: bool, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def terminate_all(directory: Path, grace_s: float = 3.0) -> int:
    """SIGTERM every registered child (its process group, for benchmarks), SIGKILL what
    is left after ``grace_s``. Returns how many were signalled."""
    live = _live_entries(directory)
    for pid, _, group in live:
        _signal(pid, group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while live and time.monotonic() < deadline:
        live = [e for e in live if psutil.pid_exists(e[0]) and not _zombie(e[0])]
        time.sleep(0.05)
    for pid, entry, group in live:
        _signal(pid, group, signal.SIGKILL)
        entry.unlink(missing_ok=True)
    return len(live)


def reap_orphans(directory: Path, what: str = "benchmark processes") -> int:
    """Kill children left by a previous ratchet that died without cleaning up."""
    count = len(_live_entries(directory))
    if count:
        log.warning("killing %d %s left by a previous run", count, what)
        terminate_all(directory, grace_s=1.0)
    return count


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def init_pool_worker(parent: int, registry: Path | None = None) -> None:
    """Ctrl+C reaches the whole foreground process group; the loop decides what it means.
    A worker exits once its parent is gone, even after a kill -9 of the parent, so no
    worker (nor, once they are gone, the resource tracker) is left behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if registry is not None:
        with contextlib.suppress(OSError):  # a full disk: the parent watch still ends it
            register(registry, os.getpid(), group=False)
    watch_parent(parent)


def die_with_parent(parent: int) -> None:
    """End this process the moment ``parent`` dies, even by kill -9: on Linux the kernel
    sends SIGKILL (PR_SET_PDEATHSIG), with no thread that a busy interpreter could keep
    from running; elsewhere a thread looks (``exit_with_parent``). Only for a child made
    by a thread that outlives it: the signal follows that thread, not its process."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        watch_parent(parent)
        return
    if os.getppid() != parent:  # gone before the signal was asked for
        os._exit(1)


def watch_parent(parent: int) -> None:
    """End this process once ``parent`` is gone: at once if it already is, else from a
    thread that looks every half second (``exit_with_parent``)."""
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=exit_with_parent, args=(parent,), name="ratchet-parent-watch",
                     daemon=True).start()


def exit_with_parent(parent: int) -> None:
    """Run in a thread of a child process: end it once ``parent`` is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
