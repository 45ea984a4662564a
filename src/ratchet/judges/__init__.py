"""Judges: sequential tests that decide PROMOTE / REJECT / CONTINUE."""

from ratchet.judges._base import Judge
from ratchet.judges.sprt import SPRTJudge
from ratchet.judges.weighted import WeightedJudge
from ratchet.judges.welch import WelchJudge

JUDGES: dict[str, type[Judge]] = {"sprt": SPRTJudge, "welch": WelchJudge,
                                   "weighted": WeightedJudge}

__all__ = ["JUDGES", "Judge", "SPRTJudge", "WeightedJudge", "WelchJudge"]
