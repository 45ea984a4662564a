"""Challenger and champion runs interleaved in time, in ABBA order.

Two timing runs on the same cores disturb each other, and a machine drifts (load, caches,
heat) between a block of challenger runs and a block of champion runs. Run them one by one
instead, alternating which side goes first (A B, B A, A B, ...): a slow drift then adds to
one side as often as to the other, and the difference of two neighbouring runs cancels it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ratchet.errors import EvaluationError
from ratchet.types import EvalTask, Measurement


class PairedRunFailed(EvaluationError):
    """One side of an interleaved pair failed; ``index`` 0 is the first task, 1 the second."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def first_goes_first(task: EvalTask, run: int) -> bool:
    """Whether the first task of a pair runs first in its ``run``-th pair of this batch.
    The alternation continues across batches (pair number ``batch * size + run``)."""
    return (task.batch * task.size + run) % 2 == 0


def run_order(first: EvalTask, run: int) -> tuple[int, int]:
    """Which side (0: ``first``, 1: the other) runs first in the ``run``-th pair."""
    return (0, 1) if first_goes_first(first, run) else (1, 0)


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
