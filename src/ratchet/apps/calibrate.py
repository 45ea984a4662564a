"""``ratchet calibrate RECIPE``: an A/A run on the user's own benchmark, before trusting it.

It measures, on the recipe's starting champion:

1. whether the benchmark is deterministic per seed (the same seed measured twice gives
   the same result): then a seed is one sample however often it is replayed, and
   challenger and champion measured on one seed are exactly paired;
2. its noise: the spread of one game or run, and of a batch's mean;
3. drift: the trend of the batch means over the calibration's time, with its interval;
4. the judge's false-promotion rate at the recipe's settings: ``tests`` decisions of a
   challenger with the champion's own values (A/A) through the real loop, in a scratch
   run of its own, and the games or runs each decision took;

and suggests settings (batch, elo1 or min_improvement, racing) for a decision time.
The scratch run lives in ``RUN_DIR/calibration/``; the report is ``RUN_DIR/
calibration.json`` (the dashboard shows it). The recipe's live file is never written:
a command target's ``config_file`` is copied into the scratch run first.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ratchet.core.atomic import atomic_write_text
from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir
from ratchet.core.seeds import SeedLedger, derive
from ratchet.core.stats import clopper_pearson
from ratchet.core.store import Store
from ratchet.core.types import Candidate, Decision, EvalTask, Measurement, Trial
from ratchet.engine.factory import build_components
from ratchet.engine.recipe import Recipe, parse_recipe
from ratchet.engine.runner import Session
from ratchet.plugins.strategies._base import Strategy


class IndependentSeeds:
    """The target with the challenger's seeds moved to a stream of their own. On a
    benchmark that is deterministic per seed, the champion's values measured twice on one
    seed replay the same games: such an A/A test can never show a difference and says
    nothing about the judge. Measured on other seeds, the two sides are equal in strength
    and independent: the null the judge's alpha is about."""

    def __init__(self, inner: Any, run_seed: int):
        self.inner = inner
        self.run_seed = run_seed

    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "run_seed"):  # while unpickling: not set yet
            raise AttributeError(name)
        return getattr(self.inner, name)

    def evaluate(self, task: EvalTask) -> Measurement:
        return self.inner.evaluate(self._moved(task))

    def evaluate_interleaved(self, first: EvalTask, second: EvalTask) -> Any:
        return self.inner.evaluate_interleaved(self._moved(first), self._moved(second))

    def _moved(self, task: EvalTask) -> EvalTask:
        if task.role != "challenger":
            return task
        seed = derive(self.run_seed, "calibrate", 1_000 + task.cycle, task.batch,
                      task.shard + 1)[task.shard]
        return replace(task, seed=seed)


class SameParams(Strategy):
    """Proposes the champion's own values as a new candidate: every test is A/A."""

    name = "same"

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        return self._candidate(dict(champion.params), champion, "A/A: the champion's values")


def calibrate(recipe: Recipe, run_dir: Path, *, tests: int = 50, repeats: int = 10,
              decision_s: float | None = None,
              progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Calibrate ``recipe``; writes and returns the report (see the module docstring)."""
    if tests < 1 or repeats < 3:
        raise RatchetError("calibrate needs --tests of at least 1 and --repeats of at "
                           "least 3")
    if recipe.target.kind == "selfplay":
        raise RatchetError("calibrate measures a benchmark of fixed candidates; the "
                           "selfplay target trains every challenger. Its promotion test "
                           "is calibrated by: python -m bench.calibration --paths "
                           "selfplay-same,probation")
    scratch = RunDir(run_dir).calibration_scratch
    if scratch.exists():
        shutil.rmtree(scratch)  # a calibration starts afresh: its tests are its own
    scratch.mkdir(parents=True)
    scratch_recipe = _scratch_recipe(recipe, RunDir(run_dir))
    report: dict[str, Any] = {"recipe": recipe.name, "judge": recipe.judge.kind,
                              "created_at": time.time()}
    scratch_run = RunDir(run_dir).calibration_run
    components = build_components(scratch_recipe, scratch_run)
    session = Session.for_recipe(scratch_recipe, scratch_run, components=components)
    with session:
        parts = session.components
        champion = session.store.champion().candidate
        ledger = SeedLedger(recipe.seed, session.store.seeds_used)
        size = parts.judge.batch

        def measure(seed: int, batch: int) -> tuple[Measurement, float]:
            task = EvalTask(champion, "baseline", seed, size, 0, batch,
                            opponent=champion if parts.target.head_to_head else None)
            started = time.monotonic()
            (result,) = parts.executor.run(parts.target, [task])
            if result.measurement is None:
                raise RatchetError(f"the benchmark failed while calibrating: {result.error}")
            return result.measurement, time.monotonic() - started

        progress("repeating one seed")
        (seed,) = ledger.fresh("calibrate", 0, 0)
        first, _ = measure(seed, 0)
        again, _ = measure(seed, 1)
        report["deterministic"] = _determinism(first, again)
        progress(f"measuring the champion on {repeats} fresh seeds")
        batches = []
        began = time.monotonic()
        for i in range(repeats):
            (seed,) = ledger.fresh("calibrate", 1, i)
            m, seconds = measure(seed, 2 + i)
            batches.append((time.monotonic() - began, m, seconds))
        report["noise"] = _noise([m for _, m, _ in batches], parts.judge.outcome)
        report["drift"] = _drift([(t, m.mean) for t, m, _ in batches])
        units = sum(m.n for _, m, _ in batches)
        report["seconds_per_unit"] = sum(s for *_, s in batches) / max(units, 1)
        if report["deterministic"]["same"] and not parts.target.head_to_head:
            parts.target = IndependentSeeds(parts.target, recipe.seed)  # type: ignore[assignment]
            report["aa_seeds"] = "independent: the challenger on seeds of its own"
        else:
            report["aa_seeds"] = "shared: challenger and champion on the same seeds"
        progress(f"{tests} A/A tests with the recipe's judge ({report['aa_seeds']})")
        started = time.monotonic()
        session.run(tests)
        elapsed = time.monotonic() - started
    with Store(scratch_run) as store:
        decided = store.decisions()
    report["aa"] = _aa(decided, elapsed, recipe)
    report["suggest"] = suggest(report, recipe, decision_s)
    atomic_write_text(RunDir(run_dir).calibration, _json(report))
    return report


def _scratch_recipe(recipe: Recipe, run: RunDir) -> Recipe:
    """The recipe as the calibration runs it: its own scratch run, no search (the
    champion's values every time), no racing, no budget, no baseline; a command
    target's live file copied, so that the user's file is never written."""
    dumped = recipe.model_dump(mode="json", exclude_unset=True)
    target = dict(dumped["target"])
    live = target.get("config_file")
    if live:
        source = Path(live)
        if not source.is_file():
            raise RatchetError(f"target.config_file {source} does not exist; calibrate "
                               "measures the values in it")
        copy = run.calibration_live_copy(source.suffix)
        shutil.copyfile(source, copy)
        target["config_file"] = str(copy)
    schedule = {k: v for k, v in dict(dumped.get("schedule") or {}).items()
                if k not in ("budget", "max_cycles")}
    changed = {**dumped, "target": target,
               "strategy": {"kind": "ratchet.apps.calibrate:SameParams"},
               "schedule": {**schedule, "baseline": 0, "pause_s": 0, "cooldown_s": 0},
               "racing": {"challengers": 1}}
    changed.pop("configurations", None)
    return parse_recipe(changed, "the calibration's recipe")


def _determinism(first: Measurement, again: Measurement) -> dict[str, Any]:
    same = tuple(first.scores) == tuple(again.scores)
    if same:
        says = ("yes: the same seed gave the same result. A seed is one sample however "
                "often it is replayed; challenger and champion on one seed are exactly "
                "paired")
    else:
        says = ("no: the same seed gave different results (the benchmark has randomness "
                "of its own). Paired measurements share the seed's part only")
    return {"same": same, "first_mean": first.mean, "again_mean": again.mean, "says": says}


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _noise(measurements: Sequence[Measurement], outcome: str) -> dict[str, Any]:
    scores = [s for m in measurements for s in m.scores]
    means = [m.mean for m in measurements]
    mean = sum(scores) / len(scores)
    found: dict[str, Any] = {"units": len(scores), "mean": mean, "unit_sd": _sd(scores),
                             "batch_sd": _sd(means)}
    if outcome == "games":
        found["shares"] = {label: sum(s == v for s in scores) / len(scores)
                           for label, v in (("win", 1.0), ("draw", 0.5), ("loss", 0.0))}
    else:
        found["cv"] = found["unit_sd"] / abs(mean) if mean else None
    return found


def _drift(points: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Least-squares slope of the batch means over time, per minute, with a 95%
    interval (t with n - 2 degrees of freedom)."""
    from scipy import stats as st

    n = len(points)
    times = [t for t, _ in points]
    values = [v for _, v in points]
    span = max(times) - min(times)
    if n < 3 or span <= 0:
        return {"per_minute": None, "low": None, "high": None, "minutes": span / 60,
                "says": "too few measurements to see a trend"}
    fit = st.linregress(times, values)
    half = st.t.ppf(0.975, n - 2) * fit.stderr
    per_min, low, high = 60 * fit.slope, 60 * (fit.slope - half), 60 * (fit.slope + half)
    clear = low > 0 or high < 0
    says = (f"{'a clear' if clear else 'no clear'} trend: {per_min:+.4g} a minute "
            f"[{low:+.4g}, {high:+.4g}] over {span / 60:.1f} min")
    return {"per_minute": per_min, "low": low, "high": high, "minutes": span / 60,
            "clear": clear, "says": says}


def _aa(decided: Sequence[Any], elapsed: float, recipe: Recipe) -> dict[str, Any]:
    final = [d for d in decided if d.decision is not Decision.FAILED]
    promoted = sum(d.decision is Decision.PROMOTE for d in final)
    units = sorted(d.games for d in final)
    low, high = clopper_pearson(promoted, len(final)) if final else (0.0, 1.0)
    stated = (recipe.judge.alpha if hasattr(recipe.judge, "alpha")
              else 1 - getattr(recipe.judge, "confidence", 0.95))
    return {"tests": len(final), "failed": len(decided) - len(final), "promoted": promoted,
            "rate": promoted / len(final) if final else None, "low": low, "high": high,
            "stated_alpha": stated,
            "units_mean": sum(units) / len(units) if units else None,
            "units_p90": units[int(0.9 * (len(units) - 1))] if units else None,
            "seconds_per_decision": elapsed / max(len(decided), 1)}


def suggest(report: dict[str, Any], recipe: Recipe, decision_s: float | None
            ) -> dict[str, Any]:
    """Settings for decisions of about ``decision_s`` (default: as they are now): the
    stated difference scaled by the square root of the time ratio (evidence needed goes
    with the inverse square of the difference to detect), a batch of about a twentieth
    of a decision, and racing where a decision takes many batches."""
    aa, judge = report["aa"], recipe.judge
    unit_s = report["seconds_per_unit"]
    now_s = (aa["units_mean"] or 0) * unit_s
    target_s = decision_s or now_s
    ratio = math.sqrt(now_s / target_s) if now_s > 0 and target_s > 0 else 1.0
    units_then = (aa["units_mean"] or judge.batch) * (now_s / target_s if target_s else 1)
    found: dict[str, Any] = {"decision_s_now": now_s, "decision_s": target_s,
                             "batch": max(1, round(units_then / 20))}
    notes = []
    if judge.kind == "sprt":
        found["elo1"] = round(getattr(judge, "elo1", 20.0) * ratio, 1)
        notes.append(f"elo1 {found['elo1']:g} (now {getattr(judge, 'elo1', 20.0):g}): the "
                     "smallest gain proven at about that decision time")
    elif judge.kind == "welch":
        noise = report["noise"]
        per_side = max(2.0, target_s / max(unit_s, 1e-9) / 2)
        detectable = 2.8 * noise["unit_sd"] * math.sqrt(2 / per_side)
        found["min_improvement"] = (round(detectable / abs(noise["mean"]), 4)
                                    if noise["mean"] else None)
        notes.append("min_improvement: about the smallest relative gain such decisions "
                     "can show")
    if report["deterministic"]["same"]:
        notes.append("deterministic per seed: replaying a seed measures nothing new, "
                     "every batch needs fresh seeds (the run's seed ledger gives them)")
    racing = (units_then / max(found["batch"], 1) > 10)
    found["racing"] = ({"challengers": 8, "keep": 0.25} if racing else {"challengers": 1})
    notes.append("racing on: a decision takes many batches, so screening several "
                 "challengers on shared seeds first pays" if racing else
                 "racing off: decisions are short")
    if report["drift"].get("clear"):
        notes.append("the benchmark drifts: keep challenger and champion interleaved "
                     "(interleave: true) so that the drift cancels in pairs")
    found["notes"] = notes
    return found


def report_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The report as labelled lines: what was measured, then what to set."""
    noise, aa, drift, advice = report["noise"], report["aa"], report["drift"], report["suggest"]
    spread = (", ".join(f"{k} {v:.0%}" for k, v in noise["shares"].items())
              if "shares" in noise else f"cv {noise['cv']:.1%}" if noise.get("cv") else "")
    rate = f"{aa['rate']:.1%}" if aa["rate"] is not None else "-"
    lines = [
        ("deterministic per seed", report["deterministic"]["says"]),
        ("A/A tests", report["aa_seeds"]),
        ("noise", f"one {'game' if 'shares' in noise else 'run'}: mean {noise['mean']:.4g}, "
                  f"sd {noise['unit_sd']:.3g} ({spread}); a batch's mean: sd "
                  f"{noise['batch_sd']:.3g} over {noise['units']} measured"),
        ("drift", drift["says"]),
        ("cost", f"{report['seconds_per_unit']:.3g} s a game or run"),
        ("false promotions", f"{aa['promoted']} of {aa['tests']} A/A tests = {rate} "
                             f"[{aa['low']:.1%}, {aa['high']:.1%}] (the judge states at most "
                             f"{aa['stated_alpha']:.0%})"
                             + (f"; {aa['failed']} failed" if aa["failed"] else "")),
        ("a decision", f"{aa['units_mean']:.0f} games or runs on average (90% within "
                       f"{aa['units_p90']}), about {advice['decision_s_now']:.3g} s"),
    ]
    settings = [f"batch: {advice['batch']}"]
    settings += [f"{k}: {advice[k]}" for k in ("elo1", "min_improvement") if k in advice]
    settings.append(f"racing: {advice['racing']}")
    lines.append((f"suggested for decisions of about {advice['decision_s']:.3g} s",
                  "; ".join(settings)))
    lines += [("why", note) for note in advice["notes"]]
    return lines


def _json(report: dict[str, Any]) -> str:
    import json

    return json.dumps(report, indent=2, default=str) + "\n"


def read_report(run_dir: Path) -> dict[str, Any] | None:
    """The last calibration's report of ``run_dir``, if any."""
    import json

    path = RunDir(run_dir).calibration
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
