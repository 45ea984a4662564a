"""A run's trials as Optuna sees them: the starting champion and every decided challenger,
each with its parameters and measured mean score (a failed cycle is a FAIL trial).

``ratchet export --optuna-storage`` writes them into a storage; the dashboard's parameter
views (importance, parallel coordinates, slices) read them from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ratchet.core.space import Space
from ratchet.core.store import Store
from ratchet.core.store.rows import challenger_n
from ratchet.core.types import Decision
from ratchet.plugins.strategies.optuna import distribution

log = logging.getLogger(__name__)

MIN_TRIALS_FOR_IMPORTANCE = 10


@dataclass
class RunTrials:
    direction: str
    space: Space
    distributions: dict[str, Any]
    trials: list[Any]  # optuna.trial.FrozenTrial


def run_trials(store: Store, limit: int | None = None) -> RunTrials | None:
    """None when the store holds no run yet. ``limit``: only the newest that many
    decided cycles (the starting champion is always there)."""
    info = store.run_info()
    if info is None:
        return None
    recipe = info["recipe"]
    space = Space.from_dict(recipe["space"])
    distributions = {p.name: distribution(p) for p in space}
    direction = recipe.get("target", {}).get("direction", "maximize")
    trials = []
    first = store.candidate(store.promotions()[0]["candidate_id"])
    baseline = [s for r in store.evaluations(candidate_id=first.id, roles=("baseline",))
                if r.ok for s in r.scores]
    if baseline:
        trials.append(_trial(first.params, distributions, sum(baseline) / len(baseline),
                             {"cycle": 0, "decision": "baseline", "n": len(baseline),
                              "candidate": first.id}))
    for d in store.decisions(limit):  # the measured scores (a strategy is told a penalty
        # where a constraint broke: stats["strategy_score"])
        attrs = {"cycle": d.cycle, "decision": d.decision.value, "n": challenger_n(d),
                 "champion_score": d.champion_score, "candidate": d.candidate.id,
                 "infeasible": bool(d.stats.get("infeasible"))}
        failed = d.decision is Decision.FAILED or d.score is None
        try:
            trials.append(_trial(d.candidate.params, distributions,
                                 None if failed else d.score, attrs))
        except ValueError:  # parameters outside a space that changed since: left out
            continue
    return RunTrials(direction, space, distributions, trials)


def quiet_optuna() -> Any:
    """Optuna, imported without its info lines ("A new study created in memory ...")
    among ratchet's own output."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _trial(params: dict[str, Any], distributions: dict[str, Any], value: float | None,
           attrs: dict[str, Any]) -> Any:
    optuna = quiet_optuna()

    state = optuna.trial.TrialState.FAIL if value is None else optuna.trial.TrialState.COMPLETE
    known = {k: v for k, v in params.items() if k in distributions}
    return optuna.trial.create_trial(params=known, distributions={
        k: distributions[k] for k in known}, value=value, state=state, user_attrs=attrs)


def importance(run: RunTrials) -> tuple[dict[str, float] | None, str]:
    """Optuna's parameter importances over the run's completed trials, by its default
    evaluator (PED-ANOVA). Returns the importances (None when they cannot be computed)
    and the evaluator's name, or why not."""
    optuna = quiet_optuna()

    complete = [t for t in run.trials if t.state == optuna.trial.TrialState.COMPLETE
                and len(t.params) == len(run.distributions)]
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return None, (f"{len(complete)} completed trials; importance needs at least "
                      f"{MIN_TRIALS_FOR_IMPORTANCE}")
    if len({t.value for t in complete}) < 2:
        return None, "every trial has the same score"
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()  # Optuna's default
    name = "PED-ANOVA (Optuna)"
    study = optuna.create_study(direction=run.direction)
    study.add_trials(complete)
    try:
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        log.info("parameter importance not computed: %s", exc)
        return None, f"{name} could not rank the parameters: {exc}"
    return {k: float(v) for k, v in found.items()}, name


def parameter_view(store: Store, limit: int = 2000) -> dict[str, Any]:
    """What the dashboard's parameter views draw: the space, the last ``limit`` completed
    trials (parameters, score, decision, sample size) and the importances."""
    optuna = quiet_optuna()

    run = run_trials(store, limit)
    if run is None:
        return {"params": [], "trials": [], "importance": None, "evaluator": "no run yet"}
    shown = [t for t in run.trials if t.state == optuna.trial.TrialState.COMPLETE]
    found, evaluator = importance(run)
    params = [{"name": p.name, "type": p.type, "low": p.low, "high": p.high,
               "options": list(p.options) if not p.is_numeric else None} for p in run.space]
    return {"direction": run.direction, "params": params, "importance": found,
            "evaluator": evaluator,
            "trials": [{"cycle": t.user_attrs.get("cycle"), "decision": t.user_attrs.get(
                "decision"), "n": t.user_attrs.get("n"), "score": t.value,
                "params": t.params} for t in shown]}
