"""MAML over CartPole tasks with torch.func.

Inner loop: ``steps`` gradient steps on a task's *support* rollouts, computed functionally
(``functional_call`` + ``grad``) so the outer loss can differentiate through them
(second order) or not (``first_order``: the inner gradients are treated as constants).
Outer loop: the adapted parameters are scored on *query* rollouts of the same task, and the
meta-parameters take one Adam step on the mean query loss over the task batch.
Tasks are adapted one after another, not vmapped: each task's query rollouts are played
with its own adapted parameters in its own environment, and the rollouts of different
tasks differ in length.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.func import grad

from ratchet.plugins.targets.cartpole.ppo import PPOConfig
from ratchet.plugins.targets.cartpole.rollout import Rollout, collect
from ratchet.plugins.targets.cartpole.ssm import SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import Task
from ratchet.plugins.targets.cartpole.train import batch_targets, rollout_loss

Params = dict[str, Tensor]


@dataclass(frozen=True)
class MAMLConfig:
    """Meta-training options (the seed's: epochs, tasks per epoch, inner/outer lr)."""

    epochs: int = 50
    """Outer updates."""
    tasks_per_epoch: int = 4
    """Tasks in each outer update."""
    inner_steps: int = 1
    """Gradient steps on the support rollouts."""
    inner_lr: float = 0.05
    """Step size of the inner steps."""
    outer_lr: float = 1e-3
    """Adam step size of the outer update."""
    support_episodes: int = 2
    """Episodes collected to adapt on."""
    query_episodes: int = 2
    """Episodes collected with the adapted parameters to score them."""
    first_order: bool = True
    """Ignore second derivatives (FOMAML): cheaper, usually as good."""
    seed: int = 0
    ppo: PPOConfig = field(default_factory=PPOConfig)


def params_of(policy: SSMPolicy) -> Params:
    return {k: v for k, v in policy.named_parameters()}


def support_loss(policy: SSMPolicy, params: Params, rollout: Rollout, cfg: PPOConfig
                 ) -> Tensor:
    """The PPO loss of ``params`` on a rollout."""
    return rollout_loss(policy, rollout, batch_targets(rollout, cfg), cfg, params)[0]


def adapt(policy: SSMPolicy, params: Params, support: Rollout, steps: int,
          lr: float, cfg: PPOConfig, first_order: bool = True) -> Params:
    """``steps`` gradient steps on the support rollouts, functionally, with the gradient's
    global norm clipped like PPO's (the decays' gradients grow with sequence length)."""
    targets = batch_targets(support, cfg)  # from the rollouts' own values: fixed

    def loss(p: Params) -> Tensor:
        return rollout_loss(policy, support, targets, cfg, p)[0]

    for _ in range(steps):
        grads = grad(loss)(params)
        if first_order:
            grads = {k: g.detach() for k, g in grads.items()}
        norm = torch.sqrt(sum((g**2).sum() for g in grads.values()))
        scale = torch.clamp(cfg.max_grad_norm / (norm + 1e-8), max=1.0)
        params = {k: params[k] - lr * scale * grads[k] for k in params}
    return params


@contextmanager
def using(policy: SSMPolicy, params: Params):
    """Run ``policy`` with ``params`` (detached) in place of its own, e.g. to act."""
    saved = {k: v.detach().clone() for k, v in policy.state_dict().items()}
    with torch.no_grad():
        for name, p in policy.named_parameters():
            p.copy_(params[name].detach())
    try:
        yield policy
    finally:
        policy.load_state_dict(saved)


def meta_train(policy: SSMPolicy, tasks: Sequence[Task], cfg: MAMLConfig,
               on_epoch=None) -> list[float]:
    """Outer loop; returns the mean query return of each epoch."""
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.outer_lr)
    history = []
    for epoch in range(cfg.epochs):
        meta = params_of(policy)
        losses, query_returns = [], []
        for i in range(cfg.tasks_per_epoch):
            task = rng.choice(list(tasks))
            seed = cfg.seed * 100_003 + epoch * 101 + i
            support = collect(policy, [task], cfg.support_episodes, seed=seed)
            adapted = adapt(policy, meta, support, cfg.inner_steps, cfg.inner_lr, cfg.ppo,
                            cfg.first_order)
            with using(policy, adapted):
                query = collect(policy, [task], cfg.query_episodes, seed=seed + 50_000)
            query_returns += query.episode_returns()
            losses.append(support_loss(policy, adapted, query, cfg.ppo))
        optimizer.zero_grad()
        torch.stack(losses).mean().backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.ppo.max_grad_norm)
        optimizer.step()
        history.append(sum(query_returns) / len(query_returns))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history
