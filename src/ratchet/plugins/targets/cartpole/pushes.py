"""Random pushes during training: now and then the cart's and the pole's velocities get a
kick, so that PPO also learns to recover from states its own play would not reach.

Training only (``Stream``); evaluation, validation and adaptation play undisturbed tasks.
The tasks and the step budget stay the same: a push changes no physics parameter.
Measured (training seeds 0-2, 300k steps, wide physics sets 0 and 1, 90 runs each): 11 and
6 tasks under 500 instead of 15 and 10, means 470.3 and 487.1 instead of 446.4 and 471.3;
SB3 PPO's defaults on the same tasks 13 and 5, 442.2 and 477.7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Pushes:
    probability: float = 0.05
    """Chance of a push after each step that did not end the episode."""
    cart_sd: float = 0.3
    """Standard deviation of the kick to the cart's velocity (m/s)."""
    pole_sd: float = 0.3
    """Standard deviation of the kick to the pole's angular velocity (rad/s)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"push probability must be in [0, 1], got {self.probability}")
        if self.cart_sd < 0 or self.pole_sd < 0:
            raise ValueError("push standard deviations must be >= 0")


class Pushed:
    """A CartPole environment (any wrapping) whose physics state ``core`` (the unwrapped
    CartPole: wrappers of this module do not forward ``unwrapped``) gets pushed after a
    step. The observation returned is the one before the push: the policy sees the kick's
    effect from the next step on, as it would a real one. Made by ``make_env(pushes=...)``."""

    def __init__(self, env: Any, core: Any, pushes: Pushes, rng: np.random.Generator):
        self.env, self.core, self.pushes, self.rng = env, core, pushes, rng

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated) and self.rng.random() < self.pushes.probability:
            state = np.array(self.core.state, dtype=np.float64)
            state[1] += self.rng.normal(0.0, self.pushes.cart_sd)
            state[3] += self.rng.normal(0.0, self.pushes.pole_sd)
            self.core.state = state
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        return self.env.reset(**kwargs)

    def close(self) -> None:
        self.env.close()
