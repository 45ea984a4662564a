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

    def create(self, context: BuildContext) -> Judge:
        return self

    def check_recipe(self, recipe: RecipeView) -> None:
        if recipe.target.outcome != self.outcome:
            other = {"games": "sprt", "samples": "welch"}[recipe.target.outcome]
            raise ValueError(f"judge {self.name} needs target outcome: {self.outcome} (use "
                             f"{other} for {recipe.target.outcome})")
