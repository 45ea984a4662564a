"""SPSA on a quiet two-parameter bowl: pairs either side of a moving point carry it
toward the best, whichever way the metric points, and a restart carries on."""

import json
import random

import pytest

from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies.spsa import SPSASpec, SPSAStrategy

SPACE = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0},
                         "n": {"type": "int", "low": 1, "high": 9},
                         "lr": {"type": "logfloat", "low": 1e-4, "high": 1e-1}})
BEST = {"x": 0.8, "n": 7, "lr": 1e-2}


def _quality(params):
    import math

    return -((params["x"] - 0.8) ** 2 + ((params["n"] - 7) / 8) ** 2
             + (math.log10(params["lr"]) + 2) ** 2 / 9)


def _distance(strategy):
    x, n, lr = strategy.theta
    return abs(x - 0.8) + abs(n - 6 / 8) + abs(lr - 2 / 3)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_the_point_moves_toward_the_best(direction):
    sign = 1.0 if direction == "maximize" else -1.0
    strategy = SPSAStrategy(SPACE, seed=3, direction=direction, iterations=60, c_end=0.05)
    champion = Candidate(SPACE.validate({"x": 0.2, "n": 2, "lr": 1e-4}), "baseline")
    rng = random.Random(0)
    history = []
    for cycle in range(1, 121):
        candidate = strategy.propose(champion, history)
        noise = rng.gauss(0, 0.002)
        trial = Trial(candidate, cycle, Decision.REJECT,
                      sign * _quality(candidate.params) + noise,
                      sign * _quality(champion.params), 10)
        strategy.observe(trial)
        history.append(trial)
        if cycle == 1:
            start = _distance(strategy)
    assert strategy.k == 61 and _distance(strategy) < 0.25 * start, strategy.theta
    state = json.loads(json.dumps(strategy.state_dict()))
    again = SPSAStrategy(SPACE, seed=3, direction=direction, iterations=60)
    again.load_state_dict(state)
    assert again.propose(champion, history).params == strategy.propose(champion,
                                                                        history).params


def test_only_numeric_parameters_are_tuned():
    space = Space.from_dict({"x": {"type": "float", "low": 0, "high": 1},
                             "mode": {"type": "categorical", "choices": ["a", "b"]}})
    with pytest.raises(ValueError, match="numeric parameters only"):
        SPSASpec().check_space(space)
