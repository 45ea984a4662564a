"""Recipes: one YAML file per use case, validated on load.

A bad recipe raises one RecipeError naming the file, the key and what was expected.
Relative paths (config_file, cwd) are resolved against the directory ratchet runs in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ratchet.core.errors import RatchetError, RecipeError, SpaceError
from ratchet.core.registry import EXECUTORS, GATES, JUDGES, STRATEGIES, TARGETS, all_kinds
from ratchet.core.rundir import NAME_PATTERN
from ratchet.core.space import Space
from ratchet.engine.constraints import Bound

_NAME = NAME_PATTERN


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Budget(_Spec):
    games: int | None = Field(None, ge=1, description="games measured (a games target), "
                              "baseline and champion included")
    runs: int | None = Field(None, ge=1, description="benchmark runs measured (a samples "
                             "target), baseline and champion included")
    seconds: float | None = Field(None, gt=0, description="time the loop has run, over "
                                  "every start with this budget")
    remeasure: int = Field(0, ge=0, description="games or runs measuring a champion "
                           "promoted by the last test once the budget is spent, outside "
                           "it, so that its final score is not the evidence that selected "
                           "it (0: off; its score is then marked provisional)")

    @model_validator(mode="after")
    def _check(self) -> Budget:
        if self.games is not None and self.runs is not None:
            raise ValueError("give games or runs, not both: they count the same measurements")
        if self.games is None and self.runs is None and self.seconds is None:
            raise ValueError("a budget needs games, runs or seconds")
        return self

    @property
    def unit(self) -> str:
        return "runs" if self.runs is not None else "games"

    @property
    def measurements(self) -> int | None:
        """Games or runs (every role counted), whichever the budget gives."""
        return self.runs if self.runs is not None else self.games


class Schedule(_Spec):
    max_cycles: int | None = Field(None, ge=1, description="end after this many cycles, "
                                   "one candidate decided each (a race is cut to the "
                                   "cycles left; absent: run until stopped)")
    interval_s: float = Field(0.0, ge=0, description="pause between cycles")
    stagnation_cycles: int | None = Field(100, ge=1, description="warn after this many "
                                          "cycles without a promotion")
    baseline: int = Field(50, ge=0, description="games or runs measuring the first champion "
                          "(and, once a budget is spent, a champion promoted by the last test, "
                          "whose only score would be its promoting evidence)")
    failure_backoff_s: float = Field(30.0, ge=0, description="wait after a failed "
                                     "evaluation")
    max_consecutive_failures: int = Field(3, ge=1, description="failures in a row before a "
                                          "safety pause")
    pause_s: float = Field(60.0, ge=0, description="length of a safety pause")
    checkpoint_every: int = Field(10, ge=0, description="cycles between checkpoints (0: only "
                                  "on promotion and shutdown)")
    checkpoint_keep: int = Field(5, ge=1, description="store snapshots kept")
    early_stop_cycles: int | None = Field(None, ge=1, description="end the run after this "
                                          "many cycles without a promotion")
    budget: Budget | None = Field(None, description="end the run when this much is spent: "
                                      "{games: N}, {runs: N} and/or {seconds: S}")
    cooldown_s: float = Field(0.0, ge=0, description="no new test starts until this long "
                              "after the last promotion")
    max_promotions_per_day: int | None = Field(None, ge=1, description="at most this many "
                                               "promotions in any 24 hours: the next test "
                                               "waits")


DEFAULT_CHALLENGERS = 8  # bench.search: see docs/decisions.md, "Racing"


class Racing(_Spec):
    challengers: int | None = Field(None, ge=1, le=64, description="challengers in flight "
                                    "per race: screened together, the champion measured "
                                    "once per seed; 1: one challenger per cycle (absent: "
                                    f"{DEFAULT_CHALLENGERS} where racing applies: a strategy "
                                    "that proposes several at once, a target measured "
                                    "against fixed opponents or by a benchmark)")
    keep: float = Field(0.25, gt=0, lt=1, description="share of the field kept after each "
                        "screening round (at least one is dropped per round)")
    screen: int | None = Field(None, ge=1, description="games or runs per side in a "
                               "screening round (default: one run of a samples benchmark, "
                               "the judge's batch of games)")


class DashboardSpec(_Spec):
    port: int | None = Field(None, ge=0, le=65535, description="serve the dashboard on this "
                             "port (0: any free port); absent: no web server")
    host: str = Field("127.0.0.1", description="address to bind; 127.0.0.1 unless you mean "
                      "to expose it")
    allowed_hosts: list[str] = Field(default_factory=list, description="names a request's "
                                     "Host header may carry besides localhost and the bound "
                                     "address (bound to 0.0.0.0: the names other machines "
                                     "reach this one by); any other is refused")


class ConfigurationSpec(_Spec):
    """One configuration of a run with several: its name and the target's keys that
    differ from the recipe's ``target`` section (e.g. ``game``)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=_NAME, description="names its run directory "
                      "(configurations/NAME) and labels its figures")

    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class CurriculumSpec(_Spec):
    workers: int | None = Field(None, ge=1, le=4096, description="worker slots shared among "
                                "the configurations (absent: the sum of their `workers`; "
                                "with the target's `workers_control`, its controller sets "
                                "the number)")
    min_share: float = Field(0.1, ge=0, lt=1, description="no configuration gets less than "
                             "this share of the slots")
    max_weight_multiplier: float = Field(1.5, ge=1, le=10, description="the most a "
                                         "configuration's weight is raised over the base 1 "
                                         "(learning fastest, or behind its own trend)")
    rebalance_interval_s: float = Field(600.0, gt=0, description="between two rebalances "
                                        "(the seed: 3600)")
    window_games: int = Field(1000, ge=10, description="progress is the rating gain per game "
                              "over each configuration's last this many self-play games")


# SerializeAsAny: a section may be a class named by import path, outside the union
Strategies = SerializeAsAny[STRATEGIES.union()]  # type: ignore[misc]
Judges = SerializeAsAny[JUDGES.union()]  # type: ignore[misc]
Executors = SerializeAsAny[EXECUTORS.union()]  # type: ignore[misc]
Targets = SerializeAsAny[TARGETS.union()]  # type: ignore[misc]
Gates = SerializeAsAny[GATES.union()]  # type: ignore[misc]
_SECTIONS = {"target": TARGETS, "strategy": STRATEGIES, "judge": JUDGES,
             "executor": EXECUTORS}


class Recipe(_Spec):
    name: str = Field(pattern=_NAME)
    target: Targets  # type: ignore[valid-type]
    space: dict[str, dict[str, Any]]
    strategy: Strategies = Field(  # type: ignore[valid-type]
        default_factory=lambda: STRATEGIES.spec("tpe")(kind="tpe"))
    judge: Judges  # type: ignore[valid-type]
    gates: list[Gates] = Field(default_factory=list)  # type: ignore[valid-type]
    schedule: Schedule = Field(default_factory=Schedule)
    executor: Executors = Field(  # type: ignore[valid-type]
        default_factory=lambda: EXECUTORS.spec("inline")())
    dashboard: DashboardSpec = Field(default_factory=DashboardSpec)
    racing: Racing = Field(default_factory=Racing)
    configurations: list[ConfigurationSpec] = Field(
        default_factory=list, description="several configurations in one run, each with its "
        "own champion, history and run directory: [{name: c4, game: connect_four}, ...]")
    curriculum: CurriculumSpec | None = Field(None, description="share the workers among "
                                              "the configurations by their progress")
    seed: int = Field(0, ge=0, lt=2**32, description="the run's seed: every seed it "
                      "plays derives from it")
    constraints: dict[str, Bound] = Field(
        default_factory=dict, description="bounds on other metrics the benchmark prints, "
        "e.g. {ratio: {min: 5.5}}: a challenger is promoted only when each is shown to hold "
        "with the judge's confidence")

    @field_validator("target", "strategy", "judge", "executor", mode="wrap")
    @classmethod
    def _by_import_path(cls, value: Any, handler: ValidatorFunctionWrapHandler,
                        info: ValidationInfo) -> Any:
        """``kind: "package.module:Name"``: the named class's spec validates the section."""
        kind = value.get("kind") if isinstance(value, dict) else None
        if isinstance(kind, str) and ":" in kind:
            return _SECTIONS[str(info.field_name)].by_path(kind).model_validate(value)
        return handler(value)

    @field_validator("gates", mode="wrap")
    @classmethod
    def _gates_by_import_path(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A gate of ``kind: "package.module:Name"``, like the other sections."""
        def by_path(item: Any) -> bool:
            return isinstance(item, dict) and ":" in str(item.get("kind", ""))

        if not isinstance(value, list) or not any(map(by_path, value)):
            return handler(value)
        return [GATES.by_path(item["kind"]).model_validate(item) if by_path(item)
                else handler([item])[0] for item in value]

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        for section in (self.target, self.strategy, self.judge, self.executor, *self.gates):
            section.check_recipe(self)
        budget = self.schedule.budget
        if budget is not None:
            outcome = getattr(self.target, "outcome", None)
            if outcome == "samples" and budget.games is not None:
                raise ValueError("schedule.budget.games: this target measures benchmark runs "
                                 "(outcome: samples); use budget.runs")
            if outcome == "games" and budget.runs is not None:
                raise ValueError("schedule.budget.runs: this target plays games "
                                 "(outcome: games); use budget.games")
            spend = budget.games or budget.runs
            if spend is not None and spend < self.schedule.baseline:
                raise ValueError(f"schedule.budget: {spend} is less than the "
                                 f"{self.schedule.baseline} games or runs schedule.baseline "
                                 "spends on the first champion; raise the budget or lower "
                                 "the baseline")
        if not self.space:
            raise ValueError("space is empty: name at least one parameter to tune")
        if self.constraints and getattr(self.target, "outcome", None) != "samples":
            raise ValueError("constraints: apply to metrics a benchmark prints beside its "
                             "score (a target with outcome: samples)")
        score = getattr(self.target, "metric", None)
        if score in self.constraints:
            raise ValueError(f"constraints.{score}: {score} is the score itself; constrain "
                             "another metric (the judge decides on the score)")
        names = [c.name for c in self.configurations]
        if len(set(names)) != len(names):
            raise ValueError(f"configurations: each needs its own name (got {names})")
        if self.curriculum is not None and len(names) < 2:
            raise ValueError("curriculum: shares workers among configurations; list at "
                             "least two under `configurations`")
        if self.configurations:
            self.configuration_recipes()
        return self

    def configuration_recipes(self) -> dict[str, Recipe]:
        """Each configuration as a recipe of its own: this one with the configuration's
        target keys, no dashboard (the run's serves all of them), and no worker control
        (the run's controller sets the number of workers all of them share)."""
        dumped = self.model_dump(mode="json", exclude={"configurations", "curriculum"})
        recipes: dict[str, Recipe] = {}
        for c in self.configurations:
            target = {**dumped["target"], **c.overrides()}
            target.pop("workers_control", None)
            try:
                recipes[c.name] = Recipe.model_validate(
                    {**dumped, "name": f"{self.name}-{c.name}", "target": target,
                     "dashboard": {"port": None}})
            except ValidationError as exc:
                raise ValueError(f"configurations.{c.name}: {_describe(exc)}") from None
            except RatchetError as exc:  # a check that names what to install or fix
                raise ValueError(f"configurations.{c.name}: {exc}") from None
        return recipes

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
    except RecursionError:
        raise RecipeError(f"{path}: nested too deeply to be a recipe (expected a YAML "
                          "mapping of sections)") from None
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
    try:
        for section in (recipe.target, recipe.strategy, recipe.judge, recipe.executor):
            section.check_space(space)
    except (SpaceError, ValueError) as exc:
        raise RecipeError(f"{source}: {exc}") from None
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


def _is_tag(part: Any) -> bool:
    """A discriminated union's tag in an error location (``target.command.timeout_s``)."""
    return part in all_kinds() \
        or str(part).startswith("function-after[")
