"""The portfolio: a bandit on promotions per game picks the member that pays."""

import pytest

from ratchet.core.errors import RecipeError
from ratchet.core.space import Space
from ratchet.core.store import Store
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.plugins.strategies.portfolio import PortfolioStrategy
from tests.conftest import toy_recipe

SPACE = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0},
                         "y": {"type": "float", "low": 0.0, "high": 1.0}})
CHAMP = Candidate({"x": 0.5, "y": 0.5}, "baseline")


def _play(strategy, pays: str, cycles: int, start: int = 1):
    """Challengers from ``pays`` are promoted, the others rejected; 40 games each."""
    history = []
    for cycle in range(start, start + cycles):
        c = strategy.propose(CHAMP, history)
        decision = Decision.PROMOTE if c.origin == pays else Decision.REJECT
        trial = Trial(c, cycle, decision, 0.6 if decision is Decision.PROMOTE else 0.4,
                      0.5, 40)
        strategy.observe(trial)
        history.append(trial)
    return history


def test_the_bandit_picks_the_member_that_pays_and_remembers_it_after_a_restart():
    members = [{"kind": "perturb"}, {"kind": "random"}]
    s = PortfolioStrategy(SPACE, seed=1, members=members)
    history = _play(s, "random", 60)
    late = [t.candidate.origin for t in history[30:]]
    assert late.count("random") >= 24  # of 30, once the odds are known
    assert all(t.candidate.note.startswith("portfolio chose ") for t in history)
    resumed = PortfolioStrategy(SPACE, seed=1, members=members)
    resumed.load_state_dict(s.state_dict())
    resumed.restore(history)
    assert resumed.choices() == s.choices()
    again = _play(resumed, "random", 20, start=61)
    assert [t.candidate.origin for t in again].count("random") >= 16


def test_a_portfolio_run_records_each_choice(tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, strategy={
        "kind": "portfolio", "members": [{"kind": "perturb", "scale": 0.3},
                                         {"kind": "tpe", "n_startup_trials": 2}]}))
    run_recipe(recipe, tmp_path / "run", max_cycles=4)
    with Store(tmp_path / "run") as store:
        origins = {d.candidate.origin for d in store.decisions()}
    assert origins <= {"perturb", "tpe"} and origins


@pytest.mark.parametrize("members, expected", [
    ([{"kind": "perturb"}], "at least two members"),
    ([{"kind": "perturb"}, {"kind": "portfolio"}], "no portfolio inside a portfolio"),
    ([{"kind": "perturb"}, {"kind": "nope"}], "unknown strategy kind 'nope'"),
    ([{"kind": "perturb"}, {"kind": "perturb", "scale": 0.3}], "each kind once"),
    ([{"kind": "perturb", "scale": 9}, {"kind": "random"}], "scale"),
])
def test_bad_members_are_one_clear_error(tmp_path, members, expected):
    with pytest.raises(RecipeError, match=expected):
        parse_recipe(toy_recipe(tmp_path, strategy={"kind": "portfolio",
                                                    "members": members}))
