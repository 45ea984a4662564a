"""Evaluations as Ray tasks: on a local Ray instance, or a cluster (`address: auto` or a
Ray URL). The loop stays the only writer of the store: workers return results.

A worker process that dies mid-evaluation is a system failure to Ray, which re-runs the
task elsewhere (``max_retries``); each task yields exactly one result, so retried work is
never counted twice. An evaluation that *fails* (bad output, timeout) is not retried: it
comes back as a failed result like on every executor.

A target's long-running workers are Ray actors (``_ray_workers``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ratchet.core.errors import RatchetError
from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import EvalTask
from ratchet.plugins.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.plugins.executors._ray_workers import RayWorkers
from ratchet.plugins.scaleout.workers import WorkerGroup, WorkerPlan

if TYPE_CHECKING:
    from ratchet.plugins.targets import Target

log = logging.getLogger(__name__)


def _ray() -> Any:
    from ratchet.core.extras import require

    require("ray", feature="executor 'ray'")
    import ray

    return ray


@contextlib.contextmanager
def _keeping_sigterm() -> Iterator[None]:
    """``ray.init`` replaces the SIGTERM handler with ``sys.exit``: the daemon's own
    (stop at the next safe point) is put back."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 max_retries: int = 3, task_resources: dict[str, float] | None = None):
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.task_resources = dict(task_resources or {})
        self._started_here = False
        self._remote: Any = None

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if self.address:
                _check_reachable(self.address)
                kwargs["address"] = self.address
            elif self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            with _keeping_sigterm():
                ray.init(**kwargs)
            self._started_here = True
            log.info("connected to Ray: %s", ray.cluster_resources())
        if self._remote is None:
            self._remote = ray.remote(max_retries=self.max_retries, retry_exceptions=False,
                                      resources=self.task_resources or None
                                      )(evaluate_safely)
        return ray

    @property
    def parallelism(self) -> int:
        """The CPUs Ray offers (a local Ray: ``workers``; a cluster: all of its CPUs)."""
        if self.num_cpus and not self.address:
            return self.num_cpus
        return max(1, int(self._connect().cluster_resources().get("CPU", 1)))

    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        """The tasks as Ray tasks; once the run's stop event is set, those still running
        are cancelled (the loop discards a stopped batch)."""
        ray = self._connect()
        target_ref = ray.put(target)
        refs = [self._remote.remote(target_ref, task) for task in tasks]
        stop = self.stopping
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            if pending and stop is not None and stop.is_set():
                for ref in pending:
                    ray.cancel(ref, force=True)
                break
        results = []
        for task, ref in zip(tasks, refs, strict=True):
            try:
                results.append(ray.get(ref))
            except ray.exceptions.TaskCancelledError:
                results.append(EvalResult(task, None, "cancelled: the loop is stopping", 0.0))
            except ray.exceptions.RayError as exc:  # retries exhausted, node lost, ...
                results.append(EvalResult(task, None, f"ray task failed: {exc}", 0.0))
        return results

    def start_workers(self, plan: WorkerPlan) -> WorkerGroup:
        return RayWorkers(self._connect(), plan).start()

    def close(self) -> None:
        if self._started_here:
            _ray().shutdown()
            self._started_here = False
            self._remote = None


class RaySpec(Spec):
    """Evaluations as Ray tasks, on a local Ray or a cluster."""

    kind: Literal["ray"] = "ray"
    workers: int | None = Field(None, ge=1, description="CPUs of a local Ray instance")
    address: str | None = Field(None, description="'auto' or a cluster address; absent: "
                                "start a local Ray")
    max_retries: int = Field(3, ge=0, description="re-runs of a task whose worker died")
    task_resources: dict[str, float] = Field(
        default_factory=dict, description="custom Ray resources each evaluation needs, "
        "e.g. {coordinator: 0.001} to keep the measurements on the node that started Ray "
        "with --resources='{\"coordinator\": 1}' (a target whose measurements read the "
        "run's files: self-play)")

    def create(self, context: BuildContext) -> RayExecutor:
        return RayExecutor(self.address, self.workers, self.max_retries,
                           self.task_resources)


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """A cluster address that answers nothing fails at once with its reason (Ray itself
    retries for minutes). ``auto`` is Ray's to find."""

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                      timeout=timeout_s):
            return
    except ValueError:
        raise RatchetError(f"executor.address {address!r}: expected 'auto', HOST:PORT or "
                           "ray://HOST:PORT") from None
    except OSError as exc:
        raise RatchetError(f"executor.address {address!r}: nothing answers there "
                           f"({exc.strerror or exc}); start the cluster (ray start --head) "
                           "or fix the address") from None
