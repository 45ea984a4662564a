"""Self-play: many games at once with one network, each move chosen by PUCT search.

A finished game is a ``GameRecord``: the moves, each move's search distribution (the
training target for the policy), the result, and who played it. Observations are not
stored: training replays the moves through the game engine to rebuild them.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ratchet.plugins.targets.selfplay.mcts import Evaluator, SearchConfig, choose, search


@dataclass
class GameRecord:
    game: str
    moves: list[int] = field(default_factory=list)
    # each move's search distribution, sparse: {action: share of the root's visits}
    policies: list[dict[int, float]] = field(default_factory=list)
    returns: tuple[float, ...] = ()
    version: int = 0           # the champion version that played it
    worker: str = ""
    host: str = field(default_factory=socket.gethostname)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"game": self.game, "moves": self.moves,
                "policies": [{str(a): p for a, p in pol.items()} for pol in self.policies],
                "returns": list(self.returns), "version": self.version,
                "worker": self.worker, "host": self.host, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GameRecord:
        return cls(data["game"], list(data["moves"]),
                   [{int(a): float(p) for a, p in pol.items()} for pol in data["policies"]],
                   tuple(data["returns"]), data["version"], data["worker"], data["host"],
                   data["duration_s"])


@dataclass(frozen=True)
class SelfPlayConfig:
    search: SearchConfig = SearchConfig(noise=True)
    temperature_moves: int = 8  # moves played in proportion to visits; then the best
    temperature: float = 1.0


def play_games(game: Any, name: str, evaluator: Evaluator, n: int, config: SelfPlayConfig,
               rng: np.random.Generator, *, version: int = 0, worker: str = ""
               ) -> list[GameRecord]:
    """``n`` games of ``game`` played to the end, side by side: every round of the search
    evaluates the leaves of all unfinished games in one batch."""
    actions = game.num_distinct_actions()
    started = time.monotonic()
    states = [game.new_initial_state() for _ in range(n)]
    records = [GameRecord(name, version=version, worker=worker) for _ in range(n)]
    active = list(range(n))
    while active:
        visits = search([states[i] for i in active], evaluator, actions, config.search, rng)
        for i, counts in zip(active, visits, strict=True):
            record, state = records[i], states[i]
            total = counts.sum()
            record.policies.append({int(a): float(counts[a] / total)
                                    for a in np.flatnonzero(counts)})
            temperature = (config.temperature if len(record.moves) < config.temperature_moves
                           else 0.0)
            move = choose(counts, temperature, rng)
            record.moves.append(move)
            state.apply_action(move)
            if state.is_terminal():
                record.returns = tuple(float(r) for r in state.returns())
                record.duration_s = time.monotonic() - started
        active = [i for i in active if not states[i].is_terminal()]
    return records
