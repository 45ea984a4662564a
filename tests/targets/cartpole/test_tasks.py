"""Task families: seeded, split, and the hard ones really break fixed policies."""

import numpy as np
import pytest

from ratchet.plugins.targets.cartpole.envs import make_env, run_episode
from ratchet.plugins.targets.cartpole.tasks import (
    HELDOUT_COMBOS,
    PHYSICS_RANGES,
    WIDE_RANGES,
    hard_task,
    nominal,
    task_set,
    tasks_named,
)


def heuristic(obs):
    """The one-line rule: push right if theta + 0.5 * theta_dot > 0."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def mean_return(task, policy=heuristic, episodes=3):
    env = make_env(task)
    return float(np.mean([run_episode(env, policy, seed) for seed in range(episodes)]))


def test_tasks_are_seeded_and_splits_differ():
    assert task_set("physics", "train", 5, seed=1) == task_set("physics", "train", 5, seed=1)
    train = task_set("physics", "train", 5, seed=1)
    held = task_set("physics", "heldout", 5, seed=1)
    assert not {t.physics["length"] for t in train} & {t.physics["length"] for t in held}
    for t in train + held:
        for k, (lo, hi) in PHYSICS_RANGES.items():
            assert lo <= t.physics[k] <= hi


def test_heldout_hard_tasks_are_unseen_combinations():
    train = {hard_task("train", i).transforms for i in range(8)}
    held = {hard_task("heldout", i).transforms for i in range(len(HELDOUT_COMBOS))}
    assert all(len(t) == 1 for t in train) and all(len(t) == 2 for t in held)
    assert not train & held


def test_the_heuristic_solves_nominal_and_robust_physics():
    assert mean_return(nominal()) == 500.0
    physics = task_set("physics", "heldout", 6, seed=0)
    assert np.mean([mean_return(t, episodes=2) for t in physics]) > 400


@pytest.mark.parametrize("index", [0, 1, 2])  # flip, permute_obs, mix_obs
def test_hard_tasks_break_the_fixed_policy(index):
    task = hard_task("train", index)
    assert mean_return(task) < 100, task.name


def test_masked_velocities_hide_the_velocities():
    env = make_env(hard_task("train", 3))
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(0)
        assert obs[1] == 0.0 and obs[3] == 0.0


def test_physics_is_applied_to_the_simulation():
    task = task_set("physics", "train", 1)[0]
    env = make_env(task)
    assert env.unwrapped.length == task.physics["length"]
    assert env.unwrapped.polemass_length == pytest.approx(
        task.physics["masspole"] * task.physics["length"])


def test_the_wide_split_extrapolates_beyond_the_training_ranges():
    wide = task_set("physics", "wide", 30, seed=0)
    assert wide == tasks_named("physics-wide") and wide != task_set("physics", "wide", 30, 1)
    outside = 0
    for t in wide:
        inside = True
        for k, (lo, hi) in WIDE_RANGES.items():
            assert lo <= t.physics[k] <= hi
            inside &= PHYSICS_RANGES[k][0] <= t.physics[k] <= PHYSICS_RANGES[k][1]
        outside += not inside
    assert outside >= 25  # five parameters each half outside: nearly every task leaves
    assert WIDE_RANGES["length"] == pytest.approx((0.125, 2.0))


def test_hard_tasks_have_no_wide_split():
    with pytest.raises(ValueError, match="physics only"):
        tasks_named("hard-wide")
    with pytest.raises(ValueError, match="physics only"):
        hard_task("wide", 0)
