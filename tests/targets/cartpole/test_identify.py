"""identify adaptation: the sensor map recovers the state the policy knows, and the shipped
policy balances hard held-out tasks through it within 10 episodes."""

import numpy as np
import pytest
import torch

from ratchet.targets.cartpole.envs import PLAIN_SENSOR, SensorMapped, make_env
from ratchet.targets.cartpole.identify import (
    _play,
    fit_sensor,
    identify,
    training_library,
)
from ratchet.targets.cartpole.pretrain import load_shipped
from ratchet.targets.cartpole.tasks import NOMINAL, Task, tasks_named
from ratchet.targets.cartpole.train import evaluate


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
    steps: list = []
    generator = torch.Generator().manual_seed(0)
    for e in range(6):  # random actions
        _play(None, task, PLAIN_SENSOR, e, generator, steps)
    sensor, _ = fit_sensor(steps, training_library()[0], 1e-4)
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
    # measured: within 12% (full state) and 21% (masked velocities) of each variable's rms
    assert (error < 0.25 * np.sqrt(np.mean(true**2, axis=0))).all(), (error, true)


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
