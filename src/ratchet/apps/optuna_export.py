"""A run's trials written into an Optuna storage, so optuna-dashboard and
``optuna.visualization`` (importance, parallel coordinates, slices) work on a ratchet run.

One study per run (named after it, or ``--study``). Each decided cycle is one trial: the
challenger's parameters and its measured mean score; a failed cycle is a FAIL trial. The
starting champion is trial 0 with its measured score. Each trial's user attributes keep
what Optuna has no field for: the cycle, the decision and its reason, the sample size and
the champion's score measured beside it.
"""

from __future__ import annotations

from ratchet.core.errors import RatchetError
from ratchet.core.store import Store
from ratchet.engine.parameters import quiet_optuna, run_trials


class ExportError(RatchetError):
    """The storage cannot be written (a bad URL, a study that already exists)."""


def export_to_optuna(store: Store, url: str, study_name: str | None = None) -> tuple[str, int]:
    """Write the run's trials into the storage at ``url``; returns the study's name and the
    number of trials written."""
    optuna = quiet_optuna()

    run = run_trials(store)
    if run is None:
        raise ExportError(f"{store.run_dir} holds no run yet")
    name = study_name or (store.run_info() or {})["name"]
    try:
        study = optuna.create_study(storage=url, study_name=name, direction=run.direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ExportError(f"the storage already has a study named {name!r}; pass --study "
                          "with another name") from None
    except Exception as exc:  # an unknown scheme, an unreachable database, ...
        raise ExportError(f"cannot open the Optuna storage {url!r}: {exc}") from None
    trials = run.trials
    for made in trials:
        study.add_trial(made)
    return name, len(trials)
