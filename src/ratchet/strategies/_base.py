"""The Strategy protocol: propose challengers, learn from results, save and restore state."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from ratchet.space import Space
from ratchet.types import Candidate, Trial

Direction = Literal["maximize", "minimize"]


class Strategy(ABC):
    """Proposes challengers. ``state_dict`` is saved with every committed cycle;
    ``restore`` receives the run's finished trials when a run resumes."""

    name: ClassVar[str]

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize"):
        self.space = space
        self.seed = seed
        self.direction = direction

    @abstractmethod
    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        """A new challenger (its params validated against the space)."""

    def observe(self, trial: Trial) -> None:  # noqa: B027 - optional hook
        """Called once per finished cycle."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore what ``state_dict`` returned."""

    def restore(self, history: Sequence[Trial]) -> None:  # noqa: B027 - optional hook
        """Rebuild in-memory models from the run's history after a restart."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release threads or processes; called when the loop ends."""

    def _candidate(self, params: dict[str, Any], champion: Candidate, note: str) -> Candidate:
        return Candidate(params=self.space.validate(params), origin=self.name,
                         parent=champion.id, note=note)
