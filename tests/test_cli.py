"""The `ratchet` command as a user runs it: real subprocesses."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import write_recipe


def ratchet(*args, cwd=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    recipe = write_recipe(tmp)
    run_dir = tmp / "run"
    proc = ratchet("run", recipe, "--max-cycles", 6, "--run-dir", run_dir)
    assert "finished: 6 cycles" in proc.stderr
    return run_dir


@pytest.mark.slow
def test_best_json_has_params_and_score_with_interval(finished_run):
    best = json.loads(ratchet("best", "--run-dir", finished_run, "--json").stdout)
    assert set(best["params"]) == {"x", "y"}
    score = best["score"]
    assert score["low"] <= score["mean"] <= score["high"] and score["n"] > 0
    text = ratchet("best", "--run-dir", finished_run).stdout
    assert "champion v" in text and "score" in text


def test_history_json_lists_every_cycle(finished_run):
    rows = json.loads(ratchet("history", "--run-dir", finished_run, "--json").stdout)
    assert [r["cycle"] for r in rows] == [1, 2, 3, 4, 5, 6]
    for r in rows:
        assert r["decision"] in ("promote", "reject") and r["n"] > 0 and "llr" in r
    assert "cycle" in ratchet("history", "--run-dir", finished_run).stdout


def test_export_jsonl_works_with_seed_004_jq_recipes(finished_run):
    lines = [json.loads(line) for line in
             ratchet("export", "--jsonl", "--run-dir", finished_run).stdout.splitlines()]
    assert lines and all({"iteration", "win_rate", "best_win_rate", "improvement",
                          "timestamp", "config"} <= set(line) for line in lines)
    best = json.loads(ratchet("best", "--run-dir", finished_run, "--json").stdout)
    # seed 004's "count improvements": select(.improvement > 0) | length == promotions
    assert sum(1 for line in lines if line["improvement"] > 0) <= best["promotions"]
    assert sum(1 for line in lines if line["decision"] == "promote") == best["promotions"]


def objective(params, seed, size):
    """A samples benchmark for the export test: 'ops/s' around 1000."""
    import random

    rng = random.Random(seed)
    return [1000 * (1 - (params["x"] - 0.5) ** 2) + rng.gauss(0, 5) for _ in range(size)]


def test_export_of_a_samples_run_has_no_win_rates(tmp_path):
    from ratchet.apps.export import export_lines, history_rows
    from ratchet.core.store import Store
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = parse_recipe({"name": "ops", "space": {"x": {"type": "float", "low": 0,
                                                          "high": 1}},
                           "target": {"kind": "python", "function": "tests.test_cli:objective"},
                           "judge": {"kind": "welch", "batch": 5},
                           "schedule": {"baseline": 10}})
    run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with Store(tmp_path / "run") as store:
        lines = list(export_lines(store))
        rows = history_rows(store)
    assert lines and all("win_rate" not in line and "wins" not in line for line in lines)
    # a cycle's first batch is one pair (the champion's noise is known from its baseline)
    assert all(line["runs"] in (1, 5) and line["mean"] > 900 for line in lines if line["ok"]
               and line["role"] != "baseline")
    assert rows[0]["challenger_mean"] > 900 and "score" not in rows[0]


@pytest.mark.slow
def test_export_to_an_optuna_storage_feeds_optunas_own_views(finished_run, tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path / 'trials.db'}"
    done = ratchet("export", "--run-dir", finished_run, "--optuna-storage", url)
    assert "wrote 7 trials to study 'toy'" in done.stderr  # the baseline + 6 cycles
    study = optuna.load_study(study_name="toy", storage=url)
    assert [t.user_attrs["cycle"] for t in study.trials] == list(range(7))
    assert all(t.value is not None and set(t.params) == {"x", "y"} for t in study.trials)
    importance = optuna.importance.get_param_importances(study)
    assert set(importance) == {"x", "y"}
    again = ratchet("export", "--run-dir", finished_run, "--optuna-storage", url, check=False)
    assert again.returncode == 2 and "--study" in again.stderr
    assert "Traceback" not in again.stderr


def test_user_mistakes_exit_2_without_traceback(tmp_path):
    for args in (["best", "--run-dir", tmp_path / "none"],
                 ["run", tmp_path / "missing.yaml"],
                 ["history", "--limit", "zero", "--run-dir", tmp_path]):
        proc = ratchet(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.strip()


def test_help_and_version():
    assert "run" in ratchet("--help").stdout
    assert "--max-cycles" in ratchet("run", "--help").stdout
    assert ratchet("--version").stdout.startswith("ratchet ")


def test_square_brackets_in_an_error_are_printed_as_they_are(tmp_path):
    """Rich would read '[rl]' or '[low, high]' as markup and drop it from the message."""
    recipe = write_recipe(tmp_path, strategy={"kind": "perturb", "params_per_step": [0, 1]})
    proc = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                           str(tmp_path / "run"), "--max-cycles", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "params_per_step must be [low, high] with 1 <= low <= high" in proc.stderr


def test_every_run_command_takes_the_recipe_the_same_way(tmp_path):
    recipe = write_recipe(tmp_path)
    ratchet("run", recipe, "--max-cycles", 1, "-q", cwd=tmp_path)
    assert (tmp_path / "runs" / "toy" / "ratchet.db").exists()
    for command in ("status", "best", "history", "export", "logs", "pause", "resume", "stop"):
        done = ratchet(command, recipe, cwd=tmp_path)
        assert "runs/toy" in done.stdout + done.stderr or command in (
            "best", "history", "export", "logs"), (command, done.stdout)
    assert "not running" in ratchet("stop", recipe, cwd=tmp_path).stdout


def test_history_keeps_every_column_at_80_characters(finished_run):
    narrow = subprocess.run([sys.executable, "-m", "ratchet", "history", "--run-dir",
                             finished_run], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "80"}).stdout
    lines = narrow.splitlines()
    assert lines[0].split() == ["cycle", "candidate", "decision", "n", "challenger",
                                "champion", "effect"]
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].split()[0] == "1" and "Elo" in lines[1]
    assert lines[2].startswith("    ") and len(lines[2].strip()) > 20  # the reason, below
    wide = subprocess.run([sys.executable, "-m", "ratchet", "history", "--run-dir",
                           finished_run], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"}).stdout
    assert wide.splitlines()[0].split()[-1] == "reason"
