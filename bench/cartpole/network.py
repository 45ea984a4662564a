"""Section network: is it SB3's network or SB3's training?"""

from __future__ import annotations

from bench._mlp import MLPPolicy
from bench.cartpole.common import fresh_returns
from bench.cartpole.comparison import AS_SHIPPED, SB3_DEFAULTS, seed_comparison
from ratchet.plugins.targets.cartpole.pretrain import pretrain


def run(seeds: list[int], task_seeds: list[int], wide_seeds: list[int],
                    long_limit: int, steps: int) -> None:
    """Is it SB3's network or SB3's training that holds long episodes and wide physics?
    Our trainer (PPO, task slots, checkpoint pick) with SB3's MLP in place of the SSM."""
    seed_comparison("network", {
        "ratchet SSM + PPO as shipped": AS_SHIPPED,
        "ratchet PPO training SB3's MLP (64x64 tanh actor and critic)":
            ("our PPO + MLP",
             lambda seed, steps: pretrain(seed=seed, steps=steps, network=MLPPolicy)[0],
             fresh_returns),
        "SB3 PPO (MLP), defaults": SB3_DEFAULTS}, seeds, task_seeds, wide_seeds, long_limit,
        steps)
