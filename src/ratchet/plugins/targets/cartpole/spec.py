"""The `cartpole` target's recipe section (light: torch is imported only to build it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ratchet.core.registry import BuildContext
from ratchet.plugins.targets._base import MaximizedSamplesSpec, Target
from ratchet.plugins.targets.cartpole import LIVE_POLICY


class CartPoleTargetSpec(MaximizedSamplesSpec):
    """The self-improving CartPole SSM agent (docs/targets/cartpole.md)."""

    kind: Literal["cartpole"] = "cartpole"
    model: str | None = Field(None, description="starting champion (a .safetensors saved by "
                              "ratchet); absent: the shipped model")
    train_steps: int = Field(60_000, ge=1000, description="PPO steps to train each challenger")
    episodes: int = Field(5, ge=2, le=50, description="episodes per task unit measured")
    adaptation: Literal["in_context", "standard", "hybrid", "identify"] = Field(
        "in_context", description="how hard tasks are met: the hidden state alone, or "
        "gradient steps (standard, hybrid with replay, identify)")
    hard_tasks: bool = Field(True, description="train and measure on hard tasks too")
    threads: int = Field(1, ge=1, description="torch threads per evaluation")
    time_limit: int = Field(500, ge=10, le=100_000, description="steps before a measured "
                            "episode is cut (CartPole-v1: 500; longer episodes tell apart "
                            "champions that all balance for 500)")

    def create(self, context: BuildContext) -> Target:
        from ratchet.core.extras import require

        require("torch", "gymnasium", "safetensors", feature="the cartpole target")
        from ratchet.plugins.targets.cartpole.target import CartPoleTarget  # torch: only when used

        return CartPoleTarget(self, context.work_dir, seed=context.seed,
                              live_model=context.run.published(LIVE_POLICY))
