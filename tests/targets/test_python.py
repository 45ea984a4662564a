"""The ``python`` target and the Python API: a function tuned end to end, no CLI."""

import random
import sys
import textwrap

import pytest

import ratchet
from ratchet.core.errors import RecipeError
from ratchet.core.types import Decision

OBJECTIVE = textwrap.dedent('''
    import random
    from pathlib import Path

    CALLS = Path(__file__).with_name("calls.txt")  # the objective runs in a worker process

    def objective(params, seed, size):
        """Best at x = 0.7; noise sd 0.05 per sample."""
        with CALLS.open("a") as fh:
            fh.write(f"{size}\\n")
        rng = random.Random(seed)
        return [1.0 - (params["x"] - 0.7) ** 2 + rng.gauss(0, 0.05) for _ in range(size)]

    def games(params, seed, size):
        wins = round(size * (0.2 + 0.6 * params["x"]))
        return {"wins": wins, "draws": 0, "losses": size - wins}

    def broken(params, seed, size):
        raise RuntimeError("the bench is on fire")
''')


@pytest.fixture
def bench_module(tmp_path, monkeypatch):
    (tmp_path / "my_bench.py").write_text(OBJECTIVE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_bench"
    sys.modules.pop("my_bench", None)


def _recipe(function, **target):
    return {"name": "py", "seed": 1,
            "target": {"kind": "python", "function": function, **target},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "strategy": {"kind": "perturb", "params_per_step": [1, 1], "scale": 0.3},
            "judge": {"kind": "welch", "batch": 5, "min_samples": 10, "max_samples": 30},
            "schedule": {"baseline": 10}}


def test_a_python_function_is_tuned_end_to_end(bench_module, tmp_path):
    recipe = _recipe(f"{bench_module}:objective", start={"x": 0.1})
    summary = ratchet.run(recipe, run_dir=tmp_path / "run", max_cycles=12)
    assert summary.cycles == 12 and summary.promotions >= 1
    run = ratchet.open_run(tmp_path / "run")
    champion = run.champion()
    assert champion.version == summary.promotions
    assert abs(champion.candidate.params["x"] - 0.7) < abs(0.1 - 0.7)
    assert [d.cycle for d in run.history()] == list(range(1, 13))
    assert all(t.decision in (Decision.PROMOTE, Decision.REJECT) for t in run.trials())
    calls = [int(n) for n in (tmp_path / "calls.txt").read_text().split()]
    # interleaved: one call per run, the baseline's 10 included (as a test runs them)
    assert set(calls) == {1} and len(calls) >= 10


def test_games_and_failures(bench_module, tmp_path):
    recipe = _recipe(f"{bench_module}:games", outcome="games")
    recipe["judge"] = {"kind": "sprt", "elo1": 100, "batch": 20, "min_games": 20,
                       "max_games": 200}
    summary = ratchet.run(recipe, run_dir=tmp_path / "games", max_cycles=3)
    assert summary.cycles == 3 and summary.failures == 0
    failing = _recipe(f"{bench_module}:broken")
    failing["schedule"] = {"baseline": 0, "failure_backoff_s": 0}
    summary = ratchet.run(failing, run_dir=tmp_path / "broken", max_cycles=1)
    (decision,) = ratchet.open_run(tmp_path / "broken").history()
    assert decision.decision is Decision.FAILED
    assert "RuntimeError: the bench is on fire" in decision.reason


def test_a_function_that_cannot_be_imported_is_one_clear_error(bench_module):
    with pytest.raises(RecipeError, match="has no function 'nope'"):
        ratchet.run(_recipe(f"{bench_module}:nope"), max_cycles=1)
    with pytest.raises(RecipeError, match="cannot import no_such_module"):
        ratchet.run(_recipe("no_such_module:f"), max_cycles=1)


def test_the_api_raises_only_ratchet_errors_and_says_when_every_cycle_failed(tmp_path,
                                                                              monkeypatch):
    """The user's code never escapes as its own exception (SyntaxError, SystemExit): a
    module that cannot be imported is a RecipeError, an objective that exits or hangs a
    failed cycle, and the summary says when all of them failed."""
    (tmp_path / "syntax_bench.py").write_text("def objective(:\n")
    (tmp_path / "exit_bench.py").write_text(
        "import sys, time\n"
        "def exits(params, seed, size):\n    sys.exit(0)\n"
        "def hangs(params, seed, size):\n    time.sleep(60)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ratchet.RatchetError, match="max_cycles=0"):
        ratchet.run(_recipe("exit_bench:exits"), run_dir=tmp_path / "r0", max_cycles=0)
    with pytest.raises(RecipeError, match="SyntaxError"):
        ratchet.run(_recipe("syntax_bench:objective"), run_dir=tmp_path / "r1", max_cycles=1)
    recipe = _recipe("exit_bench:exits")
    recipe["schedule"].update(failure_backoff_s=0, max_consecutive_failures=9)
    summary = ratchet.run(recipe, run_dir=tmp_path / "r2", max_cycles=2)
    assert summary.all_failed and summary.cycles == 2
    reasons = [d.reason for d in ratchet.open_run(tmp_path / "r2").history()]
    assert all("sys.exit(0)" in r for r in reasons), reasons
    recipe = _recipe("exit_bench:hangs", timeout_s=1)
    recipe["schedule"].update(failure_backoff_s=0, baseline=0)
    summary = ratchet.run(recipe, run_dir=tmp_path / "r3", max_cycles=1)
    assert summary.all_failed
    assert "timed out after 1 s" in ratchet.open_run(tmp_path / "r3").history()[0].reason


def test_a_function_object_with_a_space_is_tuned_and_reported(tmp_path, capfd):
    """``run(objective=f, space=...)`` as an Optuna user writes it: a closure no other
    process can import runs in a forked worker; progress goes to stderr; the result has
    the champion's parameters, score and interval, and so has ``open_run``."""
    best = 0.7

    def objective(params, seed):
        return 1.0 - (params["x"] - best) ** 2 + random.Random(seed).gauss(0, 0.02)

    result = ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, max_cycles=10,
                         run_dir=tmp_path / "run", recipe={"seed": 3})
    assert result.cycles == 10 and len(result.history) == 10
    assert abs(result.params["x"] - best) < 0.5 and result.score is not None
    low, high = result.interval
    assert low <= result.score <= high
    assert str(result).startswith(f"champion v{result.champion.version}: x=")
    champion = ratchet.open_run(tmp_path / "run").champion()
    assert (champion.score, champion.interval) == (result.score, result.interval)
    err = capfd.readouterr().err
    assert "baseline" in err and "cycle " in err
    ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, max_cycles=1, quiet=True,
                run_dir=tmp_path / "run")
    assert capfd.readouterr().err == ""


def test_a_function_of_one_argument_returning_metrics_stores_them(tmp_path):
    def objective(params):
        return {"score": params["x"], "ratio": 2.0 * params["x"]}

    result = ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, max_cycles=2,
                         run_dir=tmp_path / "run", quiet=True)
    with ratchet.Store(result.run_dir) as store:
        rows = store.evaluations()
    assert rows and all(set(r.metrics) == {"ratio"} for r in rows if r.ok)
    assert all(r.metrics["ratio"] == pytest.approx(2 * r.scores[0]) for r in rows if r.ok)


def test_a_function_importable_by_name_runs_in_a_worker_started_by_name(bench_module):
    from ratchet.plugins.targets.python import PythonTargetSpec

    module = __import__(bench_module)
    spec = PythonTargetSpec(function=module.objective)
    assert spec.function == f"{bench_module}:objective"


def test_api_mistakes_are_one_clear_error(tmp_path):
    with pytest.raises(RecipeError, match="needs space"):
        ratchet.run(objective=lambda p: 1.0, run_dir=tmp_path / "a")
    with pytest.raises(RecipeError, match=r"space.x: 'wide'; expected \(low, high\)"):
        ratchet.run(objective=lambda p: 1.0, space={"x": "wide"}, run_dir=tmp_path / "b")
    with pytest.raises(RecipeError, match="runs with executor inline"):
        ratchet.run(objective=lambda p: 1.0, space={"x": (0.0, 1.0)},
                    recipe={"executor": {"kind": "processes", "workers": 2}},
                    run_dir=tmp_path / "c")


def test_a_forked_function_that_hangs_or_dies_is_one_failed_evaluation(tmp_path):
    import os
    import time

    def hangs(params):
        time.sleep(60)

    def dies(params):
        os._exit(3)

    for objective, said in ((hangs, "timed out after 1 s"), (dies, "exited with code 3")):
        result = ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, max_cycles=1,
                             recipe={"target": {"timeout_s": 1}, "schedule": {"baseline": 2}},
                             run_dir=tmp_path / objective.__name__, quiet=True)
        assert result.all_failed and said in result.history[0].reason, result.history
