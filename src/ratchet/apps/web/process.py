"""The dashboard as the daemon runs it: in a process of its own, supervised by the
service (``ratchet.service.dashboard``)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from ratchet.apps.web.app import create_app
from ratchet.apps.web.server import WebServer
from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import RatchetError


def serve_run(run_dir: str, host: str, port: int, daemon_pid: int, state_file: str) -> None:
    """The daemon's dashboard process (``service.dashboard.WebProcess``): serve until the
    daemon is gone (even after its kill -9)."""
    serve_app(lambda: create_app([Path(run_dir)]), host, port, daemon_pid, state_file)


def serve_app(make_app: Callable[[], FastAPI], host: str, port: int, daemon_pid: int,
              state_file: str) -> None:
    """``serve_run`` with the app ``make_app`` builds (in this process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the daemon's to handle
    state = Path(state_file)
    try:
        server = WebServer(make_app(), host, port)
        url = server.start()
    except RatchetError as exc:
        atomic_write_json(state, {"error": str(exc), "server_pid": os.getpid()})
        return
    atomic_write_json(state, {"url": url, "pid": daemon_pid, "server_pid": os.getpid()})
    while os.getppid() == daemon_pid:
        time.sleep(0.5)
    server.stop()
