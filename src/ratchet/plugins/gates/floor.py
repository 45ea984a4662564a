"""The `floor` gate: the challenger's mean this cycle is no worse than a set score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import Candidate, Evidence, GateResult
from ratchet.plugins.gates._base import Gate


@dataclass
class FloorGate(Gate):
    """The challenger's measured score (mean over this cycle) is at least ``min`` (at
    most, when the target is minimized)."""

    min: float
    direction: Literal["maximize", "minimize"] = "maximize"
    name = "floor"

    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        if not evidence.challenger:
            return GateResult(self.name, False, "no measurement to compare with the floor")
        score = sum(evidence.challenger) / len(evidence.challenger)
        if self.direction == "minimize":
            if score > self.min:
                return GateResult(self.name, False,
                                  f"score {score:.4g} above ceiling {self.min:g}")
            return GateResult(self.name, True, f"score {score:.4g} <= ceiling {self.min:g}")
        if score < self.min:
            return GateResult(self.name, False, f"score {score:.4g} below floor {self.min:g}")
        return GateResult(self.name, True, f"score {score:.4g} >= floor {self.min:g}")


class FloorSpec(Spec):
    """The challenger's mean at least ``min`` (at most, for a minimized target)."""

    kind: Literal["floor"] = "floor"
    min: float = Field(description="the worst acceptable score: the challenger's mean must "
                       "be at least this (at most, when the target is minimized)")

    def create(self, context: BuildContext) -> FloorGate:
        return FloorGate(float(self.min), context.direction)
