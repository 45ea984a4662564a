"""The ``python`` target: a Python function is the benchmark, no CLI wrapper needed.

    target: {kind: python, function: "my_package.bench:objective", outcome: samples,
             direction: maximize}

The function is called as ``objective(params: dict, seed: int, size: int)`` and returns a
list of ``size`` numbers (``outcome: samples``) or, with ``outcome: games``, a dict with
``wins``, ``draws`` and ``losses``. ``objective(params)`` or ``objective(params, seed)``
return one run's number, or a dict of numbers (``metric`` names the score; the others are
stored as metrics, for constraints). From Python, ``function`` may be the function object
itself (``ratchet.run(objective=f, ...)``); one that no other process can import (defined
in ``__main__`` or a notebook) runs in a worker forked from the caller.
It runs in a process of its own (``_python_worker``), so that a hang (``timeout_s``),
``sys.exit``, a crash or an exception is one failed evaluation with its reason, and a stop
always ends it; what it prints goes to ``work/python-target.log``. ``apply`` does
nothing: the champion is in the store and in ``champion.json``.
With ``outcome: samples`` challenger and champion are measured one call of size 1 at a
time, alternating (ABBA), as for a command target (``interleave: false`` to turn it off).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator, model_validator

from ratchet.core.errors import EvaluationError
from ratchet.core.registry import BuildContext, RecipeView, Spec
from ratchet.core.rundir import children_registry
from ratchet.core.space import Space
from ratchet.core.types import EvalTask, Measurement, OutcomeKind
from ratchet.plugins.targets._base import Target, starting_values
from ratchet.plugins.targets._python_worker import (
    PythonWorker,
    by_name,
    callable_name,
    check_importable,
)


class PythonTarget(Target):
    name = "python"

    def __init__(self, spec: PythonTargetSpec, work_dir: Path | None = None):
        self.spec = spec
        self.outcome: OutcomeKind = spec.outcome
        self.interleaved = spec.outcome == "samples" if spec.interleave is None \
            else spec.interleave
        self.work_dir = work_dir
        self._worker: PythonWorker | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_worker": None}  # each process starts its own worker

    def worker(self) -> PythonWorker:
        if self._worker is None:
            base = self.work_dir or Path(tempfile.gettempdir()) / "ratchet-python-target"
            self._worker = PythonWorker(self.spec.function, timeout_s=self.spec.timeout_s,
                                        log_path=base / "python-target.log",
                                        registry=children_registry(base))
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def baseline(self, space: Space) -> dict[str, Any]:
        return starting_values(space, self.spec.start)

    def evaluate(self, task: EvalTask) -> Measurement:
        started = time.monotonic()
        result = self.worker().call(dict(task.candidate.params), task.seed, task.size)
        seconds = time.monotonic() - started
        if self.outcome == "games":
            return _games(self.spec.function, result, seconds, task.size)
        return _samples(self.worker().function, result, seconds, task.size, self.spec.metric)


def _samples(function: str, result: Any, seconds: float, size: int,
             metric: str = "score") -> Measurement:
    metrics: dict[str, float] = {}
    if isinstance(result, Mapping):
        result = [result]
    if isinstance(result, list) and result and all(isinstance(r, Mapping) for r in result):
        result, metrics = _split_metrics(function, result, metric)
    try:
        values = [float(v) for v in result]
    except (TypeError, ValueError):
        raise EvaluationError(f"{function} returned {_short(result)}; expected a list of numbers "
                              "(outcome: samples)") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise EvaluationError(f"{function} returned {_short(result)}; expected a non-empty "
                              "list of finite numbers")
    if len(values) != size:
        raise EvaluationError(f"{function} returned {len(values)} numbers for size {size}; "
                              f"expected exactly {size} (one a run)")
    return Measurement("samples", tuple(values), cost_s=seconds, metrics=metrics)


def _split_metrics(function: str, runs: list[Mapping[str, Any]],
                   metric: str) -> tuple[list[Any], dict[str, float]]:
    """Each run's score (its ``metric``) and the mean of each other number it gave."""
    missing = [r for r in runs if metric not in r]
    if missing:
        raise EvaluationError(f"{function} returned {_short(missing[0])}, without "
                              f"{metric!r}; expected the score under that key (target.metric)")
    others: dict[str, list[float]] = {}
    for run in runs:
        for key, value in run.items():
            if key != metric and isinstance(value, int | float) and not isinstance(value, bool) \
                    and math.isfinite(value):
                others.setdefault(str(key), []).append(float(value))
    return ([r[metric] for r in runs],
            {k: sum(v) / len(v) for k, v in others.items() if len(v) == len(runs)})


def _games(function: str, result: Any, seconds: float, size: int) -> Measurement:
    if not isinstance(result, Mapping) or not {"wins", "draws", "losses"} <= set(result):
        raise EvaluationError(f"{function} returned {_short(result)}; expected a dict with wins, "
                              "draws and losses (outcome: games)")
    counts = [result[k] for k in ("wins", "draws", "losses")]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts) \
            or not sum(counts):
        raise EvaluationError(f"{function} returned {_short(result)}; wins, draws and losses must "
                              "be counts, not all zero")
    wins, draws, losses = counts
    if wins + draws + losses > size:
        raise EvaluationError(f"{function} returned {wins + draws + losses} games (wins "
                              f"{wins}, draws {draws}, losses {losses}) for size {size}; "
                              f"expected at most {size}")
    return Measurement("games", (1.0,) * wins + (0.5,) * draws + (0.0,) * losses,
                       cost_s=seconds)


def _short(result: Any) -> str:
    text = repr(result)
    return text if len(text) <= 120 else text[:117] + "..."


class PythonTargetSpec(Spec):
    """A Python function as the benchmark: ``objective(params, seed, size)``."""

    kind: Literal["python"] = "python"
    function: str | Callable[..., Any] = Field(
        description="'package.module:function', importable where ratchet runs (and on every "
        "worker); from Python, the function object itself")
    metric: str = Field("score", description="when the function returns a dict of numbers: "
                        "the key of the score (the others are stored as metrics)")
    outcome: Literal["games", "samples"] = Field("samples", description="samples: the "
                                                 "function returns size numbers; games: a "
                                                 "dict of wins, draws, losses")
    direction: Literal["maximize", "minimize"] = Field("maximize", description="which way "
                                                       "the samples are better")
    start: dict[str, Any] = Field(default_factory=dict, description="the starting "
                                  "champion's values (default: the middle of each range)")
    interleave: bool | None = Field(None, description="measure challenger and champion one "
                                    "call at a time, alternating; default: on for samples")

    timeout_s: float = Field(300.0, gt=0, le=7 * 24 * 3600, description="seconds one "
                             "call may take before its process is killed and the evaluation "
                             "fails")

    @field_validator("function")
    @classmethod
    def _importable(cls, value: str | Callable[..., Any]) -> str | Callable[..., Any]:
        if not isinstance(value, str):
            return by_name(value) or value  # by name where it can: a worker of its own
        check_importable(value)  # in a process of its own: its code may hang or exit
        return value

    @field_serializer("function")
    def _named(self, value: str | Callable[..., Any]) -> str:
        return value if isinstance(value, str) else callable_name(value)

    def check_recipe(self, recipe: RecipeView) -> None:
        executor = getattr(recipe.executor, "kind", "inline")
        if not isinstance(self.function, str) and executor != "inline":
            raise ValueError(f"target.function: {callable_name(self.function)} is a function "
                             f"no other process can import, so it runs with executor inline, "
                             f"not {executor}; move it into a module and name it "
                             "'module:function'")

    @model_validator(mode="after")
    def _check(self) -> PythonTargetSpec:
        if self.interleave and self.outcome != "samples":
            raise ValueError("interleave applies to outcome: samples")
        return self

    def create(self, context: BuildContext) -> PythonTarget:
        return PythonTarget(self, context.work_dir)
