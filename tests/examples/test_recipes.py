"""The shipped recipe of each common case runs from a copy of the repository's examples,
as a newcomer runs it: a command printing metrics (with a constraint), a Python function,
and a bot tuned head to head against the champion."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = {"compress": ("compress", ["compress"]), "classifier": ("classifier", ["classifier"]),
         "snake-head-to-head": ("snake-h2h", ["snake"])}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(CASES))
def test_a_common_case_recipe_runs_from_a_copy(tmp_path, recipe):
    name, examples = CASES[recipe]
    (tmp_path / "recipes").mkdir()
    shutil.copy(ROOT / "recipes" / f"{recipe}.yaml", tmp_path / "recipes")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "__init__.py", tmp_path / "examples")
    for example in examples:
        shutil.copytree(ROOT / "examples" / example, tmp_path / "examples" / example)
    (tmp_path / "src").symlink_to(ROOT / "src")  # the compress benchmark's data
    done = subprocess.run([sys.executable, "-m", "ratchet", "run", f"recipes/{recipe}.yaml",
                           "--max-cycles", "2", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["cycles"] == 2 and outcome["failures"] == 0, outcome
    history = json.loads(subprocess.run(
        [sys.executable, "-m", "ratchet", "history", f"recipes/{recipe}.yaml", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300).stdout)
    assert len(history) == 2 and (tmp_path / "runs" / name / "ratchet.db").exists()
