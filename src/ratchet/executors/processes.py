"""Evaluations of one batch in parallel over a pool of worker processes on this machine.

Workers are started with ``spawn`` (the loop may hold threads, e.g. the progress display,
which ``fork`` would copy in an unknown state) and reused across cycles.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from ratchet.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.types import EvalTask

if TYPE_CHECKING:
    from ratchet.targets import Target


def _ignore_sigint() -> None:
    """Ctrl+C reaches the whole foreground process group; the loop decides what it means."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessesExecutor(Executor):
    name = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_ignore_sigint)
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
