from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "fixtures" / "toy_bench.py"


def toy_recipe(tmp: Path, **overrides: Any) -> dict[str, Any]:
    """A recipe over the toy benchmark, with its live config in ``tmp``."""
    config = tmp / "toy.json"
    if not config.exists():
        config.write_text(json.dumps({"x": 0.2, "y": 0.5, "untouched": "keep me"}))
    recipe: dict[str, Any] = {
        "name": "toy",
        "target": {"kind": "command", "config_file": str(config),
                   "benchmark": [sys.executable, str(TOY), "--config", "{config}",
                                 "--games", "{games}", "--seed", "{seed}"],
                   "timeout_s": 20, "outcome": "games"},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0},
                  "y": {"type": "float", "low": 0.0, "high": 1.0}},
        "strategy": {"kind": "perturb", "params_per_step": [1, 2], "scale": 0.2},
        "judge": {"kind": "sprt", "elo0": 0, "elo1": 40, "batch": 20, "min_games": 20,
                  "max_games": 200},
        "schedule": {"baseline": 40, "failure_backoff_s": 0, "pause_s": 0},
        "executor": {"kind": "inline"},
        "racing": {"challengers": 1},  # one candidate a cycle (racing: tests/test_race.py)
    }
    for key, value in overrides.items():
        same_kind = not isinstance(value, dict) or value.get("kind") in (
            None, (recipe.get(key) or {}).get("kind"))
        if isinstance(value, dict) and isinstance(recipe.get(key), dict) and same_kind:
            recipe[key] = {**recipe[key], **value}
        else:
            recipe[key] = value
    return recipe


def write_recipe(tmp: Path, **overrides: Any) -> Path:
    path = tmp / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_recipe(tmp, **overrides)))
    return path


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_recipe(tmp_path)


RAY_TESTS = ("tests/executors/", "tests/contracts/test_families.py::test_executor_contract[ray]")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``-n`` (pytest-xdist, ``make test``): every test that starts Ray runs on one
    worker, one after another (``ray.init`` may join a cluster another test started)."""
    for item in items:
        if item.nodeid.startswith(RAY_TESTS):
            item.add_marker(pytest.mark.xdist_group("ray"))
