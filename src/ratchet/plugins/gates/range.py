"""The `range` gate: the challenger's values lie in the space, and in tighter bounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from ratchet.core.errors import SpaceError
from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Space
from ratchet.core.types import Candidate, Evidence, GateResult
from ratchet.plugins.gates._base import Gate


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


class RangeSpec(Spec):
    """Parameters within the space and within optional tighter bounds."""

    kind: Literal["range"] = "range"
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict, description=
                                                   "parameter -> [low, high]")

    def create(self, context: BuildContext) -> RangeGate:
        return RangeGate(context.space, dict(self.bounds))
