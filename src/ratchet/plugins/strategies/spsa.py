"""SPSA, the way chess-engine test farms tune evaluation weights: a point ``theta`` moves
by simultaneous perturbation. Each step proposes ``theta + c_k * delta`` and then
``theta - c_k * delta`` (``delta`` a random +-1 per parameter), both measured against the
champion on shared seeds; the difference of their gains over the champion moves ``theta``
along ``delta``. The perturbation ``c_k`` and the step shrink as in Spall's schedule
(``alpha`` 0.602, ``gamma`` 0.101, ``A`` a tenth of ``iterations``).

Every parameter is searched in its range scaled to [0, 1] (a logfloat on the log scale),
so one ``c_end`` fits them all; ints are rounded when proposed. The gain difference is
divided by the typical difference seen so far, so a step does not depend on the metric's
units: a pair whose difference is the typical one moves ``theta`` by ``learning_rate``
perturbations. Only numeric parameters can be tuned this way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Param, Space
from ratchet.core.types import Candidate, Trial
from ratchet.plugins.strategies._base import Direction, Strategy


class SPSASpec(Spec):
    """Simultaneous perturbation: pairs of challengers either side of a moving point."""

    kind: Literal["spsa"] = "spsa"
    iterations: int = Field(200, ge=2, description="pairs of challengers the schedule is "
                            "planned for: c and the step reach their end values here")
    c_end: float = Field(0.05, gt=0, le=0.5, description="the perturbation at the end, a "
                         "fraction of each parameter's range (larger at the start)")
    learning_rate: float = Field(1.0, gt=0, description="perturbations a step moves the "
                                 "point for a pair whose gain difference is the typical one")
    alpha: float = Field(0.602, gt=0, le=1, description="decay of the step")
    gamma: float = Field(0.101, gt=0, le=1, description="decay of the perturbation")

    def check_space(self, space: Space) -> None:
        numeric = [p.name for p in space if p.is_numeric]
        if len(numeric) != len(space):
            others = sorted(set(space.names) - set(numeric))
            raise ValueError(f"spsa tunes numeric parameters only; {others} are not "
                             "(use tpe, or leave them out of the space)")

    def create(self, context: BuildContext) -> SPSAStrategy:
        return SPSAStrategy.from_spec(self, context)  # type: ignore[return-value]


class SPSAStrategy(Strategy):
    name = "spsa"
    options_spec = SPSASpec
    proposes_several = False  # the minus side follows the plus side's result

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        super().__init__(space, seed=seed, direction=direction, **options)
        self.theta: list[float] | None = None  # the point, each parameter in [0, 1]
        self.k = 1                             # the pair in progress
        self.plus_gain: float | None = None    # its plus side's gain, once measured
        self.scale = 0.0                       # the typical gain difference so far
        self.pairs = 0

    # -- the schedule ---------------------------------------------------------------
    def _c(self, k: int) -> float:
        o = self.options
        return float(o.c_end * (o.iterations / k) ** o.gamma)

    def _c_vector(self, k: int) -> np.ndarray:
        """The perturbation of each parameter: an int's at least 0.6 of a step, so that
        both sides of a pair round to values other than the point's."""
        c = self._c(k)
        return np.asarray([max(c, 0.6 / (float(p.high) - float(p.low)))  # type: ignore[arg-type]
                           if p.type == "int" else c for p in self.space])

    def _step(self, k: int) -> float:
        o = self.options
        big_a = 0.1 * o.iterations
        return float(o.learning_rate * ((big_a + 1) / (big_a + k)) ** o.alpha)

    def _delta(self, k: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, k])
        return rng.choice([-1.0, 1.0], size=len(self.space))

    # -- proposing and learning -----------------------------------------------------
    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        if self.theta is None:
            self.theta = [_unit(p, champion.params[p.name]) for p in self.space]
        side = 1.0 if self.plus_gain is None else -1.0
        c = self._c(self.k)
        point = np.clip(np.asarray(self.theta) + side * self._c_vector(self.k)
                        * self._delta(self.k), 0.0, 1.0)
        params = {p.name: _value(p, u) for p, u in zip(self.space, point, strict=True)}
        sign = "+" if side > 0 else "-"
        return self._candidate(params, champion, f"spsa pair {self.k}: theta {sign} "
                                                 f"{c:.3g} * delta")

    def observe(self, trial: Trial) -> None:
        if trial.candidate.origin != self.name or self.theta is None:
            return
        gain = _gain(trial, self.direction)
        if self.plus_gain is None:
            self.plus_gain = gain
            return
        difference = self.plus_gain - gain
        self.pairs += 1
        self.scale += (abs(difference) - self.scale) / self.pairs  # the running mean
        if self.scale > 0:
            move = self._step(self.k) * difference / self.scale
            self.theta = [float(u) for u in np.clip(
                np.asarray(self.theta) + move * self._c_vector(self.k) * self._delta(self.k),
                0.0, 1.0)]
        self.k += 1
        self.plus_gain = None

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta, "k": self.k, "plus_gain": self.plus_gain,
                "scale": self.scale, "pairs": self.pairs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.theta = state.get("theta")
        self.k = int(state.get("k", 1))
        self.plus_gain = state.get("plus_gain")
        self.scale = float(state.get("scale", 0.0))
        self.pairs = int(state.get("pairs", 0))


def _gain(trial: Trial, direction: Direction) -> float:
    """The challenger's gain over the champion on the same seeds (0 when unmeasured: a
    failed evaluation says nothing of the direction)."""
    if trial.score is None or trial.champion_score is None:
        return 0.0
    gain = trial.score - trial.champion_score
    return gain if direction == "maximize" else -gain


def _unit(p: Param, value: float) -> float:
    low, high, v = float(p.low), float(p.high), float(value)  # type: ignore[arg-type]
    if p.type == "logfloat":
        low, high, v = math.log(low), math.log(high), math.log(v)
    return (v - low) / (high - low)


def _value(p: Param, u: float) -> Any:
    low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
    if p.type == "logfloat":
        return p.clip(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return p.clip(low + u * (high - low))
