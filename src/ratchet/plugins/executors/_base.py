"""The Executor protocol: run a batch of evaluations and hand back every result."""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ratchet.core.errors import EvaluationError
from ratchet.core.registry import BuildContext
from ratchet.core.types import EvalTask, Measurement
from ratchet.plugins.scaleout.workers import WorkerGroup, WorkerPlan

if TYPE_CHECKING:
    from ratchet.plugins.targets import Target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalResult:
    task: EvalTask
    measurement: Measurement | None
    error: str | None
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.measurement is not None


def checked(task: EvalTask, measurement: Measurement) -> Measurement:
    """Evidence at the door: more games than the batch asked for, a value that is not
    finite, or a game score other than 0, 1/2 or 1 is a failed evaluation with its
    reason, never evidence. (How many values a samples target gives is its own contract:
    the python target's is exactly ``size``.)"""
    scores = measurement.scores
    if measurement.kind == "games" and len(scores) > task.size:
        raise EvaluationError(f"the benchmark gave {len(scores)} games for a batch of "
                              f"{task.size}; expected at most {task.size}")
    if not all(math.isfinite(v) for v in scores):
        bad = next(v for v in scores if not math.isfinite(v))
        raise EvaluationError(f"the benchmark gave {bad!r}; expected finite numbers")
    if measurement.kind == "games" and not all(v in (0.0, 0.5, 1.0) for v in scores):
        bad = next(v for v in scores if v not in (0.0, 0.5, 1.0))
        raise EvaluationError(f"the benchmark gave a game score of {bad!r}; expected 0, "
                              "0.5 or 1")
    return measurement


def evaluate_safely(target: Target, task: EvalTask) -> EvalResult:
    """Run one evaluation; any failure becomes an EvalResult with the reason, never a raise."""
    start = time.monotonic()
    try:
        measurement = checked(task, target.evaluate(task))
        return EvalResult(task, measurement, None, time.monotonic() - start)
    except EvaluationError as exc:
        return EvalResult(task, None, str(exc), time.monotonic() - start)
    except Exception:  # a target bug must not stop the loop: record the traceback
        return EvalResult(task, None, traceback.format_exc(limit=8), time.monotonic() - start)


def evaluate_pair_safely(target: Target, first: EvalTask,
                         second: EvalTask) -> list[EvalResult]:
    """Both tasks interleaved (``Target.evaluate_interleaved``); a failure of either side
    fails both, the failed one first in the list (the loop reports the first failure)."""
    from ratchet.plugins.targets._interleave import PairedRunFailed

    start = time.monotonic()
    try:
        a, b = target.evaluate_interleaved(first, second)
        a, b = checked(first, a), checked(second, b)
    except Exception as exc:
        seconds = time.monotonic() - start
        side = exc.index if isinstance(exc, PairedRunFailed) else 0
        reason = (str(exc) if isinstance(exc, EvaluationError)
                  else traceback.format_exc(limit=8))
        failed, other = (first, second) if side == 0 else (second, first)
        return [EvalResult(failed, None, reason, seconds),
                EvalResult(other, None, f"not measured: its paired {failed.role} run "
                           "failed", 0.0)]
    return [EvalResult(first, a, None, a.cost_s), EvalResult(second, b, None, b.cost_s)]


class Executor(ABC):
    name: ClassVar[str]
    stopping: threading.Event | None = None  # the run's stop event (``watch``)

    @property
    def parallelism(self) -> int:
        """How many evaluations run at once: a batch is split into this many tasks."""
        return 1

    @abstractmethod
    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        """Evaluate every task; results come back in the order of ``tasks``."""

    def run_interleaved(self, target: Target, first: EvalTask,
                        second: EvalTask) -> list[EvalResult]:
        """The two tasks' runs one at a time, alternating (see ``Target.interleaved``);
        results in the order of the arguments unless one failed (it comes first). Runs
        in this process unless an executor knows better."""
        return evaluate_pair_safely(target, first, second)

    def start_workers(self, plan: WorkerPlan) -> WorkerGroup:
        """Start the long-running workers a target asked for (``Target.workers``): here,
        processes on this machine."""
        from ratchet.plugins.executors._workers import LocalWorkers

        return LocalWorkers(plan).start()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers."""

    def watch(self, stop: threading.Event) -> None:
        """The run's stop event: an executor that can cancel evaluations in flight (Ray)
        does so once it is set, and their batch is discarded like any stopped batch."""
        self.stopping = stop

    @classmethod
    def from_options(cls, options: dict[str, Any], context: BuildContext) -> Executor:
        """Named by import path in a recipe: the section's other keys as keywords."""
        return cls(**options)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
