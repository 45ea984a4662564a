"""Training pushes: they change what the training stream plays and they are seeded."""

import numpy as np
import pytest
import torch

from ratchet.plugins.targets.cartpole.envs import make_env
from ratchet.plugins.targets.cartpole.pushes import Pushes
from ratchet.plugins.targets.cartpole.rollout import Stream
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import nominal
from ratchet.plugins.targets.cartpole.train import TrainConfig


def _inputs(pushes: Pushes | None, seed: int = 3) -> torch.Tensor:
    torch.manual_seed(0)
    policy = SSMPolicy(Arch())
    stream = Stream(policy, [nominal()], slots=2, episodes_per_task=2, seed=seed,
                    pushes=pushes)
    try:
        return stream.segment(policy, 64).inputs
    finally:
        stream.close()


def test_pushes_change_the_training_stream_and_are_seeded():
    always = Pushes(probability=1.0)
    pushed, again, plain = _inputs(always), _inputs(always), _inputs(None)
    assert torch.equal(pushed, again)
    assert torch.equal(pushed[:, 0], plain[:, 0])  # the first observation is before any push
    assert not torch.allclose(pushed, plain)


def test_a_push_kicks_both_velocities_and_nothing_else():
    pushed = make_env(nominal(), pushes=Pushes(probability=1.0, cart_sd=0.5, pole_sd=0.5),
                      push_rng=np.random.default_rng(0))
    twin = make_env(nominal())
    pushed.reset(seed=1)
    twin.reset(seed=1)
    pushed.step(0)
    twin.step(0)
    kick = np.asarray(pushed.core.state) - np.asarray(twin.unwrapped.state)
    assert kick[0] == 0 and kick[2] == 0
    assert kick[1] != 0 and kick[3] != 0
    pushed.close()
    twin.close()


def test_training_pushes_by_default():
    assert TrainConfig().pushes == Pushes()


@pytest.mark.parametrize("bad", [{"probability": 1.5}, {"probability": -0.1},
                                 {"cart_sd": -1.0}])
def test_bad_push_settings_are_refused(bad):
    with pytest.raises(ValueError, match="push"):
        Pushes(**bad)
