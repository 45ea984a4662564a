"""The shipped model: how it was made (one seeded call), where it lives, how to load it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ratchet.plugins.targets.cartpole import floatpath
from ratchet.plugins.targets.cartpole.checkpoint import load_policy, save_policy
from ratchet.plugins.targets.cartpole.hyper import training_meta
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import nominal, task_set, training_tasks
from ratchet.plugins.targets.cartpole.train import (
    TrainConfig,
    UpdateReport,
    evaluate,
    train_policy_gradient,
)

SHIPPED = Path(__file__).parent / "shipped" / "policy.safetensors"
PRETRAIN_STEPS = 300_000
SHIPPED_SEED = 0
"""The shipped model's pretraining seed: the first one, not picked. (Before the SSM decays
were capped, seed 2 was picked among 0-2 for holding up under ``identify`` adaptation;
with the cap, seeds 0, 1 and 2 all do, on hard task sets 0 and 1.)"""


@dataclass(frozen=True)
class Selection:
    """How pretraining scores its checkpoints: the mean greedy return on validation tasks.

    Not CartPole-v1's 500 steps: there nearly every checkpoint ties, while one whose cart
    drifts off the track after 1000 steps is found at 2000 (training seed 11's checkpoints
    scored 633, 2000, 1808, 1535, 629, 1730, 1227, 1398 on validation and 633, 2000, 1774,
    1569, 523, 1656, 1244, 1420 on held-out physics set 0). Scored every 5 updates, over
    training seeds 0-13 it picks checkpoints that fall on 9 of 840 held-out runs of 2000
    steps; every 20 updates, 20 (seed 6: 10 -> 0, seed 11: 1 -> 0, no seed worse); the rule
    before both (nominal + 8 tasks, 2 episodes each, 500 steps, every 20), 77
    (`python -m bench.cartpole --sections selection`)."""

    tasks: int = 30
    """Physics validation tasks."""
    nominal: bool = False
    """Score nominal CartPole-v1 too."""
    episodes: int = 1
    """Episodes per task (the state carried across them)."""
    time_limit: int = 2000
    """Steps before an episode is cut."""
    every: int = 5
    """PPO updates between two scorings, over the second half of the budget (and the last
    update). Every 5 rather than 20, seeded pretraining takes 46 s instead of 27 s here (one
    core, 300k steps)."""

    def describe(self) -> str:
        tasks = f"{'nominal + ' if self.nominal else ''}{self.tasks} physics validation tasks"
        return (f"{tasks}, {self.episodes} episode(s) each, cut at {self.time_limit} steps, "
                f"every {self.every} updates")


def pretrain(seed: int = SHIPPED_SEED, steps: int = PRETRAIN_STEPS, arch: Arch = Arch(),
             on_update: Callable[[UpdateReport], None] | None = None,
             selection: Selection = Selection(),
             network: Callable[[Arch], SSMPolicy] = SSMPolicy
             ) -> tuple[SSMPolicy, dict[str, Any]]:
    """PPO from scratch on the physics training tasks; seeded end to end (one thread).
    ``network`` builds the policy (another network with the SSM's interface: an ablation).
    Bit for bit across x86 CPUs only in a process whose float path is pinned
    (:mod:`~ratchet.plugins.targets.cartpole.floatpath`; ``ratchet cartpole pretrain`` does it);
    oneDNN is off while it trains, pinned or not.

    PPO's policy wobbles from update to update, so over the second half of the budget it is
    scored (``selection``) and the best-scoring weights are kept (ties go to the later
    ones).
    """
    torch.manual_seed(seed)
    policy = network(arch)
    cfg = TrainConfig(total_steps=steps, seed=seed)
    validation = [*([nominal()] if selection.nominal else []),
                  *task_set("physics", "validation", selection.tasks, seed)]
    best: dict[str, Any] = {"score": -1.0}

    def select(report: UpdateReport) -> None:
        if on_update is not None:
            on_update(report)
        last = report.steps >= steps
        if report.steps < steps / 2 or (report.update % selection.every and not last):
            return
        score = float(np.mean(evaluate(policy, validation, selection.episodes, seed=777,
                                       time_limit=selection.time_limit)))
        if score >= best["score"]:
            best.update(score=score, steps=report.steps,
                        state={k: v.clone() for k, v in policy.state_dict().items()})

    started = time.perf_counter()
    # oneDNN's kernels depend on the CPU and no environment variable pins them (floatpath)
    with torch.backends.mkldnn.flags(enabled=False):
        reports = train_policy_gradient(policy, training_tasks(seed), cfg, select)
        float_path = floatpath.describe()
    if "state" in best:
        policy.load_state_dict(best["state"])
    meta = {"seed": seed, "steps": reports[-1].steps if reports else 0,
            "selected_at_steps": best.get("steps"), "validation_return": best["score"],
            "selected_on": selection.describe(), "float_path": float_path,
            "train_seconds": round(time.perf_counter() - started, 1),
            "training": training_meta(cfg), "tasks": "nominal + physics train"}
    return policy, meta


def nominal_return(policy: SSMPolicy, episodes: int = 100, seed: int = 10_000,
                   per_task: int = 1) -> float:
    """Mean greedy return over ``episodes`` episodes of nominal CartPole-v1, each from a
    fresh hidden state (``per_task`` > 1: blocks of that many, the state carried)."""
    tasks = [nominal()] * max(1, episodes // per_task)
    return float(np.mean(evaluate(policy, tasks, per_task, seed=seed)))


def save_pretrained(policy: SSMPolicy, meta: dict[str, Any], path: Path = SHIPPED) -> Path:
    return save_policy(policy, path, meta)


def load_shipped() -> tuple[SSMPolicy, dict[str, Any]]:
    return load_policy(SHIPPED)
