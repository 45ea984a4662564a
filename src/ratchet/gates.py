"""Gates: pass/fail checks with a reason, run before a promotion. A gate that crashes fails
closed — a broken check never lets a candidate through."""

from __future__ import annotations

import logging
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ratchet.errors import SpaceError
from ratchet.space import Space
from ratchet.types import Candidate, Evidence, GateResult

__all__ = ["ApprovalGate", "FloorGate", "Gate", "GateResult", "RangeGate", "TargetChecks",
           "run_gates"]

log = logging.getLogger(__name__)


class Gate(ABC):
    name: ClassVar[str]

    @abstractmethod
    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult | list[GateResult]:
        """Whether ``candidate`` may be promoted on this ``evidence`` (one result per
        check)."""


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


@dataclass
class ApprovalGate(Gate):
    """Every challenger the judge passed waits for a person: `ratchet promote ID`."""

    name = "approval"

    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        return GateResult(self.name, False, "passed; waiting for approval: `ratchet promote "
                          f"{candidate.id}`")


@dataclass
class TargetChecks(Gate):
    """The target's own checks (``Target.promotion_checks``): the selfplay target's
    regression gate, for one. An empty list passes nothing and refuses nothing."""

    target: Any
    name = "target"

    def check(self, candidate: Candidate, evidence: Evidence) -> list[GateResult]:
        return list(self.target.promotion_checks(candidate))


def run_gates(gates: list[Gate], candidate: Candidate, evidence: Evidence) -> list[GateResult]:
    results: list[GateResult] = []
    for gate in gates:
        try:
            found = gate.check(candidate, evidence)
            results.extend(found if isinstance(found, list) else [found])
        except Exception:
            log.error("gate %s crashed:\n%s", gate.name, traceback.format_exc())
            results.append(GateResult(gate.name, False, "gate crashed (failing closed)"))
    return results
