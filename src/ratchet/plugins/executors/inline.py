"""Evaluations one after another in the loop's own process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import EvalTask
from ratchet.plugins.executors._base import EvalResult, Executor, evaluate_safely

if TYPE_CHECKING:
    from ratchet.plugins.targets import Target


class InlineExecutor(Executor):
    name = "inline"

    def run(self, target: Target, tasks: Sequence[EvalTask]) -> list[EvalResult]:
        return [evaluate_safely(target, task) for task in tasks]


class InlineSpec(Spec):
    """Evaluations one after another in the loop's process (the default)."""

    kind: Literal["inline"] = "inline"

    def create(self, context: BuildContext) -> InlineExecutor:
        return InlineExecutor()
