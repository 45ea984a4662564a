"""Test-time adaptation by system identification: the ``identify`` mode.

Every hard transform is, for the policy, a change of coordinates between what the task
shows and the state it learned on: a flipped action is the state negated (CartPole is
symmetric under x -> -x, push -> -push), a permutation or a mix is a matrix, and masked
velocities come back from differences of successive observations. So the agent adapts by
learning a *sensor map* W (4 x 9): it reads z_t = [o_t, (o_t - o_(t-1))/dt, u_(t-1)]
(``envs.sensor_features``, u = -1/+1 the action) and should output observations that move
the way the agent's training tasks moved,

    W z_(t+1) ≈ A W z_t + b u_t + c,

with (A, b, c) a linear model of a training task's dynamics. That is linear in W: a ridge
least-squares problem per model, solved in closed form after every episode. The policy's
weights are not touched; it plays the task through W (``make_env(task, sensor=W)``).

The models form a library (``dynamics_library``): one per training task, fitted from
random-action play on it; the first is nominal CartPole. Each is tried and the one with
the smallest residual (divided by |b|²: the models differ in how hard a push is) wins,
except that nominal is the prior: another model must fit with under half its residual.
Measured while building it (30 generated held-out hard tasks, 2 seeds each, return
below 400 after 10 episodes): with masked velocities, 8/36 with the library alone, 4/36
with nominal alone, 3/36 with the prior (their residuals differ little between models,
so a pick by residual is mostly noise); with the full state 0/24, 4/24 (short poles) and
0/24 (residual ratios there are 0.03-0.2).

Episode plan (``episodes`` in all): ``probe_episodes`` with uniformly random actions, then
the policy through the current best sensor map, its actions sampled.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ratchet.targets.cartpole.envs import PLAIN_SENSOR, SensorMapped, make_env
from ratchet.targets.cartpole.ssm import SSMPolicy, policy_input
from ratchet.targets.cartpole.tasks import Task

Step = tuple[np.ndarray, float, np.ndarray]  # features, action (-1/+1), next features


@dataclass(frozen=True)
class LinearModel:
    """s' ≈ A s + b u + c near the upright, s the 4 observed state variables."""

    A: np.ndarray
    b: np.ndarray
    c: np.ndarray


@dataclass(frozen=True)
class IdentifyConfig:
    probe_episodes: int = 2
    """Episodes of random actions before the policy plays."""
    ridge: float = 1e-4
    prior_margin: float = 0.5
    """The library's first model (nominal CartPole) is the prior: another model ranks
    above it only with a residual under this fraction of the nominal's."""


@dataclass
class Identified:
    sensor: np.ndarray
    """The chosen sensor map W (4 x 9)."""
    curve: list[float]
    """Return of every episode played while adapting."""


def fit_linear_model(steps: Sequence[Step]) -> LinearModel:
    """Least squares on the observed state (the first 4 features)."""
    s = np.array([z[:4] for z, _, _ in steps])
    u = np.array([u for _, u, _ in steps])
    s_next = np.array([z[:4] for _, _, z in steps])
    x = np.column_stack([s, u, np.ones(len(s))])
    coef, *_ = np.linalg.lstsq(x, s_next, rcond=None)
    return LinearModel(A=coef[:4].T, b=coef[4], c=coef[5])


def dynamics_library(tasks: Sequence[Task], episodes: int = 20, seed: int = 0
                     ) -> list[LinearModel]:
    """One linear model per task, from ``episodes`` episodes of uniformly random actions."""
    generator = torch.Generator().manual_seed(seed)
    models = []
    for i, task in enumerate(tasks):
        steps: list[Step] = []
        for e in range(episodes):
            _play(None, task, PLAIN_SENSOR, seed * 100_003 + i * 1009 + e, generator, steps)
        models.append(fit_linear_model(steps))
    return models


@functools.cache
def training_library(seed: int = 0) -> tuple[LinearModel, ...]:
    """The models of the tasks the shipped policy trained on (nominal + physics train)."""
    from ratchet.targets.cartpole.pretrain import training_tasks

    return tuple(dynamics_library(training_tasks(seed), seed=seed))


def fit_sensor(steps: Sequence[Step], model: LinearModel, ridge: float
               ) -> tuple[np.ndarray, float]:
    """The sensor map W that makes ``steps`` follow ``model`` best, and its residual (mean
    squared, over |b|²)."""
    z = np.array([z for z, _, _ in steps])
    u = np.array([u for _, u, _ in steps])
    z_next = np.array([z for _, _, z in steps])
    d = z.shape[1]
    # residual_i = sum_j W[i, j] z'_j - sum_k A[i, k] sum_j W[k, j] z_j - b_i u - c_i,
    # linear in vec(W): one row per (step, i), one column per (k, j)
    rows = (np.eye(4)[None, :, :, None] * z_next[:, None, None, :]
            - model.A[None, :, :, None] * z[:, None, None, :]).reshape(-1, 4 * d)
    rhs = (u[:, None] * model.b[None] + model.c[None]).reshape(-1)
    w = np.linalg.solve(rows.T @ rows + ridge * np.eye(4 * d), rows.T @ rhs)
    residual = rows @ w - rhs
    return w.reshape(4, d), float(residual @ residual / len(steps) / (model.b @ model.b))


def _play(policy: SSMPolicy | None, task: Task, sensor: np.ndarray, seed: int,
          generator: torch.Generator, steps: list[Step]) -> float:
    """One episode (random actions without a policy, sampled ones with); records the
    steps; returns the return."""
    env = SensorMapped(make_env(task), sensor, record=steps)
    obs, _ = env.reset(seed=seed)
    state = policy.initial_state(1) if policy is not None else []
    prev_action, prev_reward = torch.tensor([-1]), torch.zeros(1)
    total, done = 0.0, False
    while not done:
        if policy is None:
            action = int(torch.randint(2, (1,), generator=generator))
        else:
            x = policy_input(torch.from_numpy(obs)[None], prev_action, prev_reward,
                             policy.arch.n_actions)
            with torch.no_grad():
                logits, _, state = policy.step(x, state)
            action = int(torch.multinomial(torch.softmax(logits[0], -1), 1,
                                           generator=generator))
        obs, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        total += float(reward)
        prev_action, prev_reward = torch.tensor([action]), torch.tensor([float(reward)])
    env.close()
    return total


def identify(policy: SSMPolicy, task: Task, episodes: int, seed: int,
             cfg: IdentifyConfig = IdentifyConfig(),
             library: Sequence[LinearModel] | None = None) -> Identified:
    """Adapt to ``task`` within ``episodes`` episodes: see the module's docstring."""
    models = list(library if library is not None else training_library())
    generator = torch.Generator().manual_seed(seed)
    steps: list[Step] = []
    curve: list[float] = []
    sensor: np.ndarray | None = None
    for e in range(episodes):
        episode_seed = (seed * 7919 + e) % 2**31
        if e < cfg.probe_episodes or sensor is None:
            ret = _play(None, task, PLAIN_SENSOR, episode_seed, generator, steps)
        else:
            ret = _play(policy, task, sensor, episode_seed, generator, steps)
        curve.append(ret)
        if steps:
            fits = [fit_sensor(steps, m, cfg.ridge) for m in models]
            choice = min(range(len(models)), key=lambda i: fits[i][1] * (
                cfg.prior_margin if i == 0 else 1.0))
            sensor = fits[choice][0]
    return Identified(PLAIN_SENSOR.copy() if sensor is None else sensor, curve)
