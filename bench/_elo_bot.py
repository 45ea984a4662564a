"""A simulated game-playing bot whose true Elo is known, as a ratchet Target (games).

Three parameters in [0, 1]. The bot's true Elo against the opponent pool (rated 0) is
150 at the optimum and 23 at the start (the defaults), falling off as a tilted ellipse,
so the parameters interact. A game is won, drawn or lost with probabilities whose mean
is the logistic score of that Elo (20% draws). Games on the same seed share their luck
for half of the games (the same opening decides them), as paired games against fixed
opponents do; the other half are independent.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ratchet.core.space import Space
from ratchet.core.stats import elo_to_score
from ratchet.core.types import EvalTask, Measurement
from ratchet.plugins.targets import Target

NAMES = ("aggression", "caution", "lookahead")
START = np.array([0.2, 0.8, 0.5])
OPTIMUM = np.array([0.7, 0.35, 0.6])
START_ELO, BEST_ELO = 23.0, 150.0
DRAWS = 0.2
SHARED = 0.5  # share of a game's luck that the same seed gives every candidate
_TILT = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.0, 0.0, 3.0]])  # positive definite


def space() -> Space:
    return Space.from_dict({n: {"type": "float", "low": 0.0, "high": 1.0} for n in NAMES})


def point(params: dict[str, float]) -> np.ndarray:
    return np.array([params[n] for n in NAMES])


def _distance(x: np.ndarray) -> float:
    d = x - OPTIMUM
    return float(d @ _TILT @ d)


def true_elo(params: dict[str, float]) -> float:
    return BEST_ELO - (BEST_ELO - START_ELO) * _distance(point(params)) / _distance(START)


def true_score(params: dict[str, float]) -> float:
    return elo_to_score(true_elo(params))


class EloBot(Target):
    """``evaluations`` counts games played (the budget); ``by_role`` the games by role
    and ``examined`` the challengers measured."""

    name = "elo-bot"
    outcome = "games"

    def __init__(self, seed: int, shared: float = SHARED):
        self.shared = shared
        self.rng = np.random.default_rng([seed, 7])
        self.evaluations = 0
        self.by_role: Counter[str] = Counter()
        self.examined: set[str] = set()

    def baseline(self, space: Space) -> dict[str, float]:
        return dict(zip(NAMES, map(float, START), strict=True))

    def games(self, params: dict[str, float], n: int, seed: int) -> np.ndarray:
        """n games on ``seed``: 1 win, 0.5 draw, 0 loss."""
        self.evaluations += n
        p = true_score(params)
        win = max(p - DRAWS / 2, 0.0)
        shared = np.random.default_rng([seed, 11]).uniform(size=(n, 2))
        own = self.rng.uniform(size=n)
        luck = np.where(shared[:, 0] < self.shared, shared[:, 1], own)
        return np.where(luck < win, 1.0, np.where(luck < win + DRAWS, 0.5, 0.0))

    def evaluate(self, task: EvalTask) -> Measurement:
        seed = task.seed * 1_000 + task.shard
        self.by_role[task.role] += task.size
        if task.role in ("challenger", "screen"):
            self.examined.add(task.candidate.id)
        scores = self.games(task.candidate.params, task.size, seed)
        return Measurement("games", tuple(float(s) for s in scores), ordered=True)
