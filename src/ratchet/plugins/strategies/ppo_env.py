"""``OSTuningEnv``: seed 003's gymnasium environment, around any numeric space.

Actions are the parameters' values scaled to [-1, 1] (log scale for logfloat); an
observation is the chosen system metrics (each in [0, 1]) followed by the current
parameters scaled to [0, 1]. ``step`` hands the configuration to ``exchange`` and returns
the reward it gives back; an episode ends after ``max_steps_per_episode`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from ratchet.core.space import Param, Space
from ratchet.plugins.strategies.system_metrics import read_metrics


def to_unit(p: Param, value: float) -> float:
    """``value`` scaled to [0, 1] over the parameter's range."""
    if p.type == "logfloat":
        return (math.log(value) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
    return (value - p.low) / (p.high - p.low)  # type: ignore[operator]


def from_unit(p: Param, u: float) -> Any:
    u = min(max(u, 0.0), 1.0)
    if p.type == "logfloat":
        return p.clip(math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low))))
    return p.clip(p.low + u * (p.high - p.low))  # type: ignore[operator]


class OSTuningEnv(gym.Env):
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, space: Space, state_metrics: Sequence[str],
                 exchange: Callable[[dict[str, Any]], float], start: dict[str, Any],
                 max_steps_per_episode: int = 10):
        self.space = space
        self.state_metrics = tuple(state_metrics)
        self.exchange = exchange
        self.start = dict(start)
        self.max_steps_per_episode = max_steps_per_episode
        n = len(space)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (len(self.state_metrics) + n,),
                                                dtype=np.float32)
        self.current = dict(start)
        self.t = 0

    def params_for(self, action: np.ndarray) -> dict[str, Any]:
        return {p.name: from_unit(p, (float(a) + 1.0) / 2.0)
                for p, a in zip(self.space, action, strict=True)}

    def _observation(self) -> np.ndarray:
        scaled = [to_unit(p, self.current[p.name]) for p in self.space]
        obs = np.asarray(read_metrics(self.state_metrics) + scaled, dtype=np.float32)
        return np.clip(obs, 0.0, 1.0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.current = dict(self.start)
        self.t = 0
        return self._observation(), {}

    def step(self, action: np.ndarray):
        params = self.params_for(np.clip(action, -1.0, 1.0))
        reward = self.exchange(params)
        self.current = params
        self.t += 1
        truncated = self.t >= self.max_steps_per_episode
        return self._observation(), reward, False, truncated, {"params": params}
