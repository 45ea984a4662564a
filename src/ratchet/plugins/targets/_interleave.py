"""Challenger and champion runs interleaved in time, in ABBA order.

Two timing runs on the same cores disturb each other, and a machine drifts (load, caches,
heat) between a block of challenger runs and a block of champion runs. Run them one by one
instead, alternating which side goes first (A B, B A, A B, ...): a slow drift then adds to
one side as often as to the other, and the difference of two neighbouring runs cancels it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from ratchet.core.errors import EvaluationError
from ratchet.core.types import EvalTask, Measurement


class PairedRunFailed(EvaluationError):
    """One side of an interleaved pair failed; ``index`` 0 is the first task, 1 the second."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


Run = TypeVar("Run")


def run_order(first: EvalTask, run: int) -> tuple[int, int]:
    """Which side (0: ``first``, 1: the other) runs first in the ``run``-th pair of this
    batch. The alternation continues across batches (pair ``batch * size + run``)."""
    return (0, 1) if (first.batch * first.size + run) % 2 == 0 else (1, 0)


def alternate(first: EvalTask, second: EvalTask,
              run_one: Callable[[EvalTask], Run]) -> tuple[list[Run], list[Run]]:
    """``run_one`` on single runs (size 1, seed + i) of both tasks in ABBA order: each
    side's runs in order. An ``EvaluationError`` becomes ``PairedRunFailed`` naming the
    side."""
    runs: tuple[list[Run], list[Run]] = ([], [])
    tasks = (first, second)
    for i in range(first.size):
        for side in run_order(first, i):
            single = replace(tasks[side], seed=tasks[side].seed + i, size=1)
            try:
                runs[side].append(run_one(single))
            except EvaluationError as exc:
                raise PairedRunFailed(side, str(exc)) from None
    return runs


def merge(measurements: Sequence[Measurement]) -> Measurement:
    """One measurement of a side from its single runs, in run order (``ordered``: run i
    pairs with the other side's run i)."""
    metrics: dict[str, float] = {}
    for name in {k for m in measurements for k in m.metrics}:
        values = [m.metrics[name] for m in measurements if name in m.metrics]
        metrics[name] = statistics.fmean(values)
    return Measurement(measurements[0].kind, tuple(s for m in measurements for s in m.scores),
                       ordered=True, errors=sum(m.errors for m in measurements),
                       cost_s=sum(m.cost_s for m in measurements), metrics=metrics)
