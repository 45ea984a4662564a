"""Verdicts stay honest when the machine drifts: challenger and champion runs are
interleaved (ABBA) and judged on paired differences, so a load that switches on and off
is not taken for an improvement. Every candidate here is the same system."""

import sys

import pytest

from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from tests.conftest import ROOT

DRIFTING = ROOT / "tests" / "fixtures" / "drifting_bench.py"


def _recipe(tmp_path, loaded_until=None, **target):
    env = {"DRIFT_COUNTER": str(tmp_path / "counter")}
    if loaded_until is not None:
        env["DRIFT_LOADED_UNTIL"] = str(loaded_until)
    return parse_recipe({
        "name": "drift",
        "target": {"kind": "command",
                   "benchmark": [sys.executable, str(DRIFTING), "--runs", "{runs}"],
                   "outcome": "samples", "metric": "ops", "timeout_s": 20,
                   "env": env, **target},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "strategy": {"kind": "perturb"},
        "judge": {"kind": "welch", "batch": 3, "min_samples": 12, "max_samples": 24},
        "schedule": {"baseline": 0, "failure_backoff_s": 0},
        "executor": {"kind": "inline"},
        "racing": {"challengers": 1},  # the paired test itself
    })


def _decisions(run_dir):
    with Store(run_dir) as store:
        return store.decisions()


def test_interleaved_runs_do_not_promote_a_load_pattern(tmp_path):
    run_recipe(_recipe(tmp_path), tmp_path / "run", max_cycles=3)
    decisions = _decisions(tmp_path / "run")
    assert [d.decision for d in decisions] == [Decision.REJECT] * 3, \
        [(d.decision, d.reason) for d in decisions]
    assert all(d.stats["paired"] for d in decisions)
    with Store(tmp_path / "run") as store:
        rows = store.evaluations(cycle=1)
    assert all(r.ordered and r.size == 3 for r in rows)


def test_blocks_of_runs_promote_it_which_is_why_interleaving_is_the_default(tmp_path):
    """Runs not interleaved: the champion's samples are measured once and shared, so a
    background job that ends after them makes every later challenger look faster, and
    the same system is promoted for it. Interleaved, the same machine promotes nothing."""
    run_recipe(_recipe(tmp_path, loaded_until=13, interleave=False), tmp_path / "run",
               max_cycles=1)
    (decision,) = _decisions(tmp_path / "run")
    assert decision.decision is Decision.PROMOTE and not decision.stats["paired"]
    run_recipe(_recipe(tmp_path / "i", loaded_until=13), tmp_path / "i" / "run",
               max_cycles=3)
    decisions = _decisions(tmp_path / "i" / "run")
    assert [d.decision for d in decisions] == [Decision.REJECT] * 3, \
        [(d.decision, d.reason) for d in decisions]


def test_interleave_is_refused_for_games():
    with pytest.raises(Exception, match="interleave applies to outcome: samples"):
        parse_recipe({"name": "g", "target": {"kind": "command", "benchmark": ["true"],
                                               "interleave": True},
                      "space": {"x": {"type": "float", "low": 0, "high": 1}}})
