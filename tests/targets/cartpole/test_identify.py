"""identify adaptation: the sensor map recovers the state the policy knows, and the shipped
policy balances hard held-out tasks through it within 10 episodes."""

import numpy as np
import pytest
import torch

from ratchet.plugins.targets.cartpole.envs import PLAIN_SENSOR, SensorMapped, make_env
from ratchet.plugins.targets.cartpole.identify import (
    IdentifyConfig,
    TransitionStats,
    _play,
    fit_sensor,
    identify,
    training_library,
)
from ratchet.plugins.targets.cartpole.pretrain import load_shipped
from ratchet.plugins.targets.cartpole.tasks import NOMINAL, Task, tasks_named
from ratchet.plugins.targets.cartpole.train import evaluate


def test_the_plain_sensor_shows_observations_as_they_are_and_records_steps():
    steps: list = []
    plain, mapped = make_env(tasks_named("nominal")[0]), SensorMapped(
        make_env(tasks_named("nominal")[0]), PLAIN_SENSOR, record=steps)
    a, _ = plain.reset(seed=3)
    b, _ = mapped.reset(seed=3)
    for action in (0, 1, 1):
        np.testing.assert_allclose(a, b, atol=1e-6)
        a, *_ = plain.step(action)
        b, *_ = mapped.step(action)
    assert len(steps) == 3 and steps[-1][1] == 1.0  # (features, action +-1, next features)
    np.testing.assert_allclose(steps[0][2], steps[1][0])


@pytest.mark.parametrize("transforms", [("flip", "permute_obs"), ("flip", "mask_vel")])
def test_the_fitted_sensor_map_recovers_the_state(transforms):
    """On nominal physics the flipped task's state is the true one negated (CartPole is
    symmetric); masked velocities come back from successive observations."""
    task = Task("t", dict(NOMINAL), transforms, obs_permutation=(2, 0, 3, 1))
    stats = TransitionStats(horizon=5)
    generator = torch.Generator().manual_seed(0)
    for e in range(6):  # random actions
        steps: list = []
        _play(None, task, PLAIN_SENSOR, e, generator, steps)
        stats.add(steps)
    sensor, _ = fit_sensor(stats, training_library()[0], 1e-4)
    env = SensorMapped(make_env(task), sensor)
    env.reset(seed=100)
    seen, true = [], []
    for action in np.random.default_rng(0).integers(2, size=15):
        obs, _, terminated, _, _ = env.step(int(action))
        seen.append(obs)
        true.append(-np.asarray(env.env.unwrapped.state))
        if terminated:
            break
    seen, true = np.array(seen), np.array(true)
    error = np.sqrt(np.mean((seen - true) ** 2, axis=0))
    # measured: within 4% (full state) and 19% (masked velocities) of each variable's rms
    # (12% and 21% when fitted one step ahead only)
    assert (error < 0.25 * np.sqrt(np.mean(true**2, axis=0))).all(), (error, true)


def test_the_fit_from_sums_equals_least_squares_on_the_multi_step_equations():
    """``fit_sensor`` solves the normal equations built from ``TransitionStats``; here the
    equations W z_(t+h) - A^h W z_t = sum_m A^(h-1-m) (b u_(t+m) + c), weighted 1/h, are
    written out row by row and solved directly."""
    rng = np.random.default_rng(1)
    model = training_library()[3]
    episodes = [[(rng.normal(size=9), float(rng.choice([-1.0, 1.0])), rng.normal(size=9))
                 for _ in range(n)] for n in (7, 2, 12)]
    for episode in episodes:  # chain them: a step's next features are the next one's
        for k in range(len(episode) - 1):
            episode[k + 1] = (episode[k][2], *episode[k + 1][1:])
    horizon = 4
    stats = TransitionStats(horizon)
    rows, rhs = [], []
    for episode in episodes:
        stats.add(episode)
        z = [episode[0][0]] + [step[2] for step in episode]
        u = [step[1] for step in episode]
        for h in range(1, min(horizon, len(episode)) + 1):
            power = np.linalg.matrix_power(model.A, h)
            for t in range(len(episode) - h + 1):
                r = sum(np.linalg.matrix_power(model.A, h - 1 - m) @ (model.b * u[t + m]
                        + model.c) for m in range(h))
                for i in range(4):
                    row = np.zeros((4, 9))
                    row[i] += z[t + h]
                    row -= np.outer(power[i], z[t])
                    rows.append(row.reshape(-1) / h)
                    rhs.append(r[i] / h)
    rows, rhs = np.array(rows), np.array(rhs)
    expected = np.linalg.solve(rows.T @ rows + 1e-4 * np.eye(36), rows.T @ rhs)
    residual = rows @ expected - rhs
    sensor, score = fit_sensor(stats, model, 1e-4)
    np.testing.assert_allclose(sensor.reshape(-1), expected, rtol=1e-7, atol=1e-9)
    assert score == pytest.approx(residual @ residual / 21 / (model.b @ model.b), rel=1e-6)


@pytest.mark.slow
def test_identify_adapts_the_shipped_policy_to_held_out_hard_tasks():
    torch.set_num_threads(1)
    policy, _ = load_shipped()
    for name in ("hard-heldout-0", "hard-heldout-2"):  # flip + mix_obs, flip + mask_vel
        task = tasks_named(name)[0]
        before = np.mean(evaluate(policy, [task] * 3, 1, seed=40_000))
        found = identify(policy, task, episodes=10, seed=30_000)
        after = np.mean(evaluate(policy, [task] * 3, 1, seed=40_000, sensor=found.sensor))
        assert len(found.curve) == 10 and found.sensor.shape == (4, 9)
        # measured: 11 and 9 zero-shot, 500 and 500 after
        assert before < 100 and after >= 400, (name, before, after, found.curve)


@pytest.mark.slow
def test_the_episodes_returns_settle_the_sensor_maps_scale():
    """The dynamics fix the map only up to scale; on this task the best-fitting model's
    map is ~0.4 of the exact one and the policy, seeing a shrunken state, lets the pole
    go (measured: 230 with gain 1 alone, 500 with gains 1 and 2)."""
    torch.set_num_threads(1)
    policy, _ = load_shipped()
    task = tasks_named("hard-heldout-9")[0]  # mix_obs + mask_vel
    returns = {}
    for gains in ((1.0,), IdentifyConfig().gains):
        found = identify(policy, task, episodes=10, seed=30_009,
                         cfg=IdentifyConfig(gains=gains))
        returns[gains] = np.mean(evaluate(policy, [task] * 3, 1, seed=40_009,
                                          sensor=found.sensor))
    assert IdentifyConfig().gains == (1.0, 2.0)
    assert returns[(1.0,)] < 400 <= returns[(1.0, 2.0)], returns
