"""Contract suites: every registered kind of every plugin family keeps its family's
promises. A kind with no fixture here fails its test: a new plugin must say how it is
exercised.

- strategies: a proposal is valid in its space; ``state_dict`` survives a restart; the
  options are the spec's;
- judges: the verdict is final by ``max_*``; equal strength is promoted at most about
  the stated rate, a clearly better challenger is found;
- executors: results come back in task order; a failing target is a failed result with
  its reason;
- targets: ``apply`` is idempotent; a failing benchmark raises ``EvaluationError``;
- gates: every result names its gate and gives a reason; a challenger that should pass
  passes and one that should not is refused, with the target maximized and minimized.
"""

from __future__ import annotations

import json
import random
import sys
import textwrap
from pathlib import Path

import pytest

from ratchet.core.errors import EvaluationError
from ratchet.core.registry import EXECUTORS, GATES, JUDGES, STRATEGIES, TARGETS, BuildContext
from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, EvalTask, Evidence, Measurement, Trial
from ratchet.engine.recipe import parse_recipe
from ratchet.plugins.executors import evaluate_safely
from ratchet.plugins.targets import Target
from tests.conftest import ROOT, TOY

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0},
         "n": {"type": "int", "low": 1, "high": 9}}


def _context(tmp_path: Path, section: str, spec: dict, space: dict | None = None,
             **recipe: object) -> tuple[object, BuildContext]:
    raw = {"name": "contract", "space": space or SPACE,
           "target": {"kind": "command", "benchmark": ["true"], "outcome": "samples",
                      "metric": "m"},
           "judge": {"kind": "welch"}, **recipe}
    raw[section] = spec
    parsed = parse_recipe(raw)
    return getattr(parsed, section), BuildContext(parsed, tmp_path / "run",
                                                  parsed.parsed_space())


# -- strategies -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", STRATEGIES.kinds())
def test_strategy_contract(kind, tmp_path):
    spec, context = _context(tmp_path, "strategy", {"kind": kind})
    space: Space = context.space
    strategy = spec.create(context)
    # its options are its recipe section: declared once, in the spec
    assert type(strategy).options_spec is type(spec) and strategy.options == spec
    champion = Candidate(space.validate({"x": 0.5, "n": 5}), "baseline")
    history: list[Trial] = []
    rng = random.Random(0)
    try:
        for cycle in range(1, 7):
            candidate = strategy.propose(champion, history)
            assert space.validate(candidate.params) == candidate.params, kind
            decision = Decision.PROMOTE if rng.random() < 0.3 else Decision.REJECT
            trial = Trial(candidate, cycle, decision, rng.random(), 0.5)
            strategy.observe(trial)
            history.append(trial)
            if decision is Decision.PROMOTE:
                champion = candidate
        state = json.loads(json.dumps(strategy.state_dict()))  # what the store keeps
    finally:
        strategy.close()
    restarted = spec.create(context)
    try:
        restarted.load_state_dict(state)
        restarted.restore(history)
        again = restarted.propose(champion, history)
        assert space.validate(again.params) == again.params
    finally:
        restarted.close()


# -- judges -----------------------------------------------------------------------------
JUDGE_SPECS = {"sprt": ({"kind": "sprt", "batch": 20, "min_games": 20, "max_games": 200},
                        "games"),
               "welch": ({"kind": "welch", "batch": 3, "max_samples": 30}, "samples"),
               "weighted": ({"kind": "weighted", "batch": 3, "max_samples": 30,
                             "weights": {"speed": 1.0}}, "samples")}


def _batch(kind: str, rng: random.Random, size: int, gain: float = 0.0
           ) -> tuple[Measurement, Measurement]:
    """Challenger and champion measured independently; the challenger better by
    ``gain`` (games: in win probability; samples: in standard deviations)."""
    if kind == "games":
        def games(p_win: float) -> tuple[float, ...]:
            return tuple(1.0 if u < p_win else 0.5 if u < p_win + 0.1 else 0.0
                         for u in (rng.random() for _ in range(size)))
        return (Measurement("games", games(0.45 + gain), ordered=True),
                Measurement("games", games(0.45), ordered=True))
    return (Measurement("samples", tuple(rng.gauss(100 + 5 * gain, 5) for _ in range(size)),
                        metrics={"speed": rng.gauss(1.0 + gain, 0.1)}),
            Measurement("samples", tuple(rng.gauss(100, 5) for _ in range(size)),
                        metrics={"speed": rng.gauss(1.0, 0.1)}))


def _decide(judge, outcome: str, rng: random.Random, gain: float) -> Decision:
    cap = getattr(judge, "max_games", None) or judge.max_samples
    evidence = Evidence(outcome)
    verdict = None
    while verdict is None or not verdict.decision.is_final():
        evidence.add(*_batch(outcome, rng, judge.batch, gain), rng)
        verdict = judge.decide(evidence)
        assert evidence.n <= cap + judge.batch, "no verdict by max"
    return verdict.decision


@pytest.mark.parametrize("kind", JUDGES.kinds())
def test_judge_contract(kind, tmp_path):
    """Equal strength, independent noise: promoted at most about the stated rate (9 or
    more of 80 has chance 0.3% at 5%); a clearly better challenger is found."""
    assert kind in JUDGE_SPECS, f"no contract fixture for judge kind {kind!r}"
    raw, outcome = JUDGE_SPECS[kind]
    target = {"kind": "command", "benchmark": ["true"], "outcome": outcome, "metric": "m"}
    spec, context = _context(tmp_path, "judge", raw, target=target)
    judge = spec.create(context)
    rng = random.Random(1)
    false = sum(_decide(judge, outcome, rng, 0.0) is Decision.PROMOTE for _ in range(80))
    assert false <= 8, f"{kind}: {false} of 80 equal challengers promoted"
    found = sum(_decide(judge, outcome, rng, 0.3 if outcome == "games" else 2.0)
                is Decision.PROMOTE for _ in range(10))
    assert found >= 8, f"{kind}: {found} of 10 clearly better challengers promoted"


# -- gates ------------------------------------------------------------------------------
# kind: (section, [(direction, params, challenger's scores, passes?)])
GATE_SPECS = {
    "range": ({"kind": "range", "bounds": {"x": [0.2, 0.8]}},
              [(d, {"x": 0.5, "n": 5}, [1.0], True) for d in ("maximize", "minimize")]
              + [(d, {"x": 0.9, "n": 5}, [1.0], False) for d in ("maximize", "minimize")]),
    "floor": ({"kind": "floor", "min": 0.5},
              [("maximize", {"x": 0.5, "n": 5}, [0.6, 0.8], True),
               ("maximize", {"x": 0.5, "n": 5}, [0.2, 0.4], False),
               ("minimize", {"x": 0.5, "n": 5}, [0.2, 0.4], True),
               ("minimize", {"x": 0.5, "n": 5}, [0.6, 0.8], False),
               ("maximize", {"x": 0.5, "n": 5}, [], False)]),
    "approval": ({"kind": "approval"},
                 [(d, {"x": 0.5, "n": 5}, [1.0], False) for d in ("maximize", "minimize")]),
}


@pytest.mark.parametrize("kind", GATES.kinds())
def test_gate_contract(kind, tmp_path):
    assert kind in GATE_SPECS, f"no contract fixture for gate kind {kind!r}"
    raw, cases = GATE_SPECS[kind]
    for direction, params, scores, passes in cases:
        target = {"kind": "command", "benchmark": ["true"], "outcome": "samples",
                  "metric": "m", "direction": direction}
        parsed = parse_recipe({"name": "contract", "space": SPACE, "target": target,
                               "judge": {"kind": "welch"}, "gates": [raw]})
        gate = parsed.gates[0].create(BuildContext(parsed, tmp_path, parsed.parsed_space()))
        evidence = Evidence("samples")
        if scores:
            evidence.add(Measurement("samples", tuple(scores)), Measurement(
                "samples", tuple(scores)), random.Random(0))
        found = gate.check(Candidate(params, "test"), evidence)
        results = found if isinstance(found, list) else [found]
        assert results and all(r.gate == gate.name and r.reason for r in results), kind
        assert all(r.passed for r in results) is passes, (kind, direction, params, scores,
                                                          results)


# -- executors --------------------------------------------------------------------------
class Echo(Target):
    """Its seed as its score; fails on seed 3."""

    name = "echo"
    outcome = "samples"

    def baseline(self, space: Space) -> dict:
        return {}

    def evaluate(self, task: EvalTask) -> Measurement:
        if task.seed == 3:
            raise EvaluationError("seed 3 always fails")
        return Measurement("samples", (float(task.seed),) * task.size)


EXECUTOR_SPECS = {"inline": {"kind": "inline"},
                  "processes": {"kind": "processes", "workers": 2},
                  "ray": {"kind": "ray", "workers": 2}}


@pytest.mark.slow
@pytest.mark.parametrize("kind", EXECUTORS.kinds())
def test_executor_contract(kind, tmp_path):
    assert kind in EXECUTOR_SPECS, f"no contract fixture for executor kind {kind!r}"
    spec, context = _context(tmp_path, "executor", EXECUTOR_SPECS[kind])
    candidate = Candidate({"x": 0.5}, "test")
    tasks = [EvalTask(candidate, "challenger", seed, 2, 1, seed) for seed in (5, 1, 3, 4)]
    with spec.create(context) as executor:
        results = executor.run(Echo(), tasks)
    assert [r.task for r in results] == tasks
    assert [r.measurement.scores if r.ok else None for r in results] == \
        [(5.0, 5.0), (1.0, 1.0), None, (4.0, 4.0)]
    assert "seed 3 always fails" in results[2].error


# -- targets ----------------------------------------------------------------------------
def _command(tmp_path: Path, failing: bool) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "toy.json"
    config.write_text(json.dumps({"x": 0.2, "y": 0.5}))
    bench = [sys.executable, str(TOY), "--config", "{config}", "--games", "{games}",
             "--seed", "{seed}"]
    return {"target": {"kind": "command", "config_file": str(config), "benchmark": bench,
                       "env": {"TOY_MODE": "fail" if failing else "ok"}},
            "judge": {"kind": "sprt"},
            "space": {"x": {"type": "float", "low": 0, "high": 1},
                      "y": {"type": "float", "low": 0, "high": 1}}}


def _python(tmp_path: Path, failing: bool) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    module = tmp_path / "contract_bench.py"
    module.write_text(textwrap.dedent('''
        def ok(params, seed, size):
            return [params["x"]] * size

        def broken(params, seed, size):
            raise RuntimeError("broken bench")
    '''))
    sys.path.insert(0, str(tmp_path))
    return {"target": {"kind": "python",
                       "function": f"contract_bench:{'broken' if failing else 'ok'}"},
            "space": {"x": {"type": "float", "low": 0, "high": 1}}}


def _sysctl(tmp_path: Path, failing: bool) -> dict:
    """The test benchmark that fails when vm.dirty_ratio is above 70 (the original values
    must measure: the reference is taken when the target opens)."""
    from ratchet.plugins.targets.sysctl.workloads import synthetic

    root = synthetic.make_tree(tmp_path / "sys")
    bench = f"{sys.executable} {ROOT / 'tests' / 'fixtures' / 'sysctl_bench.py'} {root}"
    return {"target": {"kind": "sysctl", "benchmark": bench,
                       "metric": "operations_per_second", "sysctl_root": str(root)},
            "space": {"vm.dirty_ratio": {"type": "int", "low": 5, "high": 80}}}


def _cartpole(tmp_path: Path, failing: bool) -> dict:
    return {"target": {"kind": "cartpole", "episodes": 2, "hard_tasks": False},
            "space": {"learning_rate": {"type": "logfloat", "low": 1e-4, "high": 3e-3}}}


def _selfplay(tmp_path: Path, failing: bool) -> dict:
    """A task without the champion to play fails: the target plays head to head."""
    return {"target": {"kind": "selfplay", "game": "tic_tac_toe", "hidden": 8, "blocks": 1,
                       "gate": False},
            "judge": {"kind": "sprt"},
            "space": {"lr": {"type": "logfloat", "low": 1e-4, "high": 1e-2}}}


TARGET_FIXTURES = {"command": _command, "python": _python, "sysctl": _sysctl,
                   "cartpole": _cartpole, "selfplay": _selfplay}
FAILING_PARAMS = {"sysctl": {"vm.dirty_ratio": 75}}  # otherwise the baseline fails


def _target(kind: str, tmp_path: Path, failing: bool) -> tuple[Target, Space]:
    raw = {"name": "contract", "judge": {"kind": "welch"}, **TARGET_FIXTURES[kind](
        tmp_path, failing)}
    parsed = parse_recipe(raw)
    space = parsed.parsed_space()
    return parsed.target.create(BuildContext(parsed, tmp_path / "run", space)), space


@pytest.mark.parametrize("kind", TARGETS.kinds())
def test_target_contract(kind, tmp_path):
    assert kind in TARGET_FIXTURES, f"no contract fixture for target kind {kind!r}"
    from ratchet.core.store import Store

    target, space = _target(kind, tmp_path / "ok", failing=False)
    with Store(tmp_path / "ok" / "run", create=True) as store:
        target.open(store)
        try:
            baseline = Candidate(target.baseline(space), "baseline")
            store.init_run("contract", {}, baseline)
            target.apply(baseline)
            after_one = _live_state(tmp_path / "ok")
            target.apply(baseline)
            assert _live_state(tmp_path / "ok") == after_one, "apply is not idempotent"
        finally:
            target.close()
    failing = "ok" if kind == "cartpole" else "failing"
    if kind != "cartpole":
        target, space = _target(kind, tmp_path / failing, failing=True)
    with Store(tmp_path / failing / "run", create=True) as store:
        target.open(store)
        try:
            if kind == "cartpole":  # its benchmark is a model file: a corrupt one fails
                broken = Candidate(baseline.params, "test", parent="p")
                target.weights_path(broken).write_bytes(b"not a model")
            else:
                broken = Candidate(FAILING_PARAMS.get(kind) or target.baseline(space), "test")
            task = EvalTask(broken, "challenger", 1, 2, 1, 0)
            with pytest.raises(EvaluationError):
                target.evaluate(task)
            assert not evaluate_safely(target, task).ok
        finally:
            target.close()


def _live_state(root: Path) -> dict[str, bytes]:
    """Every file that ``apply`` may write, except the store and ratchet's own locks."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(("ratchet.db", "."))}
