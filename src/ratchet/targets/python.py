"""The ``python`` target: a Python function is the benchmark, no CLI wrapper needed.

    target: {kind: python, function: "my_package.bench:objective", outcome: samples,
             direction: maximize}

The function is called as ``objective(params: dict, seed: int, size: int)`` and returns a
list of ``size`` numbers (``outcome: samples``) or, with ``outcome: games``, a dict with
``wins``, ``draws`` and ``losses``. An exception it raises is a failed evaluation with its
message. ``apply`` does nothing: the champion is in the store and in ``champion.json``.
With ``outcome: samples`` challenger and champion are measured one call of size 1 at a
time, alternating (ABBA), as for a command target (``interleave: false`` to turn it off).
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ratchet.errors import EvaluationError
from ratchet.plugins import BuildContext, Spec
from ratchet.space import Space
from ratchet.targets._base import Target, starting_values
from ratchet.types import EvalTask, Measurement, OutcomeKind

Objective = Callable[[dict[str, Any], int, int], Any]


def import_function(path: str) -> Objective:
    """``package.module:function`` (or ``package.module.function``) to the function."""
    module_name, sep, name = path.partition(":")
    if not sep:
        module_name, _, name = path.rpartition(".")
    if not module_name or not name:
        raise ValueError(f"function {path!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"function {path!r}: cannot import {module_name}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"function {path!r}: {module_name} has no function {name!r}")
    return function  # type: ignore[no-any-return]


class PythonTarget(Target):
    name = "python"

    def __init__(self, function: str, *, outcome: OutcomeKind = "samples",
                 start: Mapping[str, Any] | None = None, interleave: bool | None = None):
        self.function = function
        self.outcome = outcome
        self.interleaved = outcome == "samples" if interleave is None else interleave
        self.start = dict(start or {})
        self._objective: Objective | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_objective": None}  # workers import it themselves

    def objective(self) -> Objective:
        if self._objective is None:
            self._objective = import_function(self.function)
        return self._objective

    def baseline(self, space: Space) -> dict[str, Any]:
        return starting_values(space, self.start)

    def evaluate(self, task: EvalTask) -> Measurement:
        started = time.monotonic()
        try:
            result = self.objective()(dict(task.candidate.params), task.seed, task.size)
        except EvaluationError:
            raise
        except Exception as exc:
            raise EvaluationError(f"{self.function} raised {type(exc).__name__}: "
                                  f"{exc}") from None
        seconds = time.monotonic() - started
        if self.outcome == "games":
            return _games(self.function, result, seconds)
        return _samples(self.function, result, seconds)


def _samples(function: str, result: Any, seconds: float) -> Measurement:
    try:
        values = [float(v) for v in result]
    except (TypeError, ValueError):
        raise EvaluationError(f"{function} returned {result!r}; expected a list of numbers "
                              "(outcome: samples)") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise EvaluationError(f"{function} returned {result!r}; expected a non-empty list of "
                              "finite numbers")
    return Measurement("samples", tuple(values), cost_s=seconds)


def _games(function: str, result: Any, seconds: float) -> Measurement:
    if not isinstance(result, Mapping) or not {"wins", "draws", "losses"} <= set(result):
        raise EvaluationError(f"{function} returned {result!r}; expected a dict with wins, "
                              "draws and losses (outcome: games)")
    counts = [result[k] for k in ("wins", "draws", "losses")]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts) \
            or not sum(counts):
        raise EvaluationError(f"{function} returned {result!r}; wins, draws and losses must "
                              "be counts, not all zero")
    wins, draws, losses = counts
    return Measurement("games", (1.0,) * wins + (0.5,) * draws + (0.0,) * losses,
                       cost_s=seconds)


class PythonTargetSpec(Spec):
    """A Python function as the benchmark: ``objective(params, seed, size)``."""

    kind: Literal["python"] = "python"
    function: str = Field(description="'package.module:function', importable where ratchet "
                          "runs (and on every worker)")
    outcome: Literal["games", "samples"] = Field("samples", description="samples: the "
                                                 "function returns size numbers; games: a "
                                                 "dict of wins, draws, losses")
    direction: Literal["maximize", "minimize"] = Field("maximize", description="which way "
                                                       "the samples are better")
    start: dict[str, Any] = Field(default_factory=dict, description="the starting "
                                  "champion's values (default: the middle of each range)")
    interleave: bool | None = Field(None, description="measure challenger and champion one "
                                    "call at a time, alternating; default: on for samples")

    @field_validator("function")
    @classmethod
    def _importable(cls, value: str) -> str:
        import_function(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> PythonTargetSpec:
        if self.interleave and self.outcome != "samples":
            raise ValueError("interleave applies to outcome: samples")
        return self

    def create(self, context: BuildContext) -> PythonTarget:
        return PythonTarget(self.function, outcome=self.outcome, start=self.start,
                            interleave=self.interleave)
