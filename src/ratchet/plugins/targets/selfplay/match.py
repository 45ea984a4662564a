"""Players and matches: the network with search, and the fixed anchors (uniform random,
OpenSpiel's MCTS with random rollouts) that keep a rating pool honest.

A match is played in pairs: both games of a pair start from the same random opening
(``opening_moves`` plies), with the sides swapped, so neither the first move's advantage
nor a lucky opening favours one player. Games of a match run side by side, so a network
player evaluates every game's leaf in one forward pass.

A network player with search is deterministic given the position, so a match of such
players would replay a handful of games for every opening. For the first
``sampled_plies`` plies of each game it therefore plays in proportion to its visit
counts, from its own seeded random stream: every game is a fresh sample of the players'
strength, and the games of a match are independent (distinct move lists, see
``GameResult.moves``); after those plies it plays its best move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ratchet.core.errors import EvaluationError
from ratchet.plugins.targets.selfplay.mcts import SearchConfig, choose, search


class Stopped(EvaluationError):
    """Work abandoned because ratchet is stopping (its batch is discarded)."""


class Player(Protocol):
    name: str

    def moves(self, states: Sequence[Any]) -> list[int]:
        """A move for each state (each is a position where this player is to move)."""


class RandomPlayer:
    """Uniform over legal moves: the pool's anchor, rated 0."""

    def __init__(self, seed: int = 0, name: str = "random"):
        self.name = name
        self.rng = np.random.default_rng(seed)

    def moves(self, states: Sequence[Any]) -> list[int]:
        return [int(self.rng.choice(s.legal_actions())) for s in states]


class MCTSAnchor:
    """OpenSpiel's MCTS (C++) with random rollouts: a heuristic opponent whose strength
    is fixed by its simulation count."""

    def __init__(self, game: Any, simulations: int, seed: int = 0):
        import pyspiel

        self.name = f"mcts-{simulations}"
        self.bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, seed), 2.0,
                                   simulations, 1000, False, seed, False)

    def moves(self, states: Sequence[Any]) -> list[int]:
        return [int(self.bot.step(s)) for s in states]


class NetworkPlayer:
    """The network with PUCT search, no noise: in the first ``sampled_plies`` plies of a
    game a move drawn in proportion to its visits, then the most visited move."""

    def __init__(self, name: str, net: Any, actions: int, config: SearchConfig,
                 seed: int = 0, sampled_plies: int = 0):
        self.name = name
        self.net = net
        self.actions = actions
        self.config = SearchConfig(**{**config.__dict__, "noise": False})
        self.rng = np.random.default_rng(seed)
        self.sampled_plies = sampled_plies

    def moves(self, states: Sequence[Any]) -> list[int]:
        visits = search(states, self.net.evaluate, self.actions, self.config, self.rng)
        return [choose(v, 1.0 if len(s.history()) < self.sampled_plies else 0.0, self.rng)
                for s, v in zip(states, visits, strict=True)]


@dataclass(frozen=True)
class GameResult:
    pair: int
    first: str   # the player who moved first
    second: str
    score: float  # the first player's: 1 win, 0.5 draw, 0 loss
    length: int
    finished: bool = True  # False: cut off at the move limit (scored as a draw)
    moves: tuple[int, ...] = ()  # the whole game, opening included


def play_pairs(game: Any, a: Player, b: Player, pairs: int, seed: int,
               opening_moves: int = 2, max_moves: int | None = None,
               stopping: Callable[[], bool] | None = None) -> list[GameResult]:
    """``pairs`` pairs of games between ``a`` and ``b``; in each pair both games start
    from the same random opening, ``a`` moving first in one and second in the other. A
    game longer than ``max_moves`` (default: the game's own limit) is a draw. Once
    ``stopping()`` is true (looked at before each move) the games are abandoned:
    ``Stopped`` is raised."""
    limit = max_moves or game.max_game_length()
    states, order = [], []
    for pair in range(pairs):
        opening = game.new_initial_state()
        rng = np.random.default_rng([seed, pair])
        for _ in range(opening_moves):
            if opening.is_terminal():
                break
            opening.apply_action(int(rng.choice(opening.legal_actions())))
        for first, second in ((a, b), (b, a)):
            states.append(opening.clone())
            order.append((pair, first, second))
    lengths = [0] * len(states)
    active = [i for i, s in enumerate(states) if not s.is_terminal()]
    while active:
        if stopping is not None and stopping():
            raise Stopped("games abandoned: ratchet is stopping")
        for side in (0, 1):  # OpenSpiel's player 0 is the one who moved first
            players = {}
            for i in active:
                if states[i].current_player() == side:
                    players.setdefault(id(order[i][1 + side]), []).append(i)
            for indices in players.values():
                player = order[indices[0]][1 + side]
                for i, move in zip(indices, player.moves([states[i] for i in indices]),
                                   strict=True):
                    states[i].apply_action(move)
                    lengths[i] += 1
        active = [i for i in active if not states[i].is_terminal() and lengths[i] < limit]
    results = []
    for i, state in enumerate(states):
        pair, first, second = order[i]
        score = (state.returns()[0] + 1) / 2 if state.is_terminal() else 0.5
        results.append(GameResult(pair, first.name, second.name, float(score), lengths[i],
                                  state.is_terminal(), tuple(state.history())))
    return results


def scores_of(results: Sequence[GameResult], player: str) -> list[float]:
    """``player``'s score in each game, in game order."""
    return [r.score if r.first == player else 1 - r.score for r in results
            if player in (r.first, r.second)]
