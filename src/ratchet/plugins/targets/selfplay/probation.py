"""Probation: is a new champion worse than the one it replaced?

The new champion plays its predecessor head to head on fresh games (seeds of the run's
``probation`` stream, never a promotion test's; every game a new sample, see
``match``), in pairs with the sides swapped. The decision is a sequential test with
stated error rates, from the predecessor's side:

* H0: the predecessor is no stronger (Elo difference <= 0): keep the champion;
* H1: the predecessor is stronger by at least ``elo``: revert to it.

An equal champion is reverted with probability at most ``alpha``; one ``elo`` weaker is
reverted with probability at least ``1 - beta``. A test still undecided at ``max_games``
keeps the champion (no proof that it is worse).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ratchet.core.types import Decision, Evidence, Measurement
from ratchet.plugins.judges import SPRTJudge
from ratchet.plugins.targets.selfplay.match import GameResult, Player, play_pairs, scores_of


@dataclass(frozen=True)
class ProbationRule:
    elo: float = 50.0        # a champion this much weaker than its predecessor is reverted
    alpha: float = 0.05      # an equal champion reverted
    beta: float = 0.05       # a champion ``elo`` weaker kept
    batch: int = 20          # games between looks
    min_games: int = 40
    max_games: int = 400

    def judge(self) -> SPRTJudge:
        return SPRTJudge(elo0=0.0, elo1=self.elo, alpha=self.alpha, beta=self.beta,
                         batch=self.batch, min_games=min(self.min_games, self.max_games),
                         max_games=self.max_games)


@dataclass(frozen=True)
class ProbationResult:
    revert: bool
    reason: str
    games: list[GameResult]
    stats: dict[str, Any]


def probation_test(game: Any, champion: Player, predecessor: Player, rule: ProbationRule,
                   seeds: Callable[[int], int], opening_moves: int = 2,
                   max_moves: int | None = None,
                   stopping: Callable[[], bool] | None = None) -> ProbationResult:
    """The champion against its predecessor until the test decides; ``seeds(batch)``
    gives each batch's seed (fresh ones: the caller's ledger)."""
    judge = rule.judge()
    evidence = Evidence("games", head_to_head=True, games_in_pairs=True)
    played: list[GameResult] = []
    batch = 0
    while True:
        seed = seeds(batch)
        results = play_pairs(game, predecessor, champion, max(1, rule.batch // 2), seed,
                             opening_moves=opening_moves, max_moves=max_moves,
                             stopping=stopping)
        played += results
        evidence.add(Measurement("games", tuple(scores_of(results, predecessor.name)),
                                 ordered=True), None, random.Random(seed))
        verdict = judge.decide(evidence)
        batch += 1
        if verdict.decision.is_final():
            break
    revert = verdict.decision is Decision.PROMOTE
    score = 1.0 - _mean(scores_of(played, predecessor.name))
    reason = (f"{'worse than' if revert else 'not shown worse than'} its predecessor: "
              f"score {score:.3f} over {len(played)} fresh games ({verdict.reason})")
    return ProbationResult(revert, reason, played, dict(verdict.stats))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.5
