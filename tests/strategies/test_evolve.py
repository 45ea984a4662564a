"""evolve: architecture moves of about 20% (depth by one), hyperparameter moves, a step
size that follows the success rate, and a resumable random stream."""

import pytest

from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies.evolve import EvolveStrategy

SPACE = Space.from_dict({
    "state_dim": {"type": "int", "low": 4, "high": 256},
    "hidden_dim": {"type": "int", "low": 8, "high": 512},
    "layers": {"type": "int", "low": 1, "high": 4},
    "learning_rate": {"type": "logfloat", "low": 1e-5, "high": 1e-2},
    "ent_coef": {"type": "float", "low": 0.0, "high": 0.1},
})
CHAMPION = Candidate({"state_dim": 32, "hidden_dim": 64, "layers": 2, "learning_rate": 1e-3,
                      "ent_coef": 0.01}, origin="baseline")


@pytest.mark.parametrize("scale", [0.2, 0.5])
def test_moves_are_architecture_or_hyperparameters_and_sized_as_documented(scale):
    strategy = EvolveStrategy(SPACE, seed=3, scale=scale)  # scale: hyperparameters only
    kinds = set()
    for _ in range(200):
        c = strategy.propose(CHAMPION, [])
        changed = {k for k, v in c.params.items() if v != CHAMPION.params[k]}
        assert changed and c.parent == CHAMPION.id
        arch = changed <= {"state_dim", "hidden_dim", "layers"}
        assert arch or not changed & {"state_dim", "hidden_dim", "layers"}  # never mixed
        kinds.add(c.note.split(":")[0])
        if "state_dim" in changed:
            assert abs(c.params["state_dim"] - 32) in (6, 7)  # 20% of 32, rounded
        if "hidden_dim" in changed:
            assert abs(c.params["hidden_dim"] - 64) == 13
        if "layers" in changed:
            assert abs(c.params["layers"] - 2) == 1
    assert kinds == {"architecture", "hyperparameters"}


def test_the_step_widens_on_success_and_narrows_on_failure_and_replays_on_resume():
    strategy = EvolveStrategy(SPACE, seed=0)
    c = strategy.propose(CHAMPION, [])
    history = [Trial(c, 1, Decision.PROMOTE, 1.0), Trial(c, 2, Decision.REJECT, 0.0),
               Trial(c, 3, Decision.REJECT, 0.0)]
    for t in history:
        strategy.observe(t)
    assert abs(strategy.step - 0.2 * 1.5 * 0.9 * 0.9) < 1e-12
    resumed = EvolveStrategy(SPACE, seed=0)
    resumed.load_state_dict(strategy.state_dict())
    resumed.restore(history)
    assert resumed.step == strategy.step
    assert resumed.propose(CHAMPION, []).params == strategy.propose(CHAMPION, []).params


@pytest.mark.parametrize("explore", [0.0, 1.0])
def test_explore_draws_hyperparameters_over_their_whole_range_not_architecture(explore):
    strategy = EvolveStrategy(SPACE, seed=5, explore=explore)
    rates, dims = [], []
    for _ in range(300):
        c = strategy.propose(CHAMPION, [])
        if c.params["learning_rate"] != CHAMPION.params["learning_rate"]:
            rates.append(c.params["learning_rate"])
        if c.params["state_dim"] != CHAMPION.params["state_dim"]:
            dims.append(c.params["state_dim"])
    assert {abs(d - 32) for d in dims} <= {6, 7}  # width moves stay at 20% either way
    local = [r for r in rates if 1e-3 / 1.5 < r < 1e-3 * 1.5]  # scale 0.2: x exp(+-0.4)
    if explore:  # log-uniform over [1e-5, 1e-2]: few land near the champion's value
        assert min(rates) < 1e-4 and max(rates) > 5e-3 and len(local) < len(rates) / 3
    else:
        assert len(local) == len(rates)
