"""The weighted judge: metrics must agree with a significant test on the samples."""

import random

from ratchet.core.types import Decision, Evidence, Measurement
from ratchet.plugins.judges.weighted import WeightedJudge


def _evidence(challenger: list[float], champion: list[float], ours: dict, theirs: dict,
              batches: int = 1) -> Evidence:
    ev = Evidence("samples")
    size = len(challenger) // batches
    for b in range(batches):
        part = slice(b * size, (b + 1) * size)
        ev.add(Measurement("samples", tuple(challenger[part]), metrics=ours),
               Measurement("samples", tuple(champion[part]), metrics=theirs), random.Random(0))
    return ev


def test_promotes_when_returns_are_significant_and_the_weighted_score_is_higher():
    judge = WeightedJudge(weights={"speed": 1.0, "reward": 2.0}, batch=10, max_samples=30)
    rng = random.Random(1)
    better = [400 + rng.gauss(0, 10) for _ in range(30)]
    worse = [300 + rng.gauss(0, 10) for _ in range(30)]
    verdict = judge.decide(_evidence(better, worse, {"speed": 0.5, "reward": 0.8},
                                     {"speed": 0.4, "reward": 0.6}, batches=3))
    assert verdict.decision is Decision.PROMOTE
    assert verdict.stats["weighted_challenger"] > verdict.stats["weighted_champion"]


def test_significant_returns_do_not_promote_against_a_worse_weighted_score():
    judge = WeightedJudge(weights={"stability": 1.0}, batch=10, max_samples=30)
    rng = random.Random(2)
    better = [400 + rng.gauss(0, 10) for _ in range(30)]
    worse = [300 + rng.gauss(0, 10) for _ in range(30)]
    verdict = judge.decide(_evidence(better, worse, {"stability": 0.2}, {"stability": 0.9},
                                     batches=3))
    assert verdict.decision is Decision.REJECT  # at max_samples
    assert "weighted score" in verdict.reason


def test_a_better_weighted_score_without_significance_does_not_promote():
    judge = WeightedJudge(weights={"reward": 1.0}, batch=4, max_samples=40)
    same = [100.0, 300.0, 200.0, 250.0]
    verdict = judge.decide(_evidence(same, list(reversed(same)), {"reward": 0.9},
                                     {"reward": 0.1}))
    assert verdict.decision is Decision.CONTINUE


def test_a_metric_the_target_never_reports_fails_the_cycle():
    judge = WeightedJudge(weights={"absent": 1.0}, batch=3, min_samples=3, max_samples=9)
    verdict = judge.decide(_evidence([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], {"x": 1}, {"x": 1}))
    assert verdict.decision is Decision.FAILED and "absent" in verdict.reason


def test_the_champion_is_measured_every_batch_whatever_its_shared_samples():
    """The weights need this cycle's champion metrics: unlike welch, the weighted judge
    never leaves the champion's side to its shared samples."""
    from ratchet.core.types import Moments

    judge = WeightedJudge(weights={"reward": 1.0}, batch=4, max_samples=40)
    evidence = Evidence("samples", shared=Moments.of([float(i) for i in range(50)]))
    assert judge.batch_sizes(evidence) == (4, 4)
