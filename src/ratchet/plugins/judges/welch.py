"""Sequential one-sided Welch test on scalar samples (benchmark runs, episodes).

H1: the challenger's mean beats the champion's by at least the margin, stated either way:
``min_improvement`` relative to the champion's mean (mean_c > (1 + m) * mean_h when
maximizing, mean_c < (1 - m) * mean_h when minimizing) or ``min_difference`` in the
metric's own units (mean_c > mean_h + d, or mean_c < mean_h - d). By default the margin is
0: any gain the test can prove (a relative margin does not suit every metric: 1% of an
accuracy of 0.986 is most of what is left to gain).

After every batch the judge looks once; to keep the false-promotion rate at
``1 - confidence`` over all looks, each look tests at ``(1 - confidence) / looks``
(Bonferroni over the ``max_samples / batch`` possible looks). It rejects early when the
one-sided ``1 - futility`` upper confidence bound of the improvement falls below the
margin (a challenger truly better by exactly the margin is stopped this way with
probability at most ``futility`` per look), and at ``max_samples``.

When the runs were interleaved (``Evidence.pairs_complete``), the test is a paired t-test
on the differences of neighbouring runs, ``c_i - (1 + m) h_i - d``: drift that both runs of
a pair share cancels, instead of passing for an improvement. Where a batch's scores share
a term (``Evidence.batch_unit``) the pairs are the batches' means: its runs are not
independent, and counting them as such would overstate the evidence. No verdict either
way before ``min_samples`` a side (10 by default: three noisy timing runs a side decide
nothing).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.registry import BuildContext
from ratchet.core.types import Decision, Evidence, Verdict
from ratchet.plugins.judges._base import Judge

if TYPE_CHECKING:
    from ratchet.core.registry import RecipeView


class WelchJudge(Judge):
    kind: Literal["welch"] = "welch"
    min_improvement: float = Field(0.0, ge=0, description="relative gain to prove: 0.01 is "
                                   "1% of the champion's mean (0: any gain the test can "
                                   "prove)")
    min_difference: float | None = Field(None, ge=0, description="absolute gain to prove, "
                                         "in the metric's units (instead of "
                                         "min_improvement)")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="1 - false promotion rate")
    batch: int = Field(3, ge=1, description="samples a side between looks")
    min_samples: int = Field(10, ge=5, description="samples a side before any verdict; "
                             "fewer noisy timing runs decide nothing")
    max_samples: int = Field(30, ge=2, description="inconclusive here means reject")
    futility: float = Field(0.2, gt=0, lt=0.5, description="chance of stopping a "
                            "challenger that is exactly min_improvement better")
    direction: Literal["maximize", "minimize"] = Field(
        "maximize", exclude=True, description="taken from the target, not a recipe key")

    name: ClassVar[str] = "welch"
    outcome: ClassVar[Literal["samples"]] = "samples"

    @model_validator(mode="after")
    def _check_samples(self) -> WelchJudge:
        if self.min_difference is not None and self.min_improvement:
            raise ValueError("give min_improvement (relative) or min_difference (absolute), "
                             "not both")
        if self.max_samples < self.min_samples:
            raise ValueError(f"max_samples ({self.max_samples}) must be at least "
                             f"min_samples ({self.min_samples})")
        return self

    def create(self, context: BuildContext) -> WelchJudge:
        return self.model_copy(update={"direction": context.direction})

    def check_recipe(self, recipe: RecipeView) -> None:
        super().check_recipe(recipe)
        if "direction" in self.model_fields_set:
            raise ValueError("judge.direction is not a recipe key: the target's direction "
                             "says which way is better")

    @property
    def looks(self) -> int:
        return max(1, math.ceil(self.max_samples / self.batch))

    def decide(self, evidence: Evidence) -> Verdict:
        from scipy import stats as st  # lazy: keeps `ratchet status` quick to start

        c = np.asarray(evidence.challenger, dtype=float)
        h = np.asarray(evidence.champion, dtype=float)
        n = min(len(c), len(h))
        if n < max(2, self.min_samples):
            return Verdict(Decision.CONTINUE, f"{n} samples < min {max(2, self.min_samples)}",
                           {"n": n})
        sign = 1.0 if self.direction == "maximize" else -1.0
        factor = 1.0 + sign * self.min_improvement
        shift = sign * (self.min_difference or 0.0)
        if evidence.pairs_complete and len(evidence.pairs) < 2:
            return Verdict(Decision.CONTINUE, "one interleaved batch: a second is needed to "
                           "see the spread", {"n": n})
        if evidence.pairs_complete:
            diff, se, se_h, df = _paired(np.asarray(evidence.pairs, dtype=float), factor)
        else:
            diff, se, se_h, df = _welch(c, h, factor)
        diff -= shift
        alpha_look = (1.0 - self.confidence) / self.looks
        t = sign * diff / se if se > 0 else (math.inf if sign * diff > 0 else -math.inf)
        p_value = float(st.t.sf(t, df)) if math.isfinite(t) else (0.0 if t > 0 else 1.0)
        rel = (c.mean() - h.mean()) / abs(h.mean()) if h.mean() else math.inf
        q = st.t.ppf(1 - self.futility, df)
        best_case = sign * (c.mean() - h.mean()) + q * se_h  # upper bound of the gain
        stats = {"n": n, "challenger_mean": float(c.mean()), "champion_mean": float(h.mean()),
                 "improvement": sign * rel, "p_value": p_value, "alpha_per_look": alpha_look,
                 "paired": evidence.pairs_complete}
        if p_value < alpha_look:
            unit = "batches" if evidence.batch_unit else "pairs"
            over = (f" over {len(evidence.pairs)} interleaved {unit}"
                    if evidence.pairs_complete else "")
            return Verdict(Decision.PROMOTE, f"p={p_value:.2g} < {alpha_look:.2g}: improvement "
                           f"{self._gain(sign * rel, c, h)} beats {self._margin}{over}", stats)
        if best_case < self.min_improvement * abs(h.mean()) + (self.min_difference or 0.0):
            return Verdict(Decision.REJECT, f"improvement {self._gain(sign * rel, c, h)} "
                           f"cannot reach {self._margin} (futility)", stats)
        if n >= self.max_samples:
            return Verdict(Decision.REJECT, f"max_samples {self.max_samples} reached, "
                           f"p={p_value:.2g} not below {alpha_look:.2g}",
                           {**stats, "inconclusive": True})
        return Verdict(Decision.CONTINUE, f"p={p_value:.2g}, improvement "
                       f"{self._gain(sign * rel, c, h)}", stats)

    @property
    def _margin(self) -> str:
        if self.min_difference is not None:
            return f"{self.min_difference:+.4g}"
        return f"{self.min_improvement:.2%}" if self.min_improvement else "0 (any gain)"

    def _gain(self, relative: float, c: np.ndarray, h: np.ndarray) -> str:
        """The measured gain in the margin's terms: absolute or relative."""
        if self.min_difference is not None:
            sign = 1.0 if self.direction == "maximize" else -1.0
            return f"{sign * (c.mean() - h.mean()):+.4g}"
        return f"{relative:+.2%}"


def _welch(c: np.ndarray, h: np.ndarray, factor: float) -> tuple[float, float, float, float]:
    """Two independent samples: the margin c - factor * h (> 0 favours H1 when maximizing),
    its standard error, the standard error of c - h, and Welch's degrees of freedom."""
    diff = float(c.mean() - factor * h.mean())
    vc, vh = c.var(ddof=1) / len(c), factor**2 * h.var(ddof=1) / len(h)
    se = math.sqrt(vc + vh)
    df = (vc + vh) ** 2 / ((vc**2 / (len(c) - 1)) + (vh**2 / (len(h) - 1))) if se else 1e9
    se_h = math.sqrt(c.var(ddof=1) / len(c) + h.var(ddof=1) / len(h))
    return diff, se, se_h, df


def _paired(pairs: np.ndarray, factor: float) -> tuple[float, float, float, float]:
    """The same figures from (challenger, champion) pairs of neighbouring runs."""
    n = len(pairs)
    margins = pairs[:, 0] - factor * pairs[:, 1]
    gains = pairs[:, 0] - pairs[:, 1]
    return (float(margins.mean()), float(margins.std(ddof=1)) / math.sqrt(n),
            float(gains.std(ddof=1)) / math.sqrt(n), float(n - 1))
