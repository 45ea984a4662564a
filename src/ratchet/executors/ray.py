"""Evaluations as Ray tasks: on a local Ray instance, or a cluster (`address: auto` or a
Ray URL). The loop stays the only writer of the store: workers return results.

A worker process that dies mid-evaluation is a system failure to Ray, which re-runs the
task elsewhere (``max_retries``); each task yields exactly one result, so retried work is
never counted twice. An evaluation that *fails* (bad output, timeout) is not retried: it
comes back as a failed result like on every executor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ratchet.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.plugins import BuildContext, Spec
from ratchet.types import EvalTask

if TYPE_CHECKING:
    from ratchet.targets import Target

log = logging.getLogger(__name__)


def _ray() -> Any:
    from ratchet.extras import require

    require("ray", feature="executor 'ray'")
    import ray

    return ray


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 max_retries: int = 3):
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self._started_here = False
        self._remote: Any = None

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if self.address:
                kwargs["address"] = self.address
            elif self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            ray.init(**kwargs)
            self._started_here = True
            log.info("connected to Ray: %s", ray.cluster_resources())
        if self._remote is None:
            self._remote = ray.remote(max_retries=self.max_retries,
                                      retry_exceptions=False)(evaluate_safely)
        return ray

    @property
    def parallelism(self) -> int:
        """The CPUs Ray offers (a local Ray: ``workers``; a cluster: all of its CPUs)."""
        if self.num_cpus and not self.address:
            return self.num_cpus
        return max(1, int(self._connect().cluster_resources().get("CPU", 1)))

    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        ray = self._connect()
        target_ref = ray.put(target)
        refs = [self._remote.remote(target_ref, task) for task in tasks]
        results = []
        for task, ref in zip(tasks, refs, strict=True):
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayError as exc:  # retries exhausted, node lost, ...
                results.append(EvalResult(task, None, f"ray task failed: {exc}", 0.0))
        return results

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

    def create(self, context: BuildContext) -> RayExecutor:
        return RayExecutor(self.address, self.workers, self.max_retries)
