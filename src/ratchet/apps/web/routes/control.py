"""State-changing endpoints. Each needs the run's token; a read-only server refuses them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel

from ratchet.apps.web.deps import run_dir_of
from ratchet.core.controls import Controls
from ratchet.core.store import Store
from ratchet.service.token import check_token

router = APIRouter(prefix="/api", tags=["control (token)"])


def authorized(request: Request, run_dir: Path = Depends(run_dir_of),
               authorization: str | None = Header(None),
               x_ratchet_token: str | None = Header(None)) -> Path:
    if request.app.state.read_only:
        raise HTTPException(403, "this dashboard is read-only (ratchet dashboard); control "
                                 "the run through the daemon's own server or the CLI")
    offered = x_ratchet_token
    if authorization and authorization.lower().startswith("bearer "):
        offered = authorization[7:]
    if not check_token(run_dir, offered):
        raise HTTPException(401, "missing or wrong token: send the run's token (the file "
                                 "'token' in its run directory) as Authorization: Bearer")
    return run_dir


@router.post("/control/{action}", summary="Pause, resume or stop the loop")
def control(action: Literal["pause", "resume", "stop"],
            run_dir: Path = Depends(authorized)) -> dict[str, str]:
    controls = Controls(run_dir)
    {"pause": controls.pause, "resume": controls.resume, "stop": controls.request_stop}[action]()
    return {"ok": action, "note": "takes effect at the loop's next safe point"}


class PromoteRequest(BaseModel):
    candidate: str


@router.post("/promote", summary="Make a measured candidate the champion by hand")
def promote(body: PromoteRequest, run_dir: Path = Depends(authorized)) -> dict[str, str]:
    with Store(run_dir) as store:
        champion = store.champion()
        try:
            store.candidate(body.candidate)
        except Exception:
            raise HTTPException(404, f"no candidate {body.candidate!r} in this run") from None
    if champion.candidate.id == body.candidate:
        raise HTTPException(409, f"{body.candidate} is already the champion")
    Controls(run_dir).request_promotion(body.candidate)
    return {"ok": "promote", "candidate": body.candidate,
            "note": "the loop promotes it at its next safe point"}
