"""Evolve a model: architecture moves and hyperparameter moves from the champion, with a
step size that adapts to how often moves succeed (the 1/5th success rule of (1+1)-ES).

* Architecture parameters (``architecture``, e.g. state_dim, hidden_dim, layers): a width
  grows or shrinks by ``arch_scale`` (20%) of its value, at least by one; a depth-like
  integer (range of at most 8) moves by one.
* Other parameters: log-scale ones are multiplied by exp(±U(0.5, 1) * 2 * step), linear
  ones move by ±U(0.5, 1) * step of their range, categorical ones switch. With
  probability ``explore`` a numeric one is instead drawn afresh over its whole range
  (log-uniformly for log-scale ones): the occasional long jump local moves never make.

Each proposal is either an architecture move or a hyperparameter move (one to
``params_per_step`` parameters). The step starts at ``scale`` and is multiplied by 1.5
after a promotion and by 0.9 otherwise (so it holds steady at a 1-in-5 success rate),
within [scale / 4, 2.5 * scale]; on resume it is replayed from the run's history. Only
the space's parameters are moved: the target refuses a space naming what it does not read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Param, Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies._base import Direction, Strategy


class EvolveSpec(Spec):
    """A (1+1) evolution strategy over hyperparameters and architecture (cartpole)."""

    kind: Literal["evolve"] = "evolve"
    architecture: list[str] = Field(default_factory=lambda: ["state_dim", "hidden_dim",
                                                             "layers"],
                                    description="parameters that change the network's shape")
    scale: float = Field(0.2, gt=0, le=1, description="starting size of a hyperparameter "
                         "move (relative; adapted by the 1/5th success rule)")
    arch_scale: float = Field(0.2, gt=0, le=1, description="relative size of a width move")
    explore: float = Field(0.0, ge=0, le=1, description="share of hyperparameter moves "
                           "drawn afresh over the parameter's whole range")
    params_per_step: tuple[int, int] = Field((1, 2), description="how many parameters a "
                                             "step changes: [low, high]")

    def create(self, context: BuildContext) -> EvolveStrategy:
        return EvolveStrategy.from_spec(self, context)  # type: ignore[return-value]


class EvolveStrategy(Strategy):
    name = "evolve"

    options_spec = EvolveSpec

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        super().__init__(space, seed=seed, direction=direction, **options)
        architecture = self.options.architecture
        self.arch = [p for p in space if p.name in architecture]
        self.hyper = [p for p in space if p.name not in architecture]
        self.scale = self.options.scale
        self.arch_scale = self.options.arch_scale
        self.explore = self.options.explore
        self.step = self.scale
        self.params_per_step = self.options.params_per_step
        self.proposals = 0

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        for _ in range(100):
            rng = np.random.default_rng([self.seed, self.proposals])
            self.proposals += 1
            pool = self.arch if self.arch and (not self.hyper or rng.random() < 0.5) \
                else self.hyper
            lo, hi = self.params_per_step
            k = min(int(rng.integers(lo, hi + 1)), len(pool))
            chosen = [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]
            params = dict(champion.params)
            for p in chosen:
                params[p.name] = self._move(p, params[p.name], rng, p in self.arch)
            changed = [f"{p.name} {champion.params[p.name]} -> {params[p.name]}"
                       for p in chosen if params[p.name] != champion.params[p.name]]
            if changed:
                kind = "architecture" if pool is self.arch else "hyperparameters"
                return self._candidate(params, champion, f"{kind}: " + ", ".join(changed))
        raise RuntimeError("evolve could not find a change: is every parameter pinned?")

    def _move(self, p: Param, value: Any, rng: np.random.Generator, arch: bool) -> Any:
        if not p.is_numeric:
            others = [o for o in p.options if o != value]
            return others[int(rng.integers(len(others)))]
        if not arch and self.explore and rng.random() < self.explore:
            return self._draw(p, rng)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        if p.type == "int" and (arch or p.high - p.low <= 8):  # type: ignore[operator]
            if p.high - p.low <= 8:  # type: ignore[operator]
                return p.clip(value + sign)
            delta = max(1, round(abs(value) * self.arch_scale))
            return p.clip(value + sign * delta)
        size = sign * rng.uniform(0.5, 1.0) * self.step
        if p.type == "logfloat":
            return p.clip(value * math.exp(2 * size))
        moved = p.clip(value + size * (p.high - p.low))  # type: ignore[operator]
        if p.type == "int" and moved == value:
            moved = p.clip(value + sign)
        return moved

    @staticmethod
    def _draw(p: Param, rng: np.random.Generator) -> Any:
        low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
        if p.type == "logfloat":
            return p.clip(math.exp(rng.uniform(math.log(low), math.log(high))))
        if p.type == "int":  # each whole value equally likely
            return p.clip(rng.uniform(low - 0.5, high + 0.5))
        return p.clip(rng.uniform(low, high))

    def observe(self, trial: Trial) -> None:
        if trial.decision is Decision.PROMOTE:
            self.step = min(self.step * 1.5, 2.5 * self.scale)
        elif trial.decision in (Decision.REJECT, Decision.GATED):
            self.step = max(self.step * 0.9, self.scale / 4)

    def restore(self, history: Sequence[Trial]) -> None:
        self.step = self.scale
        for trial in history:
            self.observe(trial)

    def state_dict(self) -> dict[str, Any]:
        return {"proposals": self.proposals, "step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.proposals = int(state.get("proposals", 0))
        self.step = float(state.get("step", self.scale))

