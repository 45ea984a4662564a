"""A run's trials written into an Optuna storage, so optuna-dashboard and
``optuna.visualization`` (importance, parallel coordinates, slices) work on a ratchet run.

One study per run (named after it, or ``--study``). Each decided cycle is one trial: the
challenger's parameters and its measured mean score; a failed cycle is a FAIL trial. The
starting champion is trial 0 with its measured score. Each trial's user attributes keep
what Optuna has no field for: the cycle, the decision and its reason, the sample size and
the champion's score measured beside it.
"""

from __future__ import annotations

from typing import Any

from ratchet.errors import RatchetError
from ratchet.space import Space
from ratchet.store import Store
from ratchet.strategies.optuna import distribution
from ratchet.types import Decision


class ExportError(RatchetError):
    """The storage cannot be written (a bad URL, a study that already exists)."""


def export_to_optuna(store: Store, url: str, study_name: str | None = None) -> tuple[str, int]:
    """Write the run's trials into the storage at ``url``; returns the study's name and the
    number of trials written."""
    import optuna

    info = store.run_info()
    if info is None:
        raise ExportError(f"{store.run_dir} holds no run yet")
    recipe = info["recipe"]
    space = Space.from_dict(recipe["space"])
    distributions = {p.name: distribution(p) for p in space}
    direction = recipe.get("target", {}).get("direction", "maximize")
    name = study_name or info["name"]
    try:
        study = optuna.create_study(storage=url, study_name=name, direction=direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ExportError(f"the storage already has a study named {name!r}; pass --study "
                          "with another name") from None
    except Exception as exc:  # an unknown scheme, an unreachable database, ...
        raise ExportError(f"cannot open the Optuna storage {url!r}: {exc}") from None
    trials = []
    first = store.candidate(store.promotions()[0]["candidate_id"])
    baseline = [s for r in store.evaluations(candidate_id=first.id, roles=("baseline",))
                if r.ok for s in r.scores]
    if baseline:
        trials.append(_trial(first.params, distributions, sum(baseline) / len(baseline),
                             {"cycle": 0, "decision": "baseline", "n": len(baseline)}))
    for trial in store.trials():
        attrs = {"cycle": trial.cycle, "decision": trial.decision.value, "n": trial.n,
                 "champion_score": trial.champion_score, "candidate": trial.candidate.id}
        failed = trial.decision is Decision.FAILED or trial.score is None
        try:
            trials.append(_trial(trial.candidate.params, distributions,
                                 None if failed else trial.score, attrs))
        except ValueError:  # parameters outside a space that changed since: left out
            continue
    for made in trials:
        study.add_trial(made)
    return name, len(trials)


def _trial(params: dict[str, Any], distributions: dict[str, Any], value: float | None,
           attrs: dict[str, Any]) -> Any:
    import optuna

    state = optuna.trial.TrialState.FAIL if value is None else optuna.trial.TrialState.COMPLETE
    known = {k: v for k, v in params.items() if k in distributions}
    return optuna.trial.create_trial(params=known, distributions={
        k: distributions[k] for k in known}, value=value, state=state, user_attrs=attrs)
