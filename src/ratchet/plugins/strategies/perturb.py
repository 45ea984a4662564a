"""Seed 004's move, done carefully: change a few parameters by up to ±scale.

The step is a fraction of the parameter's range by default (so a weight at 0 can move), or
of its current value with ``relative_to: value``. Results are clipped to the space. The
random stream is derived from (seed, proposal number), so a resumed run proposes exactly
what an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Param, Space
from ratchet.core.types import Candidate, Trial
from ratchet.plugins.strategies._base import Direction, Strategy


class PerturbSpec(Spec):
    """Change a few parameters of the champion by a random step."""

    kind: Literal["perturb"] = "perturb"
    params_per_step: tuple[int, int] = Field((3, 5), description="how many parameters a "
                                             "step changes: [low, high]")
    scale: float = Field(0.15, gt=0, le=1, description="step size (relative); a categorical "
                         "or boolean parameter a step touches changes with probability "
                         "2 * scale")
    relative_to: Literal["range", "value"] = Field("range", description="what the step "
                                                   "is relative to")

    @model_validator(mode="after")
    def _check(self) -> PerturbSpec:
        lo, hi = self.params_per_step
        if not 1 <= lo <= hi:
            raise ValueError("params_per_step must be [low, high] with 1 <= low <= high")
        return self

    def create(self, context: BuildContext) -> PerturbStrategy:
        return PerturbStrategy.from_spec(self, context)  # type: ignore[return-value]


class PerturbStrategy(Strategy):
    name = "perturb"
    options_spec = PerturbSpec

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        super().__init__(space, seed=seed, direction=direction, **options)
        self.params_per_step = self.options.params_per_step
        self.scale = self.options.scale
        self.relative_to = self.options.relative_to
        self.proposals = 0

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        for _ in range(100):
            rng = np.random.default_rng([self.seed, self.proposals])
            self.proposals += 1
            params, changed = self._step(champion.params, rng)
            if params != champion.params:
                return self._candidate(params, champion, "changed " + ", ".join(changed))
        raise RuntimeError("perturb could not find a change: is every parameter pinned?")

    def _step(self, params: dict[str, Any], rng: np.random.Generator):
        lo, hi = self.params_per_step
        k = min(int(rng.integers(lo, hi + 1)), len(self.space))
        chosen = rng.choice(len(self.space), size=k, replace=False)
        new = dict(params)
        names = []
        for i in sorted(chosen):
            p = self.space.params[i]
            new[p.name] = self._move(p, params[p.name], rng)
            if new[p.name] != params[p.name]:
                names.append(p.name)
        return new, names

    def _move(self, p: Param, value: Any, rng: np.random.Generator) -> Any:
        if not p.is_numeric:
            # a step of `scale` moves a number by up to scale of its range; an option
            # changes with probability 2 * scale, so that a step does not flip them all
            if rng.uniform() >= min(1.0, 2 * self.scale):
                return value
            others = [o for o in p.options if o != value]
            return others[int(rng.integers(len(others)))]
        u = rng.uniform(-self.scale, self.scale)
        if p.type == "logfloat":
            log_lo, log_hi = math.log(p.low), math.log(p.high)
            base = (log_hi - log_lo) if self.relative_to == "range" else abs(math.log(value))
            return p.clip(math.exp(math.log(value) + u * base))
        base = (p.high - p.low) if self.relative_to == "range" else abs(value)
        moved = p.clip(value + u * base)
        if p.type == "int" and moved == value:  # a small int range must still move
            moved = p.clip(value + (1 if u >= 0 else -1))
        return moved

    def state_dict(self) -> dict[str, Any]:
        return {"proposals": self.proposals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.proposals = int(state.get("proposals", 0))

