"""Racing on the toy benchmark: several challengers in flight, screened on shared champion
measurements, the best tested on fresh seeds; resumed after kill -9 at random moments."""

import os
import random
import subprocess
import sys

import pytest

from ratchet.core.errors import RecipeError
from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.race import RACE_KEY
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
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


@pytest.mark.parametrize("max_cycles", [1, 3, 6])
def test_max_cycles_counts_candidates_when_racing(tmp_path, max_cycles):
    """--max-cycles N decides N candidates, whatever the race size: the last race is cut to
    the cycles left, and one left is an ordinary cycle."""
    recipe = parse_recipe(toy_recipe(tmp_path, racing=RACING))
    summary = run_recipe(recipe, tmp_path / "run", max_cycles=max_cycles)
    store = audit(tmp_path / "run", tmp_path / "toy.json")
    assert summary.cycles == len(store.decisions()) == max_cycles
    assert store.pending_cycle() is None and store.get(RACE_KEY) is None


@pytest.mark.parametrize("games", [300, 777, 1500])
def test_a_budget_is_never_overrun_by_more_than_one_batch_when_racing(tmp_path, games):
    """A race's round (the field and the champion, 20 games each) that does not fit what
    is left and one test batch (2 x 20 games) is not started: the run ends there."""
    recipe = parse_recipe(toy_recipe(tmp_path, racing={**RACING, "challengers": 8},
                                     schedule={"budget": {"games": games}}))
    summary = run_recipe(recipe, tmp_path / "run")
    with Store(tmp_path / "run") as store:
        spent = store.measured()
    assert summary.budget_spent and spent <= games + 2 * 20, (spent, summary.budget_spent)
    assert spent >= games - 9 * 20  # ended near the budget, not early


def test_status_during_a_race_names_its_cycles_in_flight(tmp_path):
    from ratchet.service.status import run_status

    recipe = parse_recipe(toy_recipe(tmp_path, racing={**RACING, "challengers": 8},
                                     schedule={"budget": {"games": 200}}))
    run_recipe(recipe, tmp_path / "run")  # baseline 40 + a round of 9 x 20: cut mid-race
    status = run_status(tmp_path / "run")
    with Store(tmp_path / "run") as store:
        in_flight = sorted(c for c, _ in store.pending_cycles())
        last = store.last_cycle()
    assert len(in_flight) > 1 and status["racing"] == in_flight
    assert status["cycle"] == in_flight[0] and status["cycles_decided"] == last - len(in_flight)


def test_racing_is_refused_where_it_cannot_work(tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, racing={"challengers": 3},
                                     strategy={"kind": "ppo"}))
    with pytest.raises(RecipeError, match="proposes one challenger at a time"):
        run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with pytest.raises(RecipeError, match="racing.keep"):
        parse_recipe(toy_recipe(tmp_path, racing={"challengers": 3, "keep": 1.0}))


def test_racing_is_on_by_default_where_it_applies_and_off_where_it_does_not(tmp_path):
    """No racing section: 8 challengers a race where the strategy proposes several and
    the target is measured against fixed opponents; none for a head-to-head target or a
    strategy that proposes one at a time (no error: the user asked for nothing)."""
    from ratchet.engine.factory import build_components
    from ratchet.engine.race import racing_for

    def racing(**overrides):
        raw = toy_recipe(tmp_path, **overrides)
        if "racing" not in overrides:
            del raw["racing"]  # the fixture's "off"
        recipe = parse_recipe(raw)
        return racing_for(recipe.racing, build_components(recipe, tmp_path / "run"))

    assert racing().challengers == 8
    assert racing(strategy={"kind": "spsa"}) is None
    head_to_head = {"benchmark": toy_recipe(tmp_path)["target"]["benchmark"]
                    + ["--versus", "{champion_config}"]}
    assert racing(target=head_to_head) is None
    assert racing(racing={"challengers": 1}) is None
    assert racing(racing={"challengers": 3}).challengers == 3
    raw = toy_recipe(tmp_path)
    del raw["racing"]
    summary = run_recipe(parse_recipe(raw), tmp_path / "run", max_cycles=8)
    with Store(tmp_path / "run") as store:
        decisions = store.decisions()
    assert summary.cycles == len(decisions) == 8  # one race: --max-cycles counts candidates
    assert sum(bool(d.stats.get("screened")) for d in decisions) == 7


@pytest.mark.slow
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
    assert store.pending_cycle() is None and store.get(RACE_KEY) is None
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
    assert store.pending_cycle() is None and store.get(RACE_KEY) is None


def _race_recipe(function: str, direction: str, xs: list[float]) -> dict:
    return {"name": "race", "seed": 3,
            "target": {"kind": "python", "function": f"tests.fixtures.race_bench:{function}",
                       "direction": direction, "start": {"x": 0.9}},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "strategy": {"kind": "tests.fixtures.race_bench:FixedProposer", "xs": xs},
            "judge": {"kind": "welch", "batch": 4, "min_samples": 8, "max_samples": 16},
            "racing": {"challengers": len(xs), "keep": 0.5, "screen": 4},
            "schedule": {"baseline": 0}}


@pytest.mark.parametrize("function,direction", [("bowl", "minimize"), ("hill", "maximize")])
def test_racing_ranks_by_the_targets_direction_and_a_failed_challenger_last(
        tmp_path, function, direction):
    # 0.99 fails; 0.3 is the optimum; 0.6 and 0.8 are better than the champion (0.9)
    xs = [0.99, 0.8, 0.3, 0.6]
    events = []
    run_recipe(parse_recipe(_race_recipe(function, direction, xs)), tmp_path / "run",
               max_cycles=4, reporter=lambda kind, data: events.append((kind, data)))
    store = Store(tmp_path / "run")
    by_x = {d.candidate.params["x"]: d for d in store.decisions()}
    assert not by_x[0.3].stats.get("screened"), "the optimum was screened out"
    failed = by_x[0.99]
    assert failed.stats["screened"] and failed.stats["round"] == 1
    assert failed.stats["screen_failed"] and "failed on the same seeds" in failed.reason
    # gaps are the target's own: below zero where smaller is better
    better = -1 if direction == "minimize" else 1
    assert by_x[0.8].stats["screen_gap"] * better > 0  # 0.8 beats the champion at 0.9
    rounds = [data for kind, data in events if kind == "race_round"]
    assert rounds[0]["best_gap"] * better > rounds[0]["worst_gap"] * better


def test_screening_an_interleaved_target_cancels_a_linear_drift(tmp_path):
    # every candidate equal; each call is slower than the last: champion-first order
    # would put the later challengers behind by their place in the queue
    recipe = _race_recipe("drift", "minimize", [0.1, 0.2, 0.4, 0.5])
    run_recipe(parse_recipe(recipe), tmp_path / "run", max_cycles=4)
    store = Store(tmp_path / "run")
    gaps = [d.stats["screen_gap"] for d in store.decisions() if d.stats.get("screened")]
    assert len(gaps) == 3 and all(abs(g) < 1e-9 for g in gaps), gaps


@pytest.mark.slow
def test_no_seed_meant_to_be_fresh_is_used_twice_in_a_long_racing_run_with_a_budget(
        tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, seed=5, racing=RACING,
                                     schedule={"budget": {"games": 3000}}))
    run_recipe(recipe, tmp_path / "run")
    rows = Store(tmp_path / "run").evaluations()
    assert len({r.cycle for r in rows}) >= 8, "too short a run to say anything"
    group = {"challenger": "test", "champion": "test", "screen": "screen",
             "screen_champion": "screen", "baseline": "baseline"}
    uses: dict[int, set] = {}
    for r in rows:
        # one allocation: a test batch's shard (both sides), a screening round's shard
        # (the champion and every challenger of the race), or one champion measurement
        key = {"test": (r.cycle, r.batch, r.shard), "screen": (r.batch, r.shard),
               "baseline": (r.cycle, r.batch, r.candidate_id)}[group[r.role]]
        uses.setdefault(r.seed, set()).add((group[r.role], *key))
    reused = {seed: keys for seed, keys in uses.items() if len(keys) > 1}
    assert not reused, reused
    screen_rounds = {(r.cycle, r.batch) for r in rows if r.role == "screen_champion"}
    assert len(screen_rounds) >= 4  # several races, each a seed of its own per round


def test_a_champion_promoted_from_a_race_is_remeasured_on_seeds_its_race_never_played(
        tmp_path):
    from ratchet.engine.runner import Session

    # the best challenger is the race's first cycle, the one whose numbers a
    # re-measurement shares: its seeds must still be its own
    recipe = parse_recipe(_race_recipe("hill", "maximize", [0.3, 0.8, 0.6, 0.7]))
    run_recipe(recipe, tmp_path / "run", max_cycles=4)
    with Session.for_recipe(recipe, tmp_path / "run") as session:
        assert session.store.champion().cycle == 1, "the race's first cycle was not promoted"
        assert session.loop.cycles.remeasure_provisional(8) == 8
    rows = Store(tmp_path / "run").evaluations()
    remeasured = {r.seed for r in rows if r.role == "baseline" and r.cycle == 1}
    earlier = {r.seed for r in rows if not (r.role == "baseline" and r.cycle == 1)}
    assert remeasured and not remeasured & earlier
