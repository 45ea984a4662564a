"""Turn a validated recipe into the objects the loop runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ratchet.core.registry import BuildContext
from ratchet.core.space import Space
from ratchet.engine.constraints import Constraints, judge_maximum
from ratchet.engine.recipe import Recipe
from ratchet.plugins.executors import Executor
from ratchet.plugins.gates import Gate, TargetChecks
from ratchet.plugins.judges import Judge
from ratchet.plugins.strategies import Strategy
from ratchet.plugins.targets import Target


@dataclass
class Components:
    space: Space
    target: Target
    strategy: Strategy
    judge: Judge
    gates: list[Gate]
    executor: Executor
    constraints: Constraints = field(default_factory=Constraints)


def build_components(recipe: Recipe, run_dir: Path) -> Components:
    space = recipe.parsed_space()
    target = build_target(recipe, run_dir)
    gates = build_gates(recipe, space, run_dir)
    if type(target).promotion_checks is not Target.promotion_checks:
        gates.append(TargetChecks(target))
    judge = build_judge(recipe, BuildContext(recipe, run_dir, space))
    return Components(space=space, target=target, strategy=build_strategy(recipe, space),
                      judge=judge, gates=gates, executor=build_executor(recipe, run_dir),
                      constraints=build_constraints(recipe, judge))


def build_constraints(recipe: Recipe, judge: Judge) -> Constraints:
    confidence = getattr(judge, "confidence", None)
    return Constraints(dict(recipe.constraints),
                       confidence if isinstance(confidence, float) else 0.95,
                       judge_maximum(judge))


def build_target(recipe: Recipe, run_dir: Path) -> Target:
    context = BuildContext(recipe, run_dir, recipe.parsed_space())
    return recipe.target.create(context)  # type: ignore[no-any-return]


def build_strategy(recipe: Recipe, space: Space, run_dir: Path | None = None) -> Strategy:
    return recipe.strategy.create(BuildContext(recipe, run_dir, space))  # type: ignore[no-any-return]


def build_judge(recipe: Recipe, context: BuildContext | None = None) -> Judge:
    context = context or BuildContext(recipe, None, recipe.parsed_space())
    return recipe.judge.create(context)  # type: ignore[no-any-return]


def build_gates(recipe: Recipe, space: Space, run_dir: Path | None = None) -> list[Gate]:
    context = BuildContext(recipe, run_dir, space)
    return [gate.create(context) for gate in recipe.gates]


def build_executor(recipe: Recipe, run_dir: Path | None = None) -> Executor:
    context = BuildContext(recipe, run_dir, recipe.parsed_space())
    return recipe.executor.create(context)  # type: ignore[no-any-return]
