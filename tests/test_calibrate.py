"""`ratchet calibrate`: an A/A run on the user's own benchmark, through the CLI."""

import json
import subprocess
import sys

import pytest

from tests.conftest import write_recipe


def _calibrate(recipe, run_dir, *more, env=None):
    return subprocess.run([sys.executable, "-m", "ratchet", "calibrate", str(recipe),
                           "--run-dir", str(run_dir), "--tests", "6", "--repeats", "4",
                           *more], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_a_deterministic_benchmark_is_named_and_its_aa_tests_use_independent_seeds(
        tmp_path):
    recipe = write_recipe(tmp_path, judge={"max_games": 120})
    ran = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                          str(tmp_path / "run"), "--max-cycles", "1", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    live = tmp_path / "toy.json"
    before = (live.read_bytes(), live.stat().st_mtime_ns)
    done = _calibrate(recipe, tmp_path / "run", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["deterministic"]["same"] is True  # the toy bench: a seed decides a game
    assert report["aa_seeds"].startswith("independent")
    aa = report["aa"]
    assert aa["tests"] == 6 and 0 <= aa["promoted"] <= 6 and aa["stated_alpha"] == 0.05
    # independent seeds: the A/A games differ, so decisions need more than the minimum
    assert aa["units_mean"] > 40
    assert report["noise"]["units"] == 4 * 20 and 0 < report["noise"]["unit_sd"] < 1
    assert report["suggest"]["batch"] >= 1 and "elo1" in report["suggest"]
    assert (live.read_bytes(), live.stat().st_mtime_ns) == before  # never written
    assert json.loads((tmp_path / "run" / "calibration.json").read_text())["aa"] == aa
    table = _calibrate(recipe, tmp_path / "run")  # again, as a table: starts afresh
    assert table.returncode == 0, table.stderr
    for words in ("deterministic per seed: yes", "false promotions:", "suggested for",
                  "drift:"):
        assert words in table.stdout, table.stdout
    from ratchet.apps.web import data

    card = next(v for v in data.target_views(tmp_path / "run")
                if v["title"] == "Calibration (A/A)")
    assert ["A/A tests", report["aa_seeds"]] in card["rows"]


def test_a_benchmark_with_randomness_of_its_own_is_not_called_deterministic(tmp_path):
    bench = tmp_path / "noisy.py"
    bench.write_text("import random\n"
                     "def objective(params, seed, size):\n"
                     "    return [10 + random.gauss(0, 1) for _ in range(size)]\n")
    recipe = tmp_path / "noisy.yaml"
    recipe.write_text(
        "name: noisy\n"
        "target: {kind: python, function: 'noisy:objective'}\n"
        "space: {x: {type: float, low: 0, high: 1}}\n"
        "judge: {kind: welch, batch: 5, min_samples: 10, max_samples: 20}\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    done = _calibrate(recipe, tmp_path / "run", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["deterministic"]["same"] is False
    assert report["aa_seeds"].startswith("shared")
    assert report["noise"]["cv"] is not None and report["aa"]["tests"] == 6


def test_calibrate_refuses_what_it_cannot_do_in_one_line(tmp_path):
    recipe = write_recipe(tmp_path)
    done = _calibrate(recipe, tmp_path / "run", "--tests", "0")
    assert done.returncode == 2 and "--tests" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "sp.yaml").write_text(
        "name: sp\ntarget: {kind: selfplay, game: tic_tac_toe}\n"
        "space: {lr: {type: logfloat, low: 0.0003, high: 0.01}}\n"
        "judge: {kind: sprt}\n")
    done = _calibrate(tmp_path / "sp.yaml", tmp_path / "run2")
    assert done.returncode == 2 and "bench.calibration" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
