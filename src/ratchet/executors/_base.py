"""The Executor protocol: run a batch of evaluations and hand back every result."""

from __future__ import annotations

import logging
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ratchet.errors import EvaluationError
from ratchet.types import EvalTask, Measurement

if TYPE_CHECKING:
    from ratchet.targets import Target

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


def evaluate_safely(target: Target, task: EvalTask) -> EvalResult:
    """Run one evaluation; any failure becomes an EvalResult with the reason, never a raise."""
    start = time.monotonic()
    try:
        measurement = target.evaluate(task)
        return EvalResult(task, measurement, None, time.monotonic() - start)
    except EvaluationError as exc:
        return EvalResult(task, None, str(exc), time.monotonic() - start)
    except Exception:  # a target bug must not stop the loop: record the traceback
        return EvalResult(task, None, traceback.format_exc(limit=8), time.monotonic() - start)


class Executor(ABC):
    name: ClassVar[str]

    @abstractmethod
    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        """Evaluate every task; results come back in the order of ``tasks``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
