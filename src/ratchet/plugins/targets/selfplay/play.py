"""Self-play: many games at once with one network, each move chosen by PUCT search.

A finished game is a ``GameRecord``: the moves, each move's search distribution (the
training target for the policy; empty for a move searched fast, which is no training
target), the result, and who played it. Observations are not stored: training replays
the moves through the game engine to rebuild them.

Two of KataGo's ways to learn more per game are options: playout-cap randomization (a
share of the moves get the full search and become training targets, the rest a fast
one, so that a game costs fewer simulations while its result still trains the value),
a temperature schedule (plies in proportion to visits, then a lower temperature), and
resignation with a check rate (a player whose search values its position below
``resign_value`` resigns, but in a share of the games play goes on, so that the rate of
false resignations, games the would-be resigner did not lose, is measured).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ratchet.plugins.targets.selfplay.mcts import Evaluator, SearchConfig, choose, search


@dataclass
class GameRecord:
    game: str
    moves: list[int] = field(default_factory=list)
    # each move's search distribution, sparse: {action: share of the root's visits};
    # {} for a move searched fast (playout-cap randomization): no training target
    policies: list[dict[int, float]] = field(default_factory=list)
    returns: tuple[float, ...] = ()
    version: int = 0           # the champion version that played it
    worker: str = ""
    host: str = field(default_factory=socket.gethostname)
    duration_s: float = 0.0
    resigned: int | None = None      # the player who resigned (the game ended there)
    would_resign: int | None = None  # a checked game: who would have resigned first
    # each move's root value for the player to move (the search's q, mixed into the
    # value target by value_q_weight); [] in games stored before they were kept
    root_values: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"game": self.game, "moves": self.moves,
                "policies": [{str(a): p for a, p in pol.items()} for pol in self.policies],
                "root_values": self.root_values,
                "returns": list(self.returns), "version": self.version,
                "worker": self.worker, "host": self.host, "duration_s": self.duration_s,
                "resigned": self.resigned, "would_resign": self.would_resign}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GameRecord:
        return cls(data["game"], list(data["moves"]),
                   [{int(a): float(p) for a, p in pol.items()} for pol in data["policies"]],
                   tuple(data["returns"]), data["version"], data["worker"], data["host"],
                   data["duration_s"], data.get("resigned"), data.get("would_resign"),
                   [float(v) for v in data.get("root_values", [])])

    @property
    def false_resignation(self) -> bool:
        """A checked game whose would-be resigner did not lose."""
        return self.would_resign is not None and self.returns[self.would_resign] >= 0


@dataclass(frozen=True)
class SelfPlayConfig:
    search: SearchConfig = SearchConfig(noise=True)
    temperature_moves: int = 8  # plies played in proportion to visits^(1/temperature)
    temperature: float = 1.0
    temperature_end: float = 0.0  # after them (0: the most visited move)
    full_search_share: float = 1.0  # the share of moves searched in full (the rest fast)
    fast_simulations: int = 16  # a fast search: these simulations, no root noise
    resign_value: float | None = None  # resign below this value (None: never)
    resign_check_share: float = 0.1  # games played on anyway (false resignations counted)

    def temperature_at(self, ply: int) -> float:
        return self.temperature if ply < self.temperature_moves else self.temperature_end


def play_games(game: Any, name: str, evaluator: Evaluator, n: int, config: SelfPlayConfig,
               rng: np.random.Generator, *, version: int = 0, worker: str = ""
               ) -> list[GameRecord]:
    """``n`` games of ``game`` played to the end, side by side: every round of the search
    evaluates the leaves of all unfinished games in one batch."""
    actions = game.num_distinct_actions()
    started = time.monotonic()
    states = [game.new_initial_state() for _ in range(n)]
    records = [GameRecord(name, version=version, worker=worker) for _ in range(n)]
    fast = replace(config.search, simulations=config.fast_simulations, noise=False)
    checked = [config.resign_value is None or rng.random() < config.resign_check_share
               for _ in range(n)]
    active = list(range(n))
    while active:
        full = (active if config.full_search_share >= 1 else
                [i for i in active if rng.random() < config.full_search_share])
        in_full = set(full)
        quick = [i for i in active if i not in in_full]
        visits, values = {}, {}
        for group, search_config in ((full, config.search), (quick, fast)):
            if group:
                found: list[float] = []
                visits.update(zip(group, search([states[i] for i in group], evaluator,
                                                actions, search_config, rng, found),
                                  strict=True))
                values.update(zip(group, found, strict=True))
        for i in active:
            record, state, counts = records[i], states[i], visits[i]
            if config.resign_value is not None and values[i] < config.resign_value:
                mover = state.current_player()
                if not checked[i]:
                    record.resigned = mover
                    record.returns = tuple(-1.0 if p == mover else 1.0
                                           for p in range(game.num_players()))
                    record.duration_s = time.monotonic() - started
                    continue
                if record.would_resign is None:
                    record.would_resign = mover
            total = counts.sum()
            record.policies.append({int(a): float(counts[a] / total)
                                    for a in np.flatnonzero(counts)} if i in in_full else {})
            record.root_values.append(round(float(values[i]), 4))
            move = choose(counts, config.temperature_at(len(record.moves)), rng)
            record.moves.append(move)
            state.apply_action(move)
            if state.is_terminal():
                record.returns = tuple(float(r) for r in state.returns())
                record.duration_s = time.monotonic() - started
        active = [i for i in active if not states[i].is_terminal()
                  and records[i].resigned is None]
    return records
