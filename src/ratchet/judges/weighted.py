"""A judge that weighs several named metrics, but promotes only on significance.

The challenger's weighted score (the weights applied to each metric's mean over the
cycle's batches) must beat the champion's, *and* the sequential Welch test must find the
challenger's samples (the episodes behind the metrics) significantly better. A weighted
score alone would let a lucky batch of a noisy metric promote; the test alone would ignore
what the metrics say about how the improvement was reached (speed, stability).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ratchet.judges.welch import WelchJudge
from ratchet.types import Decision, Evidence, Verdict


@dataclass
class WeightedJudge(WelchJudge):
    weights: dict[str, float] = field(default_factory=dict)

    name = "weighted"  # type: ignore[assignment]

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
