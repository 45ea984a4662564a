"""Plugin families and their registries: each kind of target, strategy, judge, executor and gate
owns its recipe section (a ``Spec``: the ``kind`` and its fields, declared once, with
defaults and descriptions) and knows how to create its plugin from it.

A family lists its built-in kinds by module (imported only when the family is first
read, so that a heavy plugin costs nothing until used: keep spec modules light), then
the kinds other packages add through entry points::

    # a third-party package's pyproject.toml
    [project.entry-points."ratchet.targets"]
    my_target = "my_package.ratchet_plugin:MyTargetSpec"

The recipe's sections are discriminated unions built from these registries. A recipe may
also name a class by import path, ``kind: "package.module:Name"``: a ``Spec`` subclass
(its fields are the section's), or a plugin class itself (a ``Target``, ``Strategy`` or
``Executor`` subclass), whose constructor receives the section's other keys.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ratchet.core.rundir import RunDir

if TYPE_CHECKING:
    from ratchet.core.space import Space

log = logging.getLogger(__name__)


class RecipeView(Protocol):
    """What a plugin may read of the whole recipe (``Spec.check_recipe``,
    ``BuildContext.recipe``); the engine's ``Recipe`` is one."""

    seed: int
    target: Any
    judge: Any
    strategy: Any
    executor: Any


class Spec(BaseModel):
    """One plugin's section of a recipe. Subclasses declare ``kind: Literal[...]`` and
    their fields, and implement ``create``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    def create(self, context: BuildContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not say how to create its plugin")

    def check_recipe(self, recipe: RecipeView) -> None:  # noqa: B027 - optional hook
        """Rules that involve other sections (raise ValueError with a sentence)."""

    def check_space(self, space: Space) -> None:  # noqa: B027 - optional hook
        """Rules on the parsed space (raise ValueError with a sentence)."""

    @classmethod
    def report(cls, run_dir: Path) -> dict[str, Any]:
        """What `ratchet status` shows of this kind's own state in a run (read-only;
        a target's spec: its games, ratings, ...). Names are sentences' subjects."""
        return {}

    @classmethod
    def metrics(cls, run_dir: Path) -> list[tuple[str, str, str, float | None]]:
        """This kind's own Prometheus series for a run: (name, "counter" or "gauge",
        help, value); the collector adds the run's labels."""
        return []

    @classmethod
    def views(cls, run_dir: Path) -> list[dict[str, Any]]:
        """This kind's own dashboard cards for a run, in shapes the dashboard draws
        without knowing the kind: ``{"kind": "intervals", "title", "note", "points":
        [{"label", "value", "low", "high"}], "references": [{"label", "value", "low",
        "high"}], "unit"}`` (a value per point with its interval, e.g. a rating curve)."""
        return []


@dataclass(frozen=True)
class BuildContext:
    """What a plugin may need beyond its own section."""

    recipe: RecipeView
    run_dir: Path | None
    space: Space

    @property
    def seed(self) -> int:
        return self.recipe.seed

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return self.recipe.target.direction  # type: ignore[no-any-return]

    @property
    def run(self) -> RunDir:
        """The run's files (see core.rundir); plugins write only under ``run.work``."""
        if self.run_dir is None:
            raise ValueError("this plugin needs a run directory")
        return RunDir(self.run_dir)

    @property
    def work_dir(self) -> Path:
        return self.run.work


def load_object(path: str) -> Any:
    """``package.module:Name`` imported (raises ValueError with a sentence)."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"{path!r} is not an import path: expected package.module:Name")
    try:
        found: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"cannot import {module} (for {path}): {exc}") from None
    except SystemExit as exc:  # the module's own code ran on import: it is not ratchet's end
        raise ValueError(f"importing {module} (for {path}) called sys.exit({exc.code!r})") \
            from None
    except Exception as exc:  # noqa: BLE001 - a SyntaxError, or its code raised on import
        raise ValueError(f"importing {module} (for {path}) failed: "
                         f"{type(exc).__name__}: {exc}") from None
    for part in name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"{module} has no {name} (for {path})") from None
    return found


class ClassSpec(Spec):
    """The section of a plugin class named by import path: its keys (other than ``kind``
    and the family's own, such as a target's ``direction``) go to the class's
    ``from_options``, which by default passes them to the constructor."""

    model_config = ConfigDict(extra="allow")
    plugin: ClassVar[Any] = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check_options(self) -> ClassSpec:
        init = getattr(self.plugin, "__init__", None)
        try:
            signature = inspect.signature(init)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return self
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            known = {n for n, p in signature.parameters.items()
                     if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"self"}
            unknown = sorted(set(self.options) - known)
            if unknown:
                raise ValueError(f"{self.plugin.__name__} takes no option "
                                 f"{', '.join(unknown)} (it takes {', '.join(sorted(known))})")
        return self

    def create(self, context: BuildContext) -> Any:
        return self.plugin.from_options(self.options, context)


def kinds_of(spec: type[Spec]) -> tuple[str, ...]:
    """The ``kind`` values a spec class accepts (its Literal)."""
    annotation = spec.model_fields["kind"].annotation
    values = typing.get_args(annotation)
    if typing.get_origin(annotation) is not Literal or not values:
        raise TypeError(f"{spec.__name__}.kind must be a Literal of the kind names")
    return tuple(str(v) for v in values)


class Family:
    """The registry of one plugin family (``target``, ``strategy``, ``judge``,
    ``executor``, ``gate``)."""

    def __init__(self, name: str, group: str, builtin_modules: Iterable[str], base: str, *,
                 named_by_class: bool = True, spec_is_plugin: bool = False):
        """``named_by_class``: ``kind: "package.module:Class"`` may name a plugin class
        (its keys go to ``from_options``) as well as a Spec; ``spec_is_plugin``: the
        family's plugin is its Spec itself (a judge), so a Spec named by path must be
        one of the family's plugins."""
        self.name = name
        self.named_by_class = named_by_class
        self.spec_is_plugin = spec_is_plugin
        self.group = group
        self._modules = tuple(builtin_modules)
        self._base = base  # "module:Class" of the family's plugin base, read when needed
        self._specs: dict[str, type[Spec]] = {}
        self._by_path: dict[str, type[Spec]] = {}
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

    def by_path(self, path: str) -> type[Spec]:
        """The spec of ``kind: "package.module:Name"`` (raises ValueError with a sentence)."""
        if path not in self._by_path:
            self._by_path[path] = self._spec_for(path, load_object(path))
        return self._by_path[path]

    def spec_of(self, kind: str) -> type[Spec]:
        """The spec of a recipe's ``kind``, a short name or ``package.module:Name``."""
        return self.by_path(kind) if ":" in kind else self.spec(kind)

    def _spec_for(self, path: str, found: Any) -> type[Spec]:
        base = load_object(self._base)
        kind = (Literal[path], Field(description="the class, by import path"))
        if isinstance(found, type) and issubclass(found, Spec):
            if self.spec_is_plugin and not issubclass(found, base):
                raise ValueError(f"{path} is a Spec but not a {self.name} (a {self._base} "
                                 "subclass)")
            return create_model(found.__name__, __base__=found, kind=kind)  # type: ignore[call-overload, no-any-return]
        if isinstance(found, type) and issubclass(found, base) and self.named_by_class:
            fields = found.spec_fields() if hasattr(found, "spec_fields") else {}
            spec = create_model(f"{found.__name__}Spec", __base__=ClassSpec, kind=kind,
                                **fields)
            spec.plugin = found
            return spec  # type: ignore[no-any-return]
        what = f"a {self.name} class (a Spec)" if not self.named_by_class else \
            f"a {self.name} class (a {self._base} subclass) or its Spec"
        raise ValueError(f"{path} is {type(found).__name__} {found!r}, expected {what}")

    def union(self) -> Any:
        """The discriminated union of every kind, for a recipe field."""
        specs = tuple(self.specs())
        return typing.Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


JUDGES = Family("judge", "ratchet.judges",
                ["ratchet.plugins.judges.sprt", "ratchet.plugins.judges.welch",
                 "ratchet.plugins.judges.weighted"],
                base="ratchet.plugins.judges:Judge", named_by_class=False, spec_is_plugin=True)
EXECUTORS = Family("executor", "ratchet.executors",
                   ["ratchet.plugins.executors.inline", "ratchet.plugins.executors.processes",
                    "ratchet.plugins.executors.ray"], base="ratchet.plugins.executors:Executor")

STRATEGIES = Family("strategy", "ratchet.strategies",
                    ["ratchet.plugins.strategies.perturb", "ratchet.plugins.strategies.evolve",
                     "ratchet.plugins.strategies.ppo", "ratchet.plugins.strategies.optuna",
                     "ratchet.plugins.strategies.portfolio", "ratchet.plugins.strategies.spsa"],
                    base="ratchet.plugins.strategies:Strategy")

TARGETS = Family("target", "ratchet.targets",
                 ["ratchet.plugins.targets.command", "ratchet.plugins.targets.python",
                  "ratchet.plugins.targets.cartpole.spec", "ratchet.plugins.targets.sysctl.spec",
                  "ratchet.plugins.targets.selfplay.spec"],
                 base="ratchet.plugins.targets:Target")

GATES = Family("gate", "ratchet.gates",
               ["ratchet.plugins.gates.range", "ratchet.plugins.gates.floor",
                "ratchet.plugins.gates.approval"], base="ratchet.plugins.gates:Gate",
               named_by_class=False)

FAMILIES = {"target": TARGETS, "strategy": STRATEGIES, "judge": JUDGES,
            "executor": EXECUTORS, "gate": GATES}


def all_kinds() -> set[str]:
    return {kind for family in FAMILIES.values() for kind in family.kinds()}
