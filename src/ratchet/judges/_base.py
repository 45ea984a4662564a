"""The Judge protocol: PROMOTE / REJECT / CONTINUE from challenger-vs-champion evidence."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ratchet.types import Evidence, OutcomeKind, Verdict


class Judge(ABC):
    """A sequential test. The loop gathers ``batch`` more games or samples per call of
    ``decide`` until the verdict is final."""

    name: ClassVar[str]
    outcome: ClassVar[OutcomeKind]
    batch: int

    @abstractmethod
    def decide(self, evidence: Evidence) -> Verdict:
        """Verdict on the evidence gathered so far in this cycle."""
