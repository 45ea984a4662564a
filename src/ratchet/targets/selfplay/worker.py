"""A self-play worker: plays games with the current champion, for as long as it runs, and
hands each batch of finished games to the coordinator.

Between batches it asks the feed for the champion's version; a new version is loaded only
if its weights hash matches the coordinator's record (a mismatch is refused, logged, and
the worker keeps playing with the network it has). A worker killed mid-batch loses only
the games of that batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ratchet.errors import RatchetError
from ratchet.targets.selfplay.mcts import Evaluator
from ratchet.targets.selfplay.play import GameRecord, SelfPlayConfig, play_games

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChampionRef:
    version: int
    stem: str      # where its weights (.safetensors) and architecture (.json) are
    sha256: str    # the coordinator's record of the weights' hash


class Feed(Protocol):
    def latest(self) -> ChampionRef:
        """The champion the coordinator has recorded now."""


Sink = Callable[[Sequence[GameRecord]], None]


@dataclass
class WorkerStats:
    batches: int = 0
    games: int = 0
    reloads: int = 0
    refused: int = 0
    version: int = -1
    playing_s: float = 0.0   # time spent playing batches
    network_s: float = 0.0   # of which, waiting for the network's forward passes


def run_worker(game_spec: str, feed: Feed, sink: Sink, stop: threading.Event, *,
               worker: str, games_per_batch: int = 8,
               config: SelfPlayConfig = SelfPlayConfig(), seed: int = 0,
               max_batches: int | None = None, stats: WorkerStats | None = None
               ) -> WorkerStats:
    """Play until ``stop`` is set (or ``max_batches``); returns what it did (``stats``,
    when given, is kept up to date as it goes)."""
    from ratchet.targets.selfplay.game import game_info, load_game
    from ratchet.targets.selfplay.network import load_network

    game = load_game(game_spec)
    info = game_info(game_spec, game)
    rng = np.random.default_rng(seed)
    stats = stats if stats is not None else WorkerStats()
    net = None
    refused: ChampionRef | None = None
    while not stop.is_set() and (max_batches is None or stats.batches < max_batches):
        ref = feed.latest()
        if ref.version != stats.version and ref != refused:
            try:
                net = load_network(ref.stem, info, sha256=ref.sha256)
                stats.version = ref.version
                stats.reloads += 1
                log.info("worker %s: playing with champion v%d", worker, ref.version)
            except RatchetError as exc:
                refused = ref
                stats.refused += 1
                log.error("worker %s: champion v%d refused: %s", worker, ref.version, exc)
        if net is None:  # nothing to play with yet
            stop.wait(1.0)
            refused = None  # the record may be corrected: try again
            continue
        started = time.perf_counter()
        records = play_games(game, game_spec, _timed(net.evaluate, stats), games_per_batch,
                             config, rng, version=stats.version, worker=worker)
        stats.playing_s += time.perf_counter() - started
        if stop.is_set():
            break  # stopped mid-batch: these games are not handed over
        sink(records)
        stats.batches += 1
        stats.games += len(records)
    return stats


def _timed(evaluate: Evaluator, stats: WorkerStats) -> Evaluator:
    def timed(observations: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        started = time.perf_counter()
        try:
            return evaluate(observations, legal)
        finally:
            stats.network_s += time.perf_counter() - started
    return timed
