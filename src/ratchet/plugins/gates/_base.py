"""Gates: pass/fail checks with a reason, run before a promotion. A gate that crashes fails
closed — a broken check never lets a candidate through. Each kind is its own module with
its Spec (``range``, ``floor``, ``approval``); ``TargetChecks`` runs a target's own checks
and is added by the factory, not by a recipe."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from ratchet.core.types import Candidate, Evidence, GateResult

log = logging.getLogger(__name__)


class Gate(ABC):
    name: ClassVar[str]

    @abstractmethod
    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult | list[GateResult]:
        """Whether ``candidate`` may be promoted on this ``evidence`` (one result per
        check)."""


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
        except Exception as exc:
            log.error("gate %s crashed: %s", gate.name, exc, exc_info=True)
            results.append(GateResult(gate.name, False, "gate crashed (failing closed)"))
    return results
