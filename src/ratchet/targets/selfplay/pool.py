"""Self-play workers as processes on this machine, kept running beside the loop.

Each worker plays with the champion named in the feed file (version, weights, hash),
written by the coordinator when a champion is applied; finished games come back over a
queue, and a thread of the coordinator (the one writer) appends them to the game store.
A worker that dies is restarted; the games of the batch it was playing are lost, nothing
else. The workers exit when the coordinator does (they watch its pid).
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ratchet.targets.selfplay.worker import ChampionRef

log = logging.getLogger(__name__)

FEED_FILE = "champion-feed.json"


class FileFeed:
    """The champion the coordinator recorded, read from its feed file."""

    def __init__(self, path: Path):
        self.path = path

    def latest(self) -> ChampionRef:
        return ChampionRef(**json.loads(self.path.read_text()))


def write_feed(path: Path, ref: ChampionRef) -> None:
    from ratchet.atomic import atomic_write_json

    atomic_write_json(path, asdict(ref), durable=False)


def _worker_main(game_spec: str, feed_path: str, games: Any, stop: Any, worker: str,
                 games_per_batch: int, simulations: int, seed: int, parent: int) -> None:
    """A worker process: play until told to stop or the coordinator is gone."""
    import torch

    from ratchet.targets.selfplay.mcts import SearchConfig
    from ratchet.targets.selfplay.play import SelfPlayConfig
    from ratchet.targets.selfplay.worker import WorkerStats, run_worker

    torch.set_num_threads(1)
    halt = threading.Event()

    def watch() -> None:  # the coordinator gone (even by kill -9): stop too
        while not halt.is_set():
            if stop.is_set() or os.getppid() != parent:
                halt.set()
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
    stats = WorkerStats()
    handed = WorkerStats()

    def hand_over(records: Any) -> None:  # a batch, and the time it took
        games.put({"games": [r.to_dict() for r in records],
                   "playing_s": stats.playing_s - handed.playing_s,
                   "network_s": stats.network_s - handed.network_s})
        handed.playing_s, handed.network_s = stats.playing_s, stats.network_s

    run_worker(game_spec, FileFeed(Path(feed_path)), hand_over, halt, worker=worker,
               games_per_batch=games_per_batch,
               config=SelfPlayConfig(SearchConfig(simulations=simulations, noise=True)),
               seed=seed, stats=stats)
    if os.getppid() != parent:  # nobody reads the queue any more: exit without flushing
        games.cancel_join_thread()


class WorkerPool:
    def __init__(self, game_spec: str, feed_path: Path, db_path: Path, *, workers: int,
                 games_per_batch: int, simulations: int, seed: int = 0):
        self.game_spec = game_spec
        self.feed_path = feed_path
        self.db_path = db_path
        self.size = workers
        self.games_per_batch = games_per_batch
        self.simulations = simulations
        self.seed = seed
        self.context = mp.get_context("spawn")  # no forked torch or SQLite state
        self.queue: Any = self.context.Queue()
        self.stop_event: Any = self.context.Event()
        self.processes: dict[int, Any] = {}
        self.restarts = 0
        self.ingested = 0
        self.playing_s = 0.0  # the workers' time playing the batches handed over
        self.network_s = 0.0  # of which, waiting for the network
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for index in range(self.size):
            self._spawn(index)
        self._thread = threading.Thread(target=self._ingest, name="selfplay-ingest",
                                        daemon=True)
        self._thread.start()

    def _spawn(self, index: int) -> None:
        process = self.context.Process(
            target=_worker_main, name=f"selfplay-worker-{index}", daemon=True,
            args=(self.game_spec, str(self.feed_path), self.queue, self.stop_event,
                  f"w{index}", self.games_per_batch, self.simulations,
                  self.seed * 1000 + index + 1000 * self.restarts, os.getpid()))
        process.start()
        self.processes[index] = process

    def _ingest(self) -> None:
        """The one writer: finished games into the store; dead workers restarted."""
        from ratchet.targets.selfplay.gamestore import GameStore
        from ratchet.targets.selfplay.play import GameRecord

        def take(batch: dict[str, Any]) -> None:
            store.append([GameRecord.from_dict(r) for r in batch["games"]])
            self.ingested += len(batch["games"])
            self.playing_s += batch["playing_s"]
            self.network_s += batch["network_s"]

        with GameStore(self.db_path) as store:
            while not self._halt.is_set():
                with contextlib.suppress(queue.Empty):
                    take(self.queue.get(timeout=0.5))
                for index, process in list(self.processes.items()):
                    if not process.is_alive() and not self.stop_event.is_set():
                        log.warning("self-play worker %d exited (code %s): restarting",
                                    index, process.exitcode)
                        self.restarts += 1
                        self._spawn(index)
            while True:  # what the workers handed over before they stopped
                try:
                    take(self.queue.get(timeout=0.2))
                except queue.Empty:
                    break

    def stop(self, timeout: float = 10.0) -> None:
        """Workers first (a batch in play is dropped), then the games they handed over."""
        self.stop_event.set()
        for process in self.processes.values():
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.queue.close()
