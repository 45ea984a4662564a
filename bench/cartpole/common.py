"""What several sections share: the recipe, how our models are played, paired summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ratchet.plugins.targets.cartpole.tasks import Task, task_set
from ratchet.plugins.targets.cartpole.train import evaluate

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "cartpole-rsi.yaml"


def fresh_returns(model, tasks: list[Task], limit: int | None) -> list[float]:
    """Per task, the mean of 3 greedy episodes, each from a fresh state."""
    return [float(np.mean(evaluate(model, [t] * 3, 1, seed=10_000 + i, time_limit=limit)))
            for i, t in enumerate(tasks)]


def pooled(returns, model, task_sets: list[list[Task]], limit: int) -> list[float]:
    return [r for tasks in task_sets for r in returns(model, tasks, limit)]


def paired_summary(first: list[float], second: list[float],
                    label: str = "held-out physics",
                    names: tuple[str, str] = ("evolve", "random")) -> str:
    """Seed by seed (both sides start from the same seed: the same training tasks, the
    same starting model)."""
    from scipy import stats

    diff = np.subtract(first, second)
    line = (f"{names[0]} - {names[1]}, {label}, paired by seed: mean {diff.mean():+.1f}, "
            f"{names[0]} ahead on {int((diff > 0).sum())} of {len(diff)} seeds, behind on "
            f"{int((diff < 0).sum())}")
    if len(diff) > 1 and diff.std() > 0:
        line += f", paired t-test p = {stats.ttest_1samp(diff, 0).pvalue:.3f} (two-sided)"
    return line


def heldout_physics(policy, time_limit: int | None = None) -> float:
    """Mean return on the 30 held-out physics tasks, 2 episodes each, state carried."""
    return float(np.mean(evaluate(policy, task_set("physics", "heldout", 30), 2,
                                  time_limit=time_limit)))
