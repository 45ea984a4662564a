"""`/health` for load balancers and alerting; `/metrics` for Prometheus."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ratchet.apps.web import data
from ratchet.apps.web.deps import run_dir_of
from ratchet.core.store import Store

router = APIRouter(tags=["health"])


def _progress(run_dir: Path) -> tuple[float | None, float]:
    """Time of the last evaluation or decision, and the benchmark timeout of the recipe."""
    with Store(run_dir) as store:
        recipe = (store.run_info() or {}).get("recipe", {})
        row = store.conn.execute(
            "SELECT MAX(t) FROM (SELECT MAX(created_at) AS t FROM evaluations "
            "UNION ALL SELECT MAX(created_at) FROM decisions)").fetchone()
    return row[0], float(recipe.get("target", {}).get("timeout_s", 300))


@router.get("/health", summary="200 while the loop makes progress, 503 with the reason")
def health(run_dir: Path = Depends(run_dir_of)) -> JSONResponse:
    s = data.status(run_dir)
    last, timeout_s = _progress(run_dir)
    stuck_after = max(600.0, 3 * timeout_s)
    age = time.time() - last if last else None
    details: dict[str, Any] = {"running": s["running"], "phase": s["phase"],
                               "cycle": s["cycle"], "paused": s["paused"],
                               "consecutive_failures": s["consecutive_failures"],
                               "seconds_since_progress": age, "stuck_after_s": stuck_after}
    reason = None
    if not s["running"]:
        reason = "the loop is not running"
    elif s["paused"]:
        reason = f"paused: {s['pause_reason']}"
    elif s["consecutive_failures"]:
        reason = f"failing: {s['consecutive_failures']} consecutive failed cycles"
    elif age is not None and age > stuck_after:
        reason = f"stuck: no progress for {age:.0f} s"
    details["ok"] = reason is None
    details["reason"] = reason
    return JSONResponse(details, status_code=200 if reason is None else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry),
                    media_type=CONTENT_TYPE_LATEST)
