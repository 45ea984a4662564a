"""The Judge protocol: PROMOTE / REJECT / CONTINUE from challenger-vs-champion evidence."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import Evidence, OutcomeKind, Verdict

if TYPE_CHECKING:
    from ratchet.core.registry import RecipeView


class Judge(Spec):
    """A sequential test. The loop gathers ``batch`` more games or samples per call of
    ``decide`` until the verdict is final. A judge is its own recipe section: its fields
    are the recipe's ``judge:`` keys."""

    name: ClassVar[str]
    outcome: ClassVar[OutcomeKind]
    batch: int

    @abstractmethod
    def decide(self, evidence: Evidence) -> Verdict:
        """Verdict on the evidence gathered so far in this cycle."""

    def batch_sizes(self, evidence: Evidence) -> tuple[int, int]:
        """Games or samples of the challenger and of the champion the next batch
        measures, given the evidence so far (a head-to-head batch: the challenger's)."""
        return self.batch, self.batch

    def batch_cost(self, head_to_head: bool) -> int:
        """The most games or samples one batch can measure, both sides."""
        return self.batch * (1 if head_to_head else 2)

    def create(self, context: BuildContext) -> Judge:
        return self

    def check_recipe(self, recipe: RecipeView) -> None:
        if recipe.target.outcome != self.outcome:
            other = {"games": "sprt", "samples": "welch"}[recipe.target.outcome]
            raise ValueError(f"judge {self.name} needs target outcome: {self.outcome} (use "
                             f"{other} for {recipe.target.outcome})")
