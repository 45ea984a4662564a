"""Plugin families and their registries: each kind of target, strategy, judge and executor
owns its recipe section (a ``Spec``: the ``kind`` and its fields, declared once, with
defaults and descriptions) and knows how to create its plugin from it.

A family lists its built-in kinds by module (imported only when the family is first
read, so that a heavy plugin costs nothing until used: keep spec modules light), then
the kinds other packages add through entry points::

    # a third-party package's pyproject.toml
    [project.entry-points."ratchet.targets"]
    my_target = "my_package.ratchet_plugin:MyTargetSpec"

The recipe's sections are discriminated unions built from these registries.
"""

from __future__ import annotations

import importlib
import logging
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ratchet.recipe import Recipe
    from ratchet.space import Space

log = logging.getLogger(__name__)

class Spec(BaseModel):
    """One plugin's section of a recipe. Subclasses declare ``kind: Literal[...]`` and
    their fields, and implement ``create``."""

    model_config = ConfigDict(extra="forbid")

    def create(self, context: BuildContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not say how to create its plugin")

    def check_recipe(self, recipe: Recipe) -> None:  # noqa: B027 - optional hook
        """Rules that involve other sections (raise ValueError with a sentence)."""

    def check_space(self, space: Space) -> None:  # noqa: B027 - optional hook
        """Rules on the parsed space (raise ValueError with a sentence)."""


@dataclass(frozen=True)
class BuildContext:
    """What a plugin may need beyond its own section."""

    recipe: Recipe
    run_dir: Path | None
    space: Space

    @property
    def seed(self) -> int:
        return self.recipe.seed

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return self.recipe.target.direction  # type: ignore[no-any-return]

    @property
    def work_dir(self) -> Path:
        if self.run_dir is None:
            raise ValueError("this plugin needs a run directory")
        return self.run_dir / "work"


def kinds_of(spec: type[Spec]) -> tuple[str, ...]:
    """The ``kind`` values a spec class accepts (its Literal)."""
    annotation = spec.model_fields["kind"].annotation
    values = typing.get_args(annotation)
    if typing.get_origin(annotation) is not Literal or not values:
        raise TypeError(f"{spec.__name__}.kind must be a Literal of the kind names")
    return tuple(str(v) for v in values)


class Family:
    """The registry of one plugin family (``target``, ``strategy``, ``judge``,
    ``executor``)."""

    def __init__(self, name: str, group: str, builtin_modules: Iterable[str]):
        self.name = name
        self.group = group
        self._modules = tuple(builtin_modules)
        self._specs: dict[str, type[Spec]] = {}
        self._loaded = False

    def register(self, spec: type[Spec]) -> type[Spec]:
        """Add a kind (usable as a class decorator). A kind already taken is refused."""
        for kind in kinds_of(spec):
            taken = self._specs.get(kind)
            if taken is not None and taken is not spec:
                raise ValueError(f"{self.name} kind {kind!r} is already {taken.__module__}."
                                 f"{taken.__name__}; {spec.__module__}.{spec.__name__} "
                                 "cannot take it")
            self._specs[kind] = spec
        return spec

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._modules:
            for value in vars(importlib.import_module(module)).values():
                if isinstance(value, type) and issubclass(value, Spec) and value is not Spec \
                        and value.__module__ == module and "kind" in value.model_fields:
                    self.register(value)
        for point in entry_points(group=self.group):
            try:
                spec = point.load()
                self.register(spec)
            except Exception as exc:  # one broken package must not stop every run
                log.warning("ignoring the %s plugin %r from %s: %s", self.name, point.name,
                            point.value, exc)

    def kinds(self) -> list[str]:
        self._load()
        return sorted(self._specs)

    def specs(self) -> list[type[Spec]]:
        self._load()
        unique: list[type[Spec]] = []
        for spec in self._specs.values():
            if spec not in unique:
                unique.append(spec)
        return unique

    def spec(self, kind: str) -> type[Spec]:
        self._load()
        if kind not in self._specs:
            raise KeyError(f"unknown {self.name} kind {kind!r}; expected one of "
                           f"{self.kinds()}")
        return self._specs[kind]

    def union(self) -> Any:
        """The discriminated union of every kind, for a recipe field."""
        specs = tuple(self.specs())
        return typing.Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


JUDGES = Family("judge", "ratchet.judges", ["ratchet.judges.sprt", "ratchet.judges.welch",
                                             "ratchet.judges.weighted"])
EXECUTORS = Family("executor", "ratchet.executors",
                   ["ratchet.executors.inline", "ratchet.executors.processes",
                    "ratchet.executors.ray"])

STRATEGIES = Family("strategy", "ratchet.strategies",
                    ["ratchet.strategies.perturb", "ratchet.strategies.evolve",
                     "ratchet.strategies.ppo", "ratchet.strategies.optuna"])

TARGETS = Family("target", "ratchet.targets",
                 ["ratchet.targets.command", "ratchet.targets.python",
                  "ratchet.targets.cartpole.spec", "ratchet.targets.sysctl.spec"])

FAMILIES = {"target": TARGETS, "strategy": STRATEGIES, "judge": JUDGES,
            "executor": EXECUTORS}


def all_kinds() -> set[str]:
    return {kind for family in FAMILIES.values() for kind in family.kinds()}
