"""Ratings in one pool: the maximum-likelihood Bradley-Terry fit over every rated game of
one game configuration, on the Elo scale, anchored at one player (uniform random = 0).

    P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400))

A draw counts as half a win for each side. Each rating gets a 95% interval from the
inverse of the observed information (the Hessian of the negative log-likelihood) with the
anchor held fixed. Not an Elo K-factor update: the fit uses every game at once, so the
order in which games arrived does not matter. Ratings of different pools (game
configurations) are never comparable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

SCALE = 400.0 / math.log(10.0)  # Elo points per natural-log unit of strength
PRIOR_GAMES = 0.5  # a weak tie against the anchor per player keeps unbeaten players finite


@dataclass(frozen=True)
class Rating:
    player: str
    elo: float
    low: float
    high: float
    games: int


def fit(results: Iterable[tuple[str, str, float]], anchor: str) -> dict[str, Rating]:
    """``results``: (player, opponent, player's score: 1, 0.5 or 0) per game."""
    players = [anchor]
    index = {anchor: 0}
    rows = []
    for a, b, score in results:
        for p in (a, b):
            if p not in index:
                index[p] = len(players)
                players.append(p)
        rows.append((index[a], index[b], float(score)))
    n = len(players)
    wins = np.zeros((n, n))  # wins[i, j]: i's score against j, summed over games
    games = np.zeros((n, n))
    for i, j, s in rows:
        wins[i, j] += s
        wins[j, i] += 1 - s
        games[i, j] += 1
        games[j, i] += 1
    for i in range(1, n):  # the prior: half a drawn game against the anchor
        wins[i, 0] += PRIOR_GAMES / 2
        wins[0, i] += PRIOR_GAMES / 2
        games[i, 0] += PRIOR_GAMES
        games[0, i] += PRIOR_GAMES

    def negative_log_likelihood(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.concatenate([[0.0], free])
        diff = theta[:, None] - theta[None, :]
        p = 1.0 / (1.0 + np.exp(-diff))  # P(i beats j) in natural units
        nll = -np.sum(wins * np.log(np.clip(p, 1e-300, None)))
        grad = -(wins - games * p).sum(axis=1)
        return float(nll), grad[1:]

    if n == 1:
        return {anchor: Rating(anchor, 0.0, 0.0, 0.0, 0)}
    solved = minimize(negative_log_likelihood, np.zeros(n - 1), jac=True, method="BFGS")
    theta = np.concatenate([[0.0], solved.x])
    p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
    info = games * p * (1 - p)  # the observed information of the pairwise model
    hessian = np.diag(info.sum(axis=1)) - info
    covariance = np.linalg.inv(hessian[1:, 1:])
    se = np.concatenate([[0.0], np.sqrt(np.clip(np.diag(covariance), 0, None))])
    real_games = np.zeros(n, dtype=int)
    for i, j, _ in rows:
        real_games[i] += 1
        real_games[j] += 1
    return {player: Rating(player, SCALE * theta[k], SCALE * (theta[k] - 1.96 * se[k]),
                           SCALE * (theta[k] + 1.96 * se[k]), int(real_games[k]))
            for player, k in index.items()}
