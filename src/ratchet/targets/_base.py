"""The Target protocol: what is being improved, and how one candidate is measured."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from ratchet.space import Space
from ratchet.types import Candidate, EvalTask, Measurement, OutcomeKind

if TYPE_CHECKING:
    from ratchet.store import Store


class Target(ABC):
    """Measures candidates. ``apply`` makes a promoted champion live (a config file, a
    kernel setting); it must be idempotent, because a restart re-applies the champion."""

    name: ClassVar[str]
    outcome: OutcomeKind = "games"
    head_to_head: bool = False

    @abstractmethod
    def baseline(self, space: Space) -> dict[str, Any]:
        """The starting champion's parameters (what is live now)."""

    @abstractmethod
    def evaluate(self, task: EvalTask) -> Measurement:
        """Measure ``task.candidate``; raise EvaluationError with a reason on failure."""

    def apply(self, champion: Candidate) -> None:  # noqa: B027 - optional hook
        """Make ``champion`` the live configuration."""

    def discard(self, candidate: Candidate) -> None:  # noqa: B027 - optional hook
        """Forget files made for a candidate that will not be measured again."""

    def open(self, store: Store) -> None:  # noqa: B027 - optional hook
        """Called in the loop's process before anything is applied or measured: a target
        that changes a live system records what it will change (in ``store``, committed)
        and repairs what a crashed run left behind."""

    def hand_edit(self) -> str | None:
        """After ``open``: what was changed by hand in the live system since ratchet last
        applied a champion (one sentence), or None."""
        return None

    def live_params(self, space: Space) -> dict[str, Any]:
        """The parameters the live system holds now (for adopting a hand edit)."""
        return self.baseline(space)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Called when the loop ends for any reason (completion, stop, error)."""
