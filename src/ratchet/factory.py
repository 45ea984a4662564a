"""Turn a validated recipe into the objects the loop runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ratchet.executors import Executor
from ratchet.gates import ApprovalGate, FloorGate, Gate, RangeGate, TargetChecks
from ratchet.judges import Judge
from ratchet.plugins import BuildContext
from ratchet.recipe import Recipe
from ratchet.space import Space
from ratchet.strategies import Strategy
from ratchet.targets import Target


@dataclass
class Components:
    space: Space
    target: Target
    strategy: Strategy
    judge: Judge
    gates: list[Gate]
    executor: Executor


def build_components(recipe: Recipe, run_dir: Path) -> Components:
    space = recipe.parsed_space()
    target = build_target(recipe, run_dir)
    gates = build_gates(recipe, space)
    if type(target).promotion_checks is not Target.promotion_checks:
        gates.append(TargetChecks(target))
    return Components(space=space, target=target, strategy=build_strategy(recipe, space),
                      judge=build_judge(recipe, BuildContext(recipe, run_dir, space)),
                      gates=gates, executor=build_executor(recipe, run_dir))


def build_target(recipe: Recipe, run_dir: Path) -> Target:
    context = BuildContext(recipe, run_dir, recipe.parsed_space())
    return recipe.target.create(context)  # type: ignore[no-any-return]


def build_strategy(recipe: Recipe, space: Space, run_dir: Path | None = None) -> Strategy:
    return recipe.strategy.create(BuildContext(recipe, run_dir, space))  # type: ignore[no-any-return]


def build_judge(recipe: Recipe, context: BuildContext | None = None) -> Judge:
    context = context or BuildContext(recipe, None, recipe.parsed_space())
    return recipe.judge.create(context)  # type: ignore[no-any-return]


def build_gates(recipe: Recipe, space: Space) -> list[Gate]:
    gates: list[Gate] = []
    for g in recipe.gates:
        if g.kind == "range":
            gates.append(RangeGate(space, dict(g.bounds)))
        elif g.kind == "approval":
            gates.append(ApprovalGate())
        else:
            gates.append(FloorGate(float(g.min)))  # type: ignore[arg-type]
    return gates


def build_executor(recipe: Recipe, run_dir: Path | None = None) -> Executor:
    context = BuildContext(recipe, run_dir, recipe.parsed_space())
    return recipe.executor.create(context)  # type: ignore[no-any-return]
