"""The `approval` gate: no automatic promotion; a person promotes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.types import Candidate, Evidence, GateResult
from ratchet.plugins.gates._base import Gate


@dataclass
class ApprovalGate(Gate):
    """Every challenger the judge passed waits for a person: `ratchet promote ID`."""

    name = "approval"

    def check(self, candidate: Candidate, evidence: Evidence) -> GateResult:
        return GateResult(self.name, False, "passed; waiting for approval: `ratchet promote "
                          f"{candidate.id}`")


class ApprovalSpec(Spec):
    """No automatic promotion: a passed challenger waits for `ratchet promote ID` (or the
    dashboard's token-protected promote)."""

    kind: Literal["approval"] = "approval"

    def create(self, context: BuildContext) -> ApprovalGate:
        return ApprovalGate()
