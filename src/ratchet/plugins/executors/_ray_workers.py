"""A target's long-running workers (``Target.workers``) are Ray actors, one CPU each, each
given a node (the alive node running the fewest, or the one a node's controller asks
for: ``resize_node``); a small actor pinned to each node measures it. The loop publishes
messages to them through Ray's object store and collects what they sent (no disk
shared). An actor found dead (its process or its node lost) is started again with the
newest message, on its node if it is still there, else on the least loaded; what it had
not handed over is lost and counted. Actors belong to the loop's process, so Ray ends
them when it ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

from ratchet.plugins.scaleout.workers import WorkerPlan

log = logging.getLogger("ratchet.plugins.executors.ray")


class WorkerActor:
    """One long-running worker inside a Ray actor (threaded: ``run`` plays while the
    loop publishes and takes). It is its own link: ``latest``, ``send``, ``stopped``."""

    def __init__(self, plan: WorkerPlan, index: int):
        self.plan, self.index = plan, index
        self._message: Any = None
        self._outbox: list[Any] = []
        self._lock = threading.Lock()
        self._stop = False
        self._retire = False

    def run(self) -> None:
        self.plan.main(self, self.index, *self.plan.args)

    def publish(self, message: Any) -> None:
        self._message = message

    def take(self) -> list[Any]:
        with self._lock:
            items, self._outbox = self._outbox, []
        return items

    def halt(self) -> None:
        self._stop = True

    def retire(self) -> None:
        self._retire = True

    def retiring(self) -> bool:
        return self._retire

    def latest(self) -> Any:
        return self._message

    def send(self, item: Any) -> None:
        with self._lock:
            self._outbox.append(item)

    def stopped(self) -> bool:
        return self._stop

    def node(self) -> str:
        import ray

        return f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:8]}"


class NodeMonitor:
    """Measures the node it is pinned to (``ratchet.plugins.scaleout.controllers.measure``)."""

    def __init__(self) -> None:
        from ratchet.plugins.scaleout.controllers import measure

        measure()  # psutil's first reading covers nothing: this primes it

    def measure(self) -> dict[str, float]:
        from ratchet.plugins.scaleout.controllers import measure

        return measure()


class RayWorkers:
    """``plan.count`` workers as Ray actors (the loop's side)."""

    def __init__(self, ray: Any, plan: WorkerPlan):
        self.ray = ray
        self.plan = plan
        # one CPU each (a worker plays on one thread), on the node given to it
        self.actor_class = ray.remote(max_concurrency=4, max_restarts=0,
                                      num_cpus=1)(WorkerActor)
        self.monitor_class = ray.remote(num_cpus=0, max_restarts=0)(NodeMonitor)
        self.placement: dict[int, str | None] = {}  # index: the node id it was given
        # one caller at a time (the receive thread, the league's, the loop's stop): a
        # call in flight ends before stop goes on, and none touches Ray after it
        self._lock = threading.RLock()
        self.monitors: dict[str, Any] = {}  # node id: its NodeMonitor
        self.actors: dict[int, Any] = {}
        self.runs: dict[int, Any] = {}
        self._taking: dict[int, Any] = {}  # index: its take in flight
        self.retiring: dict[int, tuple[Any, Any]] = {}  # (actor, its run) finishing
        self.message: Any = None  # the newest message, in Ray's object store
        self._restarts = 0
        self.lost = 0  # actors lost with what they had not handed over
        self._stopped = False
        self._stopping = False
        self._left: list[Any] = []

    def start(self) -> RayWorkers:
        for index in range(self.plan.count):
            self._spawn(index)
        return self

    def _spawn(self, index: int, node: str | None = None) -> None:
        """Start worker ``index`` on ``node`` (a node id), or where the fewest workers run:
        a node that is gone (its workers lost) gets no new ones."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._taking.pop(index, None)  # a take from the actor this one replaces
        alive = self._alive()
        if node is None or node not in alive:
            node = self._least_loaded(alive)
        options: dict[str, Any] = {}
        if node is not None:  # soft: should the node go before it starts, Ray places it
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        actor = self.actor_class.options(**options).remote(self.plan, index)
        if self.message is not None:
            actor.publish.remote(self.message)
        self.runs[index] = actor.run.remote()
        self.actors[index] = actor
        self.placement[index] = node

    # -- nodes -------------------------------------------------------------------------
    def _alive(self) -> dict[str, str]:
        """The alive nodes with CPUs: node id -> its name (host/id prefix)."""
        return {n["NodeID"]: f"{n['NodeManagerHostname']}/{n['NodeID'][:8]}"
                for n in self.ray.nodes()
                if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0}

    def _least_loaded(self, alive: dict[str, str]) -> str | None:
        load = dict.fromkeys(alive, 0)
        for index in self.actors:
            if self.placement.get(index) in load:
                load[self.placement[index]] += 1  # type: ignore[index]
        return min(load, key=lambda n: (load[n], n)) if load else None

    def nodes(self) -> dict[str, int]:
        with self._lock:
            if self._stopping:  # Ray may be shut down already
                return {}
            alive = self._alive()
            return {name: sum(1 for i in self.actors if self.placement.get(i) == node)
                    for node, name in alive.items()}

    def measure_nodes(self) -> dict[str, dict[str, float]]:
        """Each alive node measured by a small actor pinned to it (no CPU reserved)."""
        with self._lock:
            return {} if self._stopping else self._measure_nodes()

    def _measure_nodes(self) -> dict[str, dict[str, float]]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        alive = self._alive()
        for node in [n for n in self.monitors if n not in alive]:
            self.monitors.pop(node)
        for node in alive:
            if node not in self.monitors:
                self.monitors[node] = self.monitor_class.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
                ).remote()
        refs = {node: m.measure.remote() for node, m in self.monitors.items()}
        ready, _ = self.ray.wait(list(refs.values()), num_returns=len(refs), timeout=10)
        found = {}
        for node, ref in refs.items():
            if ref in ready:
                try:
                    found[alive[node]] = self.ray.get(ref)
                except self.ray.exceptions.RayError:
                    self.monitors.pop(node, None)  # started again next time
        return found

    def resize_node(self, node: str, count: int) -> None:
        """Run ``count`` workers on the node named ``node`` (as ``nodes`` names it)."""
        with self._lock:
            if not self._stopping:
                self._resize_node(node, count)

    def _resize_node(self, node: str, count: int) -> None:
        ids = {name: nid for nid, name in self._alive().items()}
        if node not in ids:
            return
        mine = sorted(i for i in self.actors if self.placement.get(i) == ids[node])
        for _ in range(count - len(mine)):
            self._spawn(max([*self.actors, *self.retiring], default=-1) + 1, ids[node])
        for index in reversed(mine[max(count, 0):]):
            self.actors[index].retire.remote()
            self.retiring[index] = (self.actors.pop(index), self.runs.pop(index))

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def count(self) -> int:
        return len(self.actors)

    def resize(self, count: int) -> None:
        with self._lock:
            if not self._stopping:
                self._resize(count)

    def _resize(self, count: int) -> None:
        while len(self.actors) < count:
            self._spawn(max([*self.actors, *self.retiring], default=-1) + 1)
        while len(self.actors) > max(count, 0):
            index = max(self.actors)
            self.actors[index].retire.remote()  # it sends its batch, then its run ends
            self.retiring[index] = (self.actors.pop(index), self.runs.pop(index))

    def publish(self, message: Any) -> None:
        self.message = self.ray.put(message)
        for actor in self.actors.values():
            actor.publish.remote(self.message)

    def receive(self, timeout: float) -> list[Any]:
        with self._lock:
            return self._receive(timeout)

    def _receive(self, timeout: float) -> list[Any]:
        if self._stopped:  # what the actors sent before they were ended
            items, self._left = self._left, []
            return items
        ray = self.ray
        items: list[Any] = []
        for index, (actor, run) in list(self.retiring.items()):  # last batches, then end
            finished = bool(ray.wait([run], timeout=0)[0])
            items.extend(self._take_or_nothing(actor))
            if finished:
                ray.kill(actor, no_restart=True)
                del self.retiring[index]
        for index, actor in self.actors.items():  # one take in flight per actor
            if index not in self._taking:
                self._taking[index] = actor.take.remote()
        if self._taking:
            ready, _ = ray.wait(list(self._taking.values()), num_returns=len(self._taking),
                                timeout=timeout)
            for index, ref in list(self._taking.items()):
                if ref in ready:  # a take not back yet is collected next time, not lost
                    del self._taking[index]
                    with contextlib.suppress(ray.exceptions.RayError):  # a lost actor:
                        items.extend(ray.get(ref))  # its run says so below
        if not self._stopping:
            items.extend(self._restart_ended())
        return items

    def _restart_ended(self) -> list[Any]:
        """Start again every worker whose run ended by itself: its actor lost (process or
        node gone: counted in ``lost``) or its code raised. Returns what it had sent."""
        ray = self.ray
        if not self.runs:
            return []
        ended, _ = ray.wait(list(self.runs.values()), num_returns=len(self.runs), timeout=0)
        items: list[Any] = []
        for index in [i for i, run in self.runs.items() if run in ended]:
            items.extend(self._take_or_nothing(self.actors[index]))
            try:
                ray.get(self.runs[index], timeout=1.0)
                why = "it returned"
            except ray.exceptions.RayActorError as exc:
                self.lost += 1
                why = type(exc).__name__
            except ray.exceptions.RayError as exc:  # the worker's own error
                why = " ".join(str(exc).split())[:300]
            log.warning("%s %d ended (%s): starting it again", self.plan.name, index, why)
            items.append({"worker_lost": index})
            self._restarts += 1
            ray.kill(self.actors[index], no_restart=True)
            self._spawn(index, self.placement.get(index))  # its node, if still there
        return items

    def _take_or_nothing(self, actor: Any) -> list[Any]:
        try:
            return list(self.ray.get(actor.take.remote(), timeout=5.0))
        except self.ray.exceptions.RayError:
            return []

    def stop(self) -> None:
        """Ask every actor to stop, collect what they sent, and end them."""
        if self._stopped:
            return
        with self._lock:
            self._stopping = True
            for actor in self.actors.values():
                actor.halt.remote()
            ray = self.ray
            if self.runs:
                ray.wait(list(self.runs.values()), num_returns=len(self.runs), timeout=30)
            self._left = self.receive(1.0)
            self._stopped = True
            for actor in [*self.actors.values(), *(a for a, _ in self.retiring.values()),
                          *self.monitors.values()]:
                ray.kill(actor, no_restart=True)
