from ratchet.core.space import Space
from ratchet.core.types import Candidate
from ratchet.plugins.strategies import PerturbStrategy

SPACE = Space.from_dict({
    "a": {"type": "float", "low": 0.0, "high": 10.0},
    "b": {"type": "float", "low": 0.0, "high": 10.0},
    "c": {"type": "int", "low": 0, "high": 3},
    "d": {"type": "logfloat", "low": 1e-4, "high": 1.0},
    "e": {"type": "categorical", "choices": ["x", "y", "z"]},
    "f": {"type": "bool"},
})
CHAMP = Candidate({"a": 0.0, "b": 5.0, "c": 1, "d": 0.01, "e": "x", "f": False}, "baseline")


def test_changes_three_to_five_parameters_within_the_space():
    s = PerturbStrategy(SPACE, seed=3)
    for _ in range(200):
        c = s.propose(CHAMP, [])
        changed = [k for k in CHAMP.params if c.params[k] != CHAMP.params[k]]
        assert 1 <= len(changed) <= 5
        SPACE.validate(c.params)
        assert c.parent == CHAMP.id and c.origin == "perturb"


def test_step_is_a_fraction_of_the_range_so_zero_can_move():
    s = PerturbStrategy(SPACE, seed=0, params_per_step=(6, 6), scale=0.15)
    moved = [s.propose(CHAMP, []).params["a"] for _ in range(100)]
    assert max(moved) > 0.0
    assert max(moved) <= 1.5 + 1e-9  # 15% of the range 0..10
    assert all(abs(s.propose(CHAMP, []).params["b"] - 5.0) <= 1.5 + 1e-9 for _ in range(100))


def test_relative_to_value_scales_with_the_value():
    s = PerturbStrategy(SPACE, seed=0, params_per_step=(6, 6), relative_to="value")
    for _ in range(50):
        assert abs(s.propose(CHAMP, []).params["b"] - 5.0) <= 0.75 + 1e-9


def test_resumed_strategy_proposes_what_an_uninterrupted_one_would():
    a = PerturbStrategy(SPACE, seed=7)
    first = [a.propose(CHAMP, []).params for _ in range(5)]
    b = PerturbStrategy(SPACE, seed=7)
    b.load_state_dict(PerturbStrategy(SPACE, seed=7).state_dict())
    assert [b.propose(CHAMP, []).params for _ in range(3)] == first[:3]
    c = PerturbStrategy(SPACE, seed=7)
    c.load_state_dict({"proposals": 3})
    assert [c.propose(CHAMP, []).params for _ in range(2)] == first[3:]


def test_options_given_in_python_are_checked_by_the_recipe_spec():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="params_per_step"):
        PerturbStrategy(SPACE, params_per_step=(5, 2))
    with pytest.raises(ValidationError, match="scale"):
        PerturbStrategy(SPACE, scale=3.0)
    assert PerturbStrategy(SPACE).options.params_per_step == (3, 5)  # the spec's default


def test_a_step_does_not_flip_every_option_it_touches():
    space = Space.from_dict({f"b{i}": {"type": "bool"} for i in range(6)})
    champion = Candidate({f"b{i}": False for i in range(6)}, "baseline")
    s = PerturbStrategy(space, seed=0, params_per_step=(6, 6), scale=0.15)
    flipped = [sum(s.propose(champion, []).params.values()) for _ in range(300)]
    assert min(flipped) >= 1 and max(flipped) <= 6
    assert 1.2 < sum(flipped) / len(flipped) < 2.6  # about 6 x 0.3, not 6
