"""Policy-gradient training of the SSM policy over a set of tasks: PPO on fixed-length
segments of a stream of tasks (a few episodes per task, back to back, the hidden state
carried across them and across segments, reset when a slot takes up a new task)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from ratchet.plugins.targets.cartpole.ppo import PPOConfig, gae, ppo_loss
from ratchet.plugins.targets.cartpole.pushes import Pushes
from ratchet.plugins.targets.cartpole.rollout import Rollout, Stream, collect
from ratchet.plugins.targets.cartpole.ssm import SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import Task


@dataclass(frozen=True)
class TrainConfig:
    """How much experience and how it is grouped."""

    total_steps: int = 300_000
    """Environment steps to train for."""
    slots: int = 8
    """Tasks played side by side."""
    segment_steps: int = 128
    """Steps per slot between PPO updates."""
    episodes_per_task: int = 5
    """Episodes back to back per task (the hidden state carries across them). With 2, the
    policy had never seen a third episode, and 10 carried episodes of nominal CartPole
    scored 454 instead of 495."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to zero over ``total_steps``."""
    seed: int = 0
    """Seeds task sampling, episodes and torch."""
    pushes: Pushes | None = field(default_factory=Pushes)
    """Random kicks while training (None: none)."""
    ppo: PPOConfig = field(default_factory=PPOConfig)


@dataclass
class UpdateReport:
    update: int
    steps: int
    mean_return: float
    """Mean return of the last 20 finished episodes."""
    stats: dict[str, float]


Targets = tuple[Tensor, Tensor]  # advantages and returns, (slot, time)


def batch_targets(rollout: Rollout, cfg: PPOConfig) -> Targets:
    """GAE advantages and returns of every step of every slot."""
    rewards = rollout.rewards * cfg.reward_scale
    if cfg.bootstrap_time_limit:
        rewards = rewards + cfg.gamma * rollout.truncated_values
    return gae(rewards, rollout.values, rollout.dones, cfg.gamma, cfg.gae_lambda,
               rollout.last_values)


def rollout_loss(policy: SSMPolicy, rollout: Rollout, targets: Targets, cfg: PPOConfig,
                 params: dict[str, Tensor] | None = None) -> tuple[Tensor, dict[str, float]]:
    """PPO loss over all steps of all slots, each slot's steps run as one sequence from its
    recorded hidden state, with ``params`` in place of the policy's own when given (MAML's
    functional inner loop)."""
    args = (rollout.inputs, rollout.h0, rollout.resets)
    logits, values, _ = (policy(*args) if params is None
                         else functional_call(policy, params, args))
    return ppo_loss(logits, values, rollout.actions, rollout.logprobs, targets[0], targets[1],
                    rollout.mask, cfg)


def ppo_update(policy: SSMPolicy, optimizer: torch.optim.Optimizer, rollout: Rollout,
               cfg: PPOConfig, generator: torch.Generator | None = None) -> dict[str, float]:
    """PPO epochs, each over the slots in shuffled minibatches."""
    advantages, returns = batch_targets(rollout, cfg)
    slots = rollout.mask.shape[0]
    chunks = max(1, min(cfg.minibatches, slots))
    stats: dict[str, float] = {}
    for _ in range(cfg.epochs):
        for idx in torch.randperm(slots, generator=generator).chunk(chunks):
            loss, stats = rollout_loss(policy, rollout.rows(idx),
                                       (advantages[idx], returns[idx]), cfg)
            gradient_step(policy, optimizer, loss, cfg.max_grad_norm)
    return stats


def gradient_step(policy: SSMPolicy, optimizer: torch.optim.Optimizer, loss: Tensor,
                  max_grad_norm: float) -> None:
    """One optimizer step on ``loss`` with the gradient's global norm clipped."""
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
    optimizer.step()


def train_policy_gradient(policy: SSMPolicy, tasks: Sequence[Task], cfg: TrainConfig,
                          on_update: Callable[[UpdateReport], None] | None = None,
                          optimizer: torch.optim.Optimizer | None = None
                          ) -> list[UpdateReport]:
    """PPO until ``cfg.total_steps`` environment steps."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = optimizer or torch.optim.Adam(policy.parameters(), lr=cfg.ppo.learning_rate)
    stream = Stream(policy, tasks, cfg.slots, cfg.episodes_per_task, cfg.seed, cfg.pushes)
    reports: list[UpdateReport] = []
    steps, recent = 0, []
    try:
        while steps < cfg.total_steps:
            if cfg.anneal_lr:  # linearly to zero over the budget: late PPO updates otherwise
                for group in optimizer.param_groups:  # undo what was learned (measured)
                    group["lr"] = cfg.ppo.learning_rate * (1 - steps / cfg.total_steps)
            rollout = stream.segment(policy, cfg.segment_steps)
            steps += rollout.steps
            stats = ppo_update(policy, optimizer, rollout, cfg.ppo, generator)
            recent = (recent + rollout.episode_returns())[-20:]
            report = UpdateReport(len(reports), steps,
                                  float(np.mean(recent)) if recent else 0.0, stats)
            reports.append(report)
            if on_update is not None:
                on_update(report)
    finally:
        stream.close()
    return reports


def evaluate(policy: SSMPolicy, tasks: Sequence[Task], episodes: int, seed: int = 10_000,
             greedy: bool = True, sensor: np.ndarray | None = None,
             time_limit: int | None = None) -> list[list[float]]:
    """Returns of ``episodes`` episodes per task, per task (the hidden state carried
    across a task's episodes; ``sensor``: seen through this sensor map)."""
    return collect(policy, tasks, episodes, seed=seed, greedy=greedy, sensor=sensor,
                   time_limit=time_limit).returns
