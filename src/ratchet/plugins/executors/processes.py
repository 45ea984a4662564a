"""Evaluations of one batch in parallel over a pool of worker processes on this machine.

Workers are started with ``spawn`` (the loop may hold threads, e.g. the progress display,
which ``fork`` would copy in an unknown state) and reused across cycles. Each exits once
its parent is gone; as a backstop each registers itself (``registry``), and the next start
of the run kills any that are still there.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ratchet.core import children
from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import EvalTask
from ratchet.plugins.executors._base import (
    EvalResult,
    Executor,
    evaluate_pair_safely,
    evaluate_safely,
)

if TYPE_CHECKING:
    from ratchet.plugins.targets import Target


class ProcessesExecutor(Executor):
    name = "processes"

    def __init__(self, workers: int | None = None, registry: Path | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.registry = registry
        self._pool: ProcessPoolExecutor | None = None

    @property
    def parallelism(self) -> int:
        return self.workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=children.init_pool_worker, initargs=(os.getpid(), self.registry))
        return self._pool

    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        pool = self._get_pool()
        futures = [pool.submit(evaluate_safely, target, task) for task in tasks]
        results = []
        for task, future in zip(tasks, futures, strict=True):
            try:
                results.append(future.result())
            except BrokenProcessPool:  # a worker died: report it, start a fresh pool next time
                self._pool = None
                results.append(EvalResult(task, None, "worker process died", 0.0))
        return results

    def run_interleaved(self, target: Target, first: EvalTask,
                        second: EvalTask) -> list[EvalResult]:
        """In one worker: the runs must follow each other, not overlap."""
        try:
            return self._get_pool().submit(evaluate_pair_safely, target, first, second).result()
        except BrokenProcessPool:
            self._pool = None
            return [EvalResult(first, None, "worker process died", 0.0),
                    EvalResult(second, None, "not measured: the worker died", 0.0)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ProcessesSpec(Spec):
    """A pool of worker processes on this machine: challenger and champion run in
    parallel (unless the target interleaves them)."""

    kind: Literal["processes"] = "processes"
    workers: int | None = Field(None, ge=1, description="pool size (default: the CPUs)")

    def create(self, context: BuildContext) -> ProcessesExecutor:
        registry = context.run.workers if context.run_dir else None
        return ProcessesExecutor(self.workers, registry=registry)
