import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratchet.core.errors import SpaceError
from ratchet.core.space import Param, Space


def test_validation_messages_name_the_parameter_and_the_bound():
    p = Param("weights.food", "float", 0.0, 1.5)
    with pytest.raises(SpaceError, match=r"weights.food: 1.7 is above the maximum 1.5"):
        p.validate(1.7)
    with pytest.raises(SpaceError, match=r"below the minimum 0"):
        p.validate(-0.1)
    with pytest.raises(SpaceError, match="not a number"):
        p.validate("high")
    with pytest.raises(SpaceError, match="finite"):
        p.validate(math.nan)


def test_int_bool_categorical_logfloat():
    assert Param("n", "int", 0, 10).validate(3.0) == 3
    with pytest.raises(SpaceError, match="whole number"):
        Param("n", "int", 0, 10).validate(3.5)
    assert Param("b", "bool").validate(True) is True
    with pytest.raises(SpaceError, match="boolean"):
        Param("b", "bool").validate(1)
    assert Param("c", "categorical", choices=("a", "b")).validate("b") == "b"
    with pytest.raises(SpaceError, match="not one of"):
        Param("c", "categorical", choices=("a", "b")).validate("z")
    with pytest.raises(SpaceError, match="low > 0"):
        Param("lr", "logfloat", 0.0, 1.0)


def test_bad_definitions_are_refused():
    with pytest.raises(SpaceError, match="low .* must be below high"):
        Param("x", "float", 2.0, 1.0)
    with pytest.raises(SpaceError, match="unknown"):
        Param("x", "decimal", 0, 1)
    with pytest.raises(SpaceError, match="two choices"):
        Param("x", "categorical", choices=("only",))
    with pytest.raises(SpaceError, match="defined twice"):
        Space((Param("x", "bool"), Param("x", "bool")))
    with pytest.raises(SpaceError, match="unknown keys"):
        Space.from_dict({"x": {"type": "float", "low": 0, "high": 1, "step": 2}})


def test_space_validates_whole_assignments():
    space = Space.from_dict({"a": {"type": "float", "low": 0, "high": 1},
                             "b": {"type": "int", "low": 0, "high": 5}})
    assert space.validate({"a": 0.5, "b": 2}) == {"a": 0.5, "b": 2}
    with pytest.raises(SpaceError, match=r"missing values for parameters \['b'\]"):
        space.validate({"a": 0.5})
    with pytest.raises(SpaceError, match="unknown parameters"):
        space.validate({"a": 0.5, "b": 1, "c": 3})


def test_round_trip_through_dict():
    spec = {"a": {"type": "logfloat", "low": 1e-4, "high": 1.0},
            "b": {"type": "categorical", "choices": ["x", "y"]},
            "c": {"type": "bool"}, "d": {"type": "int", "low": -3, "high": 3}}
    space = Space.from_dict(spec)
    assert Space.from_dict(space.to_dict()) == space
    assert space.to_dict() == spec


@given(st.floats(-1e6, 1e6), st.floats(-100, 100), st.floats(0.001, 100))
def test_clip_always_lands_inside(value, low, width):
    p = Param("x", "float", low, low + width)
    assert p.validate(p.clip(value)) == p.clip(value)
    q = Param("n", "int", math.floor(low), math.floor(low) + math.ceil(width))
    assert q.validate(q.clip(value)) == q.clip(value)


def test_round_trip_through_yaml_and_json():
    import json

    import yaml

    space = Space.from_dict({"w.food": {"type": "float", "low": 0.0, "high": 1.5},
                             "mode": {"type": "categorical", "choices": ["a", "b"]},
                             "on": {"type": "bool"}})
    dumped = yaml.safe_dump(space.to_dict(), sort_keys=False)
    assert Space.from_dict(yaml.safe_load(dumped)) == space
    assert Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space


def test_a_range_starts_at_its_middle_geometric_for_a_logfloat():
    from ratchet.plugins.targets._base import starting_values

    space = Space.from_dict({"C": {"type": "logfloat", "low": 1e-3, "high": 1e3},
                             "x": {"type": "float", "low": 0, "high": 10},
                             "n": {"type": "int", "low": 1, "high": 4}})
    start = starting_values(space, {})
    assert start["C"] == pytest.approx(1.0) and start["x"] == 5.0 and start["n"] == 2
    assert starting_values(space, {"C": 500.0})["C"] == 500.0  # a given start is kept
