"""Evaluations one after another in the loop's own process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ratchet.executors._base import EvalResult, Executor, evaluate_safely
from ratchet.plugins import BuildContext, Spec
from ratchet.types import EvalTask

if TYPE_CHECKING:
    from ratchet.targets import Target


class InlineExecutor(Executor):
    name = "inline"

    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        return [evaluate_safely(target, task) for task in tasks]


class InlineSpec(Spec):
    """Evaluations one after another in the loop's process (the default)."""

    kind: Literal["inline"] = "inline"

    def create(self, context: BuildContext) -> InlineExecutor:
        return InlineExecutor()
