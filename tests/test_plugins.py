"""Plugin registries: a third-party target arrives through an entry point and runs a
cycle from a recipe; classes named by import path do too; every family lists its kinds;
a kind cannot be taken twice."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ratchet.core.registry import FAMILIES, TARGETS, Spec
from ratchet.core.store import Store
from tests.conftest import ROOT

PLUGIN = textwrap.dedent('''
    """A toy target shipped by another package: samples around 1 - (x - 0.5)^2."""
    import random
    from typing import Literal

    from ratchet import BuildContext, Measurement, Spec, Target


    class DiceTarget(Target):
        name = "dice"
        outcome = "samples"

        def __init__(self, sides):
            self.sides = sides

        def baseline(self, space):
            return {"x": 0.1}

        def evaluate(self, task):
            rng = random.Random(task.seed)
            x = task.candidate.params["x"]
            return Measurement("samples", tuple(1 - (x - 0.5) ** 2 + rng.random() / self.sides
                                                for _ in range(task.size)))


    class DiceSpec(Spec):
        kind: Literal["dice"] = "dice"
        sides: int = 6

        @property
        def outcome(self):
            return "samples"

        @property
        def direction(self):
            return "maximize"

        def create(self, context: BuildContext):
            return DiceTarget(self.sides)
''')


@pytest.fixture
def plugin_path(tmp_path):
    """A package installed the way pip would (a dist-info with entry_points.txt)."""
    site = tmp_path / "site"
    (site / "dice_plugin").mkdir(parents=True)
    (site / "dice_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "dice_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dice-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ratchet.targets]\ndice = dice_plugin:DiceSpec\n")
    return site


@pytest.mark.slow
def test_a_target_from_another_package_runs_a_cycle_through_its_entry_point(tmp_path,
                                                                            plugin_path):
    recipe = tmp_path / "dice.yaml"
    recipe.write_text(json.dumps({
        "name": "dice", "target": {"kind": "dice", "sides": 20},
        "space": {"x": {"type": "float", "low": 0, "high": 1}},
        "judge": {"kind": "welch", "batch": 5}, "schedule": {"baseline": 10}}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(plugin_path), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                           str(tmp_path / "run"), "--max-cycles", "2", "--quiet"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    with Store(tmp_path / "run") as store:
        assert [d.cycle for d in store.decisions()] == [1, 2]
    bad = subprocess.run([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                          str(tmp_path / "other"), "--max-cycles", "1"],
                         capture_output=True, text=True, timeout=120,
                         env={**env, "PYTHONPATH": str(ROOT / "src")})
    assert bad.returncode == 2 and "dice" in bad.stderr and "Traceback" not in bad.stderr


STRATEGY = textwrap.dedent('''
    from ratchet import Strategy


    class StepStrategy(Strategy):
        name = "step"

        def __init__(self, space, *, seed=0, direction="maximize", step=0.1):
            super().__init__(space, seed=seed, direction=direction)
            self.step = step

        def propose(self, champion, history):
            x = min(champion.params["x"] + self.step, 1.0)
            return self._candidate({"x": x}, champion, f"+{self.step}")


    STOPPING = None  # a test's stop event, set by the checks


    class CheckedDiceTarget(DiceTarget):
        """Its own promotion checks: one fails; with crash=True they raise."""

        def __init__(self, sides, crash=False):
            super().__init__(sides)
            self.crash = crash

        def promotion_checks(self, candidate):
            from ratchet.core.types import GateResult

            if STOPPING is not None:  # a stop arrives while the checks run: they fail
                STOPPING.set()
            if self.crash:
                raise RuntimeError("the check itself broke")
            return [GateResult("size", True, "small enough"),
                    GateResult("latency", False, f"x={candidate.params['x']:.1f} too slow")]
''')


@pytest.fixture
def by_path(tmp_path, monkeypatch):
    """A module importable by path only: no entry point, no registration."""
    (tmp_path / "pathkinds_plugin.py").write_text(PLUGIN + STRATEGY)
    monkeypatch.syspath_prepend(str(tmp_path))

    def recipe(target: dict, **sections) -> dict:
        return {"name": "bypath", "target": target,
                "space": {"x": {"type": "float", "low": 0, "high": 1}},
                "judge": {"kind": "welch", "batch": 5}, "schedule": {"baseline": 10},
                **sections}
    return recipe


def test_classes_named_by_import_path_run_a_cycle(tmp_path, by_path):
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = parse_recipe(by_path({"kind": "pathkinds_plugin:DiceTarget", "sides": 20},
                                  strategy={"kind": "pathkinds_plugin:StepStrategy",
                                            "step": 0.2}))
    assert parse_recipe(recipe.model_dump(mode="json")) == recipe  # the stored form reloads
    summary = run_recipe(recipe, tmp_path / "run", max_cycles=2)
    assert summary.cycles == 2
    with Store(tmp_path / "run") as store:
        proposed = [d.candidate.params["x"] for d in store.decisions()]
        assert store.run_info()["recipe"]["target"] == {
            "kind": "pathkinds_plugin:DiceTarget", "sides": 20, "outcome": "samples",
            "direction": "maximize"}
    assert proposed[0] == pytest.approx(0.3)  # 0.1 + step: the option reached the class
    spec = parse_recipe(by_path({"kind": "pathkinds_plugin:DiceSpec", "sides": 3}))
    assert spec.target.sides == 3 and spec.target.create(None).sides == 3


@pytest.mark.parametrize("crash", [False, True])
def test_a_targets_own_promotion_checks_can_refuse_and_fail_closed(tmp_path, by_path, crash):
    from ratchet.core.types import Decision
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = parse_recipe(by_path({"kind": "pathkinds_plugin:CheckedDiceTarget", "sides": 50,
                                   "crash": crash},
                                  strategy={"kind": "pathkinds_plugin:StepStrategy",
                                            "step": 0.3}))
    run_recipe(recipe, tmp_path / "run", max_cycles=1)
    with Store(tmp_path / "run") as store:
        (decision,) = store.decisions()
        assert store.champion().version == 0
    assert decision.decision is Decision.GATED  # the judge passed it; the target did not
    checks = {g["gate"]: g for g in decision.stats["gates"]}
    if crash:
        assert checks["target"]["reason"] == "gate crashed (failing closed)"
    else:
        assert checks["size"]["passed"] and not checks["latency"]["passed"]
        assert decision.reason == "gate latency: x=0.4 too slow"


def test_checks_cut_short_by_a_stop_leave_the_cycle_to_resume(tmp_path, by_path):
    """A refusal while the run is stopping may be the stop's doing (a gate process killed):
    nothing is decided, and the next start runs the checks again."""
    import threading

    import pathkinds_plugin

    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = parse_recipe(by_path({"kind": "pathkinds_plugin:CheckedDiceTarget", "sides": 50},
                                  strategy={"kind": "pathkinds_plugin:StepStrategy",
                                            "step": 0.3}))
    stop = threading.Event()
    pathkinds_plugin.STOPPING = stop
    try:
        summary = run_recipe(recipe, tmp_path / "run", max_cycles=1, stop=stop)
    finally:
        pathkinds_plugin.STOPPING = None
    assert stop.is_set() and summary.stopped
    with Store(tmp_path / "run") as store:
        assert store.decisions() == [] and store.pending_cycle() is not None
    run_recipe(recipe, tmp_path / "run", max_cycles=1)  # no stop now: the checks decide
    with Store(tmp_path / "run") as store:
        (decision,) = store.decisions()
    assert decision.decision.value == "gated" and decision.cycle == 1


@pytest.mark.parametrize("section, expected", [
    ({"kind": "pathkinds_plugin:Nope"}, "target: pathkinds_plugin has no Nope"),
    ({"kind": "no_such_module_here:X"}, "target: cannot import no_such_module_here"),
    ({"kind": "pathkinds_plugin:DiceTarget", "side": 3},
     "target: DiceTarget takes no option side (it takes sides)"),
    ({"kind": "pathkinds_plugin:StepStrategy"}, "expected a target class"),
    ({"kind": "pathkinds_plugin:DiceTarget", "sides": 20, "direction": "up"},
     "target.direction: Input should be 'maximize' or 'minimize'"),
])
def test_a_bad_import_path_kind_is_one_clear_error(by_path, section, expected):
    from ratchet.core.errors import RecipeError
    from ratchet.engine.recipe import parse_recipe

    with pytest.raises(RecipeError) as caught:
        parse_recipe(by_path(section))
    assert expected in str(caught.value)


def test_every_family_lists_its_built_in_kinds():
    kinds = {name: family.kinds() for name, family in FAMILIES.items()}
    assert {"command", "python", "cartpole", "sysctl"} <= set(kinds["target"])
    assert {"perturb", "evolve", "ppo", "tpe", "cmaes", "random"} <= set(kinds["strategy"])
    assert {"sprt", "welch", "weighted"} <= set(kinds["judge"])
    assert {"inline", "processes", "ray"} <= set(kinds["executor"])


def test_a_kind_cannot_be_taken_twice():
    from typing import Literal

    class Impostor(Spec):
        kind: Literal["command"] = "command"

    with pytest.raises(ValueError, match="target kind 'command' is already"):
        TARGETS.register(Impostor)


def test_the_recipe_reference_is_generated_from_the_specs():
    """docs/recipes.md is what `python -m ratchet.apps.reference` prints (regenerate it)."""
    from ratchet.apps.reference import render

    page = (ROOT / "docs" / "recipes.md").read_text()
    assert page == render(), "docs/recipes.md is stale: python -m ratchet.apps.reference > " \
                             "docs/recipes.md"
    for family in FAMILIES.values():
        for kind in family.kinds():
            assert f"`{kind}`" in page


def test_every_public_name_resolves_and_importing_ratchet_stays_light():
    import subprocess
    import sys

    import ratchet

    assert set(ratchet.__all__) == {*ratchet._EXPORTS, "__version__"}
    for name in ratchet.__all__:
        assert getattr(ratchet, name) is not None
    # a benchmark that imports one workload module does not load the engine
    probe = ("import sys; import ratchet.plugins.targets.sysctl.workloads.synthetic; "
             "print(sorted(m for m in ('ratchet.engine.recipe', 'ratchet.engine.loop', "
             "'ratchet.apps.api') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_plugin_guide_examples_run(tmp_path, monkeypatch):
    """docs/plugins.md's target and strategy, as written there, run a cycle by path."""
    import re

    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    guide = (ROOT / "docs" / "plugins.md").read_text()
    code = "\n\n".join(re.findall(r"```python\n(.*?)```", guide, flags=re.S))
    (tmp_path / "guide_plugins.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    recipe = parse_recipe({"name": "guide", "target": {"kind": "guide_plugins:DiceSpec",
                                                       "sides": 20},
                           "strategy": {"kind": "guide_plugins:StepSpec", "step": 0.2},
                           "space": {"x": {"type": "float", "low": 0, "high": 1}},
                           "judge": {"kind": "welch", "batch": 5},
                           "schedule": {"baseline": 10}})
    summary = run_recipe(recipe, tmp_path / "run", max_cycles=2)
    assert summary.cycles == 2 and summary.failures == 0
    with Store(tmp_path / "run") as store:
        assert store.decisions()[0].candidate.params["x"] == pytest.approx(0.3)
