"""A judge that weighs several named metrics, but promotes only on significance.

The challenger's weighted score (the weights applied to each metric's mean over the
cycle's batches) must beat the champion's, *and* the sequential Welch test must find the
challenger's samples (the episodes behind the metrics) significantly better. A weighted
score alone would let a lucky batch of a noisy metric promote; the test alone would ignore
what the metrics say about how the improvement was reached (speed, stability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.types import Decision, Evidence, Verdict
from ratchet.plugins.judges.welch import WelchJudge

if TYPE_CHECKING:
    from ratchet.core.registry import RecipeView

CARTPOLE_WEIGHTS = {"average_reward": 0.3, "generalization": 0.25, "adaptation_speed": 0.15,
                    "meta_efficiency": 0.15, "stability": 0.15}


class WeightedJudge(WelchJudge):
    kind: Literal["weighted"] = "weighted"  # type: ignore[assignment]
    # a sample here is a trained network's episodes, not a timing run: few can be enough
    min_samples: int = Field(10, ge=2, description="samples a side before any verdict")
    weights: dict[str, float] = Field(default_factory=lambda: dict(CARTPOLE_WEIGHTS),
                                      description="metric name -> weight")

    name: ClassVar[str] = "weighted"

    @model_validator(mode="after")
    def _check_weights(self) -> WeightedJudge:
        if not self.weights:
            raise ValueError("weights is empty: name at least one metric to weigh")
        return self

    def check_recipe(self, recipe: RecipeView) -> None:
        super().check_recipe(recipe)
        target = recipe.target
        if target.kind != "cartpole":
            return
        hard_only = {"adaptation_speed", "meta_efficiency"} & set(self.weights)
        if hard_only and not target.hard_tasks:  # type: ignore[union-attr]
            raise ValueError(f"judge weights {sorted(hard_only)} are measured on hard "
                             "tasks, but target.hard_tasks is false")
        if hard_only and self.batch < 2:
            raise ValueError("judge.batch must be at least 2 with hard tasks: units "
                             "alternate physics and hard tasks")

    def batch_sizes(self, evidence: Evidence) -> tuple[int, int]:
        """Both sides every batch: the weights need the champion's metrics of this cycle
        (they are not shared across cycles as its returns are)."""
        return self.batch, self.batch

    def score(self, batches: list[dict[str, float]]) -> float | None:
        """The weighted sum of each metric's mean over ``batches``; None if a weighted
        metric is missing from every batch."""
        total = 0.0
        for metric, weight in self.weights.items():
            values = [b[metric] for b in batches if metric in b]
            if not values:
                return None
            total += weight * float(np.mean(values))
        return total

    def decide(self, evidence: Evidence) -> Verdict:
        verdict = super().decide(evidence)
        ours = self.score(evidence.challenger_metrics)
        theirs = self.score(evidence.champion_metrics)
        stats = dict(verdict.stats, weighted_challenger=ours, weighted_champion=theirs)
        if ours is None or theirs is None:
            missing = [m for m in self.weights
                       if not any(m in b for b in evidence.challenger_metrics)
                       or not any(m in b for b in evidence.champion_metrics)]
            return Verdict(Decision.FAILED if evidence.batches else Decision.CONTINUE,
                           f"the target reported no {', '.join(missing)}: cannot weigh",
                           stats)
        if verdict.decision is Decision.PROMOTE and ours <= theirs:
            decision = (Decision.REJECT if min(len(evidence.challenger), len(evidence.champion))
                        >= self.max_samples else Decision.CONTINUE)
            return Verdict(decision, f"returns better ({verdict.reason}) but weighted score "
                           f"{ours:.3f} <= champion's {theirs:.3f}", stats)
        return Verdict(verdict.decision, f"{verdict.reason}; weighted {ours:.3f} vs "
                       f"{theirs:.3f}", stats)
