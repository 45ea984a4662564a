"""Judges: sequential tests that decide PROMOTE / REJECT / CONTINUE."""

from ratchet.plugins.judges._base import Judge
from ratchet.plugins.judges.sprt import SPRTJudge
from ratchet.plugins.judges.weighted import WeightedJudge
from ratchet.plugins.judges.welch import WelchJudge

JUDGES: dict[str, type[Judge]] = {"sprt": SPRTJudge, "welch": WelchJudge,
                                   "weighted": WeightedJudge}

__all__ = ["JUDGES", "Judge", "SPRTJudge", "WeightedJudge", "WelchJudge"]
