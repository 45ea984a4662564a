import json
import sys
import time

import pytest

from ratchet.core.errors import EvaluationError
from ratchet.core.space import Space
from ratchet.core.types import Candidate, EvalTask
from ratchet.plugins.targets import CommandTarget
from ratchet.plugins.targets._output import games_measurement, samples_measurement
from ratchet.plugins.targets.command import CommandTargetSpec
from tests.conftest import TOY

SPACE = Space.from_dict({"x": {"type": "float", "low": 0, "high": 1},
                         "y": {"type": "float", "low": 0, "high": 1}})


def _target(tmp_path, **kw):
    config = tmp_path / "toy.json"
    config.write_text(json.dumps({"x": 0.2, "y": 0.5, "other": [1, 2]}))
    args = dict(benchmark=[sys.executable, str(TOY), "--config", "{config}", "--games",
                           "{games}", "--seed", "{seed}"], config_file=str(config), timeout_s=10)
    args.update(kw)
    return _command(tmp_path / "work", **args), config


def _command(workdir, **spec):
    return CommandTarget(CommandTargetSpec(**spec), workdir)


def _task(params, seed=1, size=30):
    return EvalTask(Candidate(params, "test"), "challenger", seed, size, 1, 0)


def test_challenger_runs_from_its_own_copy_and_the_live_file_is_untouched(tmp_path):
    target, live = _target(tmp_path)
    before = live.read_text()
    m = target.evaluate(_task({"x": 0.8, "y": 0.5}))
    assert m.n == 30 and m.ordered
    assert live.read_text() == before
    assert target.baseline(SPACE) == {"x": 0.2, "y": 0.5}


def test_same_seed_pairs_games(tmp_path):
    target, _ = _target(tmp_path)
    good = target.evaluate(_task({"x": 0.8, "y": 0.5}, seed=5))
    bad = target.evaluate(_task({"x": 0.1, "y": 0.5}, seed=5))
    # with common random numbers the better bot wins every game the worse one wins
    assert all(g >= b for g, b in zip(good.scores, bad.scores, strict=True))


def test_apply_writes_the_live_yaml_keeping_comments_and_other_keys(tmp_path):
    live = tmp_path / "config.yaml"
    live.write_text("# tuned by ratchet\nweights:\n  food: 1.0  # pull\n  space: 2.0\n"
                    "name: snake\n")
    target = _command(tmp_path / "w", benchmark=["true"], config_file=str(live))
    target.apply(Candidate({"weights.food": 1.5}, "test"))
    text = live.read_text()
    assert "# tuned by ratchet" in text and "# pull" in text
    assert "food: 1.5" in text and "space: 2.0" in text and "name: snake" in text


@pytest.mark.parametrize("mode, message", [
    ("fail", "exited with code 1: boom"),
    ("garbage", "no 'wins:' line"),
])
def test_failures_are_evaluation_errors_with_the_reason(tmp_path, monkeypatch, mode, message):
    monkeypatch.setenv("TOY_MODE", mode)
    target, _ = _target(tmp_path)
    with pytest.raises(EvaluationError, match=message):
        target.evaluate(_task({"x": 0.5, "y": 0.5}))


def test_a_hanging_benchmark_is_killed_at_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("TOY_MODE", "hang")
    target, _ = _target(tmp_path, timeout_s=1)
    start = time.monotonic()
    with pytest.raises(EvaluationError, match="timed out after 1 s"):
        target.evaluate(_task({"x": 0.5, "y": 0.5}))
    assert time.monotonic() - start < 5


def test_missing_command(tmp_path):
    target, _ = _target(tmp_path, benchmark=["/no/such/benchmark"])
    with pytest.raises(EvaluationError, match="not found"):
        target.evaluate(_task({"x": 0.5, "y": 0.5}))


def test_env_and_argv_templates(tmp_path):
    target = _command(
        tmp_path / "w",
        benchmark=[sys.executable, "-c", "import os,sys; print('ops:', float(sys.argv[1]) + "
                   "float(os.environ['TOY_Y']) + float(os.environ['RATCHET_SEED']))", "{x}"],
        outcome="samples", metric="ops", env={"TOY_Y": "{y}"})
    m = target.evaluate(_task({"x": 0.25, "y": 0.5}, seed=2))
    assert m.scores == (2.75,)


def test_output_parsing():
    m = games_measurement("junk\nwins: 3\ndraws: 1\nlosses: 2\nerrors: 4\n", 1.0)
    assert (m.wins, m.draws, m.losses, m.errors, m.ordered) == (3, 1, 2, 4, False)
    m = games_measurement('log line\n{"wins": 1, "draws": 0, "losses": 1, '
                          '"outcomes": [1, 0]}', 1.0)
    assert m.scores == (1.0, 0.0) and m.ordered
    with pytest.raises(EvaluationError, match="do not match"):
        games_measurement("wins: 1\ndraws: 0\nlosses: 0\noutcomes: L", 0)
    with pytest.raises(EvaluationError, match="not a count"):
        games_measurement("wins: -1\ndraws: 0\nlosses: 0", 0)
    with pytest.raises(EvaluationError, match="no valid game"):
        games_measurement("wins: 0\ndraws: 0\nlosses: 0\ntimeouts: 3", 0)
    s = samples_measurement("ops: 10\nops: 12.5\nlatency: 3", "ops", 0)
    assert s.scores == (10.0, 12.5) and s.metrics == {"latency": 3.0}
    with pytest.raises(EvaluationError, match="printed latency"):
        samples_measurement("latency: 3", "ops", 0)
    with pytest.raises(EvaluationError, match="finite"):
        samples_measurement("ops: nan", "ops", 0)


def test_a_string_command_needs_an_explicit_shell(tmp_path):
    with pytest.raises(ValueError, match="shell: true"):
        _command(tmp_path, benchmark="echo wins: 1")
    target = _command(tmp_path, benchmark="echo ops: 1; echo {x}", shell=True,
                      outcome="samples", metric="ops")
    # a value with shell syntax in it is quoted, never executed
    pwned = tmp_path / "pwned"
    m = target.evaluate(_task({"x": f"$(touch {pwned}); touch {pwned}", "y": 0.5}))
    assert m.scores == (1.0,) and not pwned.exists()


def test_a_deleted_live_config_is_an_evaluation_error(tmp_path):
    target, live = _target(tmp_path)
    live.unlink()
    with pytest.raises(EvaluationError, match="does not exist"):
        target.evaluate(_task({"x": 0.5, "y": 0.5}))
