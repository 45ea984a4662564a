"""PPO's math, readable top to bottom (after CleanRL's ppo.py), for sequence policies.

A rollout is one long sequence per task (episodes back to back, the recurrent state carried
across them); ``dones`` marks the last step of each episode so that returns do not leak
from one episode into the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Categorical


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters."""

    learning_rate: float = 1e-3
    """Adam step size."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's bias/variance trade-off."""
    clip: float = 0.2
    """Clip range of the probability ratio."""
    ent_coef: float = 0.01
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    epochs: int = 4
    """Optimisation passes over each rollout."""
    max_grad_norm: float = 0.5
    """Gradient clipping."""
    reward_scale: float = 0.01
    """Rewards are scaled for the value targets: the value head shares the trunk with the
    policy, and CartPole's returns (up to ~100 discounted) would drown the policy loss."""


def gae(rewards: Tensor, values: Tensor, dones: Tensor, gamma: float, lam: float
        ) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimates and returns for one sequence (time on the last
    axis). ``dones[t]`` is 1 when step t ended its episode: nothing flows back across it.
    The sequence ends at an episode end, so no bootstrap value is needed."""
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[..., 0])
    for t in reversed(range(rewards.shape[-1])):
        not_done = 1.0 - dones[..., t]
        next_value = values[..., t + 1] if t + 1 < rewards.shape[-1] else torch.zeros_like(running)
        delta = rewards[..., t] + gamma * next_value * not_done - values[..., t]
        running = delta + gamma * lam * not_done * running
        advantages[..., t] = running
    return advantages, advantages + values


def ppo_loss(logits: Tensor, values: Tensor, actions: Tensor, old_logprobs: Tensor,
             advantages: Tensor, returns: Tensor, cfg: PPOConfig) -> tuple[Tensor, dict]:
    dist = Categorical(logits=logits)
    logprobs = dist.log_prob(actions)
    ratio = torch.exp(logprobs - old_logprobs)
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = torch.max(-adv * ratio,
                            -adv * torch.clamp(ratio, 1 - cfg.clip, 1 + cfg.clip)).mean()
    value_loss = 0.5 * ((values - returns) ** 2).mean()
    entropy = dist.entropy().mean()
    loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
    clipped = ((ratio - 1).abs() > cfg.clip).float().mean()
    stats = {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
             "clip_fraction": clipped}
    return loss, {k: float(v.detach()) for k, v in stats.items()}
