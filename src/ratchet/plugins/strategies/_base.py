"""The Strategy protocol: propose challengers, learn from results, save and restore state."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Space
from ratchet.core.types import Candidate, Trial

Direction = Literal["maximize", "minimize"]


class Strategy(ABC):
    """Proposes challengers. ``state_dict`` is saved with every committed cycle;
    ``restore`` receives the run's finished trials when a run resumes."""

    name: ClassVar[str]
    #: the strategy's recipe section; its fields are the strategy's options, declared once
    options_spec: ClassVar[type[Spec] | None] = None
    #: whether it can propose several challengers before hearing of any (racing)
    proposes_several: ClassVar[bool] = True

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        """``options`` are validated by ``options_spec`` (its defaults fill the rest) and
        kept as ``self.options``."""
        self.space = space
        self.seed = seed
        self.direction = direction
        self.options: Any = None
        if self.options_spec is not None:
            self.options = self.options_spec(**options)
        elif options:
            raise TypeError(f"{type(self).__name__} takes no options; got "
                            f"{', '.join(sorted(options))}")

    @classmethod
    def from_spec(cls, spec: Spec, context: BuildContext) -> Strategy:
        """The strategy for its recipe section (``Spec.create``); the section itself is its
        options (its ``kind`` may be an import path, which the class's own Spec would not
        take)."""
        options = dict(spec)
        if ":" in str(options.get("kind", "")):  # named by path: the class's own kind
            options.pop("kind")
        strategy = cls(context.space, seed=context.seed, direction=context.direction,
                       **options)
        strategy.options = spec
        return strategy

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

    @classmethod
    def from_options(cls, options: dict[str, Any], context: BuildContext) -> Strategy:
        """Named by import path in a recipe (``kind: "package.module:MyStrategy"``): the
        space, the run's seed and direction, and the section's other keys as keywords."""
        return cls(context.space, seed=context.seed, direction=context.direction, **options)

    def _candidate(self, params: dict[str, Any], champion: Candidate, note: str) -> Candidate:
        return Candidate(params=self.space.validate(params), origin=self.name,
                         parent=champion.id, note=note)
