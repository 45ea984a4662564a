"""Gates: pass/fail checks with a reason, run before a promotion. A gate that crashes fails
closed — a broken check never lets a candidate through."""

from __future__ import annotations

import logging
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from ratchet.errors import SpaceError
from ratchet.space import Space
from ratchet.types import Candidate, Evidence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reason: str


class Gate(ABC):
    name: ClassVar[str]

    @abstractmethod
    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        """Whether ``candidate`` may be promoted on this ``evidence``."""


@dataclass
class RangeGate(Gate):
    """The candidate's values lie in the space, and in optional tighter ``bounds``."""

    space: Space
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    name = "range"

    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        try:
            self.space.validate(candidate.params)
        except SpaceError as exc:
            return GateResult(self.name, False, str(exc))
        for key, (low, high) in self.bounds.items():
            value = candidate.params.get(key)
            if not isinstance(value, int | float) or not low <= value <= high:
                return GateResult(self.name, False, f"{key}: {value} outside [{low}, {high}]")
        return GateResult(self.name, True, "all values in range")


@dataclass
class FloorGate(Gate):
    """The challenger's measured score (mean over this cycle) is at least ``min``."""

    min: float
    name = "floor"

    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        if not evidence.challenger:
            return GateResult(self.name, False, "no measurement to compare with the floor")
        score = sum(evidence.challenger) / len(evidence.challenger)
        if score < self.min:
            return GateResult(self.name, False, f"score {score:.4g} below floor {self.min:g}")
        return GateResult(self.name, True, f"score {score:.4g} >= floor {self.min:g}")


def run_gates(gates: list[Gate], candidate: Candidate, evidence: Evidence) -> list[GateResult]:
    results = []
    for gate in gates:
        try:
            results.append(gate.check(candidate, evidence))
        except Exception:
            log.error("gate %s crashed:\n%s", gate.name, traceback.format_exc())
            results.append(GateResult(gate.name, False, "gate crashed (failing closed)"))
    return results
