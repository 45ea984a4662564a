"""The daemon's web server in a process of its own, supervised.

It only reads the store, so it can never slow or block the loop. When it dies it is
started again with exponential back-off; ``dashboard.json`` says whether it is up, since
when it is down and how often it was restarted (for `ratchet status` and `/health`).
What runs in the process is given by the application (``WebProcess``, e.g.
``ratchet.apps.web.process.serve_run``): the service does not import the web app.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.process
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir

log = logging.getLogger("ratchet.service")

WebProcess = Callable[[str, str, int, int, str], None]
"""``(run_dir, host, port, daemon_pid, state_file)``: serve the run's dashboard until the
daemon is gone; write ``{"url", "server_pid"}`` (or ``{"error", "server_pid"}``) to the state
file once listening (or failing to)."""
MAX_BACKOFF_S = 60.0
STABLE_S = 60.0  # a server that stayed up this long resets the back-off


def read_state(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(RunDir(run_dir).dashboard.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class SupervisedDashboard:
    def __init__(self, run_dir: Path, host: str, port: int, process: WebProcess):
        self.run_dir = run_dir
        self.process = process
        self.host = host
        self.port = port
        self.url: str | None = None
        self.restarts = 0
        self.proc: multiprocessing.process.BaseProcess | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """The first start; a server that cannot listen is a RatchetError."""
        RunDir(self.run_dir).dashboard.unlink(missing_ok=True)
        self.url = self._spawn()
        self._thread = threading.Thread(target=self._watch, name="ratchet-web-watch",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.proc is not None:
            self.proc.terminate()
            self.proc.join(5)
        RunDir(self.run_dir).dashboard.unlink(missing_ok=True)

    def _spawn(self) -> str:
        state_file = RunDir(self.run_dir).dashboard
        port = self.port
        if self.url is not None:  # restarts keep the address the user was given
            port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        ctx = multiprocessing.get_context("spawn")
        self.proc = ctx.Process(target=self.process, name="ratchet-web", daemon=True,
                                args=(str(self.run_dir), self.host, port, os.getpid(),
                                      str(state_file)))
        self.proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = read_state(self.run_dir)
            if state.get("server_pid") == self.proc.pid and state.get("url"):
                self._write(up=True, url=state["url"])
                return str(state["url"])
            if state.get("server_pid") == self.proc.pid and state.get("error"):
                self.proc.join(5)
                raise RatchetError(str(state["error"]))
            if not self.proc.is_alive():
                raise RatchetError(f"the dashboard process exited (code "
                                   f"{self.proc.exitcode}); see {RunDir(self.run_dir).logs}")
            time.sleep(0.05)
        self.proc.terminate()
        raise RatchetError(f"the dashboard did not start within 60 s ({state_file})")

    def _write(self, *, up: bool, url: str | None, error: str | None = None) -> None:
        previous = read_state(self.run_dir)
        atomic_write_json(RunDir(self.run_dir).dashboard, {
            "url": url, "up": up, "pid": os.getpid(),
            "server_pid": self.proc.pid if self.proc is not None else None,
            "restarts": self.restarts, "error": error,
            "down_since": None if up else previous.get("down_since") or time.time()})

    def _watch(self) -> None:
        backoff = 1.0
        up_since = time.monotonic()
        while not self._stop.wait(0.5):
            if self.proc is None or self.proc.is_alive():
                continue
            reason = f"the dashboard process died (exit code {self.proc.exitcode})"
            log.warning("%s; restarting it in %g s", reason, backoff)
            self._write(up=False, url=self.url, error=reason)
            if time.monotonic() - up_since > STABLE_S:
                backoff = 1.0
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            self.restarts += 1
            try:
                self._spawn()
            except RatchetError as exc:
                log.warning("the dashboard could not be restarted: %s", exc)
                self._write(up=False, url=self.url, error=str(exc))
                continue
            up_since = time.monotonic()
            log.info("dashboard restarted at %s", self.url)
