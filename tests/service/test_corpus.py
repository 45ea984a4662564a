"""The second bad-input corpus (issue 40), one table: each input as a careful user or a
hostile neighbour would give it, the exit code it must get, the words its one message
must hold, and never a traceback. Cases that need a run share one finished run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import toy_recipe

PY = textwrap.dedent('''
    import time

    def sleeps(params, seed, size):
        time.sleep(60)

    def exits(params, seed, size):
        import sys
        sys.exit(0)

    def too_many(params, seed, size):
        return [1.0] * (size + 50)

    def boasts(params, seed, size):
        return {"wins": 1000, "draws": 0, "losses": 0}

    def fine(params, seed, size):
        return [params["x"]] * size
''')


@dataclass
class Case:
    name: str
    args: list[str]            # after `python -m ratchet`; {run} {tmp} {recipe} filled in
    code: int
    words: list[str]
    recipe: dict | None = None  # written to {recipe} when given
    files: dict[str, str] = field(default_factory=dict)  # written under {tmp}


def _python_recipe(function: str, **target) -> dict:
    return {"name": "py", "target": {"kind": "python", "function": function, **target},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "judge": {"kind": "welch", "batch": 2, "min_samples": 5, "max_samples": 6},
            "schedule": {"baseline": 0, "failure_backoff_s": 0, "pause_s": 0,
                         "max_consecutive_failures": 9}}


def _toy(tmp: Path, **overrides) -> dict:
    return toy_recipe(tmp, **overrides)


CASES = [
    # a benchmark's words are never markup
    Case("benchmark error with markup", ["run", "{recipe}", "--run-dir", "{tmp}/m",
                                         "--max-cycles", "2", "-q"], 1,
         ["[/foo]", "[nan]"], recipe={"bench": "markup"}),
    Case("status after a markup error", ["status", "--run-dir", "{tmp}/m"], 0, ["[/foo]"],
         recipe={"bench": "markup", "then": True}),
    Case("history after a markup error", ["history", "--run-dir", "{tmp}/m"], 0,
         ["evaluation failed"], recipe={"bench": "markup", "then": True}),
    Case("a parameter named w[/x]", ["best", "--run-dir", "{run}"], 0, ["w[/x]"]),
    # no write lands on the run's own files
    Case("export over the live store", ["export", "--run-dir", "{run}", "-o",
                                        "{run}/ratchet.db"], 2, ["inside the run directory"]),
    Case("export into the run directory", ["export", "--run-dir", "{run}", "-o",
                                           "{run}/x.jsonl"], 2, ["inside the run directory"]),
    Case("Optuna storage in the run's store", ["export", "--run-dir", "{run}",
                                               "--optuna-storage", "sqlite:///{run}/ratchet.db"],
         2, ["inside the run directory"]),
    Case("export onto a directory", ["export", "--run-dir", "{run}", "-o", "{tmp}"], 2,
         ["is a directory"]),
    Case("restore another run's store", ["restore", "--run-dir", "{run}", "--checkpoint",
                                         "{tmp}/other/ratchet.db"], 2,
         ["checkpoint of another run", "--from-another-run"]),
    # generated files are built from validated values
    Case("service name with a line break", ["service", "install", "{recipe}", "--name",
                                            "a\nExecStartPre=/bin/touch /tmp/pwned", "-o",
                                            "{tmp}/u.service"], 2, ["not a run name"],
         recipe={"toy": True}),
    Case("service name going up", ["service", "install", "{recipe}", "--name", "../../x",
                                   "-o", "{tmp}/u.service"], 2, ["not a run name"],
         recipe={"toy": True}),
    Case("service unit onto a directory", ["service", "install", "{recipe}", "-o", "{tmp}"],
         2, ["is a directory"], recipe={"toy": True}),
    # recipes and arguments that crashed
    Case("seed -1", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2, ["seed"],
         recipe={"toy": True, "seed": -1}),
    Case("bounds of 1e308", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2, ["too wide"],
         recipe={"toy": True, "space": {"x": {"type": "float", "low": -1.0e308,
                                               "high": 1.0e308}}}),
    Case("interval_s .inf", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["interval_s", "finite"], recipe={"toy": True, "schedule": {"interval_s": ".inf"}}),
    Case("failure_backoff_s .inf", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["failure_backoff_s", "finite"],
         recipe={"toy": True, "schedule": {"failure_backoff_s": ".inf"}}),
    Case("200 kB of [", ["run", "{tmp}/deep.yaml", "--run-dir", "{tmp}/r"], 2,
         ["deep.yaml"], files={"deep.yaml": "[" * 200_000}),
    Case("a budget below the baseline", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["less than"], recipe={"toy": True, "schedule": {"budget": {"games": 1}}}),
    Case("a 5000-character run directory", ["status", "--run-dir", "{long}"], 2,
         ["too long a path"]),
    Case("stop --timeout -5", ["stop", "--run-dir", "{run}", "--timeout", "-5"], 2,
         ["--timeout"]),
    Case("an unreachable Ray cluster", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["nothing answers"],
         recipe={"toy": True, "executor": {"kind": "ray", "address": "127.0.0.1:1"}}),
    # recipes a careful user gets wrong: one line naming the key and what was expected
    Case("a run name going up", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2, ["name"],
         recipe={"toy": True, "name": "../x"}),
    Case("an unknown top-level key", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["shedule"], recipe={"toy": True, "shedule": {}}),
    Case("an unknown judge kind", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["judge", "sprtt"], recipe={"toy": True, "judge": {"kind": "sprtt"}}),
    Case("an unknown target kind", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["target", "comand"], recipe={"toy": True, "target": {"kind": "comand"}}),
    Case("a space with low above high", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["space.x"], recipe={"toy": True, "space": {"x": {"type": "float", "low": 1,
                                                            "high": 0}}}),
    Case("a categorical with no choices", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["space.c"], recipe={"toy": True, "space": {"c": {"type": "categorical",
                                                            "choices": []}}}),
    Case("a parameter type that does not exist", ["run", "{recipe}", "--run-dir", "{tmp}/r"],
         2, ["space.x"], recipe={"toy": True, "space": {"x": {"type": "double", "low": 0,
                                                               "high": 1}}}),
    Case("a floor gate without min", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["gates", "min"], recipe={"toy": True, "gates": [{"kind": "floor"}]}),
    Case("an unknown gate kind", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["gates", "celing"], recipe={"toy": True, "gates": [{"kind": "celing"}]}),
    Case("racing with no challengers", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["racing.challengers"], recipe={"toy": True, "racing": {"challengers": 0}}),
    Case("max_cycles 0 in the schedule", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["schedule.max_cycles"], recipe={"toy": True, "schedule": {"max_cycles": 0}}),
    Case("a pool of 0 workers", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["executor", "workers"], recipe={"toy": True, "executor": {"kind": "processes",
                                                                     "workers": 0}}),
    Case("a negative time budget", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["budget.seconds"], recipe={"toy": True, "schedule": {"budget": {"seconds": -1}}}),
    Case("a dashboard port out of range", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["dashboard.port"], recipe={"toy": True, "dashboard": {"port": 70000}}),
    Case("a seed of 2**40", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2, ["seed"],
         recipe={"toy": True, "seed": 2 ** 40}),
    Case("an empty benchmark command", ["run", "{recipe}", "--run-dir", "{tmp}/r"], 2,
         ["benchmark"], recipe={"toy": True, "target": {"benchmark": []}}),
    Case("a judge that does not fit the target", ["run", "{recipe}", "--run-dir", "{tmp}/r"],
         2, ["welch", "sprt"], recipe={"toy": True, "judge": {"kind": "welch"}}),
    Case("a recipe that does not exist", ["run", "{tmp}/missing.yaml", "--run-dir",
                                          "{tmp}/r"], 2, ["missing.yaml"]),
    Case("a recipe that is a list", ["run", "{tmp}/list.yaml", "--run-dir", "{tmp}/r"], 2,
         ["list.yaml"], files={"list.yaml": "- name: x\n"}),
    Case("an empty recipe", ["run", "{tmp}/empty.yaml", "--run-dir", "{tmp}/r"], 2,
         ["empty.yaml"], files={"empty.yaml": ""}),
    Case("a recipe with a tab in its indentation", ["run", "{tmp}/tab.yaml", "--run-dir",
                                                    "{tmp}/r"], 2, ["tab.yaml"],
         files={"tab.yaml": "name: x\ntarget:\n\tkind: command\n"}),
    Case("a recipe that is a directory", ["run", "{tmp}", "--run-dir", "{tmp}/r"], 2,
         ["directory"]),
    # commands given a run, an option or a value that is not there
    Case("best of no run", ["best", "--run-dir", "{tmp}/nope"], 2, ["no run"]),
    Case("history of no run", ["history", "--run-dir", "{tmp}/nope"], 2, ["no run"]),
    Case("an export format that does not exist", ["export", "--run-dir", "{run}",
                                                  "--format", "xml"], 2, ["xml"]),
    Case("logs -n -1", ["logs", "--run-dir", "{run}", "-n", "-1"], 2, ["-n"]),
    Case("restore from a missing checkpoint", ["restore", "--run-dir", "{run}",
                                               "--checkpoint", "{tmp}/nope.db"], 2,
         ["nope.db"]),
    Case("promote a candidate that does not exist", ["promote", "feedfacecafe",
                                                     "--run-dir", "{run}"], 2,
         ["feedfacecafe"]),
    Case("run --max-cycles 0", ["run", "{recipe}", "--run-dir", "{tmp}/r", "--max-cycles",
                                "0"], 2, ["--max-cycles"], recipe={"toy": True}),
    Case("start with a missing recipe", ["start", "{tmp}/missing.yaml", "--run-dir",
                                         "{tmp}/r"], 2, ["missing.yaml"]),
    Case("a run directory that is a file", ["status", "--run-dir",
                                            "{tmp}/other/ratchet.db"], 2, ["is a file"]),
    # a python objective's own code never ends ratchet
    Case("objective module with a SyntaxError", ["run", "{recipe}", "--run-dir", "{tmp}/r"],
         2, ["SyntaxError"], recipe={"python": "broken_syntax:f"},
         files={"broken_syntax.py": "def f(:\n"}),
    Case("objective module raising on import", ["run", "{recipe}", "--run-dir", "{tmp}/r"],
         2, ["RuntimeError", "no database"], recipe={"python": "raises_on_import:f"},
         files={"raises_on_import.py": "raise RuntimeError('no database')\n"}),
    Case("objective module calling sys.exit(5)", ["run", "{recipe}", "--run-dir",
                                                   "{tmp}/r"], 2, ["sys.exit(5)"],
         recipe={"python": "exits_on_import:f"},
         files={"exits_on_import.py": "import sys\nsys.exit(5)\n"}),
    Case("strategy module with a SyntaxError", ["run", "{recipe}", "--run-dir", "{tmp}/r"],
         2, ["SyntaxError"], recipe={"toy": True, "strategy": {"kind": "bad_strategy:S"}},
         files={"bad_strategy.py": "class S(:\n"}),
    Case("an objective that hangs", ["run", "{recipe}", "--run-dir", "{tmp}/r",
                                     "--max-cycles", "1", "-q"], 1, ["timed out after 1 s"],
         recipe={"python": "objectives:sleeps", "timeout_s": 1}),
    Case("an objective calling sys.exit(0)", ["run", "{recipe}", "--run-dir", "{tmp}/r",
                                              "--max-cycles", "1", "-q"], 1,
         ["sys.exit(0)"], recipe={"python": "objectives:exits"}),
    Case("size + 50 numbers", ["run", "{recipe}", "--run-dir", "{tmp}/r", "--max-cycles",
                               "1", "-q"], 1, ["numbers for size"],
         recipe={"python": "objectives:too_many"}),
    Case("1000 wins for a batch of 10", ["run", "{recipe}", "--run-dir", "{tmp}/r",
                                         "--max-cycles", "1", "-q"], 1, ["1000 games"],
         recipe={"python": "objectives:boasts", "outcome": "games"}),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run with a parameter named w[/x], and another run beside it."""
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    tmp = tmp_path_factory.mktemp("corpus")
    (tmp / "toy.json").write_text(json.dumps({"x": 0.2, "y": 0.5, "w[/x]": 0.5,
                                              "untouched": "keep me"}))
    recipe = toy_recipe(tmp)
    recipe["space"]["w[/x]"] = {"type": "float", "low": 0.0, "high": 1.0}
    run_recipe(parse_recipe(recipe), tmp / "run", max_cycles=2)
    other = tmp_path_factory.mktemp("other")
    run_recipe(parse_recipe(toy_recipe(other)), other / "other", max_cycles=1)
    return tmp / "run", other / "other"


def _write_recipe(case: Case, tmp: Path) -> None:
    spec = dict(case.recipe or {})
    if not spec:
        return
    if "python" in spec:
        (tmp / "objectives.py").write_text(PY)
        target = {k: spec[k] for k in ("timeout_s", "outcome") if k in spec}
        recipe = _python_recipe(spec["python"], **target)
        if target.get("outcome") == "games":
            recipe["judge"] = {"kind": "sprt", "batch": 10, "min_games": 10,
                               "max_games": 20}
    else:
        recipe = _toy(tmp, **{k: v for k, v in spec.items() if k not in ("toy", "bench",
                                                                           "then")})
        if spec.get("bench") == "markup":
            (tmp / "markup.py").write_text(
                "import sys\nprint('bad config [/foo] [nan]', file=sys.stderr)\n"
                "sys.exit(1)\n")
            recipe["target"]["benchmark"] = [sys.executable, str(tmp / "markup.py")]
            recipe["schedule"].update(max_consecutive_failures=9)
    text = yaml.safe_dump(recipe).replace("'.inf'", ".inf")
    (tmp / "recipe.yaml").write_text(text)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_corpus(case, finished, tmp_path):
    run, other = finished
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    shutil.copytree(other, tmp_path / "other")
    _write_recipe(case, tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path),
                                                         os.environ.get("PYTHONPATH", "")])}
    values = {"run": str(run), "tmp": str(tmp_path), "recipe": str(tmp_path / "recipe.yaml"),
              "long": "a" * 5000}
    if case.recipe and case.recipe.get("then"):  # the run that failed first, then this
        first = subprocess.run([sys.executable, "-m", "ratchet", "run", values["recipe"],
                                "--run-dir", f"{tmp_path}/m", "--max-cycles", "1", "-q"],
                               capture_output=True, text=True, timeout=120, env=env,
                               cwd=tmp_path)
        assert first.returncode == 1 and "Traceback" not in first.stderr, first.stderr
    args = [a.format(**values) for a in case.args]
    before = (run / "ratchet.db").read_bytes()
    done = subprocess.run([sys.executable, "-m", "ratchet", *args], capture_output=True,
                          text=True, timeout=180, env=env, cwd=tmp_path)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    assert done.returncode == case.code, f"exit {done.returncode}: {said[-2000:]}"
    for words in case.words:
        assert words in said, f"{words!r} not in: {said[-2000:]}"
    assert (run / "ratchet.db").read_bytes() == before, "the finished run's store changed"


@pytest.mark.slow
def test_status_tells_the_truth_about_a_store_deleted_under_the_daemon(tmp_path):
    """Deleted while the daemon waits (paused): status says so; once it goes on, its next
    write stops it with exit 75 and the reason, which status then shows."""
    from ratchet.service.pidfile import running_pid
    from tests.service.test_daemon import ratchet, status, wait_for

    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump(_toy(tmp_path)))
    run = tmp_path / "run"
    run.mkdir()
    (run / "pause").touch()  # it starts paused: nothing is written while we look
    ratchet("start", recipe, "--run-dir", run)
    wait_for(lambda: status(run)["paused"], what="the paused daemon")
    (run / "ratchet.db").unlink()
    shown = ratchet("status", "--run-dir", run, check=False)
    assert shown.returncode == 2 and "is missing while the daemon" in shown.stderr
    assert "Traceback" not in shown.stderr
    ratchet("resume", "--run-dir", run)
    wait_for(lambda: running_pid(run) is None, timeout=60, what="the daemon to stop")
    fatal = json.loads((run / "last_error.json").read_text())["message"]
    assert "was deleted while this run was using it" in fatal
    shown = ratchet("status", "--run-dir", run, check=False)
    assert shown.returncode == 2 and "was deleted while this run was using it" in shown.stderr


def test_a_stranger_holding_the_lock_is_reported_and_never_signalled(finished, tmp_path):
    from tests.service.test_daemon import ratchet

    run = tmp_path / "run"
    shutil.copytree(finished[0], run)
    for name in ("daemon.json", "ratchet.pid"):
        (run / name).unlink(missing_ok=True)
    stranger = subprocess.Popen(["flock", "-n", str(run / "ratchet.lock"), "sleep", "60"])
    try:
        from ratchet.service.pidfile import flock_holders
        from tests.service.test_daemon import wait_for

        wait_for(lambda: flock_holders(run / "ratchet.lock"), what="flock to hold the lock")
        shown = json.loads(ratchet("status", "--run-dir", run, "--json").stdout)
        assert not shown["running"] and "sleep" in shown["lock_held_by"]
        stopped = ratchet("stop", "--run-dir", run, "--timeout", "2", check=False)
        assert stopped.returncode == 2 and "nothing was signalled" in stopped.stderr
        assert stranger.poll() is None  # alive: it was never signalled
    finally:
        stranger.kill()
        stranger.wait()
