"""The daemon's dashboard with the pages of its target: the CartPole playground on a
cartpole run (when gradio is installed). Its buttons start work, so the read-only
``ratchet dashboard`` never mounts it."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI

from ratchet.apps.web.app import create_app
from ratchet.apps.web.process import serve_app


def create_dashboard(run_dirs: Sequence[Path]) -> FastAPI:
    """The dashboard that may change state (with the run's token): the daemon's."""
    dirs = [Path(d) for d in run_dirs]
    app = create_app(dirs)
    if "cartpole" in app.state.target_kinds and find_spec("gradio") is not None:
        from ratchet.apps.cartpole.playground import mount, run_token_check

        app = mount(app, dirs, run_token_check(dirs))
    return app


def serve_run(run_dir: str, host: str, port: int, daemon_pid: int, state_file: str) -> None:
    """The daemon's dashboard process (``service.dashboard.WebProcess``)."""
    serve_app(lambda: create_dashboard([Path(run_dir)]), host, port, daemon_pid, state_file)
