"""Measurements in and out of the store, and a decided cycle closed: the steps the cycle
and the race share (``observed`` is the one way a cycle is closed)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ratchet.core.seeds import derive
from ratchet.core.store import Champion, CycleOutcome, EvaluationRow
from ratchet.core.types import Candidate, Decision, Evidence, Measurement, Trial
from ratchet.plugins.executors import EvalResult


def batch_seed(run_seed: int, cycle: int, batch: int) -> int:
    """The promotion test's seed of (cycle, batch) before any step-over (the seed ledger's
    first choice); seeds a batch's random pairing."""
    return derive(run_seed, "test", cycle, batch)[0]


def split(size: int, shards: int) -> list[int]:
    """``size`` games or runs in ``shards`` parts as even as can be, larger parts first."""
    return [size // shards + (1 if i < size % shards else 0) for i in range(shards)]


def by_role(results: Sequence[EvalResult]) -> dict[str, Measurement]:
    """Each role's shards merged in shard order (the results of a batch, all ok); a
    measurement whose target did not say what it cost costs its evaluation's wall time."""
    parts: dict[str, list[tuple[int, Measurement, float]]] = {}
    for r in results:
        assert r.measurement is not None
        parts.setdefault(r.task.role, []).append(
            (r.task.shard, r.measurement, r.measurement.cost_s or r.duration_s))
    sides = {}
    for role, found in parts.items():
        found.sort(key=lambda x: x[0])
        sides[role] = replace(Measurement.concat([m for _, m, _ in found]),
                              cost_s=sum(cost for *_, cost in found))
    return sides


def evaluation_row(r: EvalResult) -> EvaluationRow:
    """The store's row for an evaluation's result."""
    m = r.measurement
    return EvaluationRow(
        candidate_id=r.task.candidate.id, role=r.task.role, cycle=r.task.cycle,
        batch=r.task.batch, seed=r.task.seed, size=r.task.size, ok=m is not None,
        scores=m.scores if m else (), ordered=m.ordered if m else False,
        errors=m.errors if m else 0, metrics=m.metrics if m else {},
        duration_s=r.duration_s, reason=r.error, created_at=time.time(), shard=r.task.shard)


def measurement_of(row: EvaluationRow, evidence: Evidence) -> Measurement:
    """A stored evaluation as the measurement it was."""
    return Measurement(evidence.kind, row.scores, ordered=row.ordered, errors=row.errors,
                       cost_s=row.duration_s, metrics=row.metrics)


def observed(strategy: Any, cycle: int, candidate: Candidate, champion: Champion,
             decision: Decision, reason: str, stats: dict[str, Any],
             evidence: Evidence, *, feasible: bool = True, better: float = 1.0) -> CycleOutcome:
    """A decided cycle, told to the strategy (``observe``) and made the outcome the store
    records with the strategy's new state: the one way a cycle is closed, whether the
    judge decided it or a race screened it out."""
    score = (mean_or_none(evidence.challenger) if decision is not Decision.FAILED
             else None)
    told = score
    if not feasible and score is not None and evidence.champion_mean is not None:
        told = infeasible_score(score, evidence.champion_mean, better)
        stats.update(infeasible=True, strategy_score=told)
    trial = Trial(candidate, cycle, decision, told, evidence.champion_mean,
                  len(evidence.challenger) if score is not None else 0)
    strategy.observe(trial)
    return CycleOutcome(cycle, candidate, champion, decision, reason, stats, score,
                        trial.champion_score, evidence.games_played, strategy.state_dict())


def infeasible_score(score: float, champion: float, better: float) -> float:
    """What a strategy is told of a challenger that breaks a constraint: worse than the
    champion by as much as its score differs from it (at least the champion's own size),
    so that a model learns the region is bad however good its score looked."""
    return champion - better * max(abs(champion), abs(score - champion), 1e-9)


def better_sign(judge: Any) -> float:
    """+1 where a larger score is better (games are maximized; a samples judge knows the
    target's direction), -1 where a smaller one is."""
    return -1.0 if getattr(judge, "direction", "maximize") == "minimize" else 1.0


def mean_or_none(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
