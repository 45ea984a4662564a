"""`create_app(run_dirs)`: the dashboard and API for one or more runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from ratchet.apps.web.deps import host_name
from ratchet.apps.web.metrics import LeagueCollector, MergedCollector, RunCollector
from ratchet.core.rundir import configuration_dirs
from ratchet.core.store import Store
from ratchet.core.version import __version__

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files("ratchet.apps.web") / "static"))


def create_app(run_dirs: Sequence[Path], *, read_only: bool = False) -> FastAPI:
    """The dashboard and API of ``run_dirs``. Pages of a target's own (the CartPole
    playground) are mounted by the application on top (``ratchet.apps.dashboard``)."""
    from ratchet.apps.web.routes import api, control, events, health

    runs: dict[str, Path] = {}
    kinds: set[str] = set()
    hosts: set[str] = set()
    collectors: list[Collector] = []
    for given in run_dirs:  # a run of several configurations: each of them, and its own
        configurations = configuration_dirs(Path(given))
        if configurations:
            collectors.append(LeagueCollector(Path(given)))
        for configuration, directory in (configurations or {"": Path(given)}).items():
            with Store(directory) as store:
                info = store.run_info() or {}
            name = info.get("name") or directory.name
            runs[name if name not in runs else f"{name} ({directory})"] = directory
            kinds.add(info.get("recipe", {}).get("target", {}).get("kind"))
            hosts.update((info.get("recipe", {}).get("dashboard") or {}).get("allowed_hosts")
                         or ())
            collectors.append(RunCollector(directory, {"configuration": configuration}
                                           if configuration else None))
    app = FastAPI(title="ratchet", version=__version__,
                  description="Dashboard and API of ratchet runs. Read-only endpoints need "
                              "nothing; pause, resume, stop and promote need the run's "
                              "token (the `token` file in its run directory) as "
                              "`Authorization: Bearer <token>`.")
    app.state.runs = runs
    app.state.target_kinds = kinds  # for the pages an application mounts per target
    app.state.recipe_hosts = hosts  # names the recipes allow in the Host header
    app.state.read_only = read_only
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MergedCollector(collectors))
    app.state.registry = registry
    for module in (api, events, control, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def check_host(request: Request, call_next: Any) -> Response:
        """A DNS-rebinding page reaches us under its own host name: refuse any Host but
        localhost, the bound address and the names allowed (set by the server that binds,
        whatever the address: a server bound to every interface is no exception)."""
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
    from ratchet.core.stats import mean_ci

    mean_ci([0.0, 1.0])  # import scipy now, not during the first request
    return app
