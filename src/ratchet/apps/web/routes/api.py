"""Read-only JSON: runs, status, history, candidates, champion, one cycle's detail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FastPath

from ratchet.apps.web import data, detail
from ratchet.apps.web.deps import run_dir_of

router = APIRouter(prefix="/api", tags=["read"])
RunDir = Depends(run_dir_of)


@router.get("/runs", summary="Runs this server shows")
def runs(request: Request) -> list[dict[str, str]]:
    return [{"name": name, "run_dir": str(path)} for name, path in
            request.app.state.runs.items()]


@router.get("/status", summary="Running or not, cycle, scores, promotions, last decision")
def status(run_dir: Path = RunDir) -> dict[str, Any]:
    return data.status(run_dir)


@router.get("/history", summary="Every decided cycle, as parallel arrays")
def history(run_dir: Path = RunDir, since: int = Query(0, ge=0, description="cycles after"),
            limit: int | None = Query(None, ge=1)) -> dict[str, Any]:
    return data.history(run_dir, since, limit)


@router.get("/objectives", summary="Per cycle: the challenger's performance, stability and "
            "reward (targets that measure both, e.g. sysctl)")
def objectives(run_dir: Path = RunDir) -> dict[str, Any]:
    return data.objectives(run_dir)


@router.get("/candidates", summary="Candidates, newest first, optionally by decision")
def candidates(run_dir: Path = RunDir,
               decision: str | None = Query(None, pattern="^(promote|reject|failed|gated)$"),
               limit: int = Query(100, ge=1, le=1000),
               offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    return data.candidates(run_dir, decision, limit, offset)


@router.get("/champion", summary="The champion, its score and every promotion")
def champion(run_dir: Path = RunDir) -> dict[str, Any]:
    return data.champion(run_dir)


@router.get("/in_flight", summary="Challengers proposed and not yet decided, with their "
            "evidence (a race's screening, or the test against the champion)")
def in_flight(run_dir: Path = RunDir) -> dict[str, Any]:
    return data.in_flight(run_dir)


@router.get("/parameters", summary="The search space, the last 2,000 decided trials "
            "(parameters and score) and Optuna's parameter importances over them")
def parameters(run_dir: Path = RunDir) -> dict[str, Any]:
    return data.parameters(run_dir)


@router.get("/gates", summary="The newest challengers that reached the gates, with each "
            "gate's result and reason")
def gates(run_dir: Path = RunDir, limit: int = Query(50, ge=1, le=1000)
          ) -> list[dict[str, Any]]:
    return data.gates(run_dir, limit)


@router.get("/target_views", summary="The target kind's own dashboard cards (self-play: "
            "the champions' rating curve against the anchors)")
def target_views(run_dir: Path = RunDir) -> list[dict[str, Any]]:
    return data.target_views(run_dir)


@router.get("/cycles/{cycle}", summary="Outcomes of one cycle by role")
def cycle(cycle: Annotated[int, FastPath(ge=0, le=2**63 - 1)],
          run_dir: Path = RunDir) -> dict[str, Any]:
    return data.cycle_detail(run_dir, cycle)


@router.get("/timeline", summary="The newest evaluations on the wall clock: start, end, "
            "cycle, role, outcome")
def timeline(run_dir: Path = RunDir) -> dict[str, Any]:
    return detail.timeline(run_dir)


@router.get("/candidate/{candidate_id}", summary="One candidate: its parameters against "
            "the champion's, its decision, evidence and gates, and what it measured")
def candidate(candidate_id: Annotated[str, FastPath(pattern="^[0-9a-f]{6,64}$")],
              run_dir: Path = RunDir) -> dict[str, Any]:
    found = detail.candidate(run_dir, candidate_id)
    if found is None:
        raise HTTPException(404, f"no candidate {candidate_id} in this run")
    return found


@router.get("/metrics_by_cycle", summary="Per cycle: the challenger's and champion's mean of "
            "every other metric the benchmark printed, and the recipe's constraints")
def metrics_by_cycle(run_dir: Path = RunDir) -> dict[str, Any]:
    return detail.metrics(run_dir)


@router.get("/drift", summary="Whether the champion's score moved with nothing promoted "
            "(its runs since promotion, first half against second; null when not)")
def drift(run_dir: Path = RunDir) -> dict[str, Any] | None:
    return detail.drift(run_dir)
