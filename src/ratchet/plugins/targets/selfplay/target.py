"""The ``selfplay`` target, one game configuration.

* The starting champion is a network with random weights (seeded).
* Self-play games come from workers the executor runs beside the loop (``workers``;
  their games are stored by one thread of the loop's process), or with ``workers: 0``
  from the loop itself.
* A challenger is trained before it is measured: first ``trigger_games`` new self-play
  games of the champion are waited for (kept in the game store), then a copy of the
  champion's network is trained on the replay window (the last ``window_games`` games)
  with the candidate's ``lr`` and ``train_steps``. A crash while training is a failed
  evaluation with its reason; the loop goes on.
* The promotion test: challenger and champion play each other head to head, in pairs
  from shared random openings with the sides swapped, under the recipe's sequential
  judge. Every rated game is kept in the game store.
* Before a promotion, the regression gate runs in its own process (``promotion_checks``).

Every network is saved as safetensors + JSON under ``work/nets/<candidate id>``; its
sha256 is recorded in the store when it is made and checked whenever it is loaded.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ratchet.core import children
from ratchet.core.errors import EvaluationError
from ratchet.core.rundir import RunDir
from ratchet.core.space import Space
from ratchet.core.types import Candidate, EvalTask, GateResult, Measurement
from ratchet.plugins.scaleout.workers import WorkerGroup, WorkerPlan
from ratchet.plugins.targets._base import Target
from ratchet.plugins.targets.selfplay import TUNABLE, waiting
from ratchet.plugins.targets.selfplay.device import resolve_device
from ratchet.plugins.targets.selfplay.game import game_info, load_game
from ratchet.plugins.targets.selfplay.gamestore import (
    KEPT_FOR_LINE,
    LAST_TRAINED,
    LAST_TRAINED_AT,
    LATEST_LINE,
    TRAINED_FROM,
    TRAINING_FAILED,
    TRAINING_SINCE,
    GameStore,
)
from ratchet.plugins.targets.selfplay.match import Stopped
from ratchet.plugins.targets.selfplay.pool import WorkerPool
from ratchet.plugins.targets.selfplay.standing import Standing

if TYPE_CHECKING:
    from ratchet.core.store import Store
    from ratchet.plugins.scaleout.curriculum import Progress
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec
    from ratchet.plugins.targets.selfplay.tournament import Tournaments

log = logging.getLogger(__name__)



class SelfPlayTarget(Target):
    name = "selfplay"
    outcome = "games"
    head_to_head = True
    games_in_pairs = True

    def __init__(self, spec: SelfPlaySpec, run: RunDir, *, seed: int = 0):
        self.spec = spec
        self.run = run
        self.work_dir = run.work
        self.seed = seed
        self.game = load_game(spec.game)
        self.info = game_info(spec.game, self.game)
        self.device = resolve_device(spec.device)  # a GPU asked for and absent: said now
        # The loop's matches share the cores with the workers, the trainer and the gate:
        # more torch threads than free cores spin (10 connect_four pairs beside two busy
        # cores: 8.1 s with 2 threads, 1.9 s with 1).
        import torch

        torch.set_num_threads(1)
        self.nets = self.work_dir / "nets"
        self.db = run.store  # the games' tables live in the run's store
        self._games: GameStore | None = None
        self.pool = WorkerPool(spec, self.db, seed)  # the self-play workers (the loop's side)
        self.tournaments: Tournaments | None = None  # shadow tournaments, once open

    def __getstate__(self) -> dict[str, Any]:  # sent to pool workers: no open handles
        return {**self.__dict__, "game": None, "_games": None, "pool": None,
                "tournaments": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.game = load_game(self.spec.game)

    # -- the run ---------------------------------------------------------------------
    def open(self, store: Store) -> None:
        self.db = self.pool.db = Path(store.path)
        if self.spec.tournament_interval_s and self.tournaments is None:
            from ratchet.plugins.targets.selfplay.tournament import LadderConfig, Tournaments

            s = self.spec
            self.tournaments = Tournaments(self, s.tournament_interval_s, LadderConfig(
                pairs=s.tournament_pairs, mcts=tuple(s.ladder),
                simulations=s.ladder_search().simulations,
                sampled_plies=s.sampled_plies, opening_moves=s.opening_moves,
                device=s.device, c_puct=s.c_puct), s.ladder_champions)
            self.tournaments.start()

    @property
    def games(self) -> GameStore:
        """The game store, opened in whichever process measures (the run's own file)."""
        if self._games is None:
            self._games = GameStore(self.db)
        return self._games

    def close(self) -> None:
        """After the workers were stopped: what they sent is stored, then the store is
        closed."""
        if self.tournaments is not None:
            self.tournaments.close()
        if self.pool is not None:
            self.pool.close()
        if self._games is not None:
            self._games.close()
            self._games = None

    def baseline(self, space: Space) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for p in space:
            value = getattr(self.spec, p.name)
            params[p.name] = TUNABLE[p.name](min(max(value, p.low), p.high))
        return params

    def apply(self, champion: Candidate) -> None:
        """The champion's network recorded as the current version and, with workers,
        published to them (its weights' bytes and recorded hash)."""
        from ratchet.plugins.targets.selfplay.network import paths
        from ratchet.plugins.targets.selfplay.worker import ChampionMessage

        self.network_of(champion)  # the starting champion's network is made here
        version = self.games.make_champion(champion.id)
        recorded = self.games.network(champion.id)
        if self.pool.group is None or recorded is None:
            return
        weights, architecture = paths(self.nets / champion.id)
        self.pool.publish(ChampionMessage(version, recorded[0], weights.read_bytes(),
                                            architecture.read_text()))

    # -- self-play workers (started by the executor) ----------------------------------
    def workers(self) -> WorkerPlan | None:
        return self.pool.plan()

    def attach_workers(self, group: WorkerGroup) -> None:
        self.pool.attach(group)

    @property
    def received(self) -> int:
        """Games the workers sent, stored."""
        return self.pool.received

    def discard(self, candidate: Candidate) -> None:
        if candidate.id == self.games.meta(LATEST_LINE, ""):
            self.games.set_meta(KEPT_FOR_LINE, candidate.id)  # the next one trains on it
            return
        self._delete_network(candidate.id)

    def _delete_network(self, candidate_id: str) -> None:
        for path in self.nets.glob(f"{candidate_id}.*"):
            path.unlink(missing_ok=True)

    def progress(self, window_games: int) -> Progress | None:
        """Read through a connection of its own (the curriculum's thread asks)."""
        from ratchet.plugins.targets.selfplay.progress import measure_progress

        with GameStore(self.db) as games:
            return measure_progress(games, self.spec.game, window_games)

    # -- measuring -------------------------------------------------------------------
    def evaluate(self, task: EvalTask) -> Measurement:
        from ratchet.plugins.targets.selfplay.match import NetworkPlayer, play_pairs, scores_of

        if task.opponent is None:
            raise EvaluationError("the selfplay target plays the champion head to head")
        search = self.spec.match_search()
        plies = self.spec.sampled_plies
        challenger = NetworkPlayer("challenger", self.network_of(task.candidate),
                                   self.info.actions, search, seed=task.seed,
                                   sampled_plies=plies)
        champion = NetworkPlayer("champion", self.network_of(task.opponent),
                                 self.info.actions, search, seed=task.seed + 1,
                                 sampled_plies=plies)
        results = play_pairs(self.game, challenger, champion, math.ceil(task.size / 2),
                             task.seed, opening_moves=self.spec.opening_moves,
                             stopping=self._stopping)
        ids = {"challenger": task.candidate.id, "champion": task.opponent.id}
        self.games.add_rated(self.spec.game, "promotion test", [
            dataclasses.replace(r, first=ids[r.first], second=ids[r.second])
            for r in results])
        scores = scores_of(results, "challenger")[:task.size]
        return Measurement("games", tuple(scores), ordered=True)

    def promotion_checks(self, candidate: Candidate) -> list[GateResult]:
        """The regression gate in its own process (``gating``)."""
        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.gating import gate_checks

        if not self.spec.gate:
            return []
        self.network_of(candidate)
        (seed,) = derive(self.seed, "gate", _seed_of(candidate.id) >> 1, 0)
        return gate_checks(self.spec, self.games, candidate.id, self.nets / candidate.id,
                           seed, self.registry)

    # -- networks --------------------------------------------------------------------
    def network_of(self, candidate: Candidate) -> Any:
        """The candidate's network, checked against its recorded hash: made if it has
        none yet (the starting champion: random weights; a challenger: trained)."""
        with self._lock(candidate.id):
            if self.games.network(candidate.id) is None:
                self._make(candidate)
        return self.recorded_network(candidate.id)

    def recorded_network(self, candidate_id: str) -> Any:
        """A network already made, loaded only if its weights have the recorded hash."""
        from ratchet.core.errors import RatchetError
        from ratchet.plugins.targets.selfplay.network import load_network

        recorded = self.games.network(candidate_id)
        if recorded is None:
            raise EvaluationError(f"no network is recorded for {candidate_id}")
        try:
            return load_network(self.nets / candidate_id, self.info, sha256=recorded[0],
                                device=self.device)
        except RatchetError as exc:
            raise EvaluationError(str(exc)) from None

    def _make(self, candidate: Candidate) -> None:
        from ratchet.plugins.targets.selfplay.network import new_network, save_network

        stem = self.nets / candidate.id
        if candidate.parent is None:  # the starting champion
            shape = self.spec.network
            digest = save_network(new_network(
                self.info, kind=shape.kind, hidden=self.spec.hidden, channels=shape.channels,
                blocks=self.spec.blocks if shape.blocks is None else shape.blocks,
                seed=self.seed), stem)
        else:
            digest = self._train(candidate, stem)
        self.games.record_network(candidate.id, digest)

    def _train(self, candidate: Candidate, stem: Path) -> str:
        """Train ``candidate``'s network in a process of its own (self-play ingestion and
        everything else in this process go on); returns its weights' sha256."""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        from ratchet.core.children import init_pool_worker
        from ratchet.plugins.targets.selfplay.train import train_network

        parent = self.games.network(candidate.parent or "")
        if parent is None:
            raise EvaluationError(f"the parent network {candidate.parent} is not recorded")
        start_id, start = self._training_start(candidate.parent or "", parent[0])
        standing = self._standing()
        standing.rate(candidate.parent or "")
        standing.probation(candidate.parent or "")
        self._top_up(parent[1] or 0, candidate)
        wait = float(self.games.meta(LAST_TRAINED_AT, "0") or 0) + self.spec.min_interval_s \
            - time.time()
        waiting.sleep(wait, self._stopping)
        params = {**{k: getattr(self.spec, k) for k in TUNABLE}, **candidate.params}
        last_game = self.games.last_id(self.spec.game)  # later games: the next trigger's
        job = dict(game_spec=self.spec.game, parent_stem=str(self.nets / start_id),
                   parent_sha256=start, out_stem=str(stem), db_path=str(self.db),
                   window_games=int(params["window_games"]), up_to_game=last_game,
                   steps=int(params["train_steps"]), lr=float(params["lr"]),
                   seed=_seed_of(candidate.id), device=self.spec.device,
                   half_life_games=self.spec.window_half_life_games,
                   q_weight=self.spec.value_q_weight)
        self.games.set_meta(TRAINING_SINCE, str(time.time()))
        # the training process ends with us, and a stop ends it (it is registered)
        pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"),
                                   initializer=init_pool_worker,
                                   initargs=(os.getpid(), self.registry))
        try:
            digest = waiting.result(pool, pool.submit(train_network, **job), "training",
                                    self._stopping)
        except BrokenProcessPool:
            if self._stopping():
                raise Stopped("training abandoned: ratchet is stopping") from None
            self.games.add_meta(TRAINING_FAILED)
            raise EvaluationError("training failed: its process died") from None
        except (RuntimeError, ValueError, OSError) as exc:
            self.games.add_meta(TRAINING_FAILED)
            raise EvaluationError(f"training failed: {exc}") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.games.set_meta(TRAINING_SINCE, "0")
        self.games.set_meta(LAST_TRAINED, str(last_game))
        self.games.set_meta(LAST_TRAINED_AT, str(time.time()))
        self.games.set_meta(TRAINED_FROM + candidate.id, start_id)
        if self.spec.train_from == "latest":
            self._extend_line(candidate.id)
        return str(digest)

    def _training_start(self, champion_id: str, champion_sha256: str) -> tuple[str, str]:
        """(candidate id, sha256) of the network a challenger is trained from: the
        champion's, or with ``train_from: latest`` the newest trained one while its
        weights are there."""
        from ratchet.plugins.targets.selfplay.network import paths

        if self.spec.train_from == "latest":
            latest = self.games.meta(LATEST_LINE, "") or ""
            recorded = self.games.network(latest) if latest else None
            if recorded is not None and paths(self.nets / latest)[0].exists():
                return latest, recorded[0]
        return champion_id, champion_sha256

    def _extend_line(self, candidate_id: str) -> None:
        """``candidate_id`` is the newest trained network; the one before it, when it
        was discarded and only kept for the line, goes."""
        before = self.games.meta(LATEST_LINE, "") or ""
        self.games.set_meta(LATEST_LINE, candidate_id)
        if before and before == self.games.meta(KEPT_FOR_LINE, ""):
            self.games.set_meta(KEPT_FOR_LINE, "")
            self._delete_network(before)

    def _standing(self) -> Standing:
        return Standing(self.spec, self.seed, self.game, self.info.actions, self.games,
                        self.recorded_network, self._stopping)

    def take_revert(self) -> tuple[str, str] | None:
        return self._standing().take_revert()

    def _top_up(self, version: int, candidate: Candidate) -> None:
        """Self-play with the champion until ``trigger_games`` games arrived since the
        last training run; each batch is stored as it finishes."""
        from ratchet.plugins.targets.selfplay.play import play_games

        since = int(self.games.meta(LAST_TRAINED, "0") or 0)
        if self.spec.workers:
            self._wait_for_games(since)
            return
        net = self.recorded_network(candidate.parent or "")
        config = self.spec.play_config()
        rng = np.random.default_rng([self.seed, _seed_of(candidate.id)])
        while (missing := self.spec.trigger_games - self.games.count(self.spec.game,
                                                                      since)) > 0:
            records = play_games(self.game, self.spec.game, net.evaluate,
                                 min(self.spec.games_per_batch, missing), config, rng,
                                 version=version, worker="loop")
            self.games.append(records)

    def _wait_for_games(self, since: int) -> None:
        """The workers' games until ``trigger_games`` arrived since the last training."""
        last_count, last_change = -1, time.monotonic()
        while (count := self.games.count(self.spec.game, since)) < self.spec.trigger_games:
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            elif self._stopping():
                raise Stopped("waiting for self-play games: ratchet is stopping")
            elif time.monotonic() - last_change > self.spec.worker_timeout_s:
                raise EvaluationError(f"no self-play game arrived for "
                                      f"{self.spec.worker_timeout_s:g} s ({count} of "
                                      f"{self.spec.trigger_games} since the last training)")
            time.sleep(0.5)

    # -- stopping --------------------------------------------------------------------
    @property
    def registry(self) -> Path:
        """Where this target's child processes (gate, training) register: a stop ends
        them, and the next start kills any a kill -9 left (``ratchet.core.children``)."""
        return self.run.children

    def _stopping(self) -> bool:
        return children.stopping(self.registry)

    @contextmanager
    def _lock(self, candidate_id: str):  # type: ignore[no-untyped-def]
        """One process makes a candidate's network; the others wait for it."""
        self.nets.mkdir(parents=True, exist_ok=True)
        with open(self.nets / f".{candidate_id}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _seed_of(candidate_id: str) -> int:
    return int(hashlib.sha256(candidate_id.encode()).hexdigest()[:8], 16)
