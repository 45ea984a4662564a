"""The ppo strategy: SB3 PPO proposes valid configurations, learns from observed scores,
and its policy survives a restart (safetensors in the strategy state, no pickle)."""

import base64

import pytest
from safetensors.torch import load

from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies.ppo import PPOStrategy

SPACE = Space.from_dict({"a": {"type": "int", "low": 0, "high": 100},
                         "b": {"type": "logfloat", "low": 1e-3, "high": 1.0}})


def score(params):
    return 1.0 - ((params["a"] - 70) / 100) ** 2


def drive(strategy, champion, steps):
    proposed = []
    for cycle in range(1, steps + 1):
        c = strategy.propose(champion, [])
        proposed.append(c.params)
        strategy.observe(Trial(c, cycle, Decision.REJECT, score(c.params)))
    return proposed


def weights(state):
    return load(base64.b64decode(state["policy"]))


def test_proposals_are_valid_and_training_happens():
    strategy = PPOStrategy(SPACE, seed=1, n_steps=8, batch_size=8, n_epochs=2)
    champion = Candidate({"a": 50, "b": 0.1}, origin="baseline")
    try:
        assert "policy" not in strategy.state_dict()  # no model before the first proposal
        proposed = drive(strategy, champion, 20)
        assert strategy.steps == 20 and "policy" in strategy.state_dict()
        assert all(SPACE.validate(p) == p for p in proposed)
        assert len({p["a"] for p in proposed}) > 5  # it explores
        assert strategy._model.num_timesteps >= 16  # two rollouts, two PPO updates
    finally:
        strategy.close()
    assert not strategy._thread.is_alive()


def test_the_policy_survives_a_restart():
    first = PPOStrategy(SPACE, seed=2, n_steps=8, batch_size=8)
    champion = Candidate({"a": 50, "b": 0.1}, origin="baseline")
    try:
        drive(first, champion, 9)
        state = first.state_dict()
    finally:
        first.close()
    second = PPOStrategy(SPACE, seed=3, n_steps=8, batch_size=8)
    second.load_state_dict(state)
    try:
        second.propose(champion, [])
        restored = weights(second.state_dict())
    finally:
        second.close()
    saved = weights(state)
    assert second.steps == 9 and saved.keys() == restored.keys()
    assert all((saved[k] == restored[k]).all() for k in saved)


def test_a_resumed_cycle_it_never_proposed_is_ignored():
    strategy = PPOStrategy(SPACE, n_steps=8, batch_size=8)
    other = Candidate({"a": 1, "b": 0.5}, origin="tpe")
    strategy.observe(Trial(other, 1, Decision.REJECT, 0.5))
    assert strategy.steps == 0


def test_categorical_spaces_are_refused():
    with pytest.raises(ValueError, match="numeric parameters only"):
        PPOStrategy(Space.from_dict({"c": {"type": "categorical", "choices": [1, 2]}}))
