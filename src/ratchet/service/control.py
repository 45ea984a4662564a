"""start / stop / restart from another process: the library behind the CLI commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ratchet.atomic import atomic_write_json
from ratchet.errors import RatchetError
from ratchet.service.pidfile import AlreadyRunning, PidInfo, running_pid

START_FILE = "start.json"


@dataclass(frozen=True)
class Started:
    pid: int
    run_dir: Path
    log_hint: str
    url: str | None = None


def start_daemon(recipe_path: Path, run_dir: Path, *, name: str | None = None,
                 wait_s: float = 20.0, dashboard: bool = False) -> Started:
    """Launch `ratchet run` detached (own session, no terminal) and wait until it holds the
    run's lock."""
    info = running_pid(run_dir)
    if info is not None:
        raise AlreadyRunning(run_dir, info.pid)
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = recipe_path.resolve()
    atomic_write_json(run_dir / START_FILE, {"recipe": str(recipe_path), "cwd": os.getcwd(),
                                             "name": name})
    cmd = [sys.executable, "-m", "ratchet", "run", str(recipe_path), "--run-dir",
           str(run_dir.resolve()), "--quiet", "--detached"]
    if name:
        cmd += ["--name", name]
    (run_dir / "logs").mkdir(exist_ok=True)
    out = open(run_dir / "logs" / "daemon.out", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True)
    finally:
        out.close()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        info = running_pid(run_dir)
        url = _dashboard_url(run_dir, proc.pid) if dashboard else None
        if info is not None and info.pid == proc.pid and (url or not dashboard):
            return Started(proc.pid, run_dir, f"ratchet logs -f --run-dir {run_dir}", url)
        if proc.poll() is not None:
            raise RatchetError(f"the daemon exited at once (code {proc.returncode}): "
                               f"{_tail(run_dir / 'logs' / 'daemon.out')}")
        time.sleep(0.1)
    raise RatchetError(f"the daemon (pid {proc.pid}) did not take the lock within "
                       f"{wait_s:g} s; see {run_dir / 'logs' / 'daemon.out'}")


def stop_daemon(run_dir: Path, *, timeout_s: float = 30.0, force: bool = False) -> PidInfo | None:
    """SIGTERM the daemon and wait for it to let go of the lock. None if it was not
    running; raises if it is still running after the timeout (SIGKILL with force)."""
    info = running_pid(run_dir)
    if info is None or info.pid <= 0:
        return None
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running_pid(run_dir) is None:
            return info
        time.sleep(0.1)
    if force:
        os.kill(info.pid, signal.SIGKILL)
        while running_pid(run_dir) is not None:
            time.sleep(0.1)
        return info
    raise RatchetError(f"pid {info.pid} did not stop within {timeout_s:g} s; "
                       "try again, or use --force (SIGKILL: the run resumes from its last "
                       "committed step)")


def start_args(run_dir: Path) -> tuple[Path, str | None, str]:
    """The recipe, name and working directory the run was last started with."""
    try:
        data = json.loads((run_dir / START_FILE).read_text())
        return Path(data["recipe"]), data.get("name"), data["cwd"]
    except (OSError, ValueError, KeyError):
        raise RatchetError(f"{run_dir} was never started with 'ratchet start'; "
                           "start it with 'ratchet start RECIPE'") from None


def _dashboard_url(run_dir: Path, pid: int) -> str | None:
    try:
        data = json.loads((run_dir / "dashboard.json").read_text())
    except (OSError, ValueError):
        return None
    return data.get("url") if data.get("pid") == pid else None


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no output)"
