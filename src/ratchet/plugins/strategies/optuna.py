"""Optuna samplers (TPE, Gaussian process, CMA-ES, random) driven by ask/tell.

Each challenger's value is its measured score in its cycle. Optuna's study lives in
memory; on resume the run's finished trials are replayed into it with ``add_trial``, so
the sampler's model is rebuilt from the store rather than from a pickled object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Param, Space
from ratchet.core.types import Candidate, Trial
from ratchet.plugins.strategies._base import Direction, Strategy

log = logging.getLogger(__name__)


def distribution(p: Param) -> Any:
    """Optuna's distribution for a parameter of a ratchet space."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if p.type == "int":
        return IntDistribution(int(p.low), int(p.high))
    if p.type in ("float", "logfloat"):
        return FloatDistribution(p.low, p.high, log=p.type == "logfloat")
    return CategoricalDistribution(list(p.options))


class OptunaSpec(Spec):
    """Optuna's samplers through ask/tell: tpe, gp (a Gaussian process: needs torch),
    cmaes or random."""

    kind: Literal["tpe", "gp", "cmaes", "random"]
    n_startup_trials: int = Field(10, ge=1, description="random trials before the model")

    def create(self, context: BuildContext) -> OptunaStrategy:
        return OptunaStrategy.from_spec(self, context)  # type: ignore[return-value]


class OptunaStrategy(Strategy):
    name = "tpe"

    options_spec = OptunaSpec

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 sampler: str = "tpe", **options: Any):
        """``sampler`` is the recipe's ``kind`` (tpe, gp, cmaes or random)."""
        options.setdefault("kind", sampler)
        super().__init__(space, seed=seed, direction=direction, **options)
        sampler = self.options.kind
        n_startup_trials = self.options.n_startup_trials
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.name = sampler  # type: ignore[misc]
        samplers = {
            # constant liar: challengers proposed together (a race) are spread apart
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed,
                                                      n_startup_trials=n_startup_trials,
                                                      constant_liar=True),
            "gp": lambda: _gp_sampler(optuna, seed, n_startup_trials),
            "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        }
        if sampler not in samplers:
            raise ValueError(f"unknown optuna sampler {sampler!r}; expected {list(samplers)}")
        self._optuna = optuna
        self.study = optuna.create_study(direction=direction, sampler=samplers[sampler]())
        self.distributions = {p.name: distribution(p) for p in space}
        self._pending: dict[str, Any] = {}
        self._champion_trial: Any = None

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        if not self.study.trials and not self._pending:
            self.study.enqueue_trial(champion.params, skip_if_exists=True)
        trial = self.study.ask(self.distributions)
        params = dict(trial.params)
        if params == champion.params:  # the enqueued champion: its score comes with the
            self._champion_trial = trial  # first decided cycle (``observe``); ask again
            trial = self.study.ask(self.distributions)
            params = dict(trial.params)
        candidate = self._candidate(params, champion, f"{self.name} trial {trial.number}")
        self._pending[candidate.id] = trial
        return candidate

    def observe(self, trial: Trial) -> None:
        if self._champion_trial is not None and trial.champion_score is not None:
            self.study.tell(self._champion_trial, trial.champion_score)
            self._champion_trial = None
        pending = self._pending.pop(trial.candidate.id, None)
        if pending is None:
            self._add(trial)
        elif trial.score is None:
            self.study.tell(pending, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(pending, trial.score)

    def restore(self, history: Sequence[Trial]) -> None:
        for trial in history:
            self._add(trial)
        log.info("replayed %d trials into the %s sampler", len(history), self.name)

    def _add(self, trial: Trial) -> None:
        if trial.score is None:
            return
        try:
            self.study.add_trial(self._optuna.trial.create_trial(
                params=trial.candidate.params, distributions=self.distributions,
                value=trial.score))
        except ValueError as exc:  # params outside a space that changed since: skip
            log.warning("not replaying trial %s: %s", trial.candidate.id, exc)


def _gp_sampler(optuna: Any, seed: int, n_startup_trials: int) -> Any:
    """Optuna's Gaussian-process sampler (its model is fitted with torch)."""
    from ratchet.core.extras import require

    require("torch", feature="the gp strategy")
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials,
                                     warn_independent_sampling=False)
