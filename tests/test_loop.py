"""The loop end to end on the toy benchmark: real processes, a real SQLite store."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ratchet.core.errors import RecipeError
from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.factory import build_components
from ratchet.engine.recipe import load_recipe, parse_recipe
from ratchet.engine.runner import Session, run_recipe
from ratchet.engine.spending import SECONDS_RUN
from tests.conftest import toy_recipe, write_recipe


def _run(tmp_path: Path, cycles: int, **overrides):
    recipe = parse_recipe(toy_recipe(tmp_path, **overrides))
    run_dir = tmp_path / "run"
    events: list[str] = []
    summary = run_recipe(recipe, run_dir, max_cycles=cycles,
                         reporter=lambda event, data: events.append(event))
    return summary, Store(run_dir), events


def audit(run_dir: Path, live_config: Path) -> Store:
    """Every promotion accounted for exactly once; files consistent with the store."""
    store = Store(run_dir)
    promotions = store.promotions()
    assert [p["version"] for p in promotions] == list(range(len(promotions)))
    promoted = [d for d in store.decisions() if d.decision is Decision.PROMOTE]
    assert [d.candidate.id for d in promoted] == [p["candidate_id"] for p in promotions[1:]]
    for prev, cur in zip(promotions, promotions[1:], strict=False):
        assert cur["previous_id"] == prev["candidate_id"]
    cycles = [d.cycle for d in store.decisions()]
    assert cycles == list(range(1, len(cycles) + 1))
    for d in store.decisions():  # the evidence of every decision is in the store with it
        rows = store.evaluations(cycle=d.cycle, roles=("challenger", "champion"))
        if d.decision is not Decision.FAILED and not d.stats.get("screened"):
            assert sum(r.size for r in rows if r.ok) == d.games, d
    champ = store.champion()
    on_disk = json.loads((run_dir / "champion.json").read_text())
    assert on_disk["candidate"] == champ.candidate.id and on_disk["version"] == champ.version
    live = json.loads(live_config.read_text())
    assert {k: live[k] for k in champ.candidate.params} == champ.candidate.params
    assert live["untouched"] == "keep me"
    return store


def test_three_cycles_with_a_tiny_benchmark(tmp_path):
    summary, store, events = _run(tmp_path, 3)
    assert summary.cycles == 3 and not summary.stopped
    assert [d.cycle for d in store.decisions()] == [1, 2, 3]
    assert events[0] == "baseline_start" and events.count("cycle_end") == 3
    assert len(store.champion_scores(store.promotions()[0]["candidate_id"])) >= 40
    assert store.run_info()["strategy_state"]["proposals"] >= 3
    audit(tmp_path / "run", tmp_path / "toy.json")


@pytest.mark.slow
def test_real_improvements_are_promoted_and_made_live(tmp_path):
    summary, store, _ = _run(tmp_path, 12)
    assert summary.promotions >= 1
    champ = store.champion()
    assert champ.version == summary.promotions
    assert abs(champ.candidate.params["x"] - 0.8) < 0.6  # moved towards the optimum
    audit(tmp_path / "run", tmp_path / "toy.json")
    # a second start resumes the same run: the next cycle numbers, the same champion
    summary2, store2, events = _run(tmp_path, 2)
    assert [d.cycle for d in store2.decisions()][-2:] == [13, 14]
    assert "baseline_start" not in events


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fail", "garbage", "hang"])
def test_broken_benchmarks_fail_cycles_but_the_loop_goes_on(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("TOY_MODE", mode)
    summary, store, events = _run(tmp_path, 4, target={"timeout_s": 1},
                                  schedule={"baseline": 0, "max_consecutive_failures": 3})
    assert summary.cycles == 4 and summary.failures == 4
    assert all(d.decision is Decision.FAILED for d in store.decisions())
    assert store.champion().version == 0
    kinds = [e["kind"] for e in store.events()]
    assert "safety_pause" in kinds and "evaluation_failed" in kinds
    assert "pause" in events


@pytest.mark.slow
def test_a_gate_can_refuse_a_promotion_and_stagnation_is_reported(tmp_path):
    summary, store, events = _run(tmp_path, 8, gates=[{"kind": "floor", "min": 0.99}],
                                  schedule={"stagnation_cycles": 3})
    assert summary.promotions == 0
    assert [e["data"]["cycles"] for e in store.events() if e["kind"] == "stagnation"] == [3, 6]
    assert events.count("stagnation") == 2
    gated = [d for d in store.decisions() if d.decision is Decision.GATED]
    assert gated and "below floor" in gated[0].reason
    assert json.loads((tmp_path / "toy.json").read_text())["x"] == 0.2


def test_processes_executor_reaches_the_same_decisions_as_inline(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, inline, _ = _run(tmp_path / "a", 4)
    _, procs, _ = _run(tmp_path / "b", 4, executor={"kind": "processes", "workers": 2})
    assert [(d.decision, d.candidate.params) for d in inline.decisions()] == \
        [(d.decision, d.candidate.params) for d in procs.decisions()]


@pytest.mark.slow
def test_head_to_head_and_samples_targets(tmp_path):
    target = toy_recipe(tmp_path)["target"]
    h2h = target["benchmark"] + ["--versus", "{champion_config}"]
    (tmp_path / "h").mkdir()
    (tmp_path / "s").mkdir()
    summary, store, _ = _run(tmp_path / "h", 4, target={"benchmark": h2h})
    assert summary.cycles == 4
    assert all(e.role != "champion" for e in store.evaluations())
    summary, store, _ = _run(tmp_path / "s", 4, target={"outcome": "samples", "metric": "ops",
                                                     "env": {"TOY_MODE": "samples"}},
                             judge={"kind": "welch", "batch": 3, "max_samples": 12})
    assert summary.cycles == 4
    assert {d.decision for d in store.decisions()} <= {Decision.PROMOTE, Decision.REJECT}


@pytest.mark.slow
def test_a_stop_request_leaves_the_cycle_pending_and_it_resumes(tmp_path):
    recipe = parse_recipe(toy_recipe(tmp_path, judge={"elo1": 5, "max_games": 100000,
                                                      "batch": 10}))
    stop = threading.Event()
    seen = []

    def reporter(event, data):
        seen.append(event)
        if seen.count("batch") == 3:
            stop.set()

    summary = run_recipe(recipe, tmp_path / "run", max_cycles=5, reporter=reporter, stop=stop)
    assert summary.stopped and summary.cycles == 0
    store = Store(tmp_path / "run")
    cycle, cand = store.pending_cycle()
    batches = {e.batch for e in store.evaluations(cycle=cycle)}
    assert batches == {0, 1, 2}
    run_recipe(recipe, tmp_path / "run", max_cycles=1)
    assert store.pending_cycle() is None
    assert store.decisions()[0].candidate.id == cand.id
    assert store.decisions()[0].stats["n"] > 30  # the earlier evidence was kept


def test_a_run_dir_made_from_another_recipe_is_refused(tmp_path):
    _run(tmp_path, 1)
    other = toy_recipe(tmp_path)
    other["space"]["x"]["high"] = 2.0
    with pytest.raises(RecipeError, match="different recipe"):
        run_recipe(parse_recipe(other), tmp_path / "run", max_cycles=1)


def kill_repeatedly(recipe: Path, run_dir: Path, env: dict, rng: random.Random,
                    times: int) -> None:
    """Start `ratchet run` and SIGKILL it 1.5-3 s later, ``times`` times over."""
    cmd = [sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir", str(run_dir),
           "--quiet", "--max-cycles", "40"]
    for _ in range(times):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_kill_9_mid_evaluation_then_resume(tmp_path):
    """SIGKILL at random instants; restarts finish the work with nothing lost or doubled."""
    recipe = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    env = {**os.environ, "TOY_DELAY": "0.05"}
    kill_repeatedly(recipe, run_dir, env, random.Random(4), 5)
    before = len(Store(run_dir).decisions())
    target = before + 6
    done = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                           str(run_dir), "--quiet", "--max-cycles", "6"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    store = audit(run_dir, tmp_path / "toy.json")
    assert len(store.decisions()) == target
    assert store.pending_cycle() is None
    assert load_recipe(recipe).name == store.run_info()["name"]


def test_tpe_run_resumes_with_its_history_replayed(tmp_path):
    first, store, _ = _run(tmp_path, 4, strategy={"kind": "tpe", "n_startup_trials": 2})
    assert first.cycles == 4
    summary, store, _ = _run(tmp_path, 3, strategy={"kind": "tpe", "n_startup_trials": 2})
    assert [d.cycle for d in store.decisions()] == [1, 2, 3, 4, 5, 6, 7]
    assert {d.candidate.origin for d in store.decisions()} == {"tpe"}
    kinds = [e["kind"] for e in store.events()]
    assert kinds.count("run_resumed") == 1


@pytest.mark.slow
def test_checkpoints_on_promotion_every_n_cycles_and_shutdown_with_retention(tmp_path):
    summary, store, _ = _run(tmp_path, 12, schedule={"checkpoint_every": 3,
                                                     "checkpoint_keep": 2})
    directory = tmp_path / "run" / "checkpoints"
    snapshots = sorted(p.name for p in directory.glob("cycle-*.db"))
    assert len(snapshots) == 2 and snapshots[-1] == "cycle-00000012.db"
    for version in range(1, summary.promotions + 1):  # every champion is kept
        assert (directory / f"champion-v{version:04d}.json").exists()
    snap = sqlite3.connect(directory / snapshots[-1])
    assert snap.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 12


def test_a_budget_in_games_ends_the_run_and_a_restart_spends_nothing_more(tmp_path):
    summary, store, _ = _run(tmp_path, None, schedule={"budget": {"games": 200}})
    used = store.measured()
    assert not summary.stopped and summary.budget_spent.startswith("budget spent: ")
    assert 200 <= used < 200 + 2 * 20  # stops before the batch after the one that reached it
    assert [e["kind"] for e in store.events(limit=500)].count("budget_spent") == 1
    again, store2, events = _run(tmp_path, None, schedule={"budget": {"games": 200}})
    assert again.cycles == 0 and again.budget_spent and store2.measured() == used
    audit(tmp_path / "run", tmp_path / "toy.json")


def test_a_budget_in_seconds_counts_every_start(tmp_path):
    summary, store, _ = _run(tmp_path, None, schedule={"budget": {"seconds": 1.5}})
    assert summary.budget_spent and "s of 1.5 s" in summary.budget_spent
    spent = store.get(SECONDS_RUN)
    assert spent >= 1.5
    again, store2, _ = _run(tmp_path, None, schedule={"budget": {"seconds": 1.5}})
    assert again.cycles == 0 and store2.get(SECONDS_RUN) >= spent


@pytest.mark.parametrize("budget, expected", [
    ({"runs": 100}, "use budget.games"),
    ({"games": 10, "runs": 10}, "not both"),
    ({}, "a budget needs games, runs or seconds"),
    ({"games": 0}, "schedule.budget.games"),
])
def test_a_wrong_budget_is_one_clear_error(tmp_path, budget, expected):
    with pytest.raises(RecipeError, match=expected):
        parse_recipe(toy_recipe(tmp_path, schedule={"budget": budget}))


def test_strategies_hear_each_challengers_sample_size_and_status_the_inconclusive_rate(
        tmp_path):
    from ratchet.service.status import run_status

    summary, store, _ = _run(tmp_path, 4, judge={"max_games": 20, "elo1": 5})
    for trial, decided in zip(store.trials(), store.decisions(), strict=True):
        assert trial.n == decided.stats["n"] > 0  # game pairs: one challenger game each
    truncated = sum(1 for d in store.decisions() if d.stats.get("inconclusive"))
    assert truncated >= 1  # 20 pairs cannot tell 0 from 5 Elo
    assert run_status(tmp_path / "run")["inconclusive_rate"] == round(truncated / 4, 3)


def test_the_daily_limit_holds_the_next_test_until_a_promotion_ages_out(tmp_path):
    """max_promotions_per_day: 1 over a run whose easy judge promotes often: after the
    first promotion the loop waits, says why, and starts no new test; a stop ends it."""
    recipe = parse_recipe(toy_recipe(
        tmp_path, judge={"elo1": 300, "batch": 10, "min_games": 10, "max_games": 40},
        strategy={"kind": "perturb", "scale": 0.4},
        schedule={"baseline": 10, "max_promotions_per_day": 1}))
    stop = threading.Event()
    runner = threading.Thread(target=run_recipe, args=(recipe, tmp_path / "run"),
                              kwargs={"stop": stop})
    runner.start()
    state = tmp_path / "run" / "state.json"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                state.exists() and json.loads(state.read_text())["phase"] == "cooldown"):
            time.sleep(0.1)
        live = json.loads(state.read_text())  # what `ratchet status` shows of a daemon
    finally:
        stop.set()
        runner.join(60)
    assert live["phase"] == "cooldown" and not live["paused"]
    assert live["pause_reason"] == "1 promotions in the last 24 hours (at most 1)"
    with Store(tmp_path / "run") as store:
        assert len(store.promotions()) == 2 and store.pending_cycle() is None
        assert store.decisions()[-1].decision is Decision.PROMOTE  # nothing tested since


def test_an_approval_gate_holds_passed_challengers_for_ratchet_promote(tmp_path):
    recipe = parse_recipe(toy_recipe(
        tmp_path, judge={"elo1": 300, "batch": 10, "min_games": 10, "max_games": 40},
        strategy={"kind": "perturb", "scale": 0.4}, schedule={"baseline": 10},
        gates=[{"kind": "approval"}]))
    run_recipe(recipe, tmp_path / "run", max_cycles=6)
    with Store(tmp_path / "run") as store:
        held = [d for d in store.decisions() if d.decision is Decision.GATED]
        assert held and store.champion().version == 0
    assert held[0].reason == f"gate approval: passed; waiting for approval: `ratchet " \
                             f"promote {held[0].candidate.id}`"

    def promote(candidate):
        return subprocess.run([sys.executable, "-m", "ratchet", "promote", candidate,
                               "--run-dir", str(tmp_path / "run")], capture_output=True,
                              text=True, timeout=60)

    wrong = promote("nosuch")
    assert wrong.returncode == 2 and "no candidate 'nosuch'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    done = promote(held[0].candidate.id)
    assert done.returncode == 0 and "asked to promote" in done.stdout
    run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with Store(tmp_path / "run") as store:
        assert store.champion().candidate.id == held[0].candidate.id
        assert store.promotions()[-1]["stats"] == {"manual": True}
        baseline = store.promotions()[0]["candidate_id"]
    # a target putting a former champion back (self-play's probation), through its
    # take_revert hook, once: its own record
    components = build_components(recipe, tmp_path / "run")
    wanted = [(baseline, "probation failed: x")]
    components.target.take_revert = lambda: wanted.pop() if wanted else None
    with Session.for_recipe(recipe, tmp_path / "run", components=components) as session:
        session.run(1)
    assert not wanted
    with Store(tmp_path / "run") as store:
        assert store.champion().candidate.id == baseline
        assert store.promotions()[-1]["stats"] == {"revert": True, "reason":
                                                   "probation failed: x"}
        event = [e for e in store.events(limit=1000) if e["kind"] == "revert"]
        assert len(event) == 1 and "reverted" in event[0]["message"]


@pytest.mark.slow
def test_a_champion_promoted_by_the_budgets_last_test_is_remeasured_on_fresh_seeds(tmp_path):
    """Asked for (``budget.remeasure``), a champion promoted by the budget's last test is
    measured again on fresh seeds; by default it is not, and its score says provisional."""
    for name in ("free", "budget", "off"):
        (tmp_path / name).mkdir()
    _, free, _ = _run(tmp_path / "free", 6)  # the same run without a budget: where it promotes
    promoted = next(d for d in free.decisions() if d.decision is Decision.PROMOTE)
    spent = sum(r.size for r in free.evaluations() if r.cycle <= promoted.cycle)
    off, store_off, _ = _run(tmp_path / "off", None, schedule={"budget": {"games": spent}})
    assert "re-measured" not in off.budget_spent and store_off.measured() == spent
    assert json.loads((tmp_path / "off" / "run" / "champion.json").read_text())["provisional"]
    summary, store, events = _run(tmp_path / "budget", None,
                                  schedule={"budget": {"games": spent, "remeasure": 40}})
    champion = store.champion().candidate
    assert champion.params == promoted.candidate.params  # the budget's last test promoted it
    assert "re-measured on 40 fresh games (outside the budget)" in summary.budget_spent
    remeasured = store.evaluations(candidate_id=champion.id, roles=("baseline",))
    assert sum(r.size for r in remeasured) >= 40 and all(r.ok for r in remeasured)
    assert not {r.seed for r in remeasured} & {r.seed for r in store.evaluations()
                                               if r.role != "baseline"}
    on_disk = json.loads((tmp_path / "budget" / "run" / "champion.json").read_text())
    assert not on_disk["provisional"] and on_disk["score"]["n"] == sum(r.size for r in remeasured)
    assert events.count("baseline_end") == 2
    used = store.measured()
    again, store2, _ = _run(tmp_path / "budget", None,
                            schedule={"budget": {"games": spent, "remeasure": 40}})
    assert again.cycles == 0 and store2.measured() == used  # measured once


@pytest.mark.parametrize("interleave", [True, False])
def test_the_baseline_measures_as_many_runs_as_it_says(tmp_path, interleave):
    """`baseline: 7` is 7 runs on a samples target, whether its runs are interleaved
    (one run a task, as a test runs them) or batched (the last batch smaller)."""
    bench = tmp_path / "one.py"
    bench.write_text("import random, sys\nrng = random.Random(sys.argv[1])\n"
                     "for _ in range(int(sys.argv[2])):\n    print('ops:', rng.random())\n")
    recipe = parse_recipe(toy_recipe(
        tmp_path, target={"kind": "command", "config_file": str(tmp_path / "toy.json"),
                          "benchmark": [sys.executable, str(bench), "{seed}", "{runs}"],
                          "outcome": "samples", "metric": "ops", "interleave": interleave},
        judge={"kind": "welch", "batch": 3, "min_samples": 5, "max_samples": 6},
        schedule={"baseline": 7}))
    run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with Store(tmp_path / "run") as store:
        rows = store.evaluations(roles=("baseline",))
    runs = sum(len(r.scores) for r in rows)
    assert runs == (7 if interleave else 3 + 3 + 1)
    if interleave:
        assert len({r.seed for r in rows}) == 7  # every run on a seed of its own


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_on_a_quiet_benchmark_a_worse_challenger_costs_one_run(tmp_path, direction):
    """Independent runs (not interleaved), noise far below the steps the strategy takes:
    the champion is measured until its noise is known and then shared; a challenger that
    its first run shows clearly worse is rejected on that run alone."""
    summary, store, _ = _run(
        tmp_path, 8, target={"outcome": "samples", "metric": "ops", "interleave": False,
                             "direction": direction, "env": {"TOY_MODE": "samples"}},
        judge={"kind": "welch", "batch": 3, "min_samples": 10, "max_samples": 12},
        schedule={"baseline": 4})
    decisions = store.decisions()
    assert len(decisions) == 8
    sign = 1 if direction == "maximize" else -1
    for d in decisions:
        rows = store.evaluations(cycle=d.cycle, roles=("challenger", "champion"))
        champion_runs = sum(r.size for r in rows if r.role == "champion")
        challenger_runs = sum(r.size for r in rows if r.role == "challenger")
        if sign * (d.score - d.champion_score) < -50:  # ten times the noise
            assert d.decision is Decision.REJECT and challenger_runs == 1, d
        # measured only to complete its 10 samples (the first champion 6 more after its
        # 4 baseline runs, a promoted one 10: its promoting runs are not its score) or
        # to keep up with a long test's challenger
        assert champion_runs <= max(10, challenger_runs), (d.cycle, champion_runs)
    assert any(d.games == 1 for d in decisions)
