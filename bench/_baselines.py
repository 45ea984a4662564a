"""The baselines bench/search.py compares ratchet with, on any benchmark: seed 004's loop
and plain Optuna TPE. A benchmark is ``measure(params, n, index) -> n scores`` (index 0:
the start, then 1, 2, ... per challenger or trial, for benchmarks that seed by it) and
``spent() -> evaluations so far`` (the budget's unit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import optuna

from ratchet.core.space import Space
from ratchet.core.types import Candidate
from ratchet.plugins.strategies import PerturbStrategy
from ratchet.plugins.strategies.optuna import distribution

Trace = list[tuple[int, dict[str, Any]]]  # (evaluations so far, champion params)
Measure = Callable[[dict[str, Any], int, int], Any]


class Result(NamedTuple):
    trace: Trace
    reported: float  # the score the method reports for its answer
    interval: tuple[float, float] | None = None  # its 95% interval, when it gives one
    examined: int = 0  # challengers measured
    champion_share: float = 0.0  # of all games or runs, the share spent on the champion
    promotions: int = 0
    spent: int = 0  # games or runs measured (ratchet: its budget's count)


def seed004_loop(measure: Measure, spent: Callable[[], int], space: Space,
                 start: dict[str, Any], budget: int, seed: int, *, first: int,
                 per_challenger: int, margin: Callable[[float], float] = lambda best: 0.0,
                 **perturb: Any) -> Result:
    """Seed 004's loop: perturb the champion, measure the challenger once, keep it if its
    mean beats the best mean seen so far by ``margin(best)``."""
    proposer = PerturbStrategy(space, seed=seed, **perturb)
    champion = Candidate(start, "baseline")
    best = float(np.mean(measure(start, first, 0)))
    trace: Trace = [(0, start)]
    examined = 0
    while spent() < budget:
        examined += 1
        challenger = proposer.propose(champion, [])
        score = float(np.mean(measure(challenger.params, per_challenger, examined)))
        if score > best + margin(best):
            champion, best = challenger, score
        trace.append((spent(), champion.params))
    return Result(trace, best, None, examined, first / max(spent(), 1))


def optuna_loop(measure: Measure, spent: Callable[[], int], space: Space,
                start: dict[str, Any], budget: int, seed: int, *, per_trial: int,
                seconds: float | None = None) -> Result:
    """Plain Optuna TPE: one measurement per trial, the best trial as the answer; with
    ``seconds``, trials until that much wall time has passed (``budget`` aside)."""
    import time

    deadline = None if seconds is None else time.perf_counter() + seconds
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(start)
    dists = {p.name: distribution(p) for p in space}
    trace: Trace = [(0, start)]
    examined = 0
    while spent() < budget if deadline is None else time.perf_counter() < deadline:
        examined += 1
        trial = study.ask(dists)
        study.tell(trial, float(np.mean(measure(trial.params, per_trial, examined))))
        trace.append((spent(), study.best_params))
    return Result(trace, study.best_value, None, examined, 0.0)
