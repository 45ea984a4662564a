"""The reward of one measured configuration, as seed 003 defines it, made precise.

``reward = performance_weight * performance + stability_weight * stability`` per run, with

- ``performance``: the run's metric divided by the reference, the mean metric of the
  original configuration measured when the run began (1.0 means "as fast as before";
  a failed run counts 0);
- ``stability`` in [0, 1], one value for the batch of repeated runs:
  ``successes / runs`` × ``max(0, 1 - 5 × cv)`` × ``min(1, cpus / load)``, where ``cv`` is
  the coefficient of variation of the successful runs' metric (a spread of 20% or more
  counts as unstable; fewer than two successes give no spread information, so 1) and
  ``load`` is the 1-minute load average after the runs (psutil): a configuration that
  leaves more runnable tasks than CPUs is less stable.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Weights:
    performance: float = 0.5
    stability: float = 0.5


def spread_score(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 1.0
    mean = statistics.fmean(values)
    if mean <= 0:
        return 0.0
    cv = statistics.stdev(values) / mean
    return max(0.0, 1.0 - 5.0 * cv)


def load_score(load: float | None = None, cpus: int | None = None) -> float:
    load = psutil.getloadavg()[0] if load is None else load
    cpus = cpus or psutil.cpu_count() or 1
    return 1.0 if load <= cpus else cpus / load


def stability(results: Sequence[float | None], load: float | None = None,
              cpus: int | None = None) -> float:
    """``results``: each run's metric, None for a run that failed."""
    ok = [r for r in results if r is not None]
    if not results or not ok:
        return 0.0
    return len(ok) / len(results) * spread_score(ok) * load_score(load, cpus)


def rewards(results: Sequence[float | None], reference: float, weights: Weights,
            stable: float) -> list[float]:
    """One reward per run."""
    if not (reference > 0 and math.isfinite(reference)):
        raise ValueError(f"reference performance must be positive, got {reference}")
    return [weights.performance * ((r or 0.0) / reference) + weights.stability * stable
            for r in results]
