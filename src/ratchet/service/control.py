"""start / stop / restart from another process: the library behind the CLI commands."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir
from ratchet.service import readiness
from ratchet.service.pidfile import AlreadyRunning, PidInfo, create_time, running_pid
from ratchet.service.status import tail_lines

START_TIMEOUT_S = 600.0  # a safety net for a hung start-up; the handshake decides


@dataclass(frozen=True)
class Started:
    pid: int
    run_dir: Path
    log_hint: str
    url: str | None = None


def start_daemon(recipe_path: Path, run_dir: Path, *, name: str | None = None,
                 wait_s: float = START_TIMEOUT_S, extra_args: Sequence[str] = ()) -> Started:
    """Launch `ratchet run` detached (own session, no terminal) and return once it reports
    that the run is open and the champion applied (a handshake over a pipe). A daemon that
    cannot start raises its own error; one that dies raises with its last output."""
    info = running_pid(run_dir)
    if info is not None:
        raise AlreadyRunning(run_dir, info.pid)
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = recipe_path.resolve()
    atomic_write_json(RunDir(run_dir).start_request,
                      {"recipe": str(recipe_path), "cwd": os.getcwd(), "name": name})
    cmd = [sys.executable, "-m", "ratchet", "run", str(recipe_path), "--run-dir",
           str(run_dir.resolve()), "--quiet", "--detached", *extra_args]
    if name:
        cmd += ["--name", name]
    run = RunDir(run_dir)
    run.logs.mkdir(exist_ok=True)
    read_end, write_end = os.pipe()
    out = open(run.daemon_out, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True, pass_fds=(write_end,),
                                env={**os.environ, readiness.ENV: str(write_end)})
    finally:
        out.close()
        os.close(write_end)
    try:
        message = readiness.read_message(read_end, wait_s)
    except TimeoutError:
        raise RatchetError(f"the daemon (pid {proc.pid}) did not report ready within "
                           f"{wait_s:g} s; see {run.daemon_out}") from None
    finally:
        os.close(read_end)
    if message is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        raise RatchetError(f"the daemon exited while starting (code {proc.returncode}): "
                           f"{_tail(run.daemon_out)}")
    if "error" in message:
        proc.wait(30)
        if message.get("code") == 1:
            holder = running_pid(run_dir)
            raise AlreadyRunning(run_dir, holder.pid if holder else None)
        raise RatchetError(str(message["error"]))
    return Started(proc.pid, run_dir, f"ratchet logs -f --run-dir {run_dir}",
                   message.get("url"))


def _signal(info: PidInfo, signum: int) -> None:
    """Signal the daemon only while it is the process recorded (never a recycled pid)."""
    started = create_time(info.pid)
    if started is None or abs(started - info.started_at) >= 1.0:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signum)


def stop_daemon(run_dir: Path, *, timeout_s: float = 30.0, force: bool = False) -> PidInfo | None:
    """SIGTERM the daemon (the lock's holder) and wait for it to let go of the lock. None if
    it was not running; raises if it is still running after the timeout (SIGKILL with
    force)."""
    info = running_pid(run_dir)
    if info is None:
        return None
    if info.pid <= 0:
        raise RatchetError(f"the lock {RunDir(run_dir).lock} is held, but its holder "
                           "cannot be found (is /proc mounted?); nothing was signalled")
    if not info.ours:
        raise RatchetError(f"the lock {RunDir(run_dir).lock} is held by "
                           f"{info.describe()}, not a ratchet daemon of this run: nothing "
                           "was signalled")
    _signal(info, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # stopped means gone: the lock let go *and* the process exited (it lets go of
        # the lock first, then its interpreter still winds down)
        if running_pid(run_dir) is None and not _still_running(info):
            return info
        time.sleep(0.1)
    if force:
        _signal(info, signal.SIGKILL)
        while running_pid(run_dir) is not None or _still_running(info):
            time.sleep(0.1)
        return info
    raise RatchetError(f"pid {info.pid} did not stop within {timeout_s:g} s; "
                       "try again, or use --force (SIGKILL: the run resumes from its last "
                       "committed step)")


def _still_running(info: PidInfo) -> bool:
    """Whether the daemon's process (this pid, started then) has not exited yet."""
    import psutil

    try:
        process = psutil.Process(info.pid)
        if abs(process.create_time() - info.started_at) >= 1.0:
            return False  # the pid now names another process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_args(run_dir: Path) -> tuple[Path, str | None, str]:
    """The recipe, name and working directory the run was last started with."""
    try:
        data = json.loads(RunDir(run_dir).start_request.read_text())
        return Path(data["recipe"]), data.get("name"), data["cwd"]
    except (OSError, ValueError, KeyError):
        raise RatchetError(f"{run_dir} was never started with 'ratchet start'; "
                           "start it with 'ratchet start RECIPE'") from None


def _tail(path: Path, lines: int = 5) -> str:
    return " | ".join(tail_lines(path)[-lines:]) or "(no output)"
