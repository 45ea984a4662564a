import math
import random

import numpy as np
import pytest

from ratchet.core.stats import elo_to_score, score_to_elo
from ratchet.core.types import Decision, Evidence, Measurement
from ratchet.plugins.judges.sprt import (
    PENTANOMIAL,
    TRINOMIAL,
    SPRTJudge,
    constrained_mle,
    gsprt_llr,
)


def test_constrained_mle_has_the_requested_mean_and_sums_to_one():
    freqs = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    for mean in (0.3, 0.5, 0.62):
        p = constrained_mle(PENTANOMIAL, freqs, mean)
        assert p.sum() == pytest.approx(1.0)
        assert (p * PENTANOMIAL).sum() == pytest.approx(mean, abs=1e-9)
        assert (p > 0).all()


def test_llr_sign_follows_the_evidence():
    good = np.array([10, 40, 50.0])   # mostly wins
    bad = np.array([50, 40, 10.0])
    s0, s1 = elo_to_score(0), elo_to_score(20)
    assert gsprt_llr(TRINOMIAL, good, s0, s1) > 0
    assert gsprt_llr(TRINOMIAL, bad, s0, s1) < 0


def _simulate(judge: SPRTJudge, elo: float, rng: random.Random, p_champion=0.3,
              correlation=0.6):
    """Paired games against a pool: the champion wins with p_champion, the challenger with
    the probability that is ``elo`` points better; outcomes share a seed with probability
    ``correlation`` (common random numbers)."""
    p_challenger = elo_to_score(score_to_elo(p_champion) + elo)
    ev = Evidence("games")
    while True:
        for _ in range(judge.batch):
            u = rng.random()
            v = u if rng.random() < correlation else rng.random()
            ev.pairs.append((float(u < p_challenger), float(v < p_champion)))
            ev.challenger.append(0.0)
            ev.champion.append(0.0)
        verdict = judge.decide(ev)
        if verdict.decision.is_final():
            return verdict, ev.n


def test_error_rates_on_simulated_games():
    judge = SPRTJudge(elo0=0, elo1=50, alpha=0.05, beta=0.05, batch=20, min_games=40,
                      max_games=3000)
    rng = random.Random(1)
    runs = 400
    false = sum(_simulate(judge, 0, rng)[0].decision is Decision.PROMOTE for _ in range(runs))
    detected = sum(_simulate(judge, 50, rng)[0].decision is Decision.PROMOTE
                   for _ in range(runs))
    # alpha = 0.05: above 30 of 400 has chance 1.3% at a true 5%, and 98% at a true 10%
    assert false <= 30, f"{false} false promotions of {runs}"
    assert detected / runs >= 0.90


def _head_to_head_pairs(judge: SPRTJudge, rng: random.Random, *, in_pairs: bool,
                        replayed: float = 0.8) -> Decision:
    """Two equal players, head to head, in pairs from one opening with the sides swapped;
    with probability ``replayed`` the opening decides both games (the same player wins
    both), otherwise the games are independent coin flips."""
    ev = Evidence("games", head_to_head=True, games_in_pairs=in_pairs)
    while True:
        scores: list[float] = []
        for _ in range(judge.batch // 2):
            first = float(rng.random() < 0.5)
            second = first if rng.random() < replayed else float(rng.random() < 0.5)
            scores += [first, second]
        ev.add(Measurement("games", tuple(scores), ordered=True), None, rng)
        verdict = judge.decide(ev)
        if verdict.decision.is_final():
            return verdict.decision


def test_head_to_head_pairs_are_judged_as_pairs():
    """Dependent games counted as independent promote equal players far too often; the
    pentanomial on pairs keeps the stated rate."""
    judge = SPRTJudge(elo0=0, elo1=30, alpha=0.05, beta=0.05, batch=20, min_games=40,
                      max_games=800)
    rng = random.Random(4)
    runs = 300
    as_pairs = sum(_head_to_head_pairs(judge, rng, in_pairs=True) is Decision.PROMOTE
                   for _ in range(runs))
    as_games = sum(_head_to_head_pairs(judge, rng, in_pairs=False) is Decision.PROMOTE
                   for _ in range(runs))
    assert as_pairs <= 24, f"{as_pairs} of {runs} equal pairs promoted"  # 8%
    assert as_games >= 2 * max(as_pairs, 10), (as_games, as_pairs)


def test_head_to_head_uses_trinomial_scores():
    judge = SPRTJudge(elo0=0, elo1=30, batch=50, min_games=50, max_games=5000)
    ev = Evidence("games", head_to_head=True)
    ev.challenger = [1.0] * 60 + [0.0] * 20
    verdict = judge.decide(ev)
    assert verdict.decision is Decision.PROMOTE
    assert verdict.stats["elo"] == pytest.approx(score_to_elo(0.75))


def test_min_games_holds_back_an_early_lucky_stop_and_max_games_rejects():
    judge = SPRTJudge(elo0=0, elo1=20, batch=10, min_games=100, max_games=120)
    ev = Evidence("games")
    ev.pairs = [(1.0, 0.0)] * 10
    assert judge.decide(ev).decision is Decision.CONTINUE
    ev.pairs = [(1.0, 0.0), (0.0, 1.0)] * 60
    verdict = judge.decide(ev)
    assert verdict.decision is Decision.REJECT
    assert "max_games" in verdict.reason


def test_bounds_are_walds():
    judge = SPRTJudge(alpha=0.05, beta=0.1)
    assert judge.upper == pytest.approx(math.log(0.9 / 0.05))
    assert judge.lower == pytest.approx(math.log(0.1 / 0.95))


def test_normalized_bounds_need_as_many_games_however_strong_the_champion():
    """Equal challenger and champion; with logistic Elo bounds the games a verdict needs
    grow as the champion's score against the pool rises, with normalized ones they do
    not. The stated false promotion rate holds under both."""
    rng = random.Random(3)

    def mean_pairs(judge, p):
        runs = [_simulate(judge, 0, rng, p_champion=p, correlation=0.5) for _ in range(30)]
        return (np.mean([n for _, n in runs]),
                sum(v.decision is Decision.PROMOTE for v, _ in runs))

    logistic = SPRTJudge(elo0=0, elo1=40, batch=20, min_games=40, max_games=3000)
    normalized = logistic.model_copy(update={"normalized": True})
    plain = [mean_pairs(logistic, p) for p in (0.5, 0.9)]
    scaled = [mean_pairs(normalized, p) for p in (0.5, 0.9)]
    assert plain[1][0] > 1.8 * plain[0][0]  # the logistic bounds ask ever more
    assert scaled[1][0] < 1.4 * scaled[0][0]
    assert sum(promoted for _, promoted in plain + scaled) <= 12  # of 120 (alpha 0.05)
    verdict, _ = _simulate(normalized, 0, rng)
    assert verdict.stats["nelo"] is not None
