import pytest

from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies import OptunaStrategy

SPACE = Space.from_dict({
    "x": {"type": "float", "low": -5.0, "high": 5.0},
    "n": {"type": "int", "low": 0, "high": 10},
    "k": {"type": "categorical", "choices": ["a", "b"]},
    "lr": {"type": "logfloat", "low": 1e-5, "high": 1e-1},
})
CHAMP = Candidate({"x": 4.0, "n": 2, "k": "a", "lr": 1e-3}, "baseline")


def _score(params):
    return -(params["x"] - 1.0) ** 2 - 0.1 * abs(params["n"] - 5)


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes"])
def test_ask_tell_proposes_valid_candidates(sampler):
    s = OptunaStrategy(SPACE, seed=0, sampler=sampler, n_startup_trials=5)
    for cycle in range(1, 16):
        c = s.propose(CHAMP, [])
        SPACE.validate(c.params)
        s.observe(Trial(c, cycle, Decision.REJECT, _score(c.params)))
    assert len([t for t in s.study.trials if t.value is not None]) >= 15


def test_tpe_moves_towards_the_optimum():
    s = OptunaStrategy(SPACE, seed=1, sampler="tpe", n_startup_trials=8)
    scores = []
    for cycle in range(1, 41):
        c = s.propose(CHAMP, [])
        scores.append(_score(c.params))
        s.observe(Trial(c, cycle, Decision.REJECT, scores[-1]))
    assert max(scores[20:]) > max(scores[:8])


def test_history_is_replayed_on_restore():
    s = OptunaStrategy(SPACE, seed=0)
    trials = []
    for cycle in range(1, 6):
        c = s.propose(CHAMP, [])
        trials.append(Trial(c, cycle, Decision.REJECT, _score(c.params)))
        s.observe(trials[-1])
    failed = Trial(Candidate(CHAMP.params, "tpe"), 6, Decision.FAILED, None)
    fresh = OptunaStrategy(SPACE, seed=0)
    fresh.restore(trials + [failed])
    values = sorted(t.value for t in fresh.study.trials)
    assert values == sorted(t.score for t in trials)
    # a trial proposed before a crash and decided after it is still told
    pending = fresh.propose(CHAMP, [])
    again = OptunaStrategy(SPACE, seed=0)
    again.observe(Trial(pending, 7, Decision.REJECT, 1.0))
    assert [t.value for t in again.study.trials] == [1.0]


def test_the_champions_own_trial_is_told_its_measured_score():
    s = OptunaStrategy(SPACE, seed=0)
    first = s.propose(CHAMP, [])
    assert first.params != CHAMP.params  # the enqueued champion is asked, then held
    s.observe(Trial(first, 1, Decision.REJECT, -3.0, champion_score=-9.0, n=40))
    told = {t.value: t.params for t in s.study.trials if t.value is not None}
    assert told == {-9.0: CHAMP.params, -3.0: first.params}
