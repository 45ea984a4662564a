"""The self-play workers, the loop's side: the plan the executor starts, the newest
champion published to them, and one thread of the loop's process that stores the games
they send (the store's one writer) and, with ``workers_control``, sizes each node's share
by that node's load."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ratchet.plugins.scaleout.controllers import NodeControllers
from ratchet.plugins.scaleout.workers import WorkerGroup, WorkerPlan
from ratchet.plugins.targets.selfplay.gamestore import (
    GAMES_LOST,
    RECEIVE_ERRORS,
    RESOURCES,
    GameStore,
)

if TYPE_CHECKING:
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec

log = logging.getLogger("ratchet.plugins.targets.selfplay.target")


class WorkerPool:
    def __init__(self, spec: SelfPlaySpec, db: Path, seed: int):
        self.spec = spec
        self.db = db
        self.seed = seed
        self.group: WorkerGroup | None = None
        self._receiver: threading.Thread | None = None
        self._receiving = threading.Event()
        self._controllers = NodeControllers(self._node_controller)  # one per node
        self.received = 0  # games the workers sent, stored

    def plan(self) -> WorkerPlan | None:
        from ratchet.plugins.targets.selfplay.worker import selfplay_worker

        if not self.spec.workers:
            return None
        return WorkerPlan(self.spec.workers, selfplay_worker,
                          (self.spec.game, self.spec.games_per_batch, self.spec.simulations,
                           self.seed, self.spec.device, self.spec.play_config()),
                          name="selfplay-worker")

    def attach(self, group: WorkerGroup) -> None:
        """Receive the workers' games in a thread of the loop's process, batch by batch."""
        self.group = group
        if self.spec.workers_control is not None:
            with GameStore(self.db) as store:  # a saved controller sets its count at once
                self._control(store)
        self._receiving.set()
        self._receiver = threading.Thread(target=self._receive, name="selfplay-receive",
                                          daemon=True)
        self._receiver.start()

    def publish(self, message: Any) -> None:
        if self.group is not None:
            self.group.publish(message)

    def close(self) -> None:
        """After the workers were stopped: what they sent is stored."""
        if self._receiver is not None:
            self._receiving.clear()
            self._receiver.join(30)
            self._receiver = None

    def _receive(self) -> None:
        from ratchet.plugins.targets.selfplay.worker import InFlight

        assert self.group is not None
        in_flight, counted = InFlight(), 0
        with GameStore(self.db) as store:
            while True:
                receiving = self._receiving.is_set()
                try:
                    if receiving and self.spec.workers_control is not None:
                        self._control(store)
                    for batch in self.group.receive(0.5 if receiving else 0.2):
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
        assert self.group is not None
        done = self._controllers.step(self.group, time.time())
        if done is None:
            return
        for node in [*done.new, *done.readings]:
            workers = self._controllers.by_node[node].workers
            if workers != done.alive.get(node, 0):
                self.group.resize_node(node, workers)
        for node, kept in done.readings.items():
            store.set_meta(f"{RESOURCES}{node}", json.dumps(kept))
        for node in done.gone:
            saved = json.loads(store.meta(f"{RESOURCES}{node}") or "{}")
            if saved:
                store.set_meta(f"{RESOURCES}{node}", json.dumps({**saved,
                                                                 "gone_at": time.time()}))
            log.warning("node %s is gone: its controller stops", node)
