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

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ratchet.core import children
from ratchet.core.errors import EvaluationError
from ratchet.core.resources import NodeControllers
from ratchet.core.rundir import RunDir
from ratchet.core.space import Space
from ratchet.core.types import (
    Candidate,
    EvalTask,
    GateResult,
    Measurement,
    WorkerGroup,
    WorkerPlan,
)
from ratchet.plugins.targets._base import Target
from ratchet.plugins.targets.selfplay import TUNABLE
from ratchet.plugins.targets.selfplay.game import game_info, load_game
from ratchet.plugins.targets.selfplay.gamestore import (
    GAMES_LOST,
    GATE,
    LAST_TRAINED,
    LAST_TRAINED_AT,
    RECEIVE_ERRORS,
    RESOURCES,
    REVERT,
    TRAINING_FAILED,
    TRAINING_SINCE,
    GameStore,
)
from ratchet.plugins.targets.selfplay.match import Stopped

if TYPE_CHECKING:
    from ratchet.core.curriculum import Progress
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec

log = logging.getLogger(__name__)
STOP_POLL_S = 0.2  # how often waiting work looks for a stop
PLAYERS = 1_000_000  # probation's seeds for its players: apart from its test's batches



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
        self.nets = self.work_dir / "nets"
        self.db = run.store  # the games' tables live in the run's store
        self._games: GameStore | None = None
        self._group: WorkerGroup | None = None  # the self-play workers (the loop's side)
        self._receiver: threading.Thread | None = None
        self._receiving = threading.Event()
        self._controllers = NodeControllers(self._node_controller)  # one per node
        self.received = 0  # games the workers sent, stored

    def __getstate__(self) -> dict[str, Any]:  # sent to pool workers: no open handles
        return {**self.__dict__, "game": None, "_games": None, "_group": None,
                "_receiver": None, "_receiving": None, "_controllers": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.game = load_game(self.spec.game)

    # -- the run ---------------------------------------------------------------------
    def open(self, store: Store) -> None:
        self.db = Path(store.path)

    @property
    def games(self) -> GameStore:
        """The game store, opened in whichever process measures (the run's own file)."""
        if self._games is None:
            self._games = GameStore(self.db)
        return self._games

    def close(self) -> None:
        """After the workers were stopped: what they sent is stored, then the store is
        closed."""
        if self._receiver is not None:
            self._receiving.clear()
            self._receiver.join(30)
            self._receiver = None
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
        if self._group is None or recorded is None:
            return
        weights, architecture = paths(self.nets / champion.id)
        self._group.publish(ChampionMessage(version, recorded[0], weights.read_bytes(),
                                            architecture.read_text()))

    # -- self-play workers (started by the executor) ----------------------------------
    def workers(self) -> WorkerPlan | None:
        from ratchet.plugins.targets.selfplay.worker import selfplay_worker

        if not self.spec.workers:
            return None
        return WorkerPlan(self.spec.workers, selfplay_worker,
                          (self.spec.game, self.spec.games_per_batch, self.spec.simulations,
                           self.seed), name="selfplay-worker")

    def attach_workers(self, group: WorkerGroup) -> None:
        """Receive the workers' games in a thread of the loop's process (the one writer
        of the store), batch by batch."""
        self._group = group
        if self.spec.workers_control is not None:
            with GameStore(self.db) as store:  # a saved controller sets its count at once
                self._control(store)
        self._receiving.set()
        self._receiver = threading.Thread(target=self._receive, name="selfplay-receive",
                                          daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        from ratchet.plugins.targets.selfplay.worker import InFlight

        assert self._group is not None
        in_flight, counted = InFlight(), 0
        with GameStore(self.db) as store:
            while True:
                receiving = self._receiving.is_set()
                try:
                    if receiving and self.spec.workers_control is not None:
                        self._control(store)
                    for batch in self._group.receive(0.5 if receiving else 0.2):
                        in_flight.message(batch)
                        if "games" not in batch:  # a batch announced
                            continue
                        self.received += store.append_sent(batch)
                    if in_flight.lost != counted:  # games in play on a lost worker
                        store.add_meta(GAMES_LOST, in_flight.lost - counted)
                        counted = in_flight.lost
                except (OSError, sqlite3.OperationalError) as exc:  # a full disk
                    log.error("self-play games could not be stored: %s", exc)
                    with contextlib.suppress(Exception):  # counted where it can be
                        store.add_meta(RECEIVE_ERRORS)
                    time.sleep(1.0)
                except Exception:  # a lost node, a bug: say so, keep receiving
                    log.exception("self-play games could not be received or stored")
                    with contextlib.suppress(Exception):  # counted where it can be
                        store.add_meta(RECEIVE_ERRORS)
                    time.sleep(1.0)
                if not receiving:  # the workers stopped and what they sent is stored
                    return

    def discard(self, candidate: Candidate) -> None:
        for path in self.nets.glob(f"{candidate.id}.*"):
            path.unlink(missing_ok=True)

    def _node_controller(self, node: str, workers: int) -> Any:
        """``node``'s controller of its worker count, carrying on from its saved state."""
        assert self.spec.workers_control is not None
        with GameStore(self.db) as games:  # the receive thread asks: its own connection
            saved = json.loads(games.meta(f"{RESOURCES}{node}") or "{}")
        return self.spec.workers_control.controller(node, workers,
                                                    saved=saved.get("controller"))

    def _control(self, store: GameStore) -> None:
        """Each node's controller sets the number of workers on its node from that node's
        readings, when due (a reading covers the time since the previous one). A node
        seen for the first time gets its controller (its saved state, if any, sets its
        count at once); a node that is gone is marked so, its workers having been placed
        elsewhere."""
        assert self._group is not None
        done = self._controllers.step(self._group, time.time())
        if done is None:
            return
        for node in [*done.new, *done.readings]:
            workers = self._controllers.by_node[node].workers
            if workers != done.alive.get(node, 0):
                self._group.resize_node(node, workers)
        for node, kept in done.readings.items():
            store.set_meta(f"{RESOURCES}{node}", json.dumps(kept))
        for node in done.gone:
            saved = json.loads(store.meta(f"{RESOURCES}{node}") or "{}")
            if saved:
                store.set_meta(f"{RESOURCES}{node}", json.dumps({**saved,
                                                                 "gone_at": time.time()}))
            log.warning("node %s is gone: its controller stops", node)

    def progress(self, window_games: int) -> Progress | None:
        """Read through a connection of its own (the curriculum's thread asks)."""
        from ratchet.plugins.targets.selfplay.progress import measure_progress

        with GameStore(self.db) as games:
            return measure_progress(games, self.spec.game, window_games)

    # -- measuring -------------------------------------------------------------------
    def evaluate(self, task: EvalTask) -> Measurement:
        from ratchet.plugins.targets.selfplay.match import NetworkPlayer, play_pairs, scores_of
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig

        if task.opponent is None:
            raise EvaluationError("the selfplay target plays the champion head to head")
        search = SearchConfig(simulations=self.spec.match_simulations)
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
        """The regression gate in its own process; its results are kept per challenger.
        With ``gate_skill: regression`` a skill bar no champion has cleared yet is
        reported but does not bind (a run from random weights must be able to start)."""
        from dataclasses import asdict

        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS, GateConfig, run_gate

        if not self.spec.gate:
            return []
        self.network_of(candidate)
        recorded = self.games.network(candidate.id)
        config = GateConfig(max_ms_per_move=self.spec.gate_max_ms_per_move,
                            simulations=self.spec.match_simulations,
                            random_pairs=self.spec.gate_random_pairs,
                            anchor_simulations=self.spec.gate_anchor_simulations,
                            timeout_s=self.spec.gate_timeout_s,
                            sampled_plies=self.spec.sampled_plies)
        (seed,) = derive(self.seed, "gate", _seed_of(candidate.id) >> 1, 0)
        results = run_gate(self.nets / candidate.id, self.spec.game,
                           recorded[0] if recorded else None, config, seed=seed,
                           registry=self.registry)
        self.games.set_meta(f"{GATE}{candidate.id}", json.dumps([asdict(r) for r in results]))
        required = bars_cleared(self.games)
        checks = []
        for r in results:
            advisory = (self.spec.gate_skill == "regression" and r.check in SKILL_CHECKS
                        and r.check not in required and not r.passed)
            checks.append(GateResult(f"gate.{r.check}", r.passed or advisory,
                                     f"advisory, no champion has cleared this bar yet: "
                                     f"{r.reason}" if advisory else r.reason,
                                     advisory=advisory))
        return checks

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
            return load_network(self.nets / candidate_id, self.info, sha256=recorded[0])
        except RatchetError as exc:
            raise EvaluationError(str(exc)) from None

    def _make(self, candidate: Candidate) -> None:
        from ratchet.plugins.targets.selfplay.network import new_network, save_network

        stem = self.nets / candidate.id
        if candidate.parent is None:  # the starting champion
            digest = save_network(new_network(self.info, hidden=self.spec.hidden,
                                              blocks=self.spec.blocks, seed=self.seed), stem)
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
        self._rate(candidate.parent or "")
        self._probation(candidate.parent or "")
        self._top_up(parent[1] or 0, candidate)
        wait = float(self.games.meta(LAST_TRAINED_AT, "0") or 0) + self.spec.min_interval_s \
            - time.time()
        self._sleep(wait)
        params = {**{k: getattr(self.spec, k) for k in TUNABLE}, **candidate.params}
        last_game = self.games.last_id(self.spec.game)  # later games: the next trigger's
        job = dict(game_spec=self.spec.game, parent_stem=str(self.nets / (candidate.parent or
                                                                          "")),
                   parent_sha256=parent[0], out_stem=str(stem), db_path=str(self.db),
                   window_games=int(params["window_games"]), up_to_game=last_game,
                   steps=int(params["train_steps"]), lr=float(params["lr"]),
                   seed=_seed_of(candidate.id))
        self.games.set_meta(TRAINING_SINCE, str(time.time()))
        # the training process ends with us, and a stop ends it (it is registered)
        pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"),
                                   initializer=init_pool_worker,
                                   initargs=(os.getpid(), self.registry))
        try:
            digest = self._result(pool, pool.submit(train_network, **job), "training")
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
        return str(digest)

    def _version_of(self, champion_id: str) -> int:
        """The champion version of ``champion_id`` (0 when it has none yet)."""
        recorded = self.games.network(champion_id)
        return (recorded[1] or 0) if recorded else 0

    def _rate(self, champion_id: str) -> None:
        """A champion's first challenger waits for its rating games: ``rating_pairs``
        fresh pairs against each anchor (uniform random, the MCTS anchor), the only games
        the ratings are fitted on (``gamestore.RATING_PURPOSES``)."""
        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.match import (
            MCTSAnchor,
            NetworkPlayer,
            RandomPlayer,
            play_pairs,
        )
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig

        key = f"rated:{champion_id}"
        if not self.spec.rating_pairs or self.games.meta(key) is not None:
            return
        version = self._version_of(champion_id)
        seeds = derive(self.seed, "rating", version, 0, shards=5)
        champion = NetworkPlayer(champion_id, self.recorded_network(champion_id),
                                 self.info.actions,
                                 SearchConfig(simulations=self.spec.match_simulations),
                                 seed=seeds[0], sampled_plies=self.spec.sampled_plies)
        anchors = (RandomPlayer(seeds[1]),
                   MCTSAnchor(self.game, self.spec.gate_anchor_simulations, seeds[2]))
        played = [r for anchor, seed in zip(anchors, seeds[3:], strict=True)
                  for r in play_pairs(self.game, champion, anchor, self.spec.rating_pairs,
                                      seed, self.spec.opening_moves,
                                      stopping=self._stopping)]
        self.games.add_rated(self.spec.game, "anchor", played)
        self.games.set_meta(key, f"{len(played)} games")

    def _probation(self, champion_id: str) -> None:
        """A champion's first challenger waits for its probation (``probation``): a
        sequential test on fresh games against its predecessor. A champion shown worse
        than its predecessor is put back (``take_revert``, asked by the loop at its next
        safe point) and this cycle fails with the reason."""
        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.match import NetworkPlayer
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig
        from ratchet.plugins.targets.selfplay.probation import ProbationRule, probation_test

        key = f"probation:{champion_id}"
        if not self.spec.probation_games or self.games.meta(key) is not None:
            return
        predecessor = self.games.champion_before(champion_id)
        if predecessor is None:
            return
        version = self._version_of(champion_id)

        def seed(batch: int) -> int:  # the test's batches from 0; its players' PLAYERS on
            return derive(self.seed, "probation", version, batch)[0]

        search = SearchConfig(simulations=self.spec.match_simulations)
        plies = self.spec.sampled_plies
        champion = NetworkPlayer(champion_id, self.recorded_network(champion_id),
                                 self.info.actions, search, seed=seed(PLAYERS),
                                 sampled_plies=plies)
        before = NetworkPlayer(predecessor, self.recorded_network(predecessor),
                               self.info.actions, search, seed=seed(PLAYERS + 1),
                               sampled_plies=plies)
        rule = ProbationRule(elo=self.spec.probation_elo, max_games=self.spec.probation_games)
        result = probation_test(self.game, champion, before, rule, seed,
                                self.spec.opening_moves, stopping=self._stopping)
        self.games.add_rated(self.spec.game, "probation", result.games)
        verdict = f"champion {champion_id} {result.reason}"
        if not result.revert:
            self.games.set_meta(key, f"passed: {verdict}")
            return
        self.games.set_meta(key, f"reverted: {verdict}")
        self.games.set_meta(REVERT, json.dumps([predecessor, f"probation failed: {verdict}"]))
        raise EvaluationError(f"probation failed, reverting to {predecessor}: {verdict}")

    def take_revert(self) -> tuple[str, str] | None:
        wanted = self.games.take_meta(REVERT)
        if wanted is None:
            return None
        predecessor, reason = json.loads(wanted)
        return str(predecessor), str(reason)

    def _top_up(self, version: int, candidate: Candidate) -> None:
        """Self-play with the champion until ``trigger_games`` games arrived since the
        last training run; each batch is stored as it finishes."""
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig
        from ratchet.plugins.targets.selfplay.play import SelfPlayConfig, play_games

        since = int(self.games.meta(LAST_TRAINED, "0") or 0)
        if self.spec.workers:
            self._wait_for_games(since)
            return
        net = self.recorded_network(candidate.parent or "")
        config = SelfPlayConfig(SearchConfig(simulations=self.spec.simulations, noise=True))
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

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping():
                raise Stopped("waiting to train: ratchet is stopping")
            time.sleep(min(left, STOP_POLL_S))

    def _result(self, pool: Any, future: Any, what: str) -> Any:
        """``future``'s result, its process killed once ratchet is stopping."""
        while True:
            try:
                return future.result(timeout=STOP_POLL_S)
            except FuturesTimeout:
                if self._stopping():
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.kill()
                    raise Stopped(f"{what} abandoned: ratchet is stopping") from None

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


def bars_cleared(games: GameStore) -> set[str]:
    """The skill bars some champion cleared at its gate: each binds every later one."""
    from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS

    return {r["check"] for champion in games.champions()
            for r in json.loads(games.meta(f"{GATE}{champion}", "[]") or "[]")
            if r["check"] in SKILL_CHECKS and r["passed"]}


def _seed_of(candidate_id: str) -> int:
    return int(hashlib.sha256(candidate_id.encode()).hexdigest()[:8], 16)
