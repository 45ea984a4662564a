"""Recipes: one YAML file per use case, validated on load.

A bad recipe raises one RecipeError naming the file, the key and what was expected.
Relative paths (config_file, cwd) are resolved against the directory ratchet runs in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ratchet.errors import RecipeError, SpaceError
from ratchet.plugins import EXECUTORS, JUDGES, STRATEGIES, all_kinds
from ratchet.rundirs import NAME_PATTERN
from ratchet.space import Space
from ratchet.targets._process import placeholders
from ratchet.targets.command import RESERVED

_NAME = NAME_PATTERN


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandTargetSpec(_Spec):
    kind: Literal["command"]
    benchmark: list[str] | str = Field(description="benchmark argv (or a string with shell: true)")
    config_file: str | None = None
    build: list[str] | str | None = None
    timeout_s: float = Field(300.0, gt=0)
    outcome: Literal["games", "samples"] = "games"
    metric: str | None = None
    direction: Literal["maximize", "minimize"] = "maximize"
    env: dict[str, str] = Field(default_factory=dict)
    shell: bool = False
    cwd: str | None = None
    start: dict[str, Any] = Field(default_factory=dict)
    interleave: bool | None = Field(None, description="run challenger and champion one run "
                                    "at a time in ABBA order (two timing runs on the same "
                                    "cores disturb each other, and drift cancels in "
                                    "neighbouring pairs); default: on for outcome: samples")

    @model_validator(mode="after")
    def _check(self) -> CommandTargetSpec:
        for key in ("benchmark", "build"):
            value = getattr(self, key)
            if isinstance(value, str) and not self.shell:
                raise ValueError(f"{key} is a string; give a list of arguments, "
                                 "or set shell: true to run it through a shell")
            if isinstance(value, list) and not value:
                raise ValueError(f"{key} must not be empty")
        if self.outcome == "samples" and not self.metric:
            raise ValueError("outcome: samples needs metric: the name of the value to read")
        if self.interleave and self.outcome != "samples":
            raise ValueError("interleave applies to outcome: samples (games are paired by "
                             "seed already)")
        return self


class _MaximizedSamples(_Spec):
    """A target whose measurements are samples of a score to maximize."""

    @property
    def outcome(self) -> Literal["samples"]:
        return "samples"

    @property
    def direction(self) -> Literal["maximize"]:
        return "maximize"


class CartPoleTargetSpec(_MaximizedSamples):
    kind: Literal["cartpole"]
    model: str | None = Field(None, description="starting champion (a .safetensors saved by "
                              "ratchet); absent: the shipped model")
    train_steps: int = Field(60_000, ge=1000, description="PPO steps to train each challenger")
    episodes: int = Field(5, ge=2, le=50, description="episodes per task unit measured")
    adaptation: Literal["in_context", "standard", "hybrid", "identify"] = "in_context"
    hard_tasks: bool = Field(True, description="train and measure on hard tasks too")
    threads: int = Field(1, ge=1, description="torch threads per evaluation")
    time_limit: int = Field(500, ge=10, le=100_000, description="steps before a measured "
                            "episode is cut (CartPole-v1: 500; longer episodes tell apart "
                            "champions that all balance for 500)")


class SysctlTargetSpec(_MaximizedSamples):
    kind: Literal["sysctl"]
    benchmark: list[str] | str = Field(description="benchmark argv; a string is split like a "
                                       "shell would, and never run by one")
    metric: str = Field(description="the value the benchmark prints (`metric: value`), "
                        "higher is better")
    sysctl_root: str = Field("/proc/sys", description="where kernel parameters live "
                             "(a directory tree of files in tests)")
    dry_run: bool = Field(False, description="write nothing; measure the system as it is")
    timeout_s: float = Field(15.0, gt=0, description="seconds before a benchmark run is "
                             "killed and counted as failed")
    performance_weight: float = Field(0.5, ge=0)
    stability_weight: float = Field(0.5, ge=0)
    reference_runs: int = Field(3, ge=1, description="runs measuring the original values")
    cwd: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SysctlTargetSpec:
        if not self.benchmark or (isinstance(self.benchmark, str)
                                  and not self.benchmark.strip()):
            raise ValueError("benchmark must not be empty")
        if self.performance_weight + self.stability_weight <= 0:
            raise ValueError("performance_weight + stability_weight must be above 0")
        return self


class GateSpec(_Spec):
    kind: Literal["range", "floor"]
    min: float | None = None
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> GateSpec:
        if self.kind == "floor" and self.min is None:
            raise ValueError("a floor gate needs min: the lowest acceptable score")
        return self


class ScheduleSpec(_Spec):
    max_cycles: int | None = Field(None, ge=1)
    interval_s: float = Field(0.0, ge=0)
    stagnation_cycles: int | None = Field(100, ge=1)
    baseline: int = Field(50, ge=0, description="games or runs measuring the first champion")
    failure_backoff_s: float = Field(30.0, ge=0)
    max_consecutive_failures: int = Field(3, ge=1)
    pause_s: float = Field(60.0, ge=0)
    checkpoint_every: int = Field(10, ge=0, description="cycles between checkpoints (0: only "
                                  "on promotion and shutdown)")
    checkpoint_keep: int = Field(5, ge=1, description="store snapshots kept")
    early_stop_cycles: int | None = Field(None, ge=1, description="end the run after this "
                                          "many cycles without a promotion")


class DashboardSpec(_Spec):
    port: int | None = Field(None, ge=0, le=65535, description="serve the dashboard on this "
                             "port (0: any free port); absent: no web server")
    host: str = Field("127.0.0.1", description="address to bind; 127.0.0.1 unless you mean "
                      "to expose it")


Strategies = STRATEGIES.union()
Judges = JUDGES.union()
Executors = EXECUTORS.union()
Targets = Annotated[CommandTargetSpec | CartPoleTargetSpec | SysctlTargetSpec,
                    Field(discriminator="kind")]


class Recipe(_Spec):
    name: str = Field(pattern=_NAME)
    target: Targets
    space: dict[str, dict[str, Any]]
    strategy: Strategies = Field(  # type: ignore[valid-type]
        default_factory=lambda: STRATEGIES.spec("perturb")())
    judge: Judges  # type: ignore[valid-type]
    gates: list[GateSpec] = Field(default_factory=list)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    executor: Executors = Field(  # type: ignore[valid-type]
        default_factory=lambda: EXECUTORS.spec("inline")())
    dashboard: DashboardSpec = Field(default_factory=DashboardSpec)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        self.judge.check_recipe(self)
        if not self.space:
            raise ValueError("space is empty: name at least one parameter to tune")
        return self

    def parsed_space(self) -> Space:
        return Space.from_dict(self.space)


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    path = Path(path)
    try:
        raw = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: is a directory, expected a recipe YAML file") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a text file, expected a recipe YAML file") from None
    except YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise RecipeError(f"{path}: not valid YAML{at}: "
                          f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: expected a mapping of keys (name, target, space, ...)")
    return parse_recipe(raw, source=str(path))


def parse_recipe(raw: dict[str, Any], source: str = "<recipe>") -> Recipe:
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(f"{source}: " + _describe(exc)) from None
    try:
        space = recipe.parsed_space()
    except SpaceError as exc:
        raise RecipeError(f"{source}: space.{exc}") from None
    from ratchet.targets.sysctl.tree import SysctlError, check_space

    try:
        if recipe.target.kind == "sysctl":
            check_space(space)
        recipe.strategy.check_space(space)
    except (SysctlError, ValueError) as exc:
        raise RecipeError(f"{source}: {exc}") from None
    allowed = RESERVED | set(space.names)
    t = recipe.target
    if not isinstance(t, CommandTargetSpec):
        return recipe
    used = placeholders(t.benchmark) | (placeholders(t.build) if t.build else set())
    for value in t.env.values():
        used |= placeholders(value)
    unknown = used - allowed
    if unknown:
        raise RecipeError(f"{source}: target: unknown placeholders "
                          f"{sorted('{' + u + '}' for u in unknown)}; expected one of "
                          f"{sorted(RESERVED)} or a parameter name")
    return recipe


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"] if not _is_tag(p))
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if err["type"] in ("missing", "value_error") or isinstance(got, dict) \
            else f" (got {got!r})"
        lines.append(f"{loc or 'recipe'}: {msg}{shown}")
    more = len(exc.errors()) - 5
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


_SECTION_KINDS = {"command", "cartpole", "sysctl"}


def _is_tag(part: Any) -> bool:
    """A discriminated union's tag in an error location (``target.command.timeout_s``)."""
    return part in _SECTION_KINDS or part in all_kinds() \
        or str(part).startswith("function-after[")
