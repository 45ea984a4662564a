"""Run the SSM policy on a task for a few episodes, the hidden state carried across them
(in-context adaptation), and record what PPO needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Categorical

from ratchet.targets.cartpole.envs import make_env
from ratchet.targets.cartpole.ssm import SSMPolicy, policy_input
from ratchet.targets.cartpole.tasks import Task


@dataclass
class Rollout:
    inputs: Tensor        # (time, input_dim): what the policy saw
    actions: Tensor       # (time,)
    logprobs: Tensor      # (time,)
    values: Tensor        # (time,)
    rewards: Tensor       # (time,)
    dones: Tensor         # (time,) 1 at each episode's last step
    returns: list[float]  # per episode

    @property
    def steps(self) -> int:
        return int(self.actions.shape[0])


@torch.no_grad()
def collect(policy: SSMPolicy, task: Task, episodes: int, seed: int,
            greedy: bool = False, max_steps: int | None = None) -> Rollout:
    env = make_env(task)
    n_actions = policy.arch.n_actions
    state = policy.initial_state(1)
    prev_action, prev_reward = torch.tensor([-1]), torch.tensor([0.0])
    rows: dict[str, list] = {k: [] for k in ("inputs", "actions", "logprobs", "values",
                                             "rewards", "dones")}
    returns = []
    rng = torch.Generator().manual_seed(seed)
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed * 1000 + episode)
        total, done = 0.0, False
        while not done:
            x = policy_input(torch.as_tensor(np.asarray(obs), dtype=torch.float32)[None],
                             prev_action, prev_reward, n_actions)
            logits, value, state = policy.step(x, state)
            dist = Categorical(logits=logits)
            action = logits.argmax(-1) if greedy else torch.multinomial(dist.probs, 1, True,
                                                                         generator=rng)[:, 0]
            obs, reward, terminated, truncated, _ = env.step(int(action))
            done = terminated or truncated
            for key, val in (("inputs", x[0]), ("actions", action[0]),
                             ("logprobs", dist.log_prob(action)[0]), ("values", value[0]),
                             ("rewards", torch.tensor(float(reward))),
                             ("dones", torch.tensor(float(done)))):
                rows[key].append(val)
            prev_action, prev_reward = action, torch.tensor([float(reward)])
            total += float(reward)
            if max_steps and len(rows["actions"]) >= max_steps:
                rows["dones"][-1] = torch.tensor(1.0)
                done = True
        returns.append(total)
        if max_steps and len(rows["actions"]) >= max_steps:
            break
    stacked = {k: torch.stack(v) for k, v in rows.items()}
    return Rollout(**stacked, returns=returns)
