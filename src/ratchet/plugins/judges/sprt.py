"""Generalized SPRT (GSPRT) on game outcomes, as fishtest runs it.

Each observation is a score in a small discrete set:

* head-to-head (challenger plays the champion): one game, score 0, 1/2 or 1 — trinomial;
  or, where the games come in pairs from one opening with the sides swapped, the pair's
  mean score in {0, 1/4, 1/2, 3/4, 1} — pentanomial, since the two games of a pair are
  dependent and the pairs are not;
* paired (both play the same seeded game against fixed opponents): the pair score
  ``(1 + s_challenger - s_champion) / 2`` in {0, 1/4, 1/2, 3/4, 1} — pentanomial.

H0: expected score = s0, H1: expected score = s1, where s0/s1 come from the Elo bounds.
The log-likelihood ratio is the *generalized* one: under each hypothesis the outcome
distribution is the maximum-likelihood multinomial whose mean is s_k (found with one
Lagrange multiplier), so no draw model or variance has to be assumed. Wald's thresholds
log(beta/(1-alpha)) and log((1-beta)/alpha) give the stated error rates; ``max_games``
truncates (inconclusive at the cap means REJECT: no proof, no promotion), ``min_games``
guards against early lucky stops.

In paired mode the Elo is the challenger's rating advantage over the champion as measured
through the opponent pool: with the champion scoring p against the pool, a challenger
``elo`` points stronger scores L(E(p) + elo) where L is the logistic curve, so the pair
score has mean ``1/2 + (L(E(p) + elo) - p) / 2``. p is estimated from the cycle's games.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.stats import elo_to_score, score_to_elo
from ratchet.core.types import Decision, Evidence, Verdict
from ratchet.plugins.judges._base import Judge

TRINOMIAL = np.array([0.0, 0.5, 1.0])
PENTANOMIAL = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_PSEUDO_COUNT = 1e-3  # keeps every outcome possible, so every mean in (0, 1) is reachable


NELO_PER_SD = 800 / math.log(10)  # nElo = (score - 1/2) / per-game sd * 800 / ln 10


def _per_game_sd(variance: float, head_to_head: bool) -> float:
    """Per-game standard deviation from the observations' variance: of the game scores
    head-to-head; from pair scores (c - h + 1) / 2, whose per-game variance is twice
    theirs (fishtest's pentanomial)."""
    return math.sqrt(variance if head_to_head else 2.0 * variance)


def _variance(observations: Sequence[float]) -> float:
    """Sample variance (0 below two observations), in plain Python: a decision is made
    after every batch, on a few hundred scores at most."""
    n = len(observations)
    if n < 2:
        return 0.0
    mean = sum(observations) / n
    return sum((x - mean) ** 2 for x in observations) / (n - 1)


def _nelo(mean: float, sd: float) -> float | None:
    """Normalized Elo of a mean pair (or game) score."""
    return (mean - 0.5) / sd * NELO_PER_SD if sd > 0 else None


def constrained_mle(values: np.ndarray, freqs: np.ndarray, mean: float) -> np.ndarray:
    """The distribution on ``values`` with the given mean that maximises the likelihood of
    observed frequencies ``freqs``: p_i = f_i / (1 + lam * (v_i - mean))."""
    return np.array(_constrained_mle(list(map(float, values)), list(map(float, freqs)), mean))


def _constrained_mle(values: list[float], freqs: list[float], mean: float) -> list[float]:
    d = [v - mean for v in values]
    lam = _multiplier(freqs, d)
    p = [f / (1.0 + lam * di) for f, di in zip(freqs, d, strict=True)]
    total = sum(p)
    return [x / total for x in p]


def _multiplier(freqs: list[float], d: list[float]) -> float:
    """The lam in (-1/max d, -1/min d) where g(lam) = sum f d / (1 + lam d) is 0. g falls
    as lam rises, so Newton's steps are kept inside a bracket that shrinks around the root
    (plain Python: a decision solves two of these, on 3 or 5 values, after every batch)."""
    lo, hi = -1.0 / max(d), -1.0 / min(d)
    x = 0.0
    for _ in range(200):
        g = slope = 0.0
        for f, di in zip(freqs, d, strict=True):
            q = di / (1.0 + x * di)
            g += f * q
            slope -= f * q * q
        if g == 0.0:
            return x
        if g > 0.0:
            lo = x
        else:
            hi = x
        step = x - g / slope
        if not lo < step < hi:
            step = 0.5 * (lo + hi)
        if abs(step - x) <= 1e-15 * max(1.0, abs(x)):
            return step
        x = step
    return x


def gsprt_llr(values: Sequence[float], counts: Sequence[float], s0: float, s1: float) -> float:
    n = float(sum(counts))
    freqs = [(float(c) + _PSEUDO_COUNT) / (n + _PSEUDO_COUNT * len(counts)) for c in counts]
    v = list(map(float, values))
    p0 = _constrained_mle(v, freqs, s0)
    p1 = _constrained_mle(v, freqs, s1)
    return n * sum(f * math.log(b / a) for f, a, b in zip(freqs, p0, p1, strict=True))


class SPRTJudge(Judge):
    kind: Literal["sprt"] = "sprt"
    elo0: float = Field(0.0, description="H0: the challenger is at most this much stronger")
    elo1: float = Field(20.0, description="H1: the challenger is at least this much stronger")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="false promotion rate")
    beta: float = Field(0.05, gt=0, lt=0.5, description="missed improvement rate")
    batch: int = Field(20, ge=1, description="games a side between looks")
    min_games: int = Field(40, ge=0, description="no verdict before this many game pairs "
                           "(head-to-head: games)")
    max_games: int = Field(600, ge=1, description="inconclusive at this many game pairs "
                           "(each side plays one game of a pair: 600 pairs are 1200 games; "
                           "head-to-head: games) means reject")
    normalized: bool = Field(False, description="elo0 and elo1 are normalized Elo ("
                             "nElo: Elo over twice the per-game standard deviation, "
                             "estimated from the games), so the games a decision needs do "
                             "not grow as the champion's score against the pool rises")

    name: ClassVar[str] = "sprt"
    outcome: ClassVar[Literal["games"]] = "games"

    @model_validator(mode="after")
    def _check(self) -> SPRTJudge:
        if self.elo1 <= self.elo0:
            raise ValueError(f"elo1 ({self.elo1:g}) must be above elo0 ({self.elo0:g})")
        if self.max_games < self.min_games:
            raise ValueError("max_games must be at least min_games")
        return self

    @property
    def lower(self) -> float:
        return math.log(self.beta / (1 - self.alpha))

    @property
    def upper(self) -> float:
        return math.log((1 - self.beta) / self.alpha)

    def decide(self, evidence: Evidence) -> Verdict:
        values, observations, s0, s1, elo_fn = self._frame(evidence)
        if not observations:
            return Verdict(Decision.CONTINUE, "no games yet", {"n": 0})
        steps = len(values) - 1  # the values are 0, 1/steps, ..., 1
        counts = [0.0] * len(values)
        for x in observations:
            counts[round(x * steps)] += 1.0
        llr = gsprt_llr(values, counts, s0, s1)
        observed = len(observations)
        n = evidence.n  # what min_games and max_games count: game pairs, or games head to head
        mean = sum(observations) / observed
        var = _variance(observations)
        half = 1.96 * math.sqrt(var / observed) if observed > 1 else math.inf
        trinomial = len(values) == len(TRINOMIAL)
        stats = {"llr": llr, "lower": self.lower, "upper": self.upper, "n": n,
                 "nelo": _nelo(mean, _per_game_sd(var, trinomial)),
                 "games": evidence.games_played,
                 ("h2h_score" if evidence.head_to_head else "pair_score"): mean,
                 "elo": elo_fn(mean),
                 "elo_low": elo_fn(max(mean - half, 1e-6)),
                 "elo_high": elo_fn(min(mean + half, 1 - 1e-6))}
        if n < self.min_games:
            return Verdict(Decision.CONTINUE, f"{n} < min_games {self.min_games}", stats)
        if llr >= self.upper:
            return Verdict(Decision.PROMOTE, f"LLR {llr:.2f} >= {self.upper:.2f} "
                           f"(H1: elo >= {self.elo1:g})", stats)
        if llr <= self.lower:
            return Verdict(Decision.REJECT, f"LLR {llr:.2f} <= {self.lower:.2f} "
                           f"(H0: elo <= {self.elo0:g})", stats)
        if n >= self.max_games:
            return Verdict(Decision.REJECT, f"max_games {self.max_games} reached, "
                           f"LLR {llr:.2f} inconclusive", {**stats, "inconclusive": True})
        return Verdict(Decision.CONTINUE, f"LLR {llr:.2f} in ({self.lower:.2f}, "
                       f"{self.upper:.2f})", stats)

    def _frame(self, ev: Evidence):
        if ev.head_to_head and ev.games_in_pairs and ev.pairs:
            pairs = [(a + b) / 2.0 for a, b in ev.pairs]
            if self.normalized:
                s0, s1 = self._normalized_means(pairs, head_to_head=False)
                return PENTANOMIAL, pairs, s0, s1, score_to_elo
            return (PENTANOMIAL, pairs, elo_to_score(self.elo0), elo_to_score(self.elo1),
                    score_to_elo)
        if ev.head_to_head:
            games = [float(x) for x in ev.challenger]
            if self.normalized:
                s0, s1 = self._normalized_means(games, head_to_head=True)
                return TRINOMIAL, games, s0, s1, score_to_elo
            return (TRINOMIAL, games, elo_to_score(self.elo0), elo_to_score(self.elo1),
                    score_to_elo)
        obs = [(1.0 + c - h) / 2.0 for c, h in ev.pairs]
        p = min(max(sum(h for _, h in ev.pairs) / len(ev.pairs) if ev.pairs else 0.5, 0.02),
                0.98)
        base = score_to_elo(p)

        def pair_mean(elo: float) -> float:
            return 0.5 + (elo_to_score(base + elo) - p) / 2.0

        def elo_of(pair_score: float) -> float:
            q = min(max(p + 2.0 * pair_score - 1.0, 1e-6), 1 - 1e-6)
            return score_to_elo(q) - base

        if self.normalized:
            s0, s1 = self._normalized_means(obs, head_to_head=False)
            return PENTANOMIAL, obs, s0, s1, elo_of
        return PENTANOMIAL, obs, pair_mean(self.elo0), pair_mean(self.elo1), elo_of

    def _normalized_means(self, observations: Sequence[float], *, head_to_head: bool
                          ) -> tuple[float, float]:
        """The mean scores of H0 and H1 for normalized bounds: 1/2 + nElo / C * sd, where
        sd is the per-game standard deviation of the observations (a pair score is the mean
        of two games: the challenger's, and the champion's seen from the other side) and a
        floor keeps the hypotheses apart before the games have spread."""
        sd = max(_per_game_sd(_variance(observations), head_to_head), 0.05)

        def mean(nelo: float) -> float:
            return min(max(0.5 + nelo / NELO_PER_SD * sd, 0.001), 0.999)
        return mean(self.elo0), mean(self.elo1)
