"""`create_app(run_dirs)`: the dashboard and API for one or more runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from ratchet import __version__
from ratchet.store import Store
from ratchet.web.metrics import RunCollector

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files("ratchet.web") / "static"))


def create_app(run_dirs: Sequence[Path], *, read_only: bool = False,
               playground: bool | None = None) -> FastAPI:
    """``playground``: mount the CartPole playground at /playground (None: when one of the
    runs is a cartpole run and gradio is installed). Its buttons start work, so a read-only
    app never mounts it."""
    from ratchet.web.routes import api, control, events, health

    runs: dict[str, Path] = {}
    cartpole = False
    for directory in run_dirs:
        with Store(directory) as store:
            info = store.run_info() or {}
        name = info.get("name") or directory.name
        cartpole |= info.get("recipe", {}).get("target", {}).get("kind") == "cartpole"
        runs[name if name not in runs else f"{name} ({directory})"] = Path(directory)
    app = FastAPI(title="ratchet", version=__version__,
                  description="Dashboard and API of ratchet runs. Read-only endpoints need "
                              "nothing; pause, resume, stop and promote need the run's "
                              "token (the `token` file in its run directory) as "
                              "`Authorization: Bearer <token>`.")
    app.state.runs = runs
    app.state.read_only = read_only
    registry = CollectorRegistry(auto_describe=True)
    for directory in runs.values():
        registry.register(RunCollector(directory))
    app.state.registry = registry
    for module in (api, events, control, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def check_host(request: Request, call_next: Any) -> Response:
        """A DNS-rebinding page reaches us under its own host name: refuse any Host but
        this machine's names and the configured one (set by the server that binds)."""
        allowed: set[str] | None = getattr(request.app.state, "allowed_hosts", None)
        if allowed is not None and host_name(request.headers.get("host", "")) not in allowed:
            return PlainTextResponse("unexpected Host header: reach the dashboard as "
                                     "localhost or by the address it was bound to",
                                     status_code=421)
        return await call_next(request)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    if not (STATIC / "vendor" / "uPlot.iife.min.js").exists():
        log.warning("the chart library is not vendored: run `make install` (or "
                    "scripts/vendor_js.sh); the dashboard shows no charts until then")
    from ratchet.stats import mean_ci

    mean_ci([0.0, 1.0])  # import scipy now, not during the first request
    if read_only and playground:
        raise ValueError("a read-only dashboard cannot mount the playground: it starts work")
    if not read_only and (playground or (playground is None and cartpole and _has("gradio"))):
        from ratchet.targets.cartpole.playground import mount, run_token_check

        app = mount(app, list(runs.values()), run_token_check(list(runs.values())))
    return app


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:80" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def run_dir_of(request: Request, run: str | None = Query(None, description="run name "
                                                         "(default: the first)")) -> Path:
    runs: dict[str, Path] = request.app.state.runs
    if run is None:
        return next(iter(runs.values()))
    if run not in runs:
        raise HTTPException(404, f"no run named {run!r}; runs: {list(runs)}")
    return runs[run]
