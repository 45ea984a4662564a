"""A self-play worker: plays games with the current champion, for as long as it runs, and
hands each batch of finished games to the coordinator.

The champion reaches a worker as a message (version, the weights' bytes, the
architecture, and the weights' sha256 as the coordinator's store records it): no disk is
shared. Between batches the worker looks for a newer message; a new version is loaded
only if its weights hash to the recorded sha256 (a mismatch is refused, logged, and the
worker keeps playing with the network it has). A worker killed mid-batch loses only the
games of that batch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ratchet.core.errors import RatchetError
from ratchet.plugins.scaleout.workers import WorkerLink
from ratchet.plugins.targets.selfplay.mcts import Evaluator
from ratchet.plugins.targets.selfplay.play import GameRecord, SelfPlayConfig, play_games

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChampionMessage:
    version: int
    sha256: str        # the coordinator's record of the weights' hash
    weights: bytes     # safetensors
    architecture: str  # JSON


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


def run_worker(game_spec: str, link: WorkerLink, sink: Sink, *, worker: str,
               games_per_batch: int = 8, config: SelfPlayConfig = SelfPlayConfig(),
               seed: int = 0, max_batches: int | None = None,
               stats: WorkerStats | None = None,
               starting: Callable[[int], None] | None = None,
               host: str | None = None, device: str = "cpu") -> WorkerStats:
    """Play until the link says stop or retire (or ``max_batches``); returns what it did
    (``stats``, when given, is kept up to date as it goes). ``starting`` is told the
    number of games of each batch before it is played."""
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.network import network_from_bytes

    game = load_game(game_spec)
    info = game_info(game_spec, game)
    rng = np.random.default_rng(seed)
    stats = stats if stats is not None else WorkerStats()
    net = None
    refused: ChampionMessage | None = None
    while not link.stopped() and not link.retiring() and (max_batches is None or
                                                           stats.batches < max_batches):
        message = link.latest()
        if message is not None and message.version != stats.version and message != refused:
            try:
                net = network_from_bytes(message.weights, message.architecture, info,
                                         sha256=message.sha256,
                                         source=f"champion v{message.version}").to(device)
                stats.version = message.version
                stats.reloads += 1
                log.info("worker %s: playing with champion v%d", worker, message.version)
            except RatchetError as exc:
                refused = message
                stats.refused += 1
                log.error("worker %s: champion v%d refused: %s", worker, message.version,
                          exc)
        if net is None:  # nothing to play with yet
            time.sleep(0.2)
            continue
        if starting is not None:
            starting(games_per_batch)
        started = time.perf_counter()
        records = play_games(game, game_spec, _timed(net.evaluate, stats), games_per_batch,
                             config, rng, version=stats.version, worker=worker)
        if host is not None:
            records = [dataclasses.replace(r, host=host) for r in records]
        stats.playing_s += time.perf_counter() - started
        if link.stopped():
            break  # stopped mid-batch: these games are not handed over
        sink(records)
        stats.batches += 1
        stats.games += len(records)
    return stats


def selfplay_worker(link: WorkerLink, index: int, game_spec: str, games_per_batch: int,
                    simulations: int, seed: int, device: str = "cpu",
                    config: SelfPlayConfig | None = None) -> None:
    """A worker as the executor runs it (``Target.workers``): each batch goes back with
    the time it took and the part of it spent in the network. ``config``: how games are
    played (default: ``simulations`` a move, the rest as ``SelfPlayConfig``'s)."""
    import torch

    from ratchet.plugins.targets.selfplay.mcts import SearchConfig

    torch.set_num_threads(1)
    stats, handed = WorkerStats(), WorkerStats()
    incarnation = f"w{index}-{uuid.uuid4().hex[:8]}"  # a restarted worker is another one

    def hand_over(records: Sequence[GameRecord]) -> None:
        link.send({"games": [r.to_dict() for r in records], "worker": incarnation,
                   "index": index, "playing_s": stats.playing_s - handed.playing_s,
                   "network_s": stats.network_s - handed.network_s})
        handed.playing_s, handed.network_s = stats.playing_s, stats.network_s

    from ratchet.plugins.targets.selfplay.device import resolve_device

    run_worker(game_spec, link, hand_over, worker=f"w{index}", host=link.node(),
               device=resolve_device(device, index),  # worker i on GPU i mod count
               games_per_batch=games_per_batch,
               config=config or SelfPlayConfig(SearchConfig(simulations=simulations,
                                                            noise=True)),
               seed=(seed * 1000 + index) * 100_000 + os.getpid() % 100_000,  # a restart: new games
               stats=stats, starting=lambda n: link.send(
                   {"playing": n, "worker": incarnation, "index": index}))


class InFlight:
    """Games the workers announced and have not handed over, by worker incarnation. When
    the executor reports a worker lost, or its slot (index) announces from a new
    incarnation, what the old one had in play is counted lost (and uncounted if it
    arrives after all, e.g. a retired worker's last batch)."""

    def __init__(self) -> None:
        self.playing: dict[str, tuple[int, int]] = {}  # incarnation: (index, games)
        self.written_off: dict[str, int] = {}
        self.lost = 0

    def message(self, item: dict[str, Any]) -> None:
        if "worker_lost" in item:  # the executor found it dead
            self._write_off(item["worker_lost"])
            return
        worker, index = item.get("worker"), item.get("index")
        if worker is None:
            return
        if "playing" in item:
            self._write_off(index, but=worker)
            self.playing[worker] = (int(index or 0), int(item["playing"]))
        elif "games" in item:
            self.playing.pop(worker, None)
            back = self.written_off.pop(worker, 0)
            self.lost -= min(back, len(item["games"]))

    def _write_off(self, index: Any, but: str | None = None) -> None:
        """What every incarnation of slot ``index`` (but ``but``) had in play: lost."""
        for other, (i, games) in list(self.playing.items()):
            if i == index and other != but:
                del self.playing[other]
                self.written_off[other] = games
                self.lost += games


def _timed(evaluate: Evaluator, stats: WorkerStats) -> Evaluator:
    def timed(observations: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        started = time.perf_counter()
        try:
            return evaluate(observations, legal)
        finally:
            stats.network_s += time.perf_counter() - started
    return timed
