"""Racing on the toy benchmark: several challengers in flight, screened on shared champion
measurements, the best tested on fresh seeds; resumed after kill -9 at random moments."""

import os
import random
import subprocess
import sys

import pytest

from ratchet.errors import RecipeError
from ratchet.recipe import parse_recipe
from ratchet.runner import run_recipe
from ratchet.types import Decision
from tests.conftest import toy_recipe, write_recipe
from tests.test_loop import audit, kill_repeatedly

RACING = {"challengers": 4, "keep": 0.5, "screen": 20}


def test_a_race_screens_four_and_tests_the_best_on_fresh_seeds(tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, racing=RACING))
    summary = run_recipe(recipe, tmp_path / "run", max_cycles=8)
    store = audit(tmp_path / "run", tmp_path / "toy.json")
    decisions = store.decisions()
    assert summary.cycles == len(decisions) == 8 and store.pending_cycle() is None
    screened = [d for d in decisions if d.stats.get("screened")]
    tested = [d for d in decisions if not d.stats.get("screened")]
    assert len(screened) == 6 and len(tested) == 2  # per race: 3 out, 1 to the test
    assert all(d.decision is Decision.REJECT and "screened out in round" in d.reason
               for d in screened)
    rows = store.evaluations()
    screen = [r for r in rows if r.role in ("screen", "screen_champion")]
    champion_rows = [r for r in screen if r.role == "screen_champion"]
    # the champion played each round's seed once, beside every survivor: 4 + 2 per race
    assert len(champion_rows) == 4 and len(screen) == 4 + 2 * (4 + 2)
    screen_seeds = {r.seed for r in screen}
    test_seeds = {r.seed for r in rows if r.role in ("challenger", "champion")}
    assert screen_seeds and not screen_seeds & test_seeds  # fresh seeds for the test
    # the strategy hears each screened-out challenger's estimate with its sample size
    by_cycle = {t.cycle: t for t in store.trials()}
    for d in screened:
        assert by_cycle[d.cycle].n == 20 * d.stats["round"]
        assert by_cycle[d.cycle].score is not None


def test_racing_is_refused_where_it_cannot_work(tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, racing={"challengers": 3},
                                     strategy={"kind": "ppo"}))
    with pytest.raises(RecipeError, match="proposes one challenger at a time"):
        run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with pytest.raises(RecipeError, match="racing.keep"):
        parse_recipe(toy_recipe(tmp_path, racing={"challengers": 3, "keep": 1.0}))


def test_kill_9_mid_race_then_resume_loses_nothing_and_promotes_nothing_twice(tmp_path):
    recipe = write_recipe(tmp_path, racing=RACING)
    run_dir = tmp_path / "run"
    env = {**os.environ, "TOY_DELAY": "0.05"}
    kill_repeatedly(recipe, run_dir, env, random.Random(7), 4)
    done = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                           str(run_dir), "--quiet", "--max-cycles", "4"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    store = audit(run_dir, tmp_path / "toy.json")
    assert store.pending_cycle() is None and store.target_state("loop.race") is None
    rows = store.evaluations()
    keys = [(r.candidate_id, r.role, r.cycle, r.batch, r.shard) for r in rows]
    assert len(keys) == len(set(keys))  # no measurement recorded twice
    screened = [d for d in store.decisions() if d.stats.get("screened")]
    assert screened, "no race was screened"


def test_a_race_whose_champion_cannot_be_measured_ends_failed_and_the_loop_goes_on(
        tmp_path, monkeypatch):
    monkeypatch.setenv("TOY_MODE", "fail")
    recipe = parse_recipe(toy_recipe(tmp_path, racing={"challengers": 3},
                                     schedule={"baseline": 0, "max_consecutive_failures": 9}))
    summary = run_recipe(recipe, tmp_path / "run", max_cycles=6)
    store = audit(tmp_path / "run", tmp_path / "toy.json")
    decisions = store.decisions()
    assert summary.failures == summary.cycles == len(decisions) == 6  # two races of 3
    assert all(d.decision is Decision.FAILED and "screening evaluation failed" in d.reason
               for d in decisions)
    assert store.pending_cycle() is None and store.target_state("loop.race") is None
