"""Turn a validated recipe into the objects the loop runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ratchet.executors import Executor
from ratchet.gates import FloorGate, Gate, RangeGate
from ratchet.judges import Judge
from ratchet.plugins import BuildContext
from ratchet.recipe import Recipe
from ratchet.space import Space
from ratchet.strategies import Strategy
from ratchet.targets import CommandTarget, Target


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
    return Components(space=space, target=build_target(recipe, run_dir),
                      strategy=build_strategy(recipe, space),
                      judge=build_judge(recipe, BuildContext(recipe, run_dir, space)),
                      gates=build_gates(recipe, space),
                      executor=build_executor(recipe, run_dir))


def build_target(recipe: Recipe, run_dir: Path) -> Target:
    t = recipe.target
    if t.kind == "cartpole":
        from ratchet.targets.cartpole.target import CartPoleTarget  # torch: only when used

        return CartPoleTarget(run_dir / "work", model=t.model, train_steps=t.train_steps,
                              episodes=t.episodes, adaptation=t.adaptation,
                              hard_tasks=t.hard_tasks, threads=t.threads, seed=recipe.seed,
                              time_limit=t.time_limit)
    if t.kind == "sysctl":
        from ratchet.targets.sysctl.reward import Weights
        from ratchet.targets.sysctl.target import SysctlTarget

        return SysctlTarget(space=recipe.parsed_space(), benchmark=t.benchmark, metric=t.metric,
                            workdir=run_dir / "work", root=t.sysctl_root, dry_run=t.dry_run,
                            timeout_s=t.timeout_s, reference_runs=t.reference_runs,
                            weights=Weights(t.performance_weight, t.stability_weight),
                            cwd=t.cwd)
    return CommandTarget(benchmark=t.benchmark, workdir=run_dir / "work",
                         config_file=t.config_file, build=t.build, timeout_s=t.timeout_s,
                         outcome=t.outcome, metric=t.metric, env=t.env, cwd=t.cwd,
                         start=t.start, shell=t.shell, interleave=t.interleave)


def build_strategy(recipe: Recipe, space: Space, run_dir: Path | None = None) -> Strategy:
    return recipe.strategy.build(BuildContext(recipe, run_dir, space))  # type: ignore[no-any-return]


def build_judge(recipe: Recipe, context: BuildContext | None = None) -> Judge:
    context = context or BuildContext(recipe, None, recipe.parsed_space())
    return recipe.judge.build(context)  # type: ignore[no-any-return]


def build_gates(recipe: Recipe, space: Space) -> list[Gate]:
    gates: list[Gate] = []
    for g in recipe.gates:
        if g.kind == "range":
            gates.append(RangeGate(space, dict(g.bounds)))
        else:
            gates.append(FloorGate(float(g.min)))  # type: ignore[arg-type]
    return gates


def build_executor(recipe: Recipe, run_dir: Path | None = None) -> Executor:
    context = BuildContext(recipe, run_dir, recipe.parsed_space())
    return recipe.executor.build(context)  # type: ignore[no-any-return]
