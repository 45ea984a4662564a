"""Seed 003's JSON config and its presets load; bad configs are one clear line, exit 2."""

import json

import pytest

from ratchet.apps.sysctl.config import load_os_config, preset, to_recipe
from ratchet.apps.sysctl.tuning import optimize_os_parameters
from ratchet.core.errors import RecipeError
from ratchet.engine.recipe import parse_recipe
from tests.targets.sysctl.conftest import os_config, ratchet, snapshot, values

SEED_EXAMPLE = {  # the seed README's config, verbatim
    "workload_name": "my-workload",
    "reward_metric": "operations_per_second",
    "benchmark_command": "python3 benchmarks/my_benchmark.py",
    "action_space": [
        {"param": "vm.swappiness", "min": 0, "max": 100, "type": "int",
         "description": "How aggressively kernel swaps memory pages"},
        {"param": "vm.dirty_ratio", "min": 5, "max": 80, "type": "int",
         "description": "Percentage of RAM for dirty pages before writes"}],
    "state_space": [{"metric": "cpu_usage", "description": "Current CPU utilization"},
                    {"metric": "memory_used_percent", "description": "Memory utilization"}],
    "training_config": {"total_timesteps": 200, "n_steps": 64, "batch_size": 32,
                        "n_epochs": 5, "learning_rate": 0.001, "gamma": 0.95,
                        "benchmark_timeout": 15, "max_steps_per_episode": 10,
                        "verbose": False},
}


def test_the_seed_config_becomes_a_recipe():
    recipe = to_recipe(load_os_config(SEED_EXAMPLE))
    assert recipe.target.kind == "sysctl" and recipe.strategy.kind == "ppo"
    assert recipe.schedule.max_cycles == 200 and recipe.strategy.n_steps == 64
    assert recipe.parsed_space()["vm.dirty_ratio"].high == 80
    assert to_recipe(load_os_config(SEED_EXAMPLE), algorithm="tpe").strategy.kind == "tpe"


@pytest.mark.parametrize("name", ["memory", "network"])
def test_presets_load(name):
    assert to_recipe(load_os_config(preset(name))).target.metric == "operations_per_second"


@pytest.mark.parametrize("change, message", [
    ({"action_space": []}, "action_space: List should have at least 1 item"),
    ({"action_space": [{"param": "vm.swappiness", "min": 50, "max": 10}]}, "must be below"),
    ({"action_space": [{"param": "vm swappiness; reboot", "min": 0, "max": 1}]},
     "not a sysctl name"),
    ({"state_space": [{"metric": "gpu_temp"}]}, "unknown metric 'gpu_temp'"),
    ({"training_config": {"total_timesteps": 0}}, "total_timesteps"),
    ({"reward_metic": "x"}, "reward_metic: Extra inputs are not permitted"),
])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(RecipeError) as info:
        to_recipe(load_os_config({**SEED_EXAMPLE, **change}))
    assert message in str(info.value)


@pytest.mark.slow
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, tree):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"workload_name": ')
    unknown = os_config(tmp_path)
    data = json.loads(unknown.read_text())
    data["action_space"].append({"param": "vm.no_such_knob", "min": 0, "max": 1})
    unknown.write_text(json.dumps(data))
    before = snapshot(tree)
    for args, message in (
            ([bad_json], "not valid JSON (line 1"),
            ([tmp_path / "absent.json"], "no such config file"),
            ([], "give a CONFIG file or --workload"),
            (["--workload", "gaming"], "unknown workload 'gaming'"),
            ([unknown, "--algorithm", "sgd"], "--algorithm 'sgd' is unknown"),
            ([unknown, "--sysctl-root", tree, "--run-dir", tmp_path / "r"],
             "vm.no_such_knob: no such kernel parameter")):
        done = ratchet("tune-os", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert snapshot(tree) == before


def test_sysctl_recipe_checks():
    base = {"name": "x", "target": {"kind": "sysctl", "benchmark": "b", "metric": "m"},
            "space": {"vm.swappiness": {"type": "categorical", "choices": [1, 2]}},
            "judge": {"kind": "welch"}}
    with pytest.raises(RecipeError, match="a kernel parameter is int or float"):
        parse_recipe(base)
    with pytest.raises(RecipeError, match="ppo tunes numeric parameters only"):
        parse_recipe({**base, "target": {"kind": "command", "benchmark": ["b"],
                                         "outcome": "samples", "metric": "m"},
                      "strategy": {"kind": "ppo"}})


@pytest.mark.slow
def test_python_api(tmp_path, tree, monkeypatch):
    monkeypatch.chdir(tmp_path)
    originals = values(tree)
    result = optimize_os_parameters(json.loads(os_config(tmp_path, steps=3).read_text()),
                                    sysctl_root=str(tree), algorithm="perturb")
    assert set(result) >= {"best_config", "best_reward", "improvement"}
    assert (tmp_path / "runs" / "test-workload" / "ratchet.db").exists()
    assert values(tree) == originals
