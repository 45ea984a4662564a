"""The ``python`` target and the Python API: a function tuned end to end, no CLI."""

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
