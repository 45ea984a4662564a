"""Constraints on a benchmark's other metrics: ``constraints: {ratio: {min: 5.5}}``.

A challenger is promoted only when every constraint is shown to hold with the judge's
confidence, as its score is: each batch's value of the metric is one observation, and the
one-sided Student-t bound of their mean must clear the bound (``ratio``'s lower bound at
least 5.5), at the judge's alpha for that look (welch spends its alpha over its looks).
One whose bound shows it clearly breaks a constraint is rejected at once; one whose score
wins but whose constraint is still in doubt is measured further, up to the judge's
maximum, and rejected if still in doubt there. A constraint is never read from a single
run. ``python -m bench.constraints`` measures how often one at its bound gets through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ratchet.core.types import Decision, Evidence, Verdict

Standing = Literal["holds", "breaks", "unsure", "missing"]


class Bound(BaseModel):
    """One metric's bounds: at least ``min``, at most ``max``, or both."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    min: float | None = Field(None, description="the metric's mean must be at least this")
    max: float | None = Field(None, description="the metric's mean must be at most this")

    @model_validator(mode="after")
    def _one(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a constraint needs min, max or both (e.g. {min: 5.5})")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def text(self, name: str) -> str:
        parts = ([f"{name} >= {self.min:g}"] if self.min is not None else []) + \
            ([f"{name} <= {self.max:g}"] if self.max is not None else [])
        return " and ".join(parts)


@dataclass(frozen=True)
class Check:
    name: str
    bound: Bound
    standing: Standing
    mean: float | None = None
    low: float | None = None   # the one-sided bounds at the confidence asked
    high: float | None = None
    n: int = 0

    def text(self) -> str:
        rule = self.bound.text(self.name)
        if self.standing == "missing":
            return f"the benchmark gave no {self.name!r} value (constraint {rule})"
        if self.mean is None or self.low is None or self.high is None:
            return f"{rule}: {self.n} value(s), too few to judge"
        return f"{rule}: mean {self.mean:.4g} in [{self.low:.4g}, {self.high:.4g}], n={self.n}"

    def to_dict(self) -> dict[str, Any]:
        return {"standing": self.standing, "mean": self.mean, "low": self.low,
                "high": self.high, "n": self.n, "min": self.bound.min, "max": self.bound.max}


@dataclass(frozen=True)
class Constraints:
    """The recipe's constraints, applied to a judge's verdicts on the challenger."""

    bounds: dict[str, Bound] = field(default_factory=dict)
    confidence: float = 0.95
    max_n: int | None = None  # the judge's maximum: past it, a doubt is a rejection

    def check(self, name: str, values: list[float], alpha: float | None = None) -> Check:
        """Where ``name``'s mean stands against its bound, by a one-sided Student-t bound
        at ``alpha`` (default: 1 - confidence)."""
        alpha = 1 - self.confidence if alpha is None else alpha
        bound = self.bounds[name]
        n = len(values)
        if n == 0:
            return Check(name, bound, "missing")
        mean = sum(values) / n
        if n < 2:
            return Check(name, bound, "unsure", mean, None, None, n)
        from scipy.stats import t

        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(t.ppf(1 - alpha, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        breaks = (bound.min is not None and high < bound.min) or \
            (bound.max is not None and low > bound.max)
        holds = (bound.min is None or low >= bound.min) and \
            (bound.max is None or high <= bound.max)
        return Check(name, bound, "breaks" if breaks else "holds" if holds else "unsure",
                     mean, low, high, n)

    def review(self, verdict: Verdict, evidence: Evidence) -> Verdict:
        """The judge's verdict with the constraints applied."""
        if not self.bounds or verdict.decision in (Decision.REJECT, Decision.FAILED):
            return verdict
        # the judge's share of alpha for this look (welch: Bonferroni over its looks), so
        # that looking after every batch does not inflate the error
        alpha = verdict.stats.get("alpha_per_look")
        checks = [self.check(name, [m[name] for m in evidence.challenger_metrics
                                    if name in m], alpha) for name in self.bounds]
        stats = {**verdict.stats, "constraints": {c.name: c.to_dict() for c in checks}}
        broken = [c for c in checks if c.standing in ("breaks", "missing")]
        if broken and evidence.challenger_metrics:
            what = "constraint broken" if broken[0].standing == "breaks" else "rejected"
            return Verdict(Decision.REJECT, f"{what}: {broken[0].text()}", stats)
        if verdict.decision is not Decision.PROMOTE:
            return replace(verdict, stats=stats)
        unsure = [c for c in checks if c.standing != "holds"]
        if not unsure:
            return Verdict(Decision.PROMOTE, verdict.reason + "; constraints hold: " +
                           "; ".join(c.text() for c in checks), stats)
        if self.max_n is not None and evidence.n >= self.max_n:
            return Verdict(Decision.REJECT, f"{verdict.reason}, but constraint not shown to "
                           f"hold at the maximum: {unsure[0].text()}",
                           {**stats, "inconclusive": True})
        return Verdict(Decision.CONTINUE, f"score proven better; constraint not yet shown "
                       f"to hold: {unsure[0].text()}", stats)


    def observed_feasible(self, evidence: Evidence) -> bool:
        """Whether the challenger's measured metrics lie within the bounds, on their means
        as measured (no test): what screening and the strategy go by. The promotion goes
        by ``review``'s test."""
        for name, bound in self.bounds.items():
            values = [m[name] for m in evidence.challenger_metrics if name in m]
            if not values:
                if evidence.challenger_metrics:
                    return False
                continue
            mean = sum(values) / len(values)
            if (bound.min is not None and mean < bound.min) or \
                    (bound.max is not None and mean > bound.max):
                return False
        return True


def judge_maximum(judge: Any) -> int | None:
    """The judge's most samples (or games) a side: where a doubt must end."""
    for name in ("max_samples", "max_games"):
        value = getattr(judge, name, None)
        if isinstance(value, int):
            return value
    return None
