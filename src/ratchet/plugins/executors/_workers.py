"""Long-running workers (``Target.workers``) as processes on this machine.

Each worker is a spawned process (no forked torch or SQLite state) running the plan's
``main(link, index, *args)``. The loop publishes messages to every worker's inbox (a new
or restarted worker first gets the newest one); each worker sends its results through a
pipe of its own, which the loop drains. A worker that dies is started again by the next
``receive``; what it had not sent is lost, nothing else. (One queue shared by all workers
would not do: a worker killed while holding its write lock would silence the others.)
Workers stop when asked, and when the loop's process is gone (even after kill -9): they
watch its pid.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import queue
import socket
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from ratchet.plugins.scaleout.workers import WorkerPlan

log = logging.getLogger(__name__)


class ProcessLink:
    """A worker process's side of the link."""

    def __init__(self, inbox: Any, outbox: Connection, stop: Any, retire: Any):
        self.inbox, self.outbox, self.stop, self.retire = inbox, outbox, stop, retire
        self._latest: Any = None
        self._sending = threading.Lock()

    def latest(self) -> Any:
        with contextlib.suppress(queue.Empty):
            while True:
                self._latest = self.inbox.get_nowait()
        return self._latest

    def send(self, item: Any) -> None:
        with self._sending:  # waits while the pipe is full: the loop drains it
            self.outbox.send(item)

    def stopped(self) -> bool:
        return self.stop.is_set()

    def retiring(self) -> bool:
        return self.retire.is_set()

    def node(self) -> str:
        return socket.gethostname()


def _process_main(pickled_plan: bytes, index: int, inbox: Any, outbox: Connection, stop: Any,
                  retire: Any, parent: int) -> None:
    from ratchet.core.children import watch_parent

    # the loop gone (even by kill -9): end at once, without flushing a queue nobody reads
    watch_parent(parent)
    # only now the plan: loading it imports the worker's modules (torch: seconds on a busy
    # machine), and a process whose loop was killed meanwhile must not outlive it
    plan: WorkerPlan = pickle.loads(pickled_plan)
    plan.main(ProcessLink(inbox, outbox, stop, retire), index, *plan.args)


class LocalWorkers:
    """``plan.count`` worker processes on this machine (the loop's side)."""

    def __init__(self, plan: WorkerPlan):
        self.plan = plan
        self.context = mp.get_context("spawn")
        self.outboxes: list[Connection] = []  # every incarnation's, until it is drained
        self._received: list[Any] = []  # drained while stopping, not yet handed out
        self._reading = threading.Lock()  # one drain at a time (the receiver, stop)
        self.stop_event: Any = self.context.Event()
        self.processes: dict[int, Any] = {}
        self.inboxes: dict[int, Any] = {}
        self.retires: dict[int, Any] = {}
        self.retired: dict[int, Any] = {}  # processes finishing their last batch
        # their retire event and inbox, kept until they exit: a process still starting
        # would fail to rebuild a semaphore already released
        self._retired_links: dict[int, tuple[Any, Any]] = {}
        self._restarts = 0
        self._message: Any = None
        self._lock = threading.Lock()

    def start(self) -> LocalWorkers:
        for index in range(self.plan.count):
            self._spawn(index)
        return self

    def _spawn(self, index: int) -> None:
        if index in self.inboxes:  # a dead worker's: nothing will read what is in its pipe
            _abandon(self.inboxes[index])
        inbox, retire = self.context.Queue(), self.context.Event()
        if self._message is not None:
            inbox.put(self._message)
        reader, writer = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_process_main, name=f"{self.plan.name}-{index}", daemon=True,
            args=(pickle.dumps(self.plan), index, inbox, writer, self.stop_event, retire,
                  os.getpid()))
        process.start()
        writer.close()  # the worker's alone: its death is the reader's end of file
        with self._reading:
            self.outboxes.append(reader)
        self.processes[index], self.inboxes[index] = process, inbox
        self.retires[index] = retire

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def count(self) -> int:
        return len(self.processes)

    def resize(self, count: int) -> None:
        with self._lock:
            while len(self.processes) < count:  # an index no running process has
                self._spawn(max([*self.processes, *self.retired], default=-1) + 1)
            while len(self.processes) > max(count, 0):
                index = max(self.processes)
                retire = self.retires.pop(index)
                retire.set()
                self._retired_links[index] = (retire, self.inboxes.pop(index))
                self.retired[index] = self.processes.pop(index)

    def nodes(self) -> dict[str, int]:
        return {socket.gethostname(): self.count}

    def measure_nodes(self) -> dict[str, dict[str, float]]:
        from ratchet.plugins.scaleout.controllers import measure

        return {socket.gethostname(): measure()}

    def resize_node(self, node: str, count: int) -> None:
        self.resize(count)

    def publish(self, message: Any) -> None:
        with self._lock:
            self._message = message
            for inbox in self.inboxes.values():
                inbox.put(message)

    def _drain(self, timeout: float, *, keep: bool = False) -> list[Any]:
        """What was kept and what the workers' pipes hold (waiting up to ``timeout`` for
        the first item), or nothing if ``keep``: kept for the next call. A pipe whose
        worker is gone is dropped once read to its end (a message cut short by the
        worker's death is lost with it)."""
        with self._reading:
            items, self._received = self._received, []
            timeout = 0 if items else timeout
            while self.outboxes and len(items) < 10_000:
                ready = wait(self.outboxes, timeout)
                if not ready:
                    break
                for reader in ready:
                    try:
                        items.append(reader.recv())  # type: ignore[union-attr]
                    except (EOFError, OSError, pickle.UnpicklingError):
                        reader.close()  # type: ignore[union-attr]
                        self.outboxes.remove(reader)  # type: ignore[arg-type]
                timeout = 0
            if keep:
                self._received, items = items, []
            return items

    def receive(self, timeout: float) -> list[Any]:
        items = self._drain(timeout)
        if not self.stop_event.is_set():
            with self._lock:
                for index, process in list(self.retired.items()):
                    if not process.is_alive():
                        del self.retired[index]
                        links = self._retired_links.pop(index, None)
                        if links is not None:
                            _abandon(links[1])
                for index, process in list(self.processes.items()):
                    if not process.is_alive():
                        log.warning("%s %d exited (code %s): starting it again",
                                    self.plan.name, index, process.exitcode)
                        self._restarts += 1
                        self._spawn(index)
                        items.append({"worker_lost": index})
        return items

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every worker within ``timeout`` (killed past it); the champion messages
        still queued for them are dropped, so that this process's exit never waits on a
        queue no one reads (a big champion can fill a pipe to a worker already gone)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        processes = [*self.processes.values(), *self.retired.values()]
        # drained meanwhile: a worker handing over its last batch waits on a full pipe
        while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
            self._drain(0.1, keep=True)
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(1.0)
        self._drain(0, keep=True)
        for inbox in [*self.inboxes.values(), *(i for _, i in self._retired_links.values())]:
            _abandon(inbox)


def _abandon(inbox: Any) -> None:
    """Drop what a queue still has to send: its feeder thread is not waited for at exit."""
    with contextlib.suppress(Exception):
        inbox.cancel_join_thread()
        inbox.close()
