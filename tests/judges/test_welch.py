import random

from ratchet.core.types import Decision, Evidence
from ratchet.plugins.judges.welch import WelchJudge


def _run(judge: WelchJudge, rng: random.Random, champion_mean: float, challenger_mean: float,
         sd: float = 5.0) -> tuple[Decision, int]:
    ev = Evidence("samples")
    while True:
        ev.challenger += [rng.gauss(challenger_mean, sd) for _ in range(judge.batch)]
        ev.champion += [rng.gauss(champion_mean, sd) for _ in range(judge.batch)]
        verdict = judge.decide(ev)
        if verdict.decision.is_final():
            return verdict.decision, ev.n


def test_false_promotions_stay_below_one_minus_confidence():
    judge = WelchJudge(min_improvement=0.01, confidence=0.95, batch=3, max_samples=30)
    rng = random.Random(0)
    runs = 400
    # The challenger is exactly as good as the champion: promoting it is an error.
    false = sum(_run(judge, rng, 100, 100)[0] is Decision.PROMOTE for _ in range(runs))
    assert false / runs <= 0.05


def test_detects_a_real_improvement_and_rejects_a_worse_one():
    judge = WelchJudge(min_improvement=0.01, confidence=0.95, batch=3, max_samples=30)
    rng = random.Random(1)
    wins = sum(_run(judge, rng, 100, 108)[0] is Decision.PROMOTE for _ in range(100))
    assert wins >= 90
    decisions = [_run(judge, rng, 100, 90) for _ in range(50)]
    assert all(d is Decision.REJECT for d, _ in decisions)
    assert sum(n for _, n in decisions) / 50 < 30  # futility stops early


def test_minimize_direction():
    judge = WelchJudge(min_improvement=0.02, direction="minimize", batch=5, max_samples=30)
    rng = random.Random(2)
    assert _run(judge, rng, 100, 90)[0] is Decision.PROMOTE
    assert _run(judge, rng, 100, 110)[0] is Decision.REJECT


def _paired_run(judge: WelchJudge, rng: random.Random, gain: float,
                drift_sd: float) -> tuple[Decision, int]:
    """Interleaved runs on a machine whose speed wanders a lot between pairs and little
    within one: what ABBA measurement sees."""
    ev = Evidence("samples", paired=True)
    level = 100.0
    while True:
        for _ in range(judge.batch):
            level += rng.gauss(0, drift_sd)
            c, h = level * (1 + gain) + rng.gauss(0, 0.5), level + rng.gauss(0, 0.5)
            ev.challenger.append(c)
            ev.champion.append(h)
            ev.pairs.append((c, h))
        verdict = judge.decide(ev)
        if verdict.decision.is_final():
            return verdict.decision, ev.n


def test_paired_evidence_is_judged_on_differences_and_cancels_the_drift():
    judge = WelchJudge(min_improvement=0.01, batch=3, max_samples=30)
    rng = random.Random(3)
    false = sum(_paired_run(judge, rng, 0.0, 5.0)[0] is Decision.PROMOTE for _ in range(200))
    assert false / 200 <= 0.05
    # a 3% gain under a drift of 5 a pair: hidden from the unpaired test, plain in pairs
    wins = sum(_paired_run(judge, rng, 0.03, 5.0)[0] is Decision.PROMOTE for _ in range(50))
    assert wins >= 45


def test_no_verdict_before_the_minimum_a_side():
    judge = WelchJudge(batch=3, max_samples=30)
    ev = Evidence("samples")
    ev.challenger += [200.0] * 9
    ev.champion += [100.0, 101.0, 99.0] * 3
    assert judge.min_samples == 10
    assert judge.decide(ev).decision is Decision.CONTINUE


def test_the_margin_is_stated_relative_or_absolute_and_is_any_gain_by_default():
    import pytest

    assert WelchJudge().min_improvement == 0 and WelchJudge().min_difference is None
    with pytest.raises(ValueError, match="not both"):
        WelchJudge(min_improvement=0.01, min_difference=0.5)
    rng = random.Random(3)
    # a champion at 0.986 and a challenger better by 0.2% of it (0.002): low noise, any
    # gain proven; a 1% relative margin cannot be reached; an absolute 0.001 can
    quiet = 0.0005
    for judge, wanted in ((WelchJudge(batch=3, max_samples=30), Decision.PROMOTE),
                          (WelchJudge(min_improvement=0.01, batch=3, max_samples=30),
                           Decision.REJECT),
                          (WelchJudge(min_difference=0.001, batch=3, max_samples=30),
                           Decision.PROMOTE),
                          (WelchJudge(min_difference=0.005, batch=3, max_samples=30),
                           Decision.REJECT)):
        decisions = [_run(judge, rng, 0.986, 0.988, sd=quiet)[0] for _ in range(20)]
        assert decisions.count(wanted) >= 18, (judge, decisions)


def test_an_absolute_margin_when_minimizing():
    rng = random.Random(4)
    judge = WelchJudge(min_difference=2.0, direction="minimize", batch=5, max_samples=30)
    assert [_run(judge, rng, 100, 90)[0] for _ in range(10)].count(Decision.PROMOTE) >= 9
    assert [_run(judge, rng, 100, 101)[0] for _ in range(10)].count(Decision.REJECT) == 10
    verdict_reason = judge.decide(_evidence(rng, 100, 90, 30)).reason
    assert "beats +2" in verdict_reason and "%" not in verdict_reason


def test_an_equal_challenger_is_promoted_at_most_at_the_stated_rate_with_no_margin():
    judge = WelchJudge(confidence=0.95, batch=3, max_samples=30)
    rng = random.Random(5)
    runs = 400
    false = sum(_run(judge, rng, 100, 100)[0] is Decision.PROMOTE for _ in range(runs))
    assert false / runs <= 0.05


def _evidence(rng: random.Random, champion: float, challenger: float, n: int) -> Evidence:
    ev = Evidence("samples")
    ev.challenger += [rng.gauss(challenger, 5.0) for _ in range(n)]
    ev.champion += [rng.gauss(champion, 5.0) for _ in range(n)]
    return ev
