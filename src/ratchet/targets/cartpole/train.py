"""Policy-gradient training of the SSM policy over a set of tasks (PPO on whole task
sequences: a few episodes per task, back to back, the hidden state carried)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from ratchet.targets.cartpole.ppo import PPOConfig, gae, ppo_loss
from ratchet.targets.cartpole.rollout import Rollout, collect
from ratchet.targets.cartpole.ssm import SSMPolicy
from ratchet.targets.cartpole.tasks import Task


@dataclass(frozen=True)
class TrainConfig:
    """How much experience and how it is grouped."""

    total_steps: int = 100_000
    """Environment steps to train for."""
    tasks_per_update: int = 4
    """Tasks sampled for each PPO update."""
    episodes_per_task: int = 2
    """Episodes back to back per task (the hidden state carries across them)."""
    seed: int = 0
    """Seeds task sampling, episodes and torch."""
    ppo: PPOConfig = field(default_factory=PPOConfig)


@dataclass
class UpdateReport:
    update: int
    steps: int
    mean_return: float
    stats: dict[str, float]


Targets = tuple[Tensor, Tensor]  # advantages and returns of a batch of rollouts


def batch_targets(rollouts: Sequence[Rollout], cfg: PPOConfig) -> Targets:
    """GAE advantages and returns of every step of every rollout, concatenated."""
    pairs = [gae(r.rewards * cfg.reward_scale, r.values, r.dones, cfg.gamma, cfg.gae_lambda)
             for r in rollouts]
    return torch.cat([a for a, _ in pairs]), torch.cat([t for _, t in pairs])


def rollout_loss(policy: SSMPolicy, rollouts: Sequence[Rollout], targets: Targets,
                 cfg: PPOConfig, params: dict[str, Tensor] | None = None
                 ) -> tuple[Tensor, dict[str, float]]:
    """PPO loss over all steps at once (advantages normalized over the whole batch); each
    rollout runs through the policy as one sequence, with ``params`` in place of the
    policy's own when given (MAML's functional inner loop)."""
    def run(r: Rollout) -> tuple[Tensor, Tensor, list[Tensor]]:
        x = r.inputs[None]
        return policy(x) if params is None else functional_call(policy, params, (x,))

    outputs = [run(r) for r in rollouts]
    return ppo_loss(torch.cat([o[0][0] for o in outputs]), torch.cat([o[1][0] for o in outputs]),
                    torch.cat([r.actions for r in rollouts]),
                    torch.cat([r.logprobs for r in rollouts]), targets[0], targets[1], cfg)


def ppo_update(policy: SSMPolicy, optimizer: torch.optim.Optimizer,
               rollouts: Sequence[Rollout], cfg: PPOConfig) -> dict[str, float]:
    """PPO epochs over every step of every rollout at once."""
    targets = batch_targets(rollouts, cfg)
    stats: dict[str, float] = {}
    for _ in range(cfg.epochs):
        loss, stats = rollout_loss(policy, rollouts, targets, cfg)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
        optimizer.step()
    return stats


def train_policy_gradient(policy: SSMPolicy, tasks: Sequence[Task], cfg: TrainConfig,
                          on_update: Callable[[UpdateReport], None] | None = None
                          ) -> list[UpdateReport]:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.ppo.learning_rate)
    reports: list[UpdateReport] = []
    steps = 0
    while steps < cfg.total_steps:
        update = len(reports)
        chosen = [rng.choice(list(tasks)) for _ in range(cfg.tasks_per_update)]
        rollouts = [collect(policy, task, cfg.episodes_per_task,
                            seed=cfg.seed * 100_003 + update * 101 + i)
                    for i, task in enumerate(chosen)]
        steps += sum(r.steps for r in rollouts)
        stats = ppo_update(policy, optimizer, rollouts, cfg.ppo)
        report = UpdateReport(update, steps, float(np.mean([x for r in rollouts
                                                            for x in r.returns])), stats)
        reports.append(report)
        if on_update is not None:
            on_update(report)
    return reports


def evaluate(policy: SSMPolicy, tasks: Sequence[Task], episodes: int, seed: int = 10_000,
             greedy: bool = True) -> list[float]:
    """Returns of ``episodes`` per task (the hidden state carried within a task)."""
    return [x for i, task in enumerate(tasks)
            for x in collect(policy, task, episodes, seed=seed + i, greedy=greedy).returns]
