"""Gymnasium CartPole-v1 made into a task: physics set on the unwrapped env, then the
task's action and observation transforms as wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ratchet.plugins.targets.cartpole.pushes import Pushed, Pushes
from ratchet.plugins.targets.cartpole.tasks import Task


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError:
        from ratchet.core.errors import RatchetError

        raise RatchetError("the cartpole target needs gymnasium: pip install "
                           "'ratchet[rl]'") from None
    return gymnasium


def make_env(task: Task, render_mode: str | None = None,
             sensor: np.ndarray | None = None, time_limit: int | None = None,
             pushes: Pushes | None = None, push_rng: np.random.Generator | None = None
             ) -> Any:
    """The task's environment; with ``sensor`` (a matrix learned by ``identify``
    adaptation) its observations pass through the agent's sensor map. ``time_limit``:
    steps before an episode is cut (default CartPole-v1's 500). ``pushes``: random kicks
    (training), drawn from ``push_rng`` (default: seeded 0)."""
    gym = _gym()
    env = gym.make("CartPole-v1", render_mode=render_mode, max_episode_steps=time_limit)
    core = env.unwrapped
    p = task.physics
    core.length, core.masspole, core.masscart = p["length"], p["masspole"], p["masscart"]
    core.gravity, core.force_mag = p["gravity"], p["force_mag"]
    core.total_mass = core.masspole + core.masscart
    core.polemass_length = core.masspole * core.length
    if "flip" in task.transforms:
        env = gym.wrappers.TransformAction(env, lambda a: 1 - int(a), env.action_space)
    if task.transforms and any(t != "flip" for t in task.transforms):
        env = gym.wrappers.TransformObservation(env, _observation_fn(task),
                                                env.observation_space)
    if sensor is not None:
        env = SensorMapped(env, sensor)
    if pushes is not None:
        env = Pushed(env, core, pushes,
                     push_rng if push_rng is not None else np.random.default_rng(0))
    return env


DT = 0.02
"""CartPole-v1's time step: differences of successive observations are divided by it, so
that they are velocities and a sensor map's coefficients stay near 1."""


PLAIN_SENSOR = np.eye(4, 9)
"""The sensor map that shows the observation as it is."""


def sensor_features(obs: np.ndarray, prev_obs: np.ndarray, prev_u: float) -> np.ndarray:
    """What a sensor map reads at a step: the observation, its change since the last step
    (per second) and the last action as -1/+1 (0 at an episode's start)."""
    return np.concatenate([obs, (obs - prev_obs) / DT, [prev_u]]).astype(np.float64)


class SensorMapped:
    """An environment seen through a sensor map W: the agent observes W @ features (see
    ``sensor_features``). A plain wrapper (reset/step/render/close), so that this module
    imports without gymnasium."""

    def __init__(self, env: Any, sensor: np.ndarray,
                 record: list[tuple[np.ndarray, float, np.ndarray]] | None = None):
        self.env, self.sensor = env, np.asarray(sensor, dtype=np.float64)
        self.record = record  # if given, every step's (features, action, next features)
        self._z = np.zeros(0)
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self._prev: np.ndarray | None = None
        self._u = 0.0

    def _view(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        prev = obs if self._prev is None else self._prev
        z = sensor_features(obs, prev, self._u)
        if self.record is not None and self._prev is not None:
            self.record.append((self._z, self._u, z))
        self._prev, self._z = obs, z
        return (self.sensor @ z).astype(np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._prev, self._u = None, 0.0
        return self._view(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._u = 2.0 * float(action) - 1.0
        return self._view(obs), reward, terminated, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _observation_fn(task: Task) -> Any:
    matrix = np.asarray(task.obs_matrix) if task.obs_matrix is not None else None
    perm = np.asarray(task.obs_permutation) if task.obs_permutation is not None else None
    mask = "mask_vel" in task.transforms

    def transform(obs: np.ndarray) -> np.ndarray:
        out = np.asarray(obs, dtype=np.float32).copy()
        if mask:
            out[1] = 0.0
            out[3] = 0.0
        if perm is not None:
            out = out[perm]
        if matrix is not None:
            out = (matrix @ out).astype(np.float32)
        return out

    return transform


def run_episode(env: Any, act: Any, seed: int) -> float:
    """Return of one episode of ``act(obs) -> action``."""
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        total += float(reward)
        done = terminated or truncated
    return total
