"""Test-time adaptation on the current task.

* ``standard``: play a round of episodes on the task, take ``steps`` PPO steps on them,
  repeat until the episode budget is spent.
* ``hybrid``: the same, with the loss on a replay buffer of earlier experience (episodes
  of training tasks played by the unadapted policy) added, weighted by ``replay_weight``,
  so the policy does not forget what it knew while it fits the new task.

* ``identify``: the weights stay; the agent learns a sensor map through which the policy
  sees the task (system identification against the dynamics of its training tasks:
  ``identify.py``), refitted after every episode.

Only episodes of the task being adapted to count against ``episodes``; the replay buffer
is collected once, before adapting. The policy given is not modified: a copy adapts.
An adapted policy plays the task through ``AdaptResult.sensor`` when there is one
(``evaluate(result.policy, ..., sensor=result.sensor)``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ratchet.plugins.targets.cartpole.identify import identify
from ratchet.plugins.targets.cartpole.ppo import PPOConfig
from ratchet.plugins.targets.cartpole.rollout import Rollout, collect
from ratchet.plugins.targets.cartpole.ssm import SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import Task
from ratchet.plugins.targets.cartpole.train import batch_targets, gradient_step, rollout_loss

Mode = Literal["standard", "hybrid", "identify"]
MODES: tuple[Mode, ...] = ("standard", "hybrid", "identify")
GRADIENT_MODES: tuple[Mode, ...] = ("standard", "hybrid")


@dataclass(frozen=True)
class AdaptConfig:
    mode: Mode = "standard"
    episodes: int = 10
    """Episodes of the new task to adapt on (the data budget)."""
    episodes_per_round: int = 2
    """Episodes played between rounds of gradient steps."""
    steps: int = 8
    """Gradient steps after each round."""
    learning_rate: float = 3e-4
    replay_weight: float = 1.0
    """hybrid: weight of the replay loss."""
    replay_episodes: int = 8
    """hybrid: episodes of training tasks in the replay buffer."""
    time_limit: int | None = None
    """Steps before an episode of the task is cut (None: CartPole-v1's 500)."""


@dataclass
class AdaptResult:
    policy: SSMPolicy
    curve: list[float]
    """Return of every episode played while adapting, in order."""
    sensor: np.ndarray | None = None
    """``identify``: the sensor map the policy plays the task through."""


def replay_buffer(policy: SSMPolicy, tasks: Sequence[Task], episodes: int, seed: int
                  ) -> Rollout:
    """Earlier experience: ``episodes`` episodes, one per training task in turn."""
    chosen = [tasks[i % len(tasks)] for i in range(episodes)]
    return collect(policy, chosen, 1, seed=seed)


def adapt_policy(policy: SSMPolicy, task: Task, cfg: AdaptConfig, seed: int,
                 replay: Rollout | None = None, ppo: PPOConfig | None = None) -> AdaptResult:
    if cfg.mode == "hybrid" and replay is None:
        raise ValueError("hybrid adaptation needs a replay buffer")
    if cfg.mode == "identify":
        found = identify(policy, task, cfg.episodes, seed, time_limit=cfg.time_limit)
        return AdaptResult(policy, found.curve, found.sensor)
    ppo = ppo or PPOConfig()
    model = copy.deepcopy(policy)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    replay_targets = batch_targets(replay, ppo) if replay is not None else None
    curve: list[float] = []
    round_index = 0
    while len(curve) < cfg.episodes:
        count = min(cfg.episodes_per_round, cfg.episodes - len(curve))
        data = collect(model, [task], count, seed=seed + round_index,
                       time_limit=cfg.time_limit)
        curve += data.episode_returns()
        targets = batch_targets(data, ppo)
        for _ in range(cfg.steps):
            loss = rollout_loss(model, data, targets, ppo)[0]
            if cfg.mode == "hybrid":
                loss = loss + cfg.replay_weight * rollout_loss(
                    model, replay, replay_targets, ppo)[0]  # type: ignore[arg-type]
            gradient_step(model, optimizer, loss, ppo.max_grad_norm)
        round_index += 1
    return AdaptResult(model, curve)
