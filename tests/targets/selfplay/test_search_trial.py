"""The search tuned by ratchet itself (recipes/selfplay-search.yaml): a self-play run's
champion network against itself with another c_puct, as the command target reads games."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.targets.selfplay.test_loop import TINY

ROOT = Path(__file__).resolve().parents[3]
TRIAL = [sys.executable, "-m", "ratchet.plugins.targets.selfplay.search_trial"]


def _trial(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*TRIAL, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_the_shipped_recipe_tunes_c_puct_of_a_self_play_runs_champion(tmp_path):
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    # a self-play run where the recipe looks for one (its game is the run's: tic-tac-toe)
    run_recipe(parse_recipe(TINY), tmp_path / "runs" / "selfplay-connect4", max_cycles=1)
    (tmp_path / "recipes").mkdir()
    shutil.copy(ROOT / "recipes" / "selfplay-search.yaml", tmp_path / "recipes")
    shutil.copytree(ROOT / "examples" / "selfplay_search",
                    tmp_path / "examples" / "selfplay_search")
    (tmp_path / "a.yaml").write_text("c_puct: 1.5\n")
    (tmp_path / "b.yaml").write_text("c_puct: 0.3\nsimulations: 8\n")

    played = [_trial("--run-dir", "runs/selfplay-connect4", "--config", "a.yaml",
                     "--versus", "b.yaml", "--games", "12", "--seed", str(seed), cwd=tmp_path)
              for seed in (1, 1, 2)]
    assert all(p.returncode == 0 for p in played), played[0].stderr
    first, again, other = (json.loads(p.stdout) for p in played)
    assert first["wins"] + first["draws"] + first["losses"] == 12
    assert len(first["outcomes"]) == 12 and set(first["outcomes"]) <= set("WDL")
    assert first == again  # one seed, the same games
    assert first["outcomes"] != other["outcomes"] or first["wins"] != other["wins"]

    done = subprocess.run([sys.executable, "-m", "ratchet", "run",
                           "recipes/selfplay-search.yaml", "--max-cycles", "1", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["cycles"] == 1 and outcome["failures"] == 0, outcome


def test_a_bad_config_or_run_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "ok.yaml").write_text("c_puct: 1.5\n")
    (tmp_path / "typo.yaml").write_text("cpuct: 2\n")
    (tmp_path / "text.yaml").write_text("c_puct: lots\n")
    cases = [(["--run-dir", str(tmp_path), "--config", "ok.yaml", "--versus", "ok.yaml"],
              "no ratchet run here"),
             (["--network", "n", "--game", "tic_tac_toe", "--config", "typo.yaml",
               "--versus", "ok.yaml"], "cpuct: expected only c_puct, simulations"),
             (["--network", "n", "--game", "tic_tac_toe", "--config", "text.yaml",
               "--versus", "ok.yaml"], "text.yaml"),
             (["--config", "ok.yaml", "--versus", "ok.yaml"], "name the network")]
    for args, says in cases:
        done = _trial(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
