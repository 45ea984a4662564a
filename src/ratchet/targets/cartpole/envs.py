"""Gymnasium CartPole-v1 made into a task: physics set on the unwrapped env, then the
task's action and observation transforms as wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ratchet.targets.cartpole.tasks import Task


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError:
        from ratchet.errors import RatchetError

        raise RatchetError("the cartpole target needs gymnasium: pip install "
                           "'ratchet[rl]'") from None
    return gymnasium


def make_env(task: Task, render_mode: str | None = None) -> Any:
    gym = _gym()
    env = gym.make("CartPole-v1", render_mode=render_mode)
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
    return env


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
