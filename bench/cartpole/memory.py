"""Section memory: is the SSM's memory what SB3's MLP holds long episodes without?"""

from __future__ import annotations

from bench.cartpole.common import fresh_returns
from bench.cartpole.comparison import AS_SHIPPED, SB3_DEFAULTS, seed_comparison
from ratchet.plugins.targets.cartpole.pretrain import pretrain
from ratchet.plugins.targets.cartpole.ssm import MEMORYLESS


def run(seeds: list[int], task_seeds: list[int], wide_seeds: list[int],
                   long_limit: int, steps: int) -> None:
    """The SSM with and without memory against SB3 PPO's defaults (a memoryless MLP)."""
    seed_comparison("memory", {
        "ratchet SSM + PPO as shipped": AS_SHIPPED,
        "the same, memory off (decays <= 1e-4, no previous action/reward)":
            ("memory off",
             lambda seed, steps: pretrain(seed=seed, steps=steps, arch=MEMORYLESS)[0],
             fresh_returns),
        "SB3 PPO (MLP), defaults": SB3_DEFAULTS}, seeds, task_seeds, wide_seeds, long_limit,
        steps)
