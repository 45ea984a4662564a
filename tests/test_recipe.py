import subprocess
import sys

import pytest
import yaml

from ratchet.core.errors import RecipeError
from ratchet.engine.recipe import load_recipe
from tests.conftest import ROOT, toy_recipe, write_recipe


def test_shipped_recipes_load():
    for path in (ROOT / "recipes").glob("*.yaml"):
        assert load_recipe(path).name


@pytest.mark.parametrize("overrides, message", [
    ({"judge": {"alpha": 0.7}}, r"judge.alpha: Input should be less than 0.5"),
    ({"judge": {"elo1": -5}}, r"elo1 \(-5\) must be above elo0"),
    ({"judge": {"kind": "welch"}}, "judge welch needs target outcome: samples"),
    ({"strategy": {"kind": "annealing"}}, "strategy"),
    ({"space": {"x": {"type": "float", "low": 3, "high": 1}}}, r"space.x: low \(3"),
    ({"target": {"benchmark": "python bench.py"}}, "give a list of arguments"),
    ({"target": {"benchmark": ["x", "{cnofig}"]}}, r"unknown placeholders \['\{cnofig\}'\]"),
    ({"target": {"outcome": "samples"}, "judge": {"kind": "welch"}}, "needs metric"),
    ({"name": "bad name!"}, "name: String should match pattern"),
    ({"schedule": {"max_cycles": 0}}, "schedule.max_cycles"),
    ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
])
def test_bad_recipes_name_file_key_and_expectation(tmp_path, overrides, message):
    path = write_recipe(tmp_path, **overrides)
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(path)
    assert str(info.value).startswith(str(path))


def test_missing_key_and_bad_yaml(tmp_path):
    recipe = toy_recipe(tmp_path)
    del recipe["judge"]
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match="judge: Field required"):
        load_recipe(path)
    path.write_text("name: x\ntarget: [unclosed\n")
    with pytest.raises(RecipeError, match=r"not valid YAML \(line"):
        load_recipe(path)
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "absent.yaml")


def test_cli_reports_a_bad_recipe_in_one_line_with_exit_code_2(tmp_path):
    path = write_recipe(tmp_path, judge={"beta": 2})
    proc = subprocess.run([sys.executable, "-m", "ratchet", "run", str(path), "--run-dir",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "judge.beta" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "ratchet.db").exists()


def test_a_cartpole_recipe_must_be_able_to_measure_what_its_judge_weighs():
    from ratchet.engine.recipe import parse_recipe

    raw = {"name": "cp", "target": {"kind": "cartpole", "hard_tasks": False},
           "space": {"learning_rate": {"type": "logfloat", "low": 1e-4, "high": 1e-2}},
           "strategy": {"kind": "evolve"}, "judge": {"kind": "weighted"}}
    with pytest.raises(RecipeError, match="hard_tasks is false"):
        parse_recipe(raw)
    raw["judge"]["weights"] = {"average_reward": 1.0}
    assert parse_recipe(raw).judge.kind == "weighted"
    raw["judge"] = {"kind": "sprt"}
    with pytest.raises(RecipeError, match="judge sprt needs target outcome: games"):
        parse_recipe(raw)
